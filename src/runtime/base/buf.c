/* buf.c - growable byte buffer and JSON text writing. */
#include "base/buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

void aae_buf_init(aae_buf *b) { memset(b, 0, sizeof *b); }

void aae_buf_free(aae_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void aae_buf_reset(aae_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int aae_buf_ok(const aae_buf *b) { return !b->oom; }

char *aae_buf_take(aae_buf *b, size_t *len)
{
    if (b->oom) {
        aae_buf_free(b);
        return NULL;
    }
    if (!b->data)
        aae_buf_append(b, "", 0);
    char *d = b->data;
    if (len)
        *len = b->len;
    memset(b, 0, sizeof *b);
    return d;
}

static int reserve(aae_buf *b, size_t extra)
{
    if (b->oom)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return 0;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->oom = 1;
        return 0;
    }
    b->data = d;
    b->cap = cap;
    return 1;
}

void aae_buf_append(aae_buf *b, const void *data, size_t len)
{
    if (!reserve(b, len))
        return;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void aae_buf_puts(aae_buf *b, const char *s) { aae_buf_append(b, s, strlen(s)); }

void aae_buf_putc(aae_buf *b, char c) { aae_buf_append(b, &c, 1); }

void aae_buf_printf(aae_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        aae_buf_append(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void aae_buf_json_string(aae_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    aae_buf_putc(b, '"');
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            switch (c) {
            case '"': aae_buf_append(b, "\\\"", 2); break;
            case '\\': aae_buf_append(b, "\\\\", 2); break;
            case '\n': aae_buf_append(b, "\\n", 2); break;
            case '\r': aae_buf_append(b, "\\r", 2); break;
            case '\t': aae_buf_append(b, "\\t", 2); break;
            case '\b': aae_buf_append(b, "\\b", 2); break;
            case '\f': aae_buf_append(b, "\\f", 2); break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                    aae_buf_append(b, e, 6);
                } else {
                    aae_buf_putc(b, (char)c);
                }
            }
            i++;
            continue;
        }
        size_t n = aae_utf8_valid_prefix((const unsigned char *)s + i, len - i);
        if (n == 0) {
            aae_buf_append(b, "\xEF\xBF\xBD", 3);
            i++;
        } else {
            aae_buf_append(b, s + i, n);
            i += n;
        }
    }
    aae_buf_putc(b, '"');
}

void aae_buf_json_number(aae_buf *b, double v)
{
    if (!isfinite(v)) {
        aae_buf_puts(b, "null");
        return;
    }
    /* the range first: converting a double outside int64's range is undefined */
    if (fabs(v) < 9.0e15 && v == (double)(int64_t)v) {
        aae_buf_printf(b, "%lld", (long long)v);
        return;
    }
    char tmp[40];
    for (int prec = 9; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    /* A locale may have written a comma as the decimal point. */
    for (char *p = tmp; *p; p++)
        if (*p == ',')
            *p = '.';
    aae_buf_puts(b, tmp);
}
