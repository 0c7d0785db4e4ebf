/*
 * x86_exp.h - private: exp on 16 float32 lanes for the AVX-512 kernels and on
 * 8 for the AVX2 ones (same reduction and polynomial as kmath.h's aae_expf,
 * 2^n applied with scalef, or on AVX2 as two exponent-field factors 2^(n/2)
 * and 2^(n - n/2), both normal; below -87.33 the result is 0, so exp(-inf) =
 * 0). x86_64 only.
 */
#ifndef AAE_KERNELS_X86_EXP_H
#define AAE_KERNELS_X86_EXP_H

#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512dq,avx2,fma")))
#define T256 __attribute__((target("avx2,fma")))

/* exp(r) for |r| <= ln2 / 2 (the reduced argument): kmath.h's polynomial,
 * Horner steps with the width's FMA and broadcast. */
#define AAE_EXP_POLY(FMA, SET1, r)                                                                             \
    FMA(FMA(FMA(FMA(FMA(FMA(FMA(SET1(1.0f / 5040.0f), r, SET1(1.0f / 720.0f)), r, SET1(1.0f / 120.0f)), r,        \
                        SET1(1.0f / 24.0f)),                                                                   \
                    r, SET1(1.0f / 6.0f)),                                                                     \
                r, SET1(0.5f)),                                                                                \
            r, SET1(1.0f)),                                                                                    \
        r, SET1(1.0f))

T512 static inline __m512 exp512(__m512 x)
{
    __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33f), _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33f)), _mm512_set1_ps(88.7f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
    __m512 p = AAE_EXP_POLY(_mm512_fmadd_ps, _mm512_set1_ps, r);
    return _mm512_maskz_mov_ps((__mmask16)~tiny, _mm512_scalef_ps(p, n));
}

T256 static inline __m256 exp256(__m256 x)
{
    __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33f), _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33f)), _mm256_set1_ps(88.7f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
    __m256 p = AAE_EXP_POLY(_mm256_fmadd_ps, _mm256_set1_ps, r);
    __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    return _mm256_andnot_ps(tiny, _mm256_mul_ps(_mm256_mul_ps(p, f1), f2));
}

#endif
