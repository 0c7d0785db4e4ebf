/* did_you_mean.h - the one "did you mean" of the CLI side: the closest known word to
 * a misspelt command, option, template name or config key. */
#ifndef AAE_TOOLS_DID_YOU_MEAN_H
#define AAE_TOOLS_DID_YOU_MEAN_H

#include <stddef.h>

/* Levenshtein distance between a and b (bytes, case-sensitive); words longer than 64
 * bytes are at distance 64 from everything. */
size_t aae_edit_distance(const char *a, const char *b);

/* The candidate closest to word, or NULL when none is close: distance at most
 * max(2, strlen(word) / 3); a case-insensitive match counts as distance 0 and a word
 * of 4+ bytes that starts a candidate ("context_window") as distance 1. n may be
 * (size_t)-1 for a NULL-terminated list. */
const char *aae_did_you_mean(const char *word, const char *const *candidates, size_t n);

#endif
