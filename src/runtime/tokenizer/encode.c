/*
 * encode.c - text -> ids, in the order of transformers.js / Hugging Face:
 *   1. split the text on added tokens (leftmost, longest match; lstrip / rstrip
 *      trim white space of the neighbouring sections);
 *   2. each other section: normalizer -> pre-tokenizer -> BPE per piece (a run of
 *      unknown tokens in a section fuses into one when the model says fuse_unk);
 *   3. with AAE_ENCODE_ADD_SPECIAL_TOKENS, the post-processor's template around it.
 */
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/unicode.h"

int tok_trie_child(const tok_trie *t, int32_t node, uint8_t byte);

typedef struct section {
    size_t a, b;
    int32_t added; /* index into tok->added, or -1 */
} section;

typedef struct sections {
    section *v;
    size_t n, cap;
} sections;

static int sec_push(sections *s, size_t a, size_t b, int32_t added)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        section *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return 0;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = (section){a, b, added};
    return 1;
}

/* Longest added token starting at pos: its index, and its end in *end; -1 if none. */
static int32_t match_added(const aae_tokenizer *tok, const unsigned char *s, size_t len, size_t pos, size_t *end)
{
    int32_t node = 0, best = -1;
    for (size_t i = pos; i < len; i++) {
        node = tok_trie_child(&tok->trie, node, s[i]);
        if (node < 0)
            break;
        if (tok->trie.terminal[node] >= 0) {
            best = tok->trie.terminal[node];
            *end = i + 1;
        }
    }
    return best;
}

static int split_added(const aae_tokenizer *tok, const char *text, size_t len, sections *out)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t start = 0;
    if (tok->n_added > 0) {
        for (size_t i = 0; i < len;) {
            size_t end = 0;
            int32_t k = tok->trie.first_byte[s[i]] ? match_added(tok, s, len, i, &end) : -1;
            if (k < 0) {
                i++;
                continue;
            }
            if (i > start && !sec_push(out, start, i, -1))
                return 0;
            if (!sec_push(out, i, end, k))
                return 0;
            i = start = end;
        }
    }
    if (start < len && !sec_push(out, start, len, -1))
        return 0;
    return 1;
}

static size_t trim_end(const unsigned char *s, size_t a, size_t b)
{
    while (b > a) {
        size_t p = b - 1;
        while (p > a && (s[p] & 0xC0) == 0x80)
            p--;
        uint32_t cp;
        size_t k = aae_utf8_decode(s + p, b - p, &cp);
        if (k == 0 || !aae_uc_is_space(cp))
            break;
        b = p;
    }
    return b;
}

static size_t trim_start(const unsigned char *s, size_t a, size_t b)
{
    while (a < b) {
        uint32_t cp;
        size_t k = aae_utf8_decode(s + a, b - a, &cp);
        if (k == 0 || !aae_uc_is_space(cp))
            break;
        a += k;
    }
    return a;
}

typedef struct ids_out {
    int32_t *v;
    size_t n, cap;
} ids_out;

static aae_status encode_section(const aae_tokenizer *tok, const char *s, size_t len, int section_index,
                                 ids_out *out, aae_buf *norm, tok_pieces *pieces, aae_error *err)
{
    const char *t = s;
    size_t tl = len;
    if (tok->normalizer) {
        aae_buf_reset(norm);
        aae_status st = tok_normalize(tok->normalizer, s, len, norm, err);
        if (st != AAE_OK)
            return st;
        t = norm->data ? norm->data : "";
        tl = norm->len;
    }
    if (tl == 0)
        return AAE_OK;
    size_t first = out->n;
    if (tok->pretok) {
        aae_status st = tok_pretokenize(tok->pretok, t, tl, section_index, pieces, err);
        if (st != AAE_OK)
            return st;
        for (size_t i = 0; i < pieces->n; i++) {
            st = tok_bpe_word(tok, pieces->data.data + pieces->off[i], pieces->len[i], &out->v, &out->n, &out->cap);
            if (st != AAE_OK)
                return aae_error_set(err, st, "tokenizer: out of memory in BPE");
        }
    } else {
        aae_status st = tok_bpe_word(tok, t, tl, &out->v, &out->n, &out->cap);
        if (st != AAE_OK)
            return aae_error_set(err, st, "tokenizer: out of memory in BPE");
    }
    if (tok->bpe.fuse_unk && tok->bpe.unk_id >= 0) {
        size_t w = first;
        for (size_t i = first; i < out->n; i++)
            if (!(out->v[i] == tok->bpe.unk_id && w > first && out->v[w - 1] == tok->bpe.unk_id))
                out->v[w++] = out->v[i];
        out->n = w;
    }
    return AAE_OK;
}

