/* pieces.c - the list of text pieces that pre-tokenizers pass along, and literal-or-regex patterns. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

void tok_pieces_init(tok_pieces *p) { memset(p, 0, sizeof *p); }

void tok_pieces_free(tok_pieces *p)
{
    aae_buf_free(&p->data);
    free(p->off);
    free(p->len);
    memset(p, 0, sizeof *p);
}

void tok_pieces_clear(tok_pieces *p)
{
    aae_buf_reset(&p->data);
    p->n = 0;
}

int tok_pieces_add(tok_pieces *p, const char *s, size_t len)
{
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 64;
        size_t *no = realloc(p->off, nc * sizeof *no);
        if (!no)
            return 0;
        p->off = no;
        size_t *nl = realloc(p->len, nc * sizeof *nl);
        if (!nl)
            return 0;
        p->len = nl;
        p->cap = nc;
    }
    p->off[p->n] = p->data.len;
    p->len[p->n] = len;
    aae_buf_append(&p->data, s, len);
    if (!aae_buf_ok(&p->data))
        return 0;
    p->n++;
    return 1;
}

static const char *find_bytes(const char *h, size_t hlen, const char *n, size_t nlen)
{
    if (nlen == 0 || nlen > hlen)
        return NULL;
    const char *end = h + hlen - nlen;
    for (const char *p = h; p <= end;) {
        const char *q = memchr(p, n[0], (size_t)(end - p) + 1);
        if (!q)
            return NULL;
        if (memcmp(q, n, nlen) == 0)
            return q;
        p = q + 1;
    }
    return NULL;
}

int tok_pattern_find(const tok_pattern *pat, const char *s, size_t len, size_t start, size_t *ms, size_t *me)
{
    if (pat->re)
        return aae_regex_find(pat->re, s, len, start, ms, me);
    if (start > len)
        return 0;
    const char *q = find_bytes(s + start, len - start, pat->str, pat->len);
    if (!q)
        return 0;
    *ms = (size_t)(q - s);
    *me = *ms + pat->len;
    return 1;
}

void tok_pattern_free(tok_pattern *pat)
{
    free(pat->str);
    aae_regex_free(pat->re);
    memset(pat, 0, sizeof *pat);
}
