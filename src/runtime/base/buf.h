/*
 * buf.h - a growable byte buffer, used to write JSON and other text.
 *
 * Appends never fail loudly: on allocation failure the buffer sets `oom` and
 * ignores further appends; check aae_buf_ok() once at the end.
 */
#ifndef AAE_BASE_BUF_H
#define AAE_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct aae_buf {
    char *data; /* always NUL-terminated when len > 0 or after any append */
    size_t len;
    size_t cap;
    int oom;
} aae_buf;

void aae_buf_init(aae_buf *b);
void aae_buf_free(aae_buf *b);
void aae_buf_reset(aae_buf *b); /* len = 0, keeps the memory */
int aae_buf_ok(const aae_buf *b);
/* Hands the data to the caller (free() it) and leaves b empty. NULL on oom. */
char *aae_buf_take(aae_buf *b, size_t *len);

void aae_buf_append(aae_buf *b, const void *data, size_t len);
void aae_buf_puts(aae_buf *b, const char *s);
void aae_buf_putc(aae_buf *b, char c);
void aae_buf_printf(aae_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a quoted JSON string, escaping as RFC 8259 requires. Invalid
 * UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON. */
void aae_buf_json_string(aae_buf *b, const char *s, size_t len);
/* Appends a double in JSON form: shortest text that reads back exactly;
 * NaN and infinities (not JSON) are written as null. */
void aae_buf_json_number(aae_buf *b, double v);

#endif
