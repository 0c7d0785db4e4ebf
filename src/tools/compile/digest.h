/*
 * digest.h - SHA-256 for cache keys and config hashes (OpenSSL's libcrypto).
 *
 * Why libcrypto: the JIT cache key must not collide across configs, compilers and
 * versions (a stale library would run wrong code), so a cryptographic digest is used;
 * libcrypto is already a CLI dependency and well reviewed. The runtime never needs it:
 * it compares configs field by field.
 */
#ifndef AAE_TOOLS_DIGEST_H
#define AAE_TOOLS_DIGEST_H

#include <stddef.h>

typedef struct aae_sha256 aae_sha256;

aae_sha256 *aae_sha256_new(void); /* NULL on allocation failure */
void aae_sha256_update(aae_sha256 *h, const void *data, size_t len);
/* Adds a labelled field: "<label>\0<len as 20 digits><bytes>", so that field
 * boundaries are unambiguous in the digest. */
void aae_sha256_field(aae_sha256 *h, const char *label, const void *data, size_t len);
/* Writes 64 lowercase hex digits + NUL into hex and frees h. */
void aae_sha256_final_hex(aae_sha256 *h, char hex[65]);
/* One-shot. */
void aae_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
