/*
 * regex.h - a small backtracking regular-expression engine for the Split and
 * Replace patterns of tokenizer.json files.
 *
 * Semantics are those of ECMAScript regular expressions with the "u" flag (what
 * the reference, transformers.js, runs): matching is by code point; \s is the
 * ECMAScript white space set; \d and \w are ASCII; \p{..}/\P{..} take general
 * categories (L, Lu, N, Nd, P, ...); alternation is ordered (first alternative that
 * leads to a match wins); quantifiers are greedy unless followed by '?'.
 *
 * Supported: literals, '.', classes [...] with ranges and negation, escapes
 * \s \S \d \D \w \W \p{X} \P{X} \pX \r \n \t \f \v \0 \xHH \x{H..} \uHHHH \u{H..}
 * and escaped punctuation, groups (...) (?:...) (?i:...) (case-insensitive for
 * ASCII letters), lookahead (?=...) (?!...), ^ and $ (text start/end), quantifiers
 * * + ? {n} {n,} {n,m} and their lazy forms. Anything else (backreferences,
 * lookbehind, named groups, a repeated sub-pattern that can match empty, ...) is
 * rejected at compile time with a message naming the offset.
 */
#ifndef AAE_TOKENIZER_REGEX_H
#define AAE_TOKENIZER_REGEX_H

#include <stddef.h>

#include "base/error.h"

typedef struct aae_regex aae_regex;

aae_status aae_regex_compile(const char *pattern, size_t len, aae_regex **out, aae_error *err);
void aae_regex_free(aae_regex *re);

/* Finds the leftmost match in text[0, len) that starts at or after `start` (a
 * character boundary). Returns 1 and sets [*mstart, *mend), 0 if none, -1 if out of
 * memory. text must be valid UTF-8. */
int aae_regex_find(const aae_regex *re, const char *text, size_t len, size_t start, size_t *mstart,
                   size_t *mend);

/* The same, always with the backtracking machine (aae_regex_find uses a
 * hand-written matcher for the common GPT-2 / Llama 3 / Qwen 2 patterns; tests
 * compare the two). */
int aae_regex_find_generic(const aae_regex *re, const char *text, size_t len, size_t start, size_t *mstart,
                           size_t *mend);

#endif
