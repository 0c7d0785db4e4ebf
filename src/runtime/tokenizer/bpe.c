/*
 * bpe.c - the BPE model: one pre-tokenized word -> ids.
 *
 * The word starts as one symbol per character (with continuing_subword_prefix on
 * every character but the first and end_of_word_suffix on the last, when set).
 * Then, repeatedly, the adjacent pair with the lowest merge rank is merged, the
 * leftmost first among equal ranks, until no pair has a merge. Short words use a
 * linear scan per merge; long ones (whole sentences for SentencePiece-style
 * tokenizers without a pre-tokenizer) a binary heap of candidate pairs, so a
 * 100 kB word costs O(n log n). Symbols that are not in the vocabulary become
 * <0xXX> byte tokens (byte_fallback) or the unknown token.
 *
 * Chunking: a merge can only join symbols across a position p if some token
 * contains the two characters at p-1 and p. So where no token contains the pair,
 * the word can be cut at p and each part merged alone, with the same result.
 * SentencePiece-style vocabularies (Llama 2, Gemma) mark word starts with U+2581
 * and almost never have a token with a U+2581 after another character; at load we
 * collect the few characters c for which "c" + U+2581 occurs in a token, and cut
 * before every other U+2581 that follows a non-U+2581 character. Whole sentences
 * then cost one short merge per word instead of a heap over the sentence. (Not
 * with ignore_merges, continuing_subword_prefix or end_of_word_suffix, which look at
 * the whole word.)
 */
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "tokenizer/tok_internal.h"

typedef struct sym {
    int32_t id; /* -1: not in the vocabulary; -2: merged away */
    uint32_t start, len; /* bytes of the symbol's text in `text` */
    int32_t prev, next;
    int32_t rank, mid; /* the merge of (this, next): rank and merged id; rank -1 if none */
} sym;

typedef struct cand {
    int32_t rank;
    int32_t left; /* index of the left symbol (its original position) */
    int32_t right;
    int32_t left_id, right_id, mid;
} cand;

int tok_ids_push(int32_t **ids, size_t *n, size_t *cap, int32_t id)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        int32_t *ni = realloc(*ids, nc * sizeof *ni);
        if (!ni)
            return 0;
        *ids = ni;
        *cap = nc;
    }
    (*ids)[(*n)++] = id;
    return 1;
}

static int cand_less(const cand *a, const cand *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static void heap_push(cand *h, size_t *n, cand c)
{
    size_t i = (*n)++;
    h[i] = c;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&h[i], &h[p]))
            break;
        cand t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static cand heap_pop(cand *h, size_t *n)
{
    cand top = h[0];
    h[0] = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && cand_less(&h[l], &h[m]))
            m = l;
        if (r < *n && cand_less(&h[r], &h[m]))
            m = r;
        if (m == i)
            break;
        cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
    return top;
}

/* Looks up the merge of (i, next) into s[i].rank / s[i].mid. */
static void pair_rank(const tok_merges *mg, sym *s, int32_t i)
{
    int32_t j = s[i].next;
    s[i].rank = -1;
    if (j < 0 || s[i].id < 0 || s[j].id < 0)
        return;
    const tok_merge_slot *m = tok_merges_find(mg, s[i].id, s[j].id);
    if (m) {
        s[i].rank = m->rank;
        s[i].mid = m->id;
    }
}

