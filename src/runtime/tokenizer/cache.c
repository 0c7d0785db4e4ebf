/* cache.c - the seqlock-guarded BPE result cache (see cache.h). */
#include "tokenizer/cache.h"

#include <string.h>

static uint32_t hash_word(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static uint64_t header(uint32_t h, size_t len, size_t n)
{
    return ((uint64_t)h << 32) | ((uint64_t)len << 8) | (uint64_t)n;
}

size_t tok_cache_get(tok_cache *c, const char *word, size_t len, int32_t *ids)
{
    if (!c || len == 0 || len > TOK_CACHE_WORD)
        return 0;
    uint32_t h = hash_word(word, len);
    tok_cache_entry *e = &c->e[h & (TOK_CACHE_ENTRIES - 1)];
    uint32_t s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
    if (s1 & 1)
        return 0;
    uint64_t w[8];
    for (int i = 0; i < 8; i++)
        w[i] = atomic_load_explicit(&e->w[i], memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s1)
        return 0;
    size_t n = (size_t)(w[0] & 0xFF);
    if (n == 0 || (w[0] >> 32) != h || ((w[0] >> 8) & 0xFF) != len)
        return 0;
    char key[TOK_CACHE_WORD];
    memcpy(key, &w[1], TOK_CACHE_WORD);
    if (memcmp(key, word, len) != 0)
        return 0;
    int32_t v[TOK_CACHE_IDS];
    memcpy(v, &w[5], sizeof v);
    memcpy(ids, v, n * sizeof *ids);
    return n;
}

void tok_cache_put(tok_cache *c, const char *word, size_t len, const int32_t *ids, size_t n)
{
    if (!c || len == 0 || len > TOK_CACHE_WORD || n == 0 || n > TOK_CACHE_IDS)
        return;
    uint32_t h = hash_word(word, len);
    tok_cache_entry *e = &c->e[h & (TOK_CACHE_ENTRIES - 1)];
    uint32_t s = atomic_load_explicit(&e->seq, memory_order_relaxed);
    if ((s & 1) || !atomic_compare_exchange_strong_explicit(&e->seq, &s, s + 1, memory_order_acquire,
                                                            memory_order_relaxed))
        return; /* another thread is writing it: skip */
    atomic_thread_fence(memory_order_release);
    uint64_t w[8] = {header(h, len, n), 0, 0, 0, 0, 0, 0, 0};
    memcpy(&w[1], word, len);
    memcpy(&w[5], ids, n * sizeof *ids);
    for (int i = 0; i < 8; i++)
        atomic_store_explicit(&e->w[i], w[i], memory_order_relaxed);
    atomic_store_explicit(&e->seq, s + 2, memory_order_release);
}
