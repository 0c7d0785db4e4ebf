/*
 * pretok.c - the pre-tokenizers of tokenizer.json: Sequence, Split, ByteLevel,
 * Metaspace, Digits, Whitespace, WhitespaceSplit, Punctuation (load.c turns the
 * last four into Split patterns). Each maps a list of pieces to a new list.
 *
 * Split follows Hugging Face tokenizers: matches of the pattern are delimiters
 * (with invert, the text between matches is), and `behavior` says what happens to
 * delimiters: Removed, Isolated (own piece), MergedWithPrevious, MergedWithNext,
 * Contiguous (runs of delimiters form one piece). Empty matches are ignored.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "tokenizer/tok_internal.h"

/* GPT-2's byte -> printable character map, as UTF-8 (1 or 2 bytes each). */
static void byte_to_unicode(unsigned b, char out[2], size_t *n)
{
    uint32_t cp;
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
        cp = b;
    } else {
        /* the k-th byte outside those ranges maps to 256 + k */
        unsigned k = 0;
        for (unsigned x = 0; x < b; x++)
            if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF)))
                k++;
        cp = 256 + k;
    }
    char enc[4];
    *n = aae_utf8_encode(cp, enc);
    memcpy(out, enc, *n);
}

typedef struct bl_map {
    char s[256][2];
    uint8_t n[256];
} bl_map;

static bl_map g_bl_map;
static pthread_once_t g_bl_once = PTHREAD_ONCE_INIT;

static void init_byte_level_map(void)
{
    for (unsigned b = 0; b < 256; b++) {
        size_t n;
        byte_to_unicode(b, g_bl_map.s[b], &n);
        g_bl_map.n[b] = (uint8_t)n;
    }
}

static const bl_map *byte_level_map(void)
{
    pthread_once(&g_bl_once, init_byte_level_map);
    return &g_bl_map;
}

typedef struct seg {
    size_t a, b;
    int match;
} seg;

typedef struct segs {
    seg *v;
    size_t n, cap;
} segs;

static int seg_push(segs *s, size_t a, size_t b, int match)
{
    if (b <= a)
        return 1;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 32;
        seg *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return 0;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = (seg){a, b, match};
    return 1;
}

/* Cuts s into gap / match segments (match = a delimiter, after invert). */
static int find_segments(const tok_pretok *pt, const char *s, size_t len, segs *out)
{
    size_t pos = 0, start = 0;
    while (pos <= len) {
        size_t ms, me;
        int r = tok_pattern_find(&pt->pat, s, len, pos, &ms, &me);
        if (r < 0)
            return 0;
        if (r == 0)
            break;
        if (me == ms) {
            if (ms >= len)
                break;
            size_t k = aae_utf8_valid_prefix((const unsigned char *)s + ms, len - ms);
            pos = ms + (k ? k : 1);
            continue;
        }
        if (!seg_push(out, start, ms, pt->invert) || !seg_push(out, ms, me, !pt->invert))
            return 0;
        start = pos = me;
    }
    return seg_push(out, start, len, pt->invert);
}

static int split_piece(const tok_pretok *pt, const char *s, size_t len, tok_pieces *out)
{
    segs sg = {NULL, 0, 0};
    if (!find_segments(pt, s, len, &sg)) {
        free(sg.v);
        return 0;
    }
    /* fold the segments into pieces in place (w = pieces written) */
    size_t w = 0;
    int prev_match = 0;
    switch (pt->behavior) {
    case SPLIT_REMOVED:
        for (size_t i = 0; i < sg.n; i++)
            if (!sg.v[i].match)
                sg.v[w++] = sg.v[i];
        break;
    case SPLIT_ISOLATED:
        w = sg.n;
        break;
    case SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < sg.n; i++) {
            if (sg.v[i].match && prev_match && w > 0)
                sg.v[w - 1].b = sg.v[i].b;
            else
                sg.v[w++] = sg.v[i];
            prev_match = sg.v[i].match;
        }
        break;
    case SPLIT_MERGED_PREV:
        for (size_t i = 0; i < sg.n; i++) {
            if (sg.v[i].match && !prev_match && w > 0)
                sg.v[w - 1].b = sg.v[i].b;
            else
                sg.v[w++] = sg.v[i];
            prev_match = sg.v[i].match;
        }
        break;
    case SPLIT_MERGED_NEXT: {
        /* right to left: a match joins the piece after it */
        size_t r = sg.n;
        for (size_t k = sg.n; k-- > 0;) {
            seg cur = sg.v[k];
            if (cur.match && !prev_match && r < sg.n)
                sg.v[r].a = cur.a;
            else
                sg.v[--r] = cur;
            prev_match = cur.match;
        }
        memmove(sg.v, sg.v + r, (sg.n - r) * sizeof *sg.v);
        w = sg.n - r;
        break;
    }
    default:
        w = sg.n;
        break;
    }
    int ok = 1;
    for (size_t i = 0; ok && i < w; i++)
        ok = tok_pieces_add(out, s + sg.v[i].a, sg.v[i].b - sg.v[i].a);
    free(sg.v);
    return ok;
}

