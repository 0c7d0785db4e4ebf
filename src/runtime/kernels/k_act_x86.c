/*
 * k_act_x86.c - AVX-512 and AVX2 SiLU / tanh-GELU gated activations (aae_k_glu,
 * aae_k_act on x86_64), with the vector exp of x86_exp.h, 16 or 8 lanes at a
 * time. Other activations and CPUs use the portable loops of k_basic.c.
 */
#include "kernels/kernels.h"

#if !defined(__x86_64__)
int aae_k_act_x86(float *out, const float *g, const float *u, int32_t n, int32_t act, uint32_t cpu)
{
    (void)out, (void)g, (void)u, (void)n, (void)act, (void)cpu;
    return 0;
}
#else
#include "kernels/x86_exp.h"

T512 static inline __m512 silu512(__m512 x)
{
    __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(x, _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

T512 static inline __m512 gelu_tanh512(__m512 x)
{
    /* 0.5 x (1 + tanh(y)) = x - x / (exp(2y) + 1), y = sqrt(2/pi) (x + 0.044715 x^3) */
    __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    __m512 y = _mm512_mul_ps(_mm512_set1_ps(0.7978845608028654f), _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
    __m512 e = exp512(_mm512_add_ps(y, y));
    return _mm512_sub_ps(x, _mm512_div_ps(x, _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
}

T512 static void run512(float *out, const float *g, const float *u, int32_t n, int32_t act)
{
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(g + i);
        __m512 a = act == AAE_ACT_KIND_SILU ? silu512(x) : gelu_tanh512(x);
        _mm512_storeu_ps(out + i, u ? _mm512_mul_ps(a, _mm512_loadu_ps(u + i)) : a);
    }
    if (i < n) {
        __mmask16 mk = (__mmask16)((1u << (n - i)) - 1u);
        __m512 x = _mm512_maskz_loadu_ps(mk, g + i);
        __m512 a = act == AAE_ACT_KIND_SILU ? silu512(x) : gelu_tanh512(x);
        _mm512_mask_storeu_ps(out + i, mk, u ? _mm512_mul_ps(a, _mm512_maskz_loadu_ps(mk, u + i)) : a);
    }
}

T256 static inline __m256 silu256(__m256 x)
{
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(x, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

T256 static inline __m256 gelu_tanh256(__m256 x)
{
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 y = _mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
    __m256 e = exp256(_mm256_add_ps(y, y));
    return _mm256_sub_ps(x, _mm256_div_ps(x, _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
}

T256 static void run256(float *out, const float *g, const float *u, int32_t n, int32_t act)
{
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(g + i);
        __m256 a = act == AAE_ACT_KIND_SILU ? silu256(x) : gelu_tanh256(x);
        _mm256_storeu_ps(out + i, u ? _mm256_mul_ps(a, _mm256_loadu_ps(u + i)) : a);
    }
    if (i < n) {
        __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - i), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 x = _mm256_maskload_ps(g + i, mk);
        __m256 a = act == AAE_ACT_KIND_SILU ? silu256(x) : gelu_tanh256(x);
        _mm256_maskstore_ps(out + i, mk, u ? _mm256_mul_ps(a, _mm256_maskload_ps(u + i, mk)) : a);
    }
}

int aae_k_act_x86(float *out, const float *g, const float *u, int32_t n, int32_t act, uint32_t cpu)
{
    if (act != AAE_ACT_KIND_SILU && act != AAE_ACT_KIND_GELU_TANH)
        return 0;
    if (cpu & AAE_CPU_AVX512)
        run512(out, g, u, n, act);
    else if (cpu & AAE_CPU_AVX2_FMA)
        run256(out, g, u, n, act);
    else
        return 0;
    return 1;
}
#endif
