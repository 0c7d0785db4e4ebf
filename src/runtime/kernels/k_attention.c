/*
 * k_attention.c - causal multi-head attention with grouped KV heads over the KV
 * cache plus the current chunk, with an optional sliding window and attention
 * sink (see aae_attn_args in kernels.h). Work is split over (token, head) pairs.
 */
#include "kernels/kernels.h"
#include "kernels/kmath.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

/* Per thread: the scores of n_keys keys, then one row of head_dim floats (a
 * float16 key or value row converted). */
static size_t per_task_bytes(int32_t n_keys, int32_t head_dim)
{
    return (((size_t)n_keys * 4 + 63) & ~(size_t)63) + (((size_t)head_dim * 4 + 63) & ~(size_t)63);
}

size_t aae_k_attention_scratch(int32_t n_keys, int32_t head_dim, int32_t n_threads)
{
    return (size_t)(n_threads < 1 ? 1 : n_threads) * per_task_bytes(n_keys, head_dim);
}

static int visible(const aae_attn_args *a, int32_t qp, int32_t kp)
{
    if (kp > qp)
        return 0;
    if (a->window <= 0)
        return 1;
    return qp - kp < a->window || kp < a->sink;
}

static float dot(const float *x, const float *y, int32_t n)
{
    float acc[8] = {0};
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int32_t l = 0; l < 8; l++)
            acc[l] += x[i + l] * y[i + l];
    float s = 0;
    for (; i < n; i++)
        s += x[i] * y[i];
    return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static void axpy(float *y, float a, const float *x, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

#if defined(__x86_64__)
#include <immintrin.h>
#define T256 __attribute__((target("avx2,fma")))
T256 static float dot_avx2(const float *x, const float *y, int32_t n)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    a0 = _mm256_add_ps(a0, a1);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float r = _mm_cvtss_f32(s);
    for (; i < n; i++)
        r += x[i] * y[i];
    return r;
}

T256 static void axpy_avx2(float *y, float a, const float *x, int32_t n)
{
    __m256 av = _mm256_set1_ps(a);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * x[i];
}
#endif

/* A float16 row as float32. */
static void cvt_f16(float *out, const uint16_t *in, int32_t n)
{
#if defined(__aarch64__)
    int32_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(out + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(in + i))));
    for (; i < n; i++)
        out[i] = aae_k_f16_to_f32(in[i]);
#else
    for (int32_t i = 0; i < n; i++)
        out[i] = aae_k_f16_to_f32(in[i]);
#endif
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma,f16c"))) static void cvt_f16_avx2(float *out, const uint16_t *in, int32_t n)
{
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
    for (; i < n; i++)
        out[i] = aae_k_f16_to_f32(in[i]);
}
#endif

typedef struct vec_ops {
    float (*dot)(const float *, const float *, int32_t);
    void (*axpy)(float *, float, const float *, int32_t);
    void (*cvt)(float *, const uint16_t *, int32_t);
} vec_ops;

typedef struct attn_call {
    const aae_attn_args *a;
    uint32_t cpu;
    vec_ops ops;
    int32_t per; /* (token, head) pairs per task */
    uint8_t *scratch;
    size_t per_task, row_at;
} attn_call;

/* Key or value row s of KV head kvh: from the cache (converted into row when
 * float16) or from the chunk. */
static const float *kv_row(const aae_attn_args *a, const vec_ops *ops, int value, int32_t s, int32_t kvh, float *row)
{
    int32_t d = a->head_dim;
    if (s >= a->n_cached)
        return (value ? a->vc : a->kc) + (size_t)(s - a->n_cached) * a->ldkv + (size_t)kvh * d;
    size_t at = (size_t)s * (size_t)a->n_kv * (size_t)d + (size_t)kvh * d;
    if (!a->kv_f16)
        return (const float *)(value ? a->vcache : a->kcache) + at;
    ops->cvt(row, (const uint16_t *)(value ? a->vcache : a->kcache) + at, d);
    return row;
}

static void one_head(const aae_attn_args *a, const vec_ops *ops, int32_t i, int32_t h, float *sc, float *row)
{
    int32_t d = a->head_dim;
    int32_t kvh = h / (a->n_heads / a->n_kv);
    int32_t qp = a->qpos0 + i;
    const float *q = a->q + (size_t)i * a->ldq + (size_t)h * d;
    float mx = -3.0e38f;
    int32_t nk = a->n_cached + i + 1;
    for (int32_t s = 0; s < nk; s++) {
        int32_t kp;
        kp = s < a->n_cached ? a->cpos[s] : a->qpos0 + (s - a->n_cached);
        if (!visible(a, qp, kp)) {
            sc[s] = aae_bits_to_f32(0xff800000u);
            continue;
        }
        sc[s] = ops->dot(q, kv_row(a, ops, 0, s, kvh, row), d) * a->scale;
        if (sc[s] > mx)
            mx = sc[s];
    }
    double sum = 0;
    for (int32_t s = 0; s < nk; s++) {
        float e = sc[s] == aae_bits_to_f32(0xff800000u) ? 0.0f : aae_expf(sc[s] - mx);
        sc[s] = e;
        sum += e;
    }
    float inv = (float)(1.0 / sum);
    float *o = a->out + (size_t)i * a->ldo + (size_t)h * d;
    for (int32_t t = 0; t < d; t++)
        o[t] = 0.0f;
    for (int32_t s = 0; s < nk; s++) {
        if (sc[s] == 0.0f)
            continue;
        ops->axpy(o, sc[s] * inv, kv_row(a, ops, 1, s, kvh, row), d);
    }
}

static void attn_task(void *arg, int32_t task, int32_t thread)
{
    const attn_call *c = arg;
    const aae_attn_args *a = c->a;
    int32_t total = a->m * a->n_heads, p0 = task * c->per, p1 = p0 + c->per < total ? p0 + c->per : total;
    float *sc = (float *)(c->scratch + (size_t)thread * c->per_task);
    float *row = (float *)(c->scratch + (size_t)thread * c->per_task + c->row_at);
    for (int32_t p = p0; p < p1; p++)
        if (!aae_k_attn_head_x86(a, p / a->n_heads, p % a->n_heads, sc, c->cpu))
            one_head(a, &c->ops, p / a->n_heads, p % a->n_heads, sc, row);
}

void aae_k_attention(const aae_kctx *kc, const aae_attn_args *a, void *scratch)
{
    int32_t n_threads = kc->th && kc->th->n_threads > 0 ? kc->th->n_threads : 1;
    attn_call c = {.a = a, .cpu = kc->cpu, .scratch = scratch, .ops = {dot, axpy, cvt_f16}};
#if defined(__x86_64__)
    if (kc->cpu & (AAE_CPU_AVX2_FMA | AAE_CPU_AVX512))
        c.ops = (vec_ops){dot_avx2, axpy_avx2, cvt_f16_avx2};
#endif
    c.per_task = per_task_bytes(a->n_cached + a->m, a->head_dim);
    c.row_at = ((size_t)(a->n_cached + a->m) * 4 + 63) & ~(size_t)63;
    int32_t total = a->m * a->n_heads;
    int32_t parts = n_threads > 1 ? 4 * n_threads : 1;
    c.per = (total + parts - 1) / parts;
    int32_t n_tasks = (total + c.per - 1) / c.per;
    if (n_tasks <= 1 || n_threads <= 1 || !kc->th || !kc->th->parallel_for)
        for (int32_t t = 0; t < n_tasks; t++)
            attn_task(&c, t, 0);
    else
        kc->th->parallel_for(kc->th->pool, attn_task, &c, n_tasks);
}
