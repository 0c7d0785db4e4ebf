/*
 * quant.c - group quantization of one row (see quant.h).
 */
#include "quant.h"

#include <math.h>
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

/* Rounds to nearest, ties to even, for |x| < 2^22 (and passes NaN / Inf through). */
static inline float rint_small(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    return fabsf(x) < 4194304.0f ? (x + magic) - magic : x;
}

/* Codes of one group (n <= 64 elements) into codes[]. */
static void group_codes(const aae_quant_spec *q, const float *w, int n, uint32_t *codes, float *scale_out)
{
    float m = 0.0f;
    for (int j = 0; j < n; j++) {
        float a = fabsf(w[j]);
        m = a > m ? a : m;
    }
    const float max_int = (float)q->max_int, top = (float)(2 * q->max_int);
    float scale = m / max_int;
    if (q->model_f16)
        scale = aae_round_f16(scale);
    *scale_out = scale;
    if (scale == 0.0f) {
        memset(codes, 0, (size_t)n * sizeof *codes);
        return;
    }
    if (q->model_f16) {
        for (int j = 0; j < n; j++) {
            float t = aae_round_f16(w[j] / scale);
            float u = aae_round_f16(t + max_int);
            float r = rint_small(u);
            r = r > 0.0f ? r : 0.0f; /* NaN -> 0 */
            r = r < top ? r : top;
            codes[j] = (uint32_t)r;
        }
    } else {
        for (int j = 0; j < n; j++) {
            float t = w[j] / scale;
            float u = t + max_int;
            float r = rint_small(u);
            r = r > 0.0f ? r : 0.0f;
            r = r < top ? r : top;
            codes[j] = (uint32_t)r;
        }
    }
}

void aae_quant_row(const aae_quant_spec *q, const float *w, int64_t k, uint32_t *qw, float *scale)
{
    int64_t ng = aae_quant_groups(q, k);
    int words = q->group / q->per_word;
    uint32_t codes[64];
    for (int64_t g = 0; g < ng; g++) {
        int64_t start = g * q->group;
        int n = (int)(k - start < q->group ? k - start : q->group);
        group_codes(q, w + start, n, codes, &scale[g]);
        for (int j = n; j < q->group; j++)
            codes[j] = 0;
        uint32_t *out = qw + g * words;
        for (int wi = 0; wi < words; wi++) {
            uint32_t word = 0;
            for (int e = 0; e < q->per_word; e++)
                word |= codes[wi * q->per_word + e] << (e * q->bits);
            out[wi] = word;
        }
    }
}
