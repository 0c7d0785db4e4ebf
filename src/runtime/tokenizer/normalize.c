/*
 * normalize.c - the normalizers of tokenizer.json: Sequence, NFC, NFD, NFKC, NFKD,
 * Lowercase, Strip, Replace, Prepend.
 */
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/unicode.h"

static void replace_all(const tok_pattern *pat, const char *to, size_t to_len, const char *s, size_t len,
                        aae_buf *out, int *oom)
{
    size_t pos = 0;
    while (pos <= len) {
        size_t ms, me;
        int r = tok_pattern_find(pat, s, len, pos, &ms, &me);
        if (r < 0) {
            *oom = 1;
            return;
        }
        if (r == 0)
            break;
        aae_buf_append(out, s + pos, ms - pos);
        aae_buf_append(out, to, to_len);
        if (me == ms) { /* empty match: keep one character and move on */
            if (ms >= len) {
                pos = len;
                break;
            }
            size_t k = aae_utf8_valid_prefix((const unsigned char *)s + ms, len - ms);
            k = k ? k : 1;
            aae_buf_append(out, s + ms, k);
            me = ms + k;
        }
        pos = me;
    }
    if (pos < len)
        aae_buf_append(out, s + pos, len - pos);
}

static void lowercase(const char *s, size_t len, aae_buf *out)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        if (u[i] < 0x80) {
            char c = (char)((u[i] >= 'A' && u[i] <= 'Z') ? u[i] + 32 : u[i]);
            aae_buf_putc(out, c);
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = aae_utf8_decode(u + i, len - i, &cp);
        if (k == 0) {
            aae_buf_append(out, s + i, 1);
            i++;
            continue;
        }
        i += k;
        char enc[4];
        if (cp == 0x130) { /* İ lowercases to i + COMBINING DOT ABOVE */
            aae_buf_append(out, "i\xCC\x87", 3);
            continue;
        }
        aae_buf_append(out, enc, aae_utf8_encode(aae_uc_lower(cp), enc));
    }
}

static void strip(const char *s, size_t len, int left, int right, aae_buf *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t a = 0, b = len;
    if (left)
        while (a < b) {
            uint32_t cp;
            size_t k = aae_utf8_decode(u + a, b - a, &cp);
            if (k == 0 || !aae_uc_is_space(cp))
                break;
            a += k;
        }
    if (right)
        while (b > a) {
            size_t p = b - 1;
            while (p > a && (u[p] & 0xC0) == 0x80)
                p--;
            uint32_t cp;
            size_t k = aae_utf8_decode(u + p, b - p, &cp);
            if (k == 0 || !aae_uc_is_space(cp))
                break;
            b = p;
        }
    aae_buf_append(out, s + a, b - a);
}

static aae_status one(const tok_normalizer *n, const char *s, size_t len, aae_buf *out, aae_error *err)
{
    int oom = 0;
    switch (n->type) {
    case NORM_NFC: case NORM_NFD: case NORM_NFKC: case NORM_NFKD: {
        aae_uc_form f = n->type == NORM_NFC ? AAE_UC_NFC : n->type == NORM_NFD ? AAE_UC_NFD
                      : n->type == NORM_NFKC ? AAE_UC_NFKC : AAE_UC_NFKD;
        if (aae_uc_is_normalized_quick(s, len, f))
            aae_buf_append(out, s, len);
        else
            aae_uc_normalize(s, len, f, out);
        break;
    }
    case NORM_LOWERCASE:
        lowercase(s, len, out);
        break;
    case NORM_STRIP:
        strip(s, len, n->left, n->right, out);
        break;
    case NORM_REPLACE:
        replace_all(&n->pat, n->text, n->text_len, s, len, out, &oom);
        break;
    case NORM_PREPEND:
        if (len > 0)
            aae_buf_append(out, n->text, n->text_len);
        aae_buf_append(out, s, len);
        break;
    case NORM_SEQUENCE: {
        aae_buf a, b;
        aae_buf_init(&a);
        aae_buf_init(&b);
        aae_buf_append(&a, s, len);
        aae_status st = AAE_OK;
        for (size_t i = 0; i < n->n_kids && st == AAE_OK; i++) {
            aae_buf_reset(&b);
            st = one(&n->kids[i], a.data ? a.data : "", a.len, &b, err);
            aae_buf t = a;
            a = b;
            b = t;
        }
        if (st == AAE_OK)
            aae_buf_append(out, a.data ? a.data : "", a.len);
        if (!aae_buf_ok(&a))
            oom = 1;
        aae_buf_free(&a);
        aae_buf_free(&b);
        if (st != AAE_OK)
            return st;
        break;
    }
    default:
        return aae_error_set(err, AAE_ERR_INTERNAL, "tokenizer: unknown normalizer %d", n->type);
    }
    if (oom || !aae_buf_ok(out))
        return aae_error_set(err, AAE_ERR_NOMEM, "tokenizer: out of memory while normalizing");
    return AAE_OK;
}

aae_status tok_normalize(const tok_normalizer *n, const char *s, size_t len, aae_buf *out, aae_error *err)
{
    return one(n, s, len, out, err);
}
