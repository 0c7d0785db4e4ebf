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

int aae_k_attn_keys_x86(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part,
                        uint32_t cpu)
{
    (void)a, (void)i, (void)s0, (void)s1, (void)sc, (void)part, (void)cpu;
    return 0;
}

int aae_k_attn_x86_ok(const aae_attn_args *a, uint32_t cpu)
{
    (void)a, (void)cpu;
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

/* One decoding token i, all heads, keys s0 .. s1 - 1 only: the partial sums
 * that aae_k_attention merges over the key ranges of its tasks. Each key (and
 * value) row of the cache is read once, front to back, for all the heads, so
 * every thread streams its own contiguous part of the cache. (Going head by
 * head, as head_nd does, reads each row in head_dim pieces with a stride of
 * n_kv x head_dim: 12 GB/s from memory for a 110M-sized cache, against ~36 for
 * a plain read; cutting rows between threads by heads was as slow.) sc holds
 * n_heads rows of s1 - s0 scores; part gets, per head h, the unnormalised
 * output sum_s e_s v_s at part[h d ..], then the heads' maxima at
 * part[n_heads d + h] and their sums of e_s at part[n_heads (d + 1) + h], with
 * e_s = exp(score_s - max) (a range without a visible key: max -inf, sums 0). */
T512 AI static inline void keys_nd(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part,
                                   const int nd, const int f16)
{
    size_t esz = f16 ? 2 : 4;
    int32_t d = a->head_dim, kvw = a->n_kv * d, grp = a->n_heads / a->n_kv, qp = a->qpos0 + i, nh = a->n_heads;
    int32_t nc = a->n_cached, ns = s1 - s0;
    const float *q = a->q + (size_t)i * a->ldq;
    const float ninf = -__builtin_inff();
    float *mxs = part + (size_t)nh * d, *sums = mxs + nh;
    for (int32_t s = s0; s < s1; s++) {
        int32_t kp = s < nc ? a->cpos[s] : a->qpos0 + (s - nc);
        int vis = kp <= qp && (a->window <= 0 || qp - kp < a->window || kp < a->sink);
        if (!vis) {
            for (int32_t h = 0; h < nh; h++)
                sc[(size_t)h * ns + (s - s0)] = ninf;
            continue;
        }
        for (int32_t h = 0; h < nh; h++) {
            int32_t kvh = h / grp;
            const float *qh = q + (size_t)h * d;
            __m512 dot;
            if (s < nc) {
                const void *k = (const uint8_t *)a->kcache + ((size_t)s * kvw + (size_t)kvh * d) * esz;
                dot = _mm512_mul_ps(_mm512_loadu_ps(qh), ld16(k, 0, f16));
#pragma GCC unroll 16
                for (int j = 1; j < nd; j++)
                    dot = _mm512_fmadd_ps(_mm512_loadu_ps(qh + 16 * j), ld16(k, j, f16), dot);
            } else {
                const float *k = a->kc + (size_t)(s - nc) * a->ldkv + (size_t)kvh * d;
                dot = _mm512_mul_ps(_mm512_loadu_ps(qh), _mm512_loadu_ps(k));
#pragma GCC unroll 16
                for (int j = 1; j < nd; j++)
                    dot = _mm512_fmadd_ps(_mm512_loadu_ps(qh + 16 * j), _mm512_loadu_ps(k + 16 * j), dot);
            }
            sc[(size_t)h * ns + (s - s0)] = _mm512_reduce_add_ps(dot) * a->scale;
        }
    }
    for (int32_t h = 0; h < nh; h++) {
        float *r = sc + (size_t)h * ns, mx = ninf;
        for (int32_t s = 0; s < ns; s++)
            mx = r[s] > mx ? r[s] : mx;
        __m512 vsum = _mm512_setzero_ps();
        if (mx != ninf) {
            __m512 vmx = _mm512_set1_ps(mx);
            for (int32_t s = 0; s < ns; s += 16) {
                __mmask16 mk = ns - s >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (ns - s)) - 1u);
                __m512 e = exp512(_mm512_sub_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(ninf), mk, r + s), vmx));
                _mm512_mask_storeu_ps(r + s, mk, e);
                vsum = _mm512_add_ps(vsum, e);
            }
        } else {
            for (int32_t s = 0; s < ns; s++)
                r[s] = 0.0f;
        }
        mxs[h] = mx;
        sums[h] = _mm512_reduce_add_ps(vsum);
        for (int j = 0; j < nd; j++)
            _mm512_storeu_ps(part + (size_t)h * d + 16 * j, _mm512_setzero_ps());
    }
    for (int32_t s = s0; s < s1; s++) {
        for (int32_t h = 0; h < nh; h++) {
            float pv = sc[(size_t)h * ns + (s - s0)];
            if (pv == 0.0f)
                continue;
            int32_t kvh = h / grp;
            __m512 p = _mm512_set1_ps(pv);
            float *o = part + (size_t)h * d;
            if (s < nc) {
                const void *v = (const uint8_t *)a->vcache + ((size_t)s * kvw + (size_t)kvh * d) * esz;
#pragma GCC unroll 16
                for (int j = 0; j < nd; j++)
                    _mm512_storeu_ps(o + 16 * j, _mm512_fmadd_ps(p, ld16(v, j, f16), _mm512_loadu_ps(o + 16 * j)));
            } else {
                const float *v = a->vc + (size_t)(s - nc) * a->ldkv + (size_t)kvh * d;
#pragma GCC unroll 16
                for (int j = 0; j < nd; j++)
                    _mm512_storeu_ps(o + 16 * j,
                                     _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 16 * j), _mm512_loadu_ps(o + 16 * j)));
            }
        }
    }
}

