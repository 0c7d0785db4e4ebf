/* regex_fast.h - hand-written matchers for the common byte-level BPE Split patterns (see regex_fast.c). */
#ifndef AAE_TOKENIZER_REGEX_FAST_H
#define AAE_TOKENIZER_REGEX_FAST_H

#include <stddef.h>

enum { AAE_RX_FAST_NONE = 0, AAE_RX_FAST_GPT2, AAE_RX_FAST_LLAMA3, AAE_RX_FAST_QWEN2 };

/* The fast matcher for this exact pattern text, or AAE_RX_FAST_NONE. */
int aae_regex_fast_kind(const char *pattern, size_t len);
/* The end of the match that starts at pos (pos < len; a match always exists). */
size_t aae_regex_fast_match(int kind, const char *text, size_t len, size_t pos);

#endif
