/*
 * regex_fast.c - hand-written matchers for the Split patterns that nearly every
 * byte-level BPE tokenizer uses. aae_regex_compile recognises the exact pattern
 * text and aae_regex_find then calls these instead of the backtracking machine;
 * they return exactly what the machine would (tests/tokenizer compares both on
 * random text).
 *
 *   GPT-2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *   Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *   Qwen 2/3: the Llama 3 pattern with \p{N} in place of \p{N}{1,3}.
 * Every character is covered by some alternative, so a match always starts at the
 * search position.
 */
#include <string.h>

#include "base/utf8.h"
#include "tokenizer/regex_fast.h"
#include "tokenizer/unicode.h"

static const char P_GPT2[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char P_LLAMA3[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                               "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char P_QWEN2[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                              "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

int aae_regex_fast_kind(const char *pattern, size_t len)
{
    if (len == sizeof P_GPT2 - 1 && memcmp(pattern, P_GPT2, len) == 0)
        return AAE_RX_FAST_GPT2;
    if (len == sizeof P_LLAMA3 - 1 && memcmp(pattern, P_LLAMA3, len) == 0)
        return AAE_RX_FAST_LLAMA3;
    if (len == sizeof P_QWEN2 - 1 && memcmp(pattern, P_QWEN2, len) == 0)
        return AAE_RX_FAST_QWEN2;
    return AAE_RX_FAST_NONE;
}

enum { C_END, C_L, C_N, C_S, C_NL, C_P }; /* C_NL: \r or \n (also white space) */

/* The class of the character at pos and its length. */
static inline int cls_at(const unsigned char *s, size_t len, size_t pos, size_t *n, uint32_t *cp_out)
{
    if (pos >= len) {
        *n = 0;
        *cp_out = 0;
        return C_END;
    }
    uint32_t cp = s[pos];
    if (cp < 0x80) {
        *n = 1;
        *cp_out = cp;
        if ((cp | 32) >= 'a' && (cp | 32) <= 'z')
            return C_L;
        if (cp >= '0' && cp <= '9')
            return C_N;
        if (cp == '\r' || cp == '\n')
            return C_NL;
        if (cp == ' ' || (cp >= 9 && cp <= 13))
            return C_S;
        return C_P;
    }
    *n = aae_utf8_decode(s + pos, len - pos, &cp);
    if (*n == 0) {
        *n = 1;
        cp = 0xFFFD;
    }
    *cp_out = cp;
    if (aae_uc_is_letter(cp))
        return C_L;
    if (aae_uc_is_number(cp))
        return C_N;
    if (aae_uc_is_space(cp))
        return C_S;
    return C_P;
}

static inline int is_space(int c) { return c == C_S || c == C_NL; }

/* Advances e over the characters whose class k_ satisfies cond; stops after max
 * characters (max < 0: no limit). */
#define RUN_WHILE(cond, max)                                                                                       \
    do {                                                                                                           \
        int cnt_ = 0;                                                                                              \
        for (;;) {                                                                                                 \
            if ((max) >= 0 && cnt_ >= (max))                                                                       \
                break;                                                                                             \
            size_t n_;                                                                                             \
            uint32_t cp_;                                                                                          \
            int k_ = cls_at(s, len, e, &n_, &cp_);                                                                \
            if (!(cond))                                                                                           \
                break;                                                                                             \
            e += n_;                                                                                               \
            cnt_++;                                                                                                \
        }                                                                                                          \
    } while (0)

static size_t contraction(const unsigned char *s, size_t len, size_t pos, int ci)
{
    /* s[pos] == '\'' */
    if (pos + 1 >= len)
        return 0;
    unsigned a = s[pos + 1], b = pos + 2 < len ? s[pos + 2] : 0;
    if (ci) {
        a = (a >= 'A' && a <= 'Z') ? a + 32 : a;
        b = (b >= 'A' && b <= 'Z') ? b + 32 : b;
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/* The three white-space alternatives shared by all patterns, starting at pos (a
 * white-space character); `newline_alt` enables \s*[\r\n]+. */
static size_t spaces(const unsigned char *s, size_t len, size_t pos, int newline_alt)
{
    size_t e = pos, last_nl = (size_t)-1;
    for (;;) {
        size_t n;
        uint32_t cp;
        int c = cls_at(s, len, e, &n, &cp);
        if (!is_space(c))
            break;
        if (c == C_NL)
            last_nl = e;
        e += n;
    }
    if (newline_alt && last_nl != (size_t)-1)
        return last_nl + 1; /* \r and \n are one byte */
    if (e == len)
        return e; /* \s+(?!\S) at the end */
    /* \s+(?!\S): give back the last white-space character, if one remains */
    size_t p = e - 1;
    while (p > pos && (s[p] & 0xC0) == 0x80)
        p--;
    return p > pos ? p : e;
}

size_t aae_regex_fast_match(int kind, const char *text, size_t len, size_t pos)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n, n2;
    uint32_t cp, cp2;
    int c = cls_at(s, len, pos, &n, &cp);
    size_t e;
    if (c == C_END)
        return pos;
    if (cp == '\'') {
        size_t k = contraction(s, len, pos, kind != AAE_RX_FAST_GPT2);
        if (k && (kind != AAE_RX_FAST_GPT2 || (s[pos + 1] >= 'a' && s[pos + 1] <= 'z')))
            return pos + k;
    }
    if (kind == AAE_RX_FAST_GPT2) {
        size_t start = pos;
        int c1 = c;
        if (cp == ' ') {
            int c2 = cls_at(s, len, pos + 1, &n2, &cp2);
            if (c2 == C_L || c2 == C_N || c2 == C_P) {
                start = pos + 1;
                c1 = c2;
            }
        }
        e = start;
        if (c1 == C_L)
            RUN_WHILE(k_ == C_L, -1);
        else if (c1 == C_N)
            RUN_WHILE(k_ == C_N, -1);
        else if (c1 == C_P)
            RUN_WHILE(k_ == C_P, -1);
        else
            return spaces(s, len, pos, 0);
        return e;
    }
    /* Llama 3 / Qwen 2 */
    if (c == C_L || ((c == C_S || c == C_P) && cls_at(s, len, pos + n, &n2, &cp2) == C_L)) {
        e = c == C_L ? pos : pos + n;
        RUN_WHILE(k_ == C_L, -1);
        return e;
    }
    if (c == C_N) {
        e = pos;
        RUN_WHILE(k_ == C_N, kind == AAE_RX_FAST_LLAMA3 ? 3 : 1);
        return e;
    }
    if (c == C_P || (cp == ' ' && cls_at(s, len, pos + 1, &n2, &cp2) == C_P)) {
        e = c == C_P ? pos : pos + 1;
        RUN_WHILE(k_ == C_P, -1);
        RUN_WHILE(k_ == C_NL, -1);
        return e;
    }
    return spaces(s, len, pos, 1);
}
