/* vocab.c - the token string pool, its hash, and the merge-rank hash (see vocab.h). */
#include "tokenizer/vocab.h"

#include <stdlib.h>
#include <string.h>

uint32_t tok_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

int tok_vocab_init(tok_vocab *v, size_t expected)
{
    memset(v, 0, sizeof *v);
    size_t n = 1024;
    while (n < expected * 2)
        n *= 2;
    v->slots = malloc(n * sizeof *v->slots);
    if (!v->slots)
        return 0;
    for (size_t i = 0; i < n; i++)
        v->slots[i].id = -1;
    v->mask = n - 1;
    return 1;
}

void tok_vocab_free(tok_vocab *v)
{
    free(v->pool);
    free(v->id_off);
    free(v->id_len);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

static int grow_slots(tok_vocab *v)
{
    size_t n = (v->mask + 1) * 2;
    tok_vocab_slot *ns = malloc(n * sizeof *ns);
    if (!ns)
        return 0;
    for (size_t i = 0; i < n; i++)
        ns[i].id = -1;
    for (size_t i = 0; i <= v->mask; i++) {
        if (v->slots[i].id < 0)
            continue;
        size_t j = v->slots[i].hash & (n - 1);
        while (ns[j].id >= 0)
            j = (j + 1) & (n - 1);
        ns[j] = v->slots[i];
    }
    free(v->slots);
    v->slots = ns;
    v->mask = n - 1;
    return 1;
}

static int ensure_ids(tok_vocab *v, int32_t id)
{
    if ((size_t)id < v->ids_cap)
        return 1;
    size_t n = v->ids_cap ? v->ids_cap : 1024;
    while (n <= (size_t)id)
        n *= 2;
    uint32_t *o = realloc(v->id_off, n * sizeof *o);
    if (!o)
        return 0;
    v->id_off = o;
    uint32_t *l = realloc(v->id_len, n * sizeof *l);
    if (!l)
        return 0;
    v->id_len = l;
    for (size_t i = v->ids_cap; i < n; i++)
        l[i] = UINT32_MAX;
    v->ids_cap = n;
    return 1;
}

int tok_vocab_set(tok_vocab *v, const char *s, size_t len, int32_t id)
{
    if (id < 0 || id >= TOK_MAX_IDS || len >= UINT32_MAX / 2 || !ensure_ids(v, id))
        return 0;
    uint32_t h = tok_hash(s, len);
    size_t i = h & v->mask;
    while (v->slots[i].id >= 0) {
        tok_vocab_slot *sl = &v->slots[i];
        if (sl->hash == h && sl->len == len && memcmp(v->pool + sl->off, s, len) == 0) {
            sl->id = id;
            v->id_off[id] = sl->off;
            v->id_len[id] = sl->len;
            if (id >= v->n_ids)
                v->n_ids = id + 1;
            return 1;
        }
        i = (i + 1) & v->mask;
    }
    if (v->pool_len + len + 1 > v->pool_cap) {
        size_t n = v->pool_cap ? v->pool_cap * 2 : 1 << 16;
        while (n < v->pool_len + len + 1)
            n *= 2;
        if (n > UINT32_MAX)
            return 0;
        char *np = realloc(v->pool, n);
        if (!np)
            return 0;
        v->pool = np;
        v->pool_cap = n;
    }
    uint32_t off = (uint32_t)v->pool_len;
    memcpy(v->pool + off, s, len);
    v->pool[off + len] = 0;
    v->pool_len += len + 1;
    v->slots[i] = (tok_vocab_slot){h, off, (uint32_t)len, id};
    v->id_off[id] = off;
    v->id_len[id] = (uint32_t)len;
    if (id >= v->n_ids)
        v->n_ids = id + 1;
    if (++v->count * 2 > v->mask + 1 && !grow_slots(v))
        return 0;
    return 1;
}

int32_t tok_vocab_find_h(const tok_vocab *v, const char *s, size_t len, uint32_t h)
{
    size_t i = h & v->mask;
    for (;;) {
        const tok_vocab_slot *sl = &v->slots[i];
        if (sl->id < 0)
            return -1;
        if (sl->hash == h && sl->len == len && memcmp(v->pool + sl->off, s, len) == 0)
            return sl->id;
        i = (i + 1) & v->mask;
    }
}

int32_t tok_vocab_find(const tok_vocab *v, const char *s, size_t len)
{
    return tok_vocab_find_h(v, s, len, tok_hash(s, len));
}

const char *tok_vocab_str(const tok_vocab *v, int32_t id, size_t *len)
{
    if (id < 0 || id >= v->n_ids || v->id_len[id] == UINT32_MAX)
        return NULL;
    *len = v->id_len[id];
    return v->pool + v->id_off[id];
}

int tok_merges_init(tok_merges *m, size_t expected)
{
    size_t n = 1024;
    while (n < expected * 2)
        n *= 2;
    m->slots = calloc(n, sizeof *m->slots);
    m->mask = n - 1;
    return m->slots != NULL;
}

void tok_merges_free(tok_merges *m)
{
    free(m->slots);
    m->slots = NULL;
}

int tok_merges_add(tok_merges *m, int32_t a, int32_t b, int32_t rank, int32_t id)
{
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 32) & m->mask;
    while (m->slots[i].key != 0) {
        if (m->slots[i].key == key) { /* a repeated pair takes its last rank, as the reference does */
            m->slots[i].rank = rank;
            m->slots[i].id = id;
            return 1;
        }
        i = (i + 1) & m->mask;
    }
    m->slots[i] = (tok_merge_slot){key, rank, id};
    return 1;
}

