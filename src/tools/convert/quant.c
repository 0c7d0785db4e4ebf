/*
 * quant.c - group quantization of one row (see quant.h).
 *
 * Written for the compiler's vectoriser: each group is copied into a zero-padded
 * buffer of exactly `group` elements (32 or 40), so every loop has a constant trip
 * count; max|w| is taken on the float bit patterns (for non-negative floats the
 * integer order is the float order); rounding is branch-free.
 */
#if defined(__GNUC__) && !defined(__clang__)
/* GCC's -O2 vectorises only "very cheap" loops; these are the converter's hot loops
 * (clang vectorises them at -O2 already). */
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#include "quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "half.h"

static const aae_quant_spec SPECS[] = {
    {"q0f32", 0, 0, 0, 0, 0, 0},
    {"q0f16", 1, 0, 0, 0, 0, 0},
    {"q4f16_1", 1, 1, 4, 32, 8, 7},
    {"q4f32_1", 0, 1, 4, 32, 8, 7},
    {"q3f16_1", 1, 1, 3, 40, 10, 3},
};

const aae_quant_spec *aae_quant_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof SPECS / sizeof SPECS[0]; i++)
        if (strcmp(name, SPECS[i].name) == 0)
            return &SPECS[i];
    return NULL;
}

const char *aae_quant_names(void)
{
    return "q0f32, q0f16, q4f16_1, q4f32_1, q3f16_1";
}

/* Rounds to nearest, ties to even; valid for |x| < 2^22. Here x = u is always in
 * about [-1, 2*max_int + 1]: w is finite and |w| <= max|w|, so |w / scale| stays near
 * max_int (scale 0 is handled before). */
static inline float rint_small(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    return (x + magic) - magic;
}

/* max |w| of n finite floats, on bit patterns */
static inline float max_abs(const float *w, int n)
{
    int32_t m = 0;
    for (int j = 0; j < n; j++) {
        int32_t a = (int32_t)(aae_f32_bits(w[j]) & 0x7fffffffu);
        m = a > m ? a : m;
    }
    return aae_f32_from_bits((uint32_t)m);
}

#define GROUP_CODES(NAME, G, ROUND)                                                                         \
    static inline __attribute__((always_inline)) float NAME(const float *w, int32_t *codes, float max_int) \
    {                                                                                                         \
        float scale = ROUND(max_abs(w, G) / max_int);                                                         \
        if (scale == 0.0f) {                                                                                  \
            memset(codes, 0, (G) * sizeof *codes);                                                            \
            return scale;                                                                                     \
        }                                                                                                     \
        const int32_t top = 2 * (int32_t)max_int;                                                             \
        for (int j = 0; j < (G); j++) {                                                                       \
            float t = ROUND(w[j] / scale);                                                                    \
            float u = ROUND(t + max_int);                                                                     \
            int32_t c = (int32_t)rint_small(u);                                                               \
            c = c > 0 ? c : 0;                                                                                \
            codes[j] = c < top ? c : top;                                                                     \
        }                                                                                                     \
        return scale;                                                                                         \
    }

static inline float same(float x)
{
    return x;
}

GROUP_CODES(codes32_f16, 32, aae_round_f16)
GROUP_CODES(codes32_f32, 32, same)
GROUP_CODES(codes40_f16, 40, aae_round_f16)

static inline __attribute__((always_inline)) void quant_row(const aae_quant_spec *q, const float *w, int64_t k,
                                                             uint32_t *qw, float *scale)
{
    int64_t ng = aae_quant_groups(q, k);
    int group = q->group, words = group / q->per_word;
    float buf[40];
    int32_t codes[40];
    for (int64_t g = 0; g < ng; g++) {
        int64_t start = g * group;
        int n = (int)(k - start < group ? k - start : group);
        const float *src = w + start;
        if (n < group) { /* last, partial group: zero padding gets code 0 below */
            memcpy(buf, src, (size_t)n * sizeof *buf);
            memset(buf + n, 0, (size_t)(group - n) * sizeof *buf);
            src = buf;
        }
        float s;
        if (group == 40)
            s = codes40_f16(src, codes, (float)q->max_int);
        else if (q->model_f16)
            s = codes32_f16(src, codes, (float)q->max_int);
        else
            s = codes32_f32(src, codes, (float)q->max_int);
        scale[g] = s;
        for (int j = n; j < group; j++)
            codes[j] = 0;
        uint32_t *out = qw + g * words;
        for (int wi = 0; wi < words; wi++) {
            uint32_t word = 0;
            for (int e = 0; e < q->per_word; e++)
                word |= (uint32_t)codes[wi * q->per_word + e] << (e * q->bits);
            out[wi] = word;
        }
    }
}

void aae_quant_row_portable(const aae_quant_spec *q, const float *w, int64_t k, uint32_t *qw, float *scale)
{
    quant_row(q, w, k, qw, scale);
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
/* An AVX2 copy (8 lanes instead of 4), chosen at run time on CPUs that have it. A plain
 * run-time check rather than an ifunc, which sanitizer runtimes do not survive. */
__attribute__((target("avx2"))) static void quant_row_avx2(const aae_quant_spec *q, const float *w, int64_t k,
                                                           uint32_t *qw, float *scale)
{
    quant_row(q, w, k, qw, scale);
}

int aae_convert_use_avx2(void)
{
    static int have_avx2 = -1;
    int have = __atomic_load_n(&have_avx2, __ATOMIC_RELAXED);
    if (have < 0) {
        const char *no = getenv("AAE_NO_SIMD");
        have = __builtin_cpu_supports("avx2") && !(no && *no && strcmp(no, "0") != 0) ? 1 : 0;
        __atomic_store_n(&have_avx2, have, __ATOMIC_RELAXED);
    }
    return have;
}

void aae_quant_row(const aae_quant_spec *q, const float *w, int64_t k, uint32_t *qw, float *scale)
{
    if (aae_convert_use_avx2())
        quant_row_avx2(q, w, k, qw, scale);
    else
        quant_row(q, w, k, qw, scale);
}
#else
int aae_convert_use_avx2(void) { return 0; }

void aae_quant_row(const aae_quant_spec *q, const float *w, int64_t k, uint32_t *qw, float *scale)
{
    quant_row(q, w, k, qw, scale);
}
#endif
