/*
 * k_attention_x86.c - AVX-512 path of one (query token, head) of
 * aae_k_attention (k_attention.c) for head_dim a multiple of 16 up to 256: the
 * query and the output row stay in registers (one zmm per 16 elements),
 * scores are exponentiated 16 at a time (x86_exp.h), and each visible value
 * row is added to the output with one FMA per 16 elements; no per-key call
 * and no load/store of the output per key.
 */
#include "kernels/kernels.h"

#if !defined(__x86_64__)
int aae_k_attn_head_x86(const aae_attn_args *a, int32_t i, int32_t h, float *sc, uint32_t cpu)
{
    (void)a, (void)i, (void)h, (void)sc, (void)cpu;
    return 0;
}

int32_t aae_k_f16_row_x86(uint16_t *dst16, float *dstf, const float *src, int32_t n, uint32_t cpu)
{
    (void)dst16, (void)dstf, (void)src, (void)n, (void)cpu;
    return 0;
}
#else
#include "kernels/x86_exp.h"

#define AI __attribute__((always_inline))

/* 16 elements of a key or value row: float32, or float16 (f16 = 1) widened. */
T512 AI static inline __m512 ld16(const void *row, int j, const int f16)
{
    if (f16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + 16 * j)));
    return _mm512_loadu_ps((const float *)row + 16 * j);
}

/* nd = head_dim / 16 and f16 (the cache holds float16) are constants in each
 * instance below. */
T512 AI static inline void head_nd(const aae_attn_args *a, int32_t i, int32_t h, float *sc, const int nd, const int f16)
{
    size_t esz = f16 ? 2 : 4;
    int32_t d = a->head_dim, kvw = a->n_kv * d, kvh = h / (a->n_heads / a->n_kv), qp = a->qpos0 + i;
    int32_t nk = a->n_cached + i + 1, nc = a->n_cached;
    const float *q = a->q + (size_t)i * a->ldq + (size_t)h * d;
    const float ninf = -__builtin_inff();
    __m512 qv[16], o[16];
#pragma GCC unroll 16
    for (int j = 0; j < 16; j++) /* (dead for j >= nd; keeps the compiler sure nothing is read unset) */
        qv[j] = o[j] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int j = 0; j < nd; j++)
        qv[j] = _mm512_loadu_ps(q + 16 * j);
    float mx = ninf;
    for (int32_t s = 0; s < nk; s++) {
        int32_t kp = s < nc ? a->cpos[s] : a->qpos0 + (s - nc);
        int vis = kp <= qp && (a->window <= 0 || qp - kp < a->window || kp < a->sink);
        if (!vis) {
            sc[s] = ninf;
            continue;
        }
        __m512 acc;
        if (s < nc) {
            const void *k = (const uint8_t *)a->kcache + ((size_t)s * kvw + (size_t)kvh * d) * esz;
            acc = _mm512_mul_ps(qv[0], ld16(k, 0, f16));
#pragma GCC unroll 16
            for (int j = 1; j < nd; j++)
                acc = _mm512_fmadd_ps(qv[j], ld16(k, j, f16), acc);
        } else {
            const float *k = a->kc + (size_t)(s - nc) * a->ldkv + (size_t)kvh * d;
            acc = _mm512_mul_ps(qv[0], _mm512_loadu_ps(k));
#pragma GCC unroll 16
            for (int j = 1; j < nd; j++)
                acc = _mm512_fmadd_ps(qv[j], _mm512_loadu_ps(k + 16 * j), acc);
        }
        float v = _mm512_reduce_add_ps(acc) * a->scale;
        sc[s] = v;
        mx = v > mx ? v : mx;
    }
    /* e = exp(score - max); masked scores are -inf and give 0 */
    __m512 vmx = _mm512_set1_ps(mx), vsum = _mm512_setzero_ps();
    for (int32_t s = 0; s < nk; s += 16) {
        __mmask16 mk = nk - s >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (nk - s)) - 1u);
        __m512 e = exp512(_mm512_sub_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(ninf), mk, sc + s), vmx));
        _mm512_mask_storeu_ps(sc + s, mk, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
    for (int32_t s = 0; s < nk; s++) {
        if (sc[s] == 0.0f)
            continue;
        __m512 p = _mm512_set1_ps(sc[s]);
        if (s < nc) {
            const void *v = (const uint8_t *)a->vcache + ((size_t)s * kvw + (size_t)kvh * d) * esz;
#pragma GCC unroll 16
            for (int j = 0; j < nd; j++)
                o[j] = _mm512_fmadd_ps(p, ld16(v, j, f16), o[j]);
        } else {
            const float *v = a->vc + (size_t)(s - nc) * a->ldkv + (size_t)kvh * d;
#pragma GCC unroll 16
            for (int j = 0; j < nd; j++)
                o[j] = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 16 * j), o[j]);
        }
    }
    float *out = a->out + (size_t)i * a->ldo + (size_t)h * d;
#pragma GCC unroll 16
    for (int j = 0; j < nd; j++)
        _mm512_storeu_ps(out + 16 * j, _mm512_mul_ps(o[j], inv));
}

#define HEAD_FN(name, nd)                                                                                  \
    T512 static void name(const aae_attn_args *a, int32_t i, int32_t h, float *sc)                          \
    {                                                                                                      \
        if (a->kv_f16)                                                                                     \
            head_nd(a, i, h, sc, nd, 1);                                                                   \
        else                                                                                               \
            head_nd(a, i, h, sc, nd, 0);                                                                   \
    }
HEAD_FN(head_4, 4)
HEAD_FN(head_5, 5)
HEAD_FN(head_8, 8)
HEAD_FN(head_16, 16)
HEAD_FN(head_any, a->head_dim / 16)
#undef HEAD_FN

/* vcvtps2ph rounds to nearest even (and keeps float16 subnormals), as
 * aae_k_f32_to_f16. */
__attribute__((target("avx2,fma,f16c"))) static int32_t f16_row_f16c(uint16_t *dst16, float *dstf, const float *src,
                                                                     int32_t n)
{
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        if (dst16)
            _mm_storeu_si128((__m128i *)(dst16 + i), h);
        if (dstf)
            _mm256_storeu_ps(dstf + i, _mm256_cvtph_ps(h));
    }
    return i;
}

int32_t aae_k_f16_row_x86(uint16_t *dst16, float *dstf, const float *src, int32_t n, uint32_t cpu)
{
    return (cpu & (AAE_CPU_AVX2_FMA | AAE_CPU_AVX512)) ? f16_row_f16c(dst16, dstf, src, n) : 0;
}

int aae_k_attn_head_x86(const aae_attn_args *a, int32_t i, int32_t h, float *sc, uint32_t cpu)
{
    int32_t d = a->head_dim;
    if (!(cpu & AAE_CPU_AVX512) || d % 16 != 0 || d > 256 || d <= 0)
        return 0;
    switch (d / 16) {
    case 4: /* head_dim 64: Llama-2/TinyLlama-sized models */
        head_4(a, i, h, sc);
        break;
    case 5: /* 80: phi-2 */
        head_5(a, i, h, sc);
        break;
    case 8: /* 128: most 7B models */
        head_8(a, i, h, sc);
        break;
    case 16: /* 256: gemma */
        head_16(a, i, h, sc);
        break;
    default:
        head_any(a, i, h, sc);
    }
    return 1;
}
#endif
