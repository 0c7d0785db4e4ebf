/*
 * quant.h - MLC-LLM's group quantization, bit-exact (docs/format.md, "Quantization").
 *
 * A row of K model-dtype values (given as float32 holding exactly those values) is
 * cut in groups of G along K; per group: scale = max|w| / max_int, t = w / scale,
 * u = t + max_int, each rounded to the model dtype, code = clamp(rint(u), 0,
 * 2*max_int); a group with scale 0 gets codes 0; padding past K gets code 0.
 * Codes are packed LSB first, `per_word` codes of `bits` bits per uint32.
 */
#ifndef AAE_CONVERT_QUANT_H
#define AAE_CONVERT_QUANT_H

#include <stddef.h>
#include <stdint.h>

typedef struct aae_quant_spec {
    const char *name;     /* "q4f16_1" ... */
    int model_f16;        /* model dtype: 1 float16, 0 float32 */
    int quantized;        /* 0 for q0f32 / q0f16 */
    int bits, group, per_word, max_int;
} aae_quant_spec;

/* NULL if unknown. */
const aae_quant_spec *aae_quant_find(const char *name);
/* "q0f32, q0f16, q4f16_1, q4f32_1, q3f16_1" */
const char *aae_quant_names(void);

/* Groups per row and uint32 words per row of q_weight. */
static inline int64_t aae_quant_groups(const aae_quant_spec *q, int64_t k)
{
    return (k + q->group - 1) / q->group;
}
static inline int64_t aae_quant_words(const aae_quant_spec *q, int64_t k)
{
    return aae_quant_groups(q, k) * (q->group / q->per_word);
}

/* Quantizes one row w[0..k) (model-dtype values as float32). Writes
 * aae_quant_words() words to qw and aae_quant_groups() scales to scale (float32
 * holding model-dtype values). */
void aae_quant_row(const aae_quant_spec *q, const float *w, int64_t k, uint32_t *qw, float *scale);
/* 1 if the converter's AVX2 copies should run: the CPU has AVX2 and AAE_NO_SIMD
 * is unset or "0" (AAE_NO_SIMD=1 forces the portable path; the tests compare
 * both). Asked once. */
int aae_convert_use_avx2(void);
/* The same without any CPU-specific path (aae_quant_row may pick an AVX2 copy). */
void aae_quant_row_portable(const aae_quant_spec *q, const float *w, int64_t k, uint32_t *qw, float *scale);

#endif