static aae_status encode_text(const aae_tokenizer *tok, const char *text, size_t len, ids_out *out,
                              aae_error *err)
{
    sections secs = {NULL, 0, 0};
    if (!split_added(tok, text, len, &secs)) {
        free(secs.v);
        return aae_error_set(err, AAE_ERR_NOMEM, "tokenizer: out of memory");
    }
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < secs.n; i++) {
        if (secs.v[i].added < 0)
            continue;
        const tok_added *a = &tok->added[secs.v[i].added];
        if (a->lstrip && i > 0 && secs.v[i - 1].added < 0)
            secs.v[i - 1].b = trim_end(s, secs.v[i - 1].a, secs.v[i - 1].b);
        if (a->rstrip && i + 1 < secs.n && secs.v[i + 1].added < 0)
            secs.v[i + 1].a = trim_start(s, secs.v[i + 1].a, secs.v[i + 1].b);
    }
    aae_buf norm;
    aae_buf_init(&norm);
    tok_pieces pieces;
    tok_pieces_init(&pieces);
    aae_status st = AAE_OK;
    for (size_t i = 0; i < secs.n && st == AAE_OK; i++) {
        const section *sc = &secs.v[i];
        if (sc->added >= 0) {
            if (!tok_ids_push(&out->v, &out->n, &out->cap, tok->added[sc->added].id))
                st = aae_error_set(err, AAE_ERR_NOMEM, "tokenizer: out of memory");
            continue;
        }
        if (sc->b <= sc->a)
            continue;
        st = encode_section(tok, text + sc->a, sc->b - sc->a, (int)(i > 0x7fffffff ? 0x7fffffff : i), out, &norm,
                            &pieces, err);
    }
    aae_buf_free(&norm);
    tok_pieces_free(&pieces);
    free(secs.v);
    return st;
}

aae_status tok_encode(const aae_tokenizer *tok, const char *text, size_t len, uint32_t flags, int32_t **ids,
                      size_t *n_ids, aae_error *err);
aae_status tok_encode(const aae_tokenizer *tok, const char *text, size_t len, uint32_t flags, int32_t **ids,
                      size_t *n_ids, aae_error *err)
{
    size_t bad;
    if (len > 0 && !text)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "tokenizer: text is NULL");
    if (len > ((size_t)1 << 31))
        return aae_error_set(err, AAE_ERR_LIMIT, "tokenizer: text of %zu bytes is longer than 2 GiB", len);
    if (len > 0 && !aae_utf8_validate(text, len, &bad))
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                             "tokenizer: the text is not valid UTF-8 (byte offset %zu): pass UTF-8 text", bad);
    ids_out out = {NULL, 0, 0};
    aae_status st = AAE_OK;
    int templ = (flags & AAE_ENCODE_ADD_SPECIAL_TOKENS) && tok->post.present;
    if (templ) {
        for (size_t i = 0; i < tok->post.n_single && st == AAE_OK; i++) {
            if (tok->post.single[i] >= 0) {
                if (!tok_ids_push(&out.v, &out.n, &out.cap, tok->post.single[i]))
                    st = aae_error_set(err, AAE_ERR_NOMEM, "tokenizer: out of memory");
            } else {
                st = encode_text(tok, text, len, &out, err);
            }
        }
    } else {
        st = encode_text(tok, text, len, &out, err);
    }
    if (st != AAE_OK) {
        free(out.v);
        return st;
    }
    if (!out.v) {
        out.v = malloc(sizeof *out.v);
        if (!out.v)
            return aae_error_set(err, AAE_ERR_NOMEM, "tokenizer: out of memory");
    }
    *ids = out.v;
    *n_ids = out.n;
    return AAE_OK;
}