/* All initial pair ranks; the lookups of a batch overlap (they miss the cache). */
static void initial_ranks(const tok_merges *mg, sym *s, int32_t n)
{
    for (int32_t base = 0; base < n; base += 32) {
        int32_t end = base + 32 < n ? base + 32 : n;
        for (int32_t i = base; i < end && i + 1 < n; i++) {
            uint64_t key = (((uint64_t)(uint32_t)s[i].id << 32) | (uint32_t)s[i + 1].id) + 1;
            __builtin_prefetch(&mg->slots[(size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mg->mask]);
        }
        for (int32_t i = base; i < end; i++)
            pair_rank(mg, s, i);
    }
}

static void merge_at(sym *s, int32_t left)
{
    int32_t right = s[left].next;
    s[left].id = s[left].mid;
    s[left].len += s[right].len;
    s[left].next = s[right].next;
    if (s[right].next >= 0)
        s[s[right].next].prev = left;
    s[right].len = 0;
    s[right].id = -2; /* merged away */
}

static aae_status merge_heap(const tok_merges *mg, sym *s, int32_t n)
{
    size_t hcap = (size_t)n * 2 + 1, hn = 0;
    cand *h = malloc(hcap * sizeof *h);
    if (!h)
        return AAE_ERR_NOMEM;
    initial_ranks(mg, s, n);
    for (int32_t i = 0; i + 1 < n; i++)
        if (s[i].rank >= 0)
            heap_push(h, &hn, (cand){s[i].rank, i, i + 1, s[i].id, s[i + 1].id, s[i].mid});
    while (hn > 0) {
        cand c = heap_pop(h, &hn);
        if (s[c.left].id != c.left_id || s[c.left].next != c.right || s[c.right].id != c.right_id)
            continue;
        s[c.left].mid = c.mid;
        merge_at(s, c.left);
        if (hn + 2 > hcap) { /* each merge adds at most two candidates */
            hcap *= 2;
            cand *nh = realloc(h, hcap * sizeof *nh);
            if (!nh) {
                free(h);
                return AAE_ERR_NOMEM;
            }
            h = nh;
        }
        int32_t p = s[c.left].prev;
        if (p >= 0) {
            pair_rank(mg, s, p);
            if (s[p].rank >= 0)
                heap_push(h, &hn, (cand){s[p].rank, p, c.left, s[p].id, s[c.left].id, s[p].mid});
        }
        pair_rank(mg, s, c.left);
        if (s[c.left].rank >= 0)
            heap_push(h, &hn, (cand){s[c.left].rank, c.left, s[c.left].next, s[c.left].id,
                                     s[s[c.left].next].id, s[c.left].mid});
    }
    free(h);
    return AAE_OK;
}

static void merge_scan(const tok_merges *mg, sym *s, int32_t n)
{
    initial_ranks(mg, s, n);
    for (;;) {
        int32_t best = -1, best_rank = INT32_MAX;
        for (int32_t i = 0; i >= 0; i = s[i].next)
            if (s[i].rank >= 0 && s[i].rank < best_rank) {
                best = i;
                best_rank = s[i].rank;
            }
        if (best < 0)
            return;
        merge_at(s, best);
        if (s[best].prev >= 0)
            pair_rank(mg, s, s[best].prev);
        pair_rank(mg, s, best);
    }
}

/* The id of the token made of [prefix] + character + [suffix], or -1. */
static int32_t char_symbol_id(const aae_tokenizer *tok, const char *c, size_t clen, uint32_t cp, int first,
                              int last)
{
    const tok_bpe *b = &tok->bpe;
    int pre = !first && b->cont_prefix, suf = last && b->eow_suffix;
    if (!pre && !suf) {
        if (cp < 65536)
            return b->bmp_char_id[cp];
        return tok_vocab_find(&tok->vocab, c, clen);
    }
    char tmp[256];
    size_t n = 0;
    if (pre) {
        if (b->cont_prefix_len > 64)
            return -1;
        memcpy(tmp, b->cont_prefix, b->cont_prefix_len);
        n = b->cont_prefix_len;
    }
    memcpy(tmp + n, c, clen);
    n += clen;
    if (suf) {
        if (b->eow_suffix_len > 64)
            return -1;
        memcpy(tmp + n, b->eow_suffix, b->eow_suffix_len);
        n += b->eow_suffix_len;
    }
    return tok_vocab_find(&tok->vocab, tmp, n);
}

/* Emits an unknown symbol's text: byte tokens if all exist, else unk (nothing if
 * the model has no unknown token). */
static int emit_unknown(const aae_tokenizer *tok, const char *text, size_t len, int first, int last,
                        int32_t **ids, size_t *n, size_t *cap)
{
    const tok_bpe *b = &tok->bpe;
    if (b->byte_fallback) {
        char tmp[256];
        size_t tn = 0;
        if (!first && b->cont_prefix && b->cont_prefix_len <= 64) {
            memcpy(tmp, b->cont_prefix, b->cont_prefix_len);
            tn = b->cont_prefix_len;
        }
        if (len <= 64) {
            memcpy(tmp + tn, text, len);
            tn += len;
            if (last && b->eow_suffix && b->eow_suffix_len <= 64) {
                memcpy(tmp + tn, b->eow_suffix, b->eow_suffix_len);
                tn += b->eow_suffix_len;
            }
            int all = 1;
            for (size_t i = 0; i < tn; i++)
                if (b->byte_ids[(unsigned char)tmp[i]] < 0)
                    all = 0;
            if (all) {
                for (size_t i = 0; i < tn; i++)
                    if (!tok_ids_push(ids, n, cap, b->byte_ids[(unsigned char)tmp[i]]))
                        return 0;
                return 1;
            }
        }
    }
    if (b->unk_id >= 0)
        return tok_ids_push(ids, n, cap, b->unk_id);
    return 1;
}

#define SMALL_WORD 48

void tok_bpe_prepare_chunking(aae_tokenizer *tok)
{
    tok_bpe *b = &tok->bpe;
    const tok_vocab *v = &tok->vocab;
    b->chunking = 0;
    b->n_unsafe = 0;
    if (b->ignore_merges || b->cont_prefix || b->eow_suffix || b->bmp_char_id[0x2581] < 0)
        return;
    for (size_t i = 0; i <= v->mask; i++) {
        const tok_vocab_slot *sl = &v->slots[i];
        if (sl->id < 0 || sl->len < 4)
            continue;
        const unsigned char *t = (const unsigned char *)v->pool + sl->off;
        uint32_t prev = 0x2581;
        for (size_t k = 0; k < sl->len;) {
            uint32_t cp;
            size_t m = aae_utf8_decode(t + k, sl->len - k, &cp);
            if (m == 0)
                break;
            if (cp == 0x2581 && prev != 0x2581) {
                size_t j = 0;
                while (j < b->n_unsafe && b->unsafe[j] != prev)
                    j++;
                if (j == b->n_unsafe) {
                    if (b->n_unsafe == sizeof b->unsafe / sizeof b->unsafe[0])
                        return; /* too many: no chunking */
                    b->unsafe[b->n_unsafe++] = prev;
                }
            }
            prev = cp;
            k += m;
        }
    }
    b->chunking = 1;
}

static aae_status bpe_chunk(const aae_tokenizer *tok, const char *w, size_t len, int32_t **ids, size_t *n,
                            size_t *cap);
static aae_status bpe_cached(const aae_tokenizer *tok, const char *w, size_t len, int32_t **ids, size_t *n,
                             size_t *cap);

/* Cuts w into chunks at the safe U+2581 boundaries (see the top of the file). */
static aae_status bpe_chunked(const aae_tokenizer *tok, const char *w, size_t len, int32_t **ids, size_t *n,
                              size_t *cap)
{
    const tok_bpe *b = &tok->bpe;
    const unsigned char *u = (const unsigned char *)w;
    size_t start = 0;
    uint32_t prev = 0x2581;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = u[i] < 0x80 ? (cp = u[i], 1) : aae_utf8_decode(u + i, len - i, &cp);
        if (k == 0) {
            cp = 0xFFFD;
            k = 1;
        }
        if (cp == 0x2581 && prev != 0x2581 && i > start) {
            size_t j = 0;
            while (j < b->n_unsafe && b->unsafe[j] != prev)
                j++;
            if (j == b->n_unsafe) {
                aae_status st = bpe_cached(tok, w + start, i - start, ids, n, cap);
                if (st != AAE_OK)
                    return st;
                start = i;
            }
        }
        prev = cp;
        i += k;
    }
    return bpe_cached(tok, w + start, len - start, ids, n, cap);
}

