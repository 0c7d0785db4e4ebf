/*
 * vocab.h - token strings <-> ids, and BPE merge ranks (private to the tokenizer).
 *
 * tok_vocab keeps every token string once in a pool, an id -> string table and an
 * open-addressing hash string -> id. tok_merges maps a pair of ids to the merge's
 * rank and the id of the merged token.
 */
#ifndef AAE_TOKENIZER_VOCAB_H
#define AAE_TOKENIZER_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#define TOK_MAX_IDS (1 << 24) /* ids are < 16M: a sanity limit for untrusted files */

typedef struct tok_vocab_slot {
    uint32_t hash;
    uint32_t off, len;
    int32_t id; /* -1: empty */
} tok_vocab_slot;

typedef struct tok_vocab {
    char *pool;
    size_t pool_len, pool_cap;
    uint32_t *id_off, *id_len; /* [n_ids]; id_len UINT32_MAX: unused id */
    int32_t n_ids;             /* largest id + 1 */
    size_t ids_cap;
    tok_vocab_slot *slots;
    size_t mask, count;
} tok_vocab;

int tok_vocab_init(tok_vocab *v, size_t expected);
void tok_vocab_free(tok_vocab *v);
uint32_t tok_hash(const char *s, size_t len);
/* Adds or overrides s -> id, and makes id's string s. 0 on out of memory. */
int tok_vocab_set(tok_vocab *v, const char *s, size_t len, int32_t id);
/* -1 if absent. */
int32_t tok_vocab_find(const tok_vocab *v, const char *s, size_t len);
int32_t tok_vocab_find_h(const tok_vocab *v, const char *s, size_t len, uint32_t h);
/* out[i] = the id of s[i] (or -1), for n strings: lookups overlap their memory
 * accesses, which makes loading large vocabularies several times faster. */
void tok_vocab_find_batch(const tok_vocab *v, const char *const *s, const size_t *len, int32_t *out, size_t n);
/* NULL if the id is unused or out of range. */
const char *tok_vocab_str(const tok_vocab *v, int32_t id, size_t *len);

typedef struct tok_merge_slot {
    uint64_t key; /* (a << 32 | b) + 1; 0: empty */
    int32_t rank;
    int32_t id;
} tok_merge_slot;

typedef struct tok_merges {
    tok_merge_slot *slots;
    size_t mask;
} tok_merges;

int tok_merges_init(tok_merges *m, size_t expected);
void tok_merges_free(tok_merges *m);
/* A pair that repeats takes its last rank (as transformers.js and HF tokenizers). */
int tok_merges_add(tok_merges *m, int32_t a, int32_t b, int32_t rank, int32_t id);
void tok_merges_add_batch(tok_merges *m, const int32_t *a, const int32_t *b, const int32_t *rank, const int32_t *id,
                          size_t n);

static inline const tok_merge_slot *tok_merges_find(const tok_merges *m, int32_t a, int32_t b)
{
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 32) & m->mask;
    for (;;) {
        const tok_merge_slot *s = &m->slots[i];
        if (s->key == key)
            return s;
        if (s->key == 0)
            return NULL;
        i = (i + 1) & m->mask;
    }
}

#endif
