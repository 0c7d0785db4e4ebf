/*
 * md5.h - MD5 (RFC 1321), used only to verify shard checksums recorded in
 * tensor-cache.json (a format fact, not a security measure). The runtime must
 * depend on libc alone, so it carries its own; the CLI reuses this one rather
 * than linking a second implementation.
 */
#ifndef AAE_BASE_MD5_H
#define AAE_BASE_MD5_H

#include <stddef.h>
#include <stdint.h>

typedef struct aae_md5 {
    uint32_t a, b, c, d;
    uint64_t total;
    uint8_t block[64];
    size_t fill;
} aae_md5;

void aae_md5_init(aae_md5 *m);
void aae_md5_update(aae_md5 *m, const void *data, size_t len);
void aae_md5_final(aae_md5 *m, uint8_t digest[16]);
/* Lower-case hex of the digest of data, into hex[33]. */
void aae_md5_hex(const void *data, size_t len, char hex[33]);
void aae_md5_digest_to_hex(const uint8_t digest[16], char hex[33]);

#endif