/* bpe_chunk through the cache. */
static aae_status bpe_cached(const aae_tokenizer *tok, const char *w, size_t len, int32_t **ids, size_t *n,
                             size_t *cap)
{
    int32_t hit[TOK_CACHE_IDS];
    size_t k = tok_cache_get(tok->cache, w, len, hit);
    if (k > 0) {
        for (size_t i = 0; i < k; i++)
            if (!tok_ids_push(ids, n, cap, hit[i]))
                return AAE_ERR_NOMEM;
        return AAE_OK;
    }
    size_t before = *n;
    aae_status st = bpe_chunk(tok, w, len, ids, n, cap);
    if (st == AAE_OK && len <= TOK_CACHE_WORD && *n > before) /* (*ids is still NULL when nothing was pushed) */
        tok_cache_put(tok->cache, w, len, *ids + before, *n - before);
    return st;
}

aae_status tok_bpe_word(const aae_tokenizer *tok, const char *w, size_t len, int32_t **ids, size_t *n,
                        size_t *cap)
{
    if (tok->bpe.chunking && len > TOK_CACHE_WORD)
        return bpe_chunked(tok, w, len, ids, n, cap);
    return bpe_cached(tok, w, len, ids, n, cap);
}

static aae_status bpe_chunk(const aae_tokenizer *tok, const char *w, size_t len, int32_t **ids, size_t *n,
                            size_t *cap)
{
    const tok_bpe *b = &tok->bpe;
    if (len == 0)
        return AAE_OK;
    if (len >= UINT32_MAX)
        return AAE_ERR_LIMIT;
    if (b->ignore_merges) {
        int32_t id = tok_vocab_find(&tok->vocab, w, len);
        if (id >= 0)
            return tok_ids_push(ids, n, cap, id) ? AAE_OK : AAE_ERR_NOMEM;
    }
    sym small[SMALL_WORD];
    sym *s = small;
    if (len > SMALL_WORD) {
        s = malloc(len * sizeof *s);
        if (!s)
            return AAE_ERR_NOMEM;
    }
    int32_t count = 0;
    const unsigned char *u = (const unsigned char *)w;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = u[i] < 0x80 ? (cp = u[i], 1) : aae_utf8_decode(u + i, len - i, &cp);
        if (k == 0) {
            cp = 0xFFFD;
            k = 1;
        }
        s[count] = (sym){char_symbol_id(tok, w + i, k, cp, i == 0, i + k == len), (uint32_t)i, (uint32_t)k,
                         count - 1, count + 1, -1, -1};
        count++;
        i += k;
    }
    s[count - 1].next = -1;
    aae_status st = AAE_OK;
    if (count > 1) {
        if (count <= SMALL_WORD)
            merge_scan(&b->merges, s, count);
        else
            st = merge_heap(&b->merges, s, count);
    }
    for (int32_t i = 0; st == AAE_OK && i >= 0; i = s[i].next) {
        int ok = s[i].id >= 0 ? tok_ids_push(ids, n, cap, s[i].id)
                              : emit_unknown(tok, w + s[i].start, s[i].len, i == 0, s[i].next < 0, ids, n, cap);
        if (!ok)
            st = AAE_ERR_NOMEM;
    }
    if (s != small)
        free(s);
    return st;
}