void tok_vocab_find_batch(const tok_vocab *v, const char *const *s, const size_t *len, int32_t *out, size_t n)
{
    enum { B = 64 };
    uint32_t h[B];
    size_t slot[B];
    for (size_t base = 0; base < n; base += B) {
        size_t m = n - base < B ? n - base : B;
        /* 1: hash and prefetch the first slot */
        for (size_t i = 0; i < m; i++) {
            h[i] = tok_hash(s[base + i], len[base + i]);
            slot[i] = h[i] & v->mask;
            __builtin_prefetch(&v->slots[slot[i]]);
        }
        /* 2: find the slot whose hash matches; prefetch its string */
        for (size_t i = 0; i < m; i++) {
            size_t j = slot[i];
            while (v->slots[j].id >= 0 && (v->slots[j].hash != h[i] || v->slots[j].len != len[base + i]))
                j = (j + 1) & v->mask;
            slot[i] = j;
            if (v->slots[j].id >= 0)
                __builtin_prefetch(v->pool + v->slots[j].off);
        }
        /* 3: verify (a hash collision falls back to the plain lookup) */
        for (size_t i = 0; i < m; i++) {
            const tok_vocab_slot *sl = &v->slots[slot[i]];
            if (sl->id < 0)
                out[base + i] = -1;
            else if (memcmp(v->pool + sl->off, s[base + i], len[base + i]) == 0)
                out[base + i] = sl->id;
            else
                out[base + i] = tok_vocab_find_h(v, s[base + i], len[base + i], h[i]);
        }
    }
}

void tok_merges_add_batch(tok_merges *m, const int32_t *a, const int32_t *b, const int32_t *rank, const int32_t *id,
                          size_t n)
{
    enum { B = 64 };
    for (size_t base = 0; base < n; base += B) {
        size_t k = n - base < B ? n - base : B;
        for (size_t i = 0; i < k; i++) {
            uint64_t key = (((uint64_t)(uint32_t)a[base + i] << 32) | (uint32_t)b[base + i]) + 1;
            uint64_t h = key * 0x9E3779B97F4A7C15ull;
            __builtin_prefetch(&m->slots[(size_t)(h >> 32) & m->mask], 1);
        }
        for (size_t i = 0; i < k; i++)
            tok_merges_add(m, a[base + i], b[base + i], rank[base + i], id[base + i]);
    }
}
