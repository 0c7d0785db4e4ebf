/* utf8.h - UTF-8 decoding and validation (strict: no overlongs, no surrogates). */
#ifndef AAE_BASE_UTF8_H
#define AAE_BASE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length in bytes of the one valid UTF-8 character at s (1-4), or 0 if the bytes
 * at s do not start a valid, complete character within len bytes. */
size_t aae_utf8_valid_prefix(const unsigned char *s, size_t len);

/* Decodes one character; returns its length (1-4) and stores the code point, or
 * returns 0 for invalid/incomplete input. */
size_t aae_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* Encodes cp (must be <= 0x10FFFF, not a surrogate) into out; returns 1-4, or 0. */
size_t aae_utf8_encode(uint32_t cp, char out[4]);

/* 1 if all len bytes are valid UTF-8. On failure, *bad_offset (if not NULL) gets
 * the offset of the first invalid byte. */
int aae_utf8_validate(const char *s, size_t len, size_t *bad_offset);

#endif
