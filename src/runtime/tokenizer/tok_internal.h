/*
 * tok_internal.h - the in-memory form of a loaded tokenizer (private).
 *
 * load.c fills it from tokenizer.json; encode.c, bpe.c, pretok.c, normalize.c and
 * decode.c read it. After loading only the BPE cache (lock-free, cache.h) and, on
 * failures, `err` change, so one tokenizer can be used from several threads.
 */
#ifndef AAE_TOKENIZER_INTERNAL_H
#define AAE_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "sphere_aae.h"
#include "tokenizer/cache.h"
#include "tokenizer/regex.h"
#include "tokenizer/vocab.h"

/* A pattern of Split / Replace: a literal string or a compiled regex. */
typedef struct tok_pattern {
    char *str; /* literal (when re is NULL) */
    size_t len;
    aae_regex *re;
} tok_pattern;

enum {
    NORM_SEQUENCE, NORM_NFC, NORM_NFD, NORM_NFKC, NORM_NFKD, NORM_LOWERCASE, NORM_STRIP, NORM_REPLACE,
    NORM_PREPEND
};
typedef struct tok_normalizer {
    int type;
    tok_pattern pat;  /* REPLACE */
    char *text;       /* REPLACE content, PREPEND prepend */
    size_t text_len;
    int left, right;  /* STRIP */
    struct tok_normalizer *kids; /* SEQUENCE */
    size_t n_kids;
} tok_normalizer;

enum {
    PRE_SEQUENCE, PRE_SPLIT, PRE_BYTELEVEL, PRE_METASPACE, PRE_DIGITS, PRE_WHITESPACE, PRE_WHITESPACE_SPLIT,
    PRE_PUNCTUATION
};
enum { SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS };
enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };
typedef struct tok_pretok {
    int type;
    tok_pattern pat; /* SPLIT */
    int behavior;    /* SPLIT, PUNCTUATION */
    int invert;      /* SPLIT */
    int add_prefix_space; /* BYTELEVEL, METASPACE */
    int use_regex;        /* BYTELEVEL */
    int individual_digits;
    char replacement[8]; /* METASPACE, UTF-8 */
    size_t replacement_len;
    int prepend_scheme;
    struct tok_pretok *kids;
    size_t n_kids;
} tok_pretok;

enum { DEC_REPLACE, DEC_BYTE_FALLBACK, DEC_BYTELEVEL, DEC_METASPACE, DEC_FUSE, DEC_STRIP };
typedef struct tok_decoder_step {
    int type;
    char *from, *to; /* REPLACE (literal patterns only) */
    size_t from_len, to_len;
    char content[8]; /* STRIP: one character, UTF-8 */
    size_t content_len;
    int start, stop;      /* STRIP */
    int after_fuse;       /* STRIP, REPLACE: applies to the fused stream */
    char replacement[8];  /* METASPACE */
    size_t replacement_len;
    int add_prefix_space; /* METASPACE */
} tok_decoder_step;

/* Post-processor: a template of pieces; -1 marks "the sequence". */
typedef struct tok_post {
    int present;
    int32_t *single; /* ids, or -1 for the text's ids */
    size_t n_single;
} tok_post;

typedef struct tok_added {
    uint32_t off, len; /* content in the vocab pool */
    int32_t id;
    uint8_t special, lstrip, rstrip, single_word, normalized;
} tok_added;

/* A byte trie of added-token contents for leftmost-longest matching. */
typedef struct tok_trie {
    int32_t *edge_keys_node; /* hash of (node, byte) -> child */
    uint8_t *edge_keys_byte;
    int32_t *edge_child;
    size_t edge_mask;
    int32_t *terminal; /* per node: index into added[] or -1 */
    size_t n_nodes;
    uint8_t first_byte[256];
} tok_trie;

typedef struct tok_bpe {
    int byte_fallback, fuse_unk, ignore_merges;
    int32_t unk_id;
    char *cont_prefix, *eow_suffix; /* NULL when unset or "" */
    size_t cont_prefix_len, eow_suffix_len;
    tok_merges merges;
    int32_t byte_ids[256]; /* <0xXX>, or -1 */
    int32_t *bmp_char_id;  /* [65536]: the id of the one-character token, -1 if none */
    /* Word chunking (see bpe.c): split a word before a U+2581 whose left neighbour
     * c is neither U+2581 nor in `unsafe` (no token contains c + U+2581). */
    int chunking;
    uint32_t unsafe[32];
    size_t n_unsafe;
} tok_bpe;

struct aae_tokenizer {
    tok_vocab vocab;
    tok_bpe bpe;
    tok_normalizer *normalizer; /* NULL if none */
    tok_pretok *pretok;         /* NULL if none */
    tok_post post;
    tok_decoder_step *dec;
    size_t n_dec;
    int has_decoder;
    tok_added *added;
    size_t n_added;
    tok_trie trie;
    uint8_t *special; /* per id: 1 if special (skipped by AAE_DECODE_SKIP_SPECIAL_TOKENS) */
    uint8_t *is_added; /* per id */
    int32_t bos_id, eos_id;
    int adds_bos;
    tok_cache *cache; /* BPE results of short words; written by encode (lock-free) */
    aae_error err;
};

/* Pieces of text during pre-tokenization: spans into `data`. */
typedef struct tok_pieces {
    aae_buf data;
    size_t *off, *len;
    size_t n, cap;
} tok_pieces;

void tok_pieces_init(tok_pieces *p);
void tok_pieces_free(tok_pieces *p);
void tok_pieces_clear(tok_pieces *p);
/* Appends a piece (copied). 0 on out of memory. */
int tok_pieces_add(tok_pieces *p, const char *s, size_t len);

/* normalize.c */
aae_status tok_normalize(const tok_normalizer *n, const char *s, size_t len, aae_buf *out, aae_error *err);
/* pretok.c: splits `in` into `out` (cleared first). */
aae_status tok_pretokenize(const tok_pretok *pt, const char *s, size_t len, int section_index, tok_pieces *out,
                           aae_error *err);
/* pattern.c: finds the next match of pat at or after start. 1 found, 0 none, -1 nomem. */
int tok_pattern_find(const tok_pattern *pat, const char *s, size_t len, size_t start, size_t *ms, size_t *me);
void tok_pattern_free(tok_pattern *pat);
/* bpe.c: appends the ids of one pre-tokenized word. */
aae_status tok_bpe_word(const aae_tokenizer *tok, const char *w, size_t len, int32_t **ids, size_t *n,
                        size_t *cap);
/* bpe.c: decides whether words may be cut into chunks (after the vocabulary is loaded). */
void tok_bpe_prepare_chunking(aae_tokenizer *tok);
/* decode.c */
void tok_decoder_steps_free(tok_decoder_step *d, size_t n);

/* ids vector helper */
int tok_ids_push(int32_t **ids, size_t *n, size_t *cap, int32_t id);

#endif