#define KEYS_FN(name, nd)                                                                                  \
    T512 static void name(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part) \
    {                                                                                                      \
        if (a->kv_f16)                                                                                     \
            keys_nd(a, i, s0, s1, sc, part, nd, 1);                                                        \
        else                                                                                               \
            keys_nd(a, i, s0, s1, sc, part, nd, 0);                                                        \
    }
KEYS_FN(keys_4, 4)
KEYS_FN(keys_5, 5)
KEYS_FN(keys_8, 8)
KEYS_FN(keys_16, 16)
KEYS_FN(keys_any, a->head_dim / 16)
#undef KEYS_FN

int aae_k_attn_keys_x86(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part,
                        uint32_t cpu)
{
    if (!aae_k_attn_x86_ok(a, cpu))
        return 0;
    /* specialised: head_dim 64 (Llama-2/TinyLlama), 80 (phi-2), 128 (most 7B), 256 (gemma) */
    typedef void (*fn)(const aae_attn_args *, int32_t, int32_t, int32_t, float *, float *);
    static const fn by_nd[17] = {[4] = keys_4, [5] = keys_5, [8] = keys_8, [16] = keys_16};
    (by_nd[a->head_dim / 16] ? by_nd[a->head_dim / 16] : keys_any)(a, i, s0, s1, sc, part);
    return 1;
}

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

int aae_k_attn_x86_ok(const aae_attn_args *a, uint32_t cpu)
{
    int32_t d = a->head_dim;
    return (cpu & AAE_CPU_AVX512) && d % 16 == 0 && d <= 256 && d > 0;
}

int aae_k_attn_head_x86(const aae_attn_args *a, int32_t i, int32_t h, float *sc, uint32_t cpu)
{
    if (!aae_k_attn_x86_ok(a, cpu))
        return 0;
    typedef void (*fn)(const aae_attn_args *, int32_t, int32_t, float *);
    static const fn by_nd[17] = {[4] = head_4, [5] = head_5, [8] = head_8, [16] = head_16};
    (by_nd[a->head_dim / 16] ? by_nd[a->head_dim / 16] : head_any)(a, i, h, sc);
    return 1;
}
#endif