static int byte_level(const tok_pretok *pt, const char *s, size_t len, tok_pieces *out)
{
    const bl_map *m = byte_level_map();
    aae_buf tmp;
    aae_buf_init(&tmp);
    if (pt->add_prefix_space && (len == 0 || s[0] != ' '))
        aae_buf_putc(&tmp, ' ');
    aae_buf_append(&tmp, s, len);
    if (!aae_buf_ok(&tmp))
        return 0;
    const char *t = tmp.data;
    size_t tl = tmp.len;
    int ok = 1;
    size_t pos = 0;
    while (ok && pos < tl) {
        size_t ms = pos, me = tl;
        if (pt->use_regex) {
            int r = tok_pattern_find(&pt->pat, t, tl, pos, &ms, &me);
            if (r < 0) {
                ok = 0;
                break;
            }
            if (r == 0)
                break;
            if (me == ms) { /* skip an empty match */
                size_t k = aae_utf8_valid_prefix((const unsigned char *)t + ms, tl - ms);
                pos = ms + (k ? k : 1);
                continue;
            }
        }
        /* map the piece's bytes */
        char buf[512];
        size_t bn = 0, first = out->n;
        int started = 0;
        for (size_t i = ms; i < me; i++) {
            unsigned b = (unsigned char)t[i];
            if (bn + 2 > sizeof buf) {
                if (!started) {
                    ok = tok_pieces_add(out, buf, bn);
                    started = 1;
                } else {
                    aae_buf_append(&out->data, buf, bn);
                    out->len[first] += bn;
                    ok = aae_buf_ok(&out->data);
                }
                bn = 0;
                if (!ok)
                    break;
            }
            memcpy(buf + bn, m->s[b], m->n[b]);
            bn += m->n[b];
        }
        if (ok) {
            if (!started) {
                ok = tok_pieces_add(out, buf, bn);
            } else {
                aae_buf_append(&out->data, buf, bn);
                out->len[first] += bn;
                ok = aae_buf_ok(&out->data);
            }
        }
        pos = me;
    }
    aae_buf_free(&tmp);
    return ok;
}

static int metaspace(const tok_pretok *pt, const char *s, size_t len, int section_index, tok_pieces *out)
{
    aae_buf b;
    aae_buf_init(&b);
    int starts = 0;
    if (len > 0 && s[0] == ' ')
        starts = 1;
    else if (len >= pt->replacement_len && memcmp(s, pt->replacement, pt->replacement_len) == 0)
        starts = 1;
    if (pt->add_prefix_space && !starts &&
        (pt->prepend_scheme == PREPEND_ALWAYS || (pt->prepend_scheme == PREPEND_FIRST && section_index == 0)))
        aae_buf_append(&b, pt->replacement, pt->replacement_len);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ')
            aae_buf_append(&b, pt->replacement, pt->replacement_len);
        else
            aae_buf_putc(&b, s[i]);
    }
    int ok = aae_buf_ok(&b) && tok_pieces_add(out, b.data ? b.data : "", b.len);
    aae_buf_free(&b);
    return ok;
}

static int apply(const tok_pretok *pt, const char *s, size_t len, int section_index, tok_pieces *out)
{
    switch (pt->type) {
    case PRE_SPLIT:
        return split_piece(pt, s, len, out);
    case PRE_BYTELEVEL:
        return byte_level(pt, s, len, out);
    case PRE_METASPACE:
        return metaspace(pt, s, len, section_index, out);
    default:
        return 0;
    }
}

aae_status tok_pretokenize(const tok_pretok *pt, const char *s, size_t len, int section_index, tok_pieces *out,
                           aae_error *err)
{
    tok_pieces_clear(out);
    if (pt->type != PRE_SEQUENCE) {
        if (!apply(pt, s, len, section_index, out))
            return aae_error_set(err, AAE_ERR_NOMEM, "tokenizer: out of memory while pre-tokenizing");
        return AAE_OK;
    }
    if (!tok_pieces_add(out, s, len))
        return aae_error_set(err, AAE_ERR_NOMEM, "tokenizer: out of memory while pre-tokenizing");
    tok_pieces tmp;
    tok_pieces_init(&tmp);
    aae_status st = AAE_OK;
    for (size_t k = 0; k < pt->n_kids && st == AAE_OK; k++) {
        tok_pieces_clear(&tmp);
        for (size_t i = 0; i < out->n; i++) {
            const tok_pretok *kid = &pt->kids[k];
            int ok;
            if (kid->type == PRE_SEQUENCE) {
                tok_pieces sub;
                tok_pieces_init(&sub);
                ok = tok_pretokenize(kid, out->data.data + out->off[i], out->len[i], section_index, &sub, err) ==
                     AAE_OK;
                for (size_t j = 0; ok && j < sub.n; j++)
                    ok = tok_pieces_add(&tmp, sub.data.data + sub.off[j], sub.len[j]);
                tok_pieces_free(&sub);
            } else {
                ok = apply(kid, out->data.data + out->off[i], out->len[i], section_index, &tmp);
            }
            if (!ok) {
                st = aae_error_set(err, AAE_ERR_NOMEM, "tokenizer: out of memory while pre-tokenizing");
                break;
            }
        }
        tok_pieces t = *out;
        *out = tmp;
        tmp = t;
    }
    tok_pieces_free(&tmp);
    return st;
}
