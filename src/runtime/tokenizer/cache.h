/*
 * cache.h - a small lock-free cache of BPE results (word -> ids), shared by all
 * threads that encode with one tokenizer.
 *
 * Direct-mapped; each entry is guarded by a sequence counter (a seqlock: odd while
 * written; readers retry nothing, they just miss), so concurrent encodes never
 * block and never see a torn entry. Only words of at most TOK_CACHE_WORD bytes
 * that give at most TOK_CACHE_IDS ids are kept.
 */
#ifndef AAE_TOKENIZER_CACHE_H
#define AAE_TOKENIZER_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define TOK_CACHE_ENTRIES 8192
#define TOK_CACHE_WORD 32
#define TOK_CACHE_IDS 6

typedef struct tok_cache_entry {
    _Atomic uint32_t seq;
    _Atomic uint64_t w[8]; /* header (hash, length, count), 32 bytes of word, 6 ids */
} tok_cache_entry;

typedef struct tok_cache {
    tok_cache_entry e[TOK_CACHE_ENTRIES];
} tok_cache;

/* Number of ids copied to ids (1..TOK_CACHE_IDS) on a hit, 0 on a miss. */
size_t tok_cache_get(tok_cache *c, const char *word, size_t len, int32_t *ids);
void tok_cache_put(tok_cache *c, const char *word, size_t len, const int32_t *ids, size_t n);

#endif
