/*
 * k_attention.c - causal multi-head attention with grouped KV heads over the KV
 * cache plus the current chunk, with an optional sliding window and attention
 * sink (see aae_attn_args in kernels.h). Work is split over (block of
 * AAE_ATTN_TOKENS tokens, head) units; a single decoding token is split over
 * key ranges instead (each task reads its part of the cache front to back for
 * every head) and the ranges' partial sums are merged. The vector kernels are
 * in k_attention_x86.c (AVX-512, AVX2) and k_attention_neon.c.
 */
#include "kernels/kernels.h"
#include "kernels/kmath.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

/* Key ranges a decoding token's attention is cut into (one task each): one
 * per thread, of at least 64 keys; and the most keys one range holds, for a
 * cache of up to n_keys keys. */
static int32_t decode_parts(int32_t n_keys, int32_t n_threads)
{
    int32_t p = n_threads < 1 ? 1 : n_threads > 64 ? 64 : n_threads, most = (n_keys + 63) / 64;
    return most < 1 ? 1 : p < most ? p : most;
}

static int32_t decode_keys_max(int32_t n_keys, int32_t n_threads)
{
    int32_t per = (n_keys + (n_threads < 1 ? 1 : n_threads) - 1) / (n_threads < 1 ? 1 : n_threads);
    return per > 64 ? per : 64;
}

static size_t al64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Per task: the scores (for a prompt chunk up to 2 heads x AAE_ATTN_TOKENS
 * tokens' n_keys and output sums, aae_k_attn_head_x86; n_heads x a key range's
 * for a decoding token), then one row of head_dim floats (a float16 key or
 * value row converted), then a decode range's partial sums
 * (aae_k_attn_keys_x86). */
typedef struct task_layout {
    size_t row_at, part_at, bytes;
} task_layout;

static task_layout layout_of(int32_t n_keys, int32_t n_heads, int32_t head_dim, int32_t n_threads)
{
    size_t dec = (size_t)n_heads * (size_t)decode_keys_max(n_keys, n_threads);
    size_t one = 2 * (size_t)AAE_ATTN_TOKENS * ((size_t)n_keys + (size_t)head_dim);
    task_layout l;
    l.row_at = al64((dec > one ? dec : one) * 4);
    l.part_at = l.row_at + al64((size_t)head_dim * 4);
    l.bytes = l.part_at + al64((size_t)n_heads * (size_t)(head_dim + 2) * 4);
    return l;
}

size_t aae_k_attention_scratch(int32_t n_keys, int32_t n_heads, int32_t head_dim, int32_t n_threads)
{
    return (size_t)(n_threads < 1 ? 1 : n_threads) * layout_of(n_keys, n_heads, head_dim, n_threads).bytes;
}

static int visible(const aae_attn_args *a, int32_t qp, int32_t kp)
{
    if (kp > qp)
        return 0;
    if (a->window <= 0)
        return 1;
    return qp - kp < a->window || kp < a->sink;
}

/* The position of key s: a cached slot's, or the chunk's own. */
static int32_t key_pos(const aae_attn_args *a, int32_t s)
{
    return s < a->n_cached ? a->cpos[s] : a->qpos0 + (s - a->n_cached);
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

#if defined(__aarch64__)
/* dot and axpy in NEON intrinsics: the loops above are vectorized at -O3 but
 * not at -O2 (gcc 12), where a decode's attention took 3.5x the instructions */
static float dot_neon(const float *x, const float *y, int32_t n)
{
    float32x4_t a0 = vdupq_n_f32(0), a1 = vdupq_n_f32(0);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        a0 = vfmaq_f32(a0, vld1q_f32(x + i), vld1q_f32(y + i));
        a1 = vfmaq_f32(a1, vld1q_f32(x + i + 4), vld1q_f32(y + i + 4));
    }
    for (; i + 4 <= n; i += 4)
        a0 = vfmaq_f32(a0, vld1q_f32(x + i), vld1q_f32(y + i));
    float r = vaddvq_f32(vaddq_f32(a0, a1));
    for (; i < n; i++)
        r += x[i] * y[i];
    return r;
}

static void axpy_neon(float *y, float a, const float *x, int32_t n)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
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
    for (int32_t i = 0; i < n; i++) /* inline and branch-free: the loop vectorizes */
        out[i] = aae_f16_bits_to_f32(in[i]);
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
    int32_t per; /* (token, head) pairs per task; keys per task when by_key */
    int32_t by_key; /* one decoding token: each task takes a key range, all heads */
    uint8_t *scratch;
    task_layout lay;
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
        if (!visible(a, qp, key_pos(a, s))) {
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

/* A decoding token (row 0), keys s0 .. s1 - 1, key by key for every head:
 * each key and value row is read once, in cache order, and converted once
 * from float16 for the query heads of its KV head (one head's keys at a time
 * strided through the cache, a row per key and head; 110M q4f16_1 on the
 * portable path after a 1024-token prompt, Zen 3, 3 alternating runs:
 * decode 15.9 -> 24.6 tok/s at 1 thread, 23.2 -> 39.3 at 2). The output is
 * that of aae_k_attn_keys_x86: per head the unnormalised sum of e_s v_s at
 * part[h d ..], the maxima at part[n_heads d + h], the sums of e_s at
 * part[n_heads (d + 1) + h] (a range without a visible key: -inf and 0); sc
 * holds the range's scores key-major, (s - s0) n_heads + h. */
static void keys_generic(const aae_attn_args *a, const vec_ops *ops, int32_t s0, int32_t s1, float *sc, float *part,
                         float *row)
{
    const float ninf = aae_bits_to_f32(0xff800000u);
    int32_t nh = a->n_heads, d = a->head_dim, grp = nh / a->n_kv, qp = a->qpos0;
    float *mx = part + (size_t)nh * d, *l = mx + nh;
    for (int32_t h = 0; h < nh; h++)
        mx[h] = ninf;
    for (int32_t s = s0; s < s1; s++) {
        float *ss = sc + (size_t)(s - s0) * nh;
        if (!visible(a, qp, key_pos(a, s))) {
            for (int32_t h = 0; h < nh; h++)
                ss[h] = ninf;
            continue;
        }
        for (int32_t kvh = 0; kvh < a->n_kv; kvh++) {
            const float *k = kv_row(a, ops, 0, s, kvh, row);
            for (int32_t h = kvh * grp; h < (kvh + 1) * grp; h++) {
                float v = ops->dot(a->q + (size_t)h * d, k, d) * a->scale;
                ss[h] = v;
                mx[h] = v > mx[h] ? v : mx[h];
            }
        }
    }
    for (int32_t h = 0; h < nh; h++)
        l[h] = 0.0f;
    for (size_t t = 0; t < (size_t)nh * d; t++)
        part[t] = 0.0f;
    for (int32_t s = s0; s < s1; s++) {
        float *ss = sc + (size_t)(s - s0) * nh;
        int any = 0;
        for (int32_t h = 0; h < nh; h++) {
            float e = ss[h] == ninf ? 0.0f : aae_expf(ss[h] - mx[h]);
            ss[h] = e;
            l[h] += e;
            any |= e != 0.0f;
        }
        if (!any)
            continue;
        for (int32_t kvh = 0; kvh < a->n_kv; kvh++) {
            const float *v = kv_row(a, ops, 1, s, kvh, row);
            for (int32_t h = kvh * grp; h < (kvh + 1) * grp; h++)
                if (ss[h] != 0.0f)
                    ops->axpy(part + (size_t)h * d, ss[h], v, d);
        }
    }
}

static void attn_task(void *arg, int32_t task, int32_t thread)
{
    const attn_call *c = arg;
    const aae_attn_args *a = c->a;
    if (c->by_key) { /* task-indexed: merge_parts finds range t's sums in region t */
        uint8_t *mine = c->scratch + (size_t)task * c->lay.bytes;
        int32_t nk = a->n_cached + 1, s0 = task * c->per, s1 = s0 + c->per < nk ? s0 + c->per : nk;
        float *sc = (float *)mine, *part = (float *)(mine + c->lay.part_at);
        if (!aae_k_attn_keys_x86(a, 0, s0, s1, sc, part, c->cpu) &&
            !aae_k_attn_keys_neon(a, 0, s0, s1, sc, part, c->cpu))
            keys_generic(a, &c->ops, s0, s1, sc, part, (float *)(mine + c->lay.row_at));
        return;
    }
    /* units (block of AAE_ATTN_TOKENS tokens, head), block-major */
    int32_t nb = (a->m + AAE_ATTN_TOKENS - 1) / AAE_ATTN_TOKENS, total = nb * a->n_heads;
    int32_t p0 = task * c->per, p1 = p0 + c->per < total ? p0 + c->per : total;
    uint8_t *mine = c->scratch + (size_t)thread * c->lay.bytes;
    float *sc = (float *)mine, *row = (float *)(mine + c->lay.row_at);
    for (int32_t p = p0; p < p1; p++) {
        int32_t b = p / a->n_heads, h = p % a->n_heads, i0 = b * AAE_ATTN_TOKENS;
        int32_t nt = a->m - i0 < AAE_ATTN_TOKENS ? a->m - i0 : AAE_ATTN_TOKENS;
        if (p + 1 < p1 && aae_k_attn_head_x86(a, i0, nt, h, 2, sc, c->cpu)) { /* h, h + 1 */
            p++;
            continue;
        }
        if (!aae_k_attn_head_x86(a, i0, nt, h, 1, sc, c->cpu) && !aae_k_attn_head_neon(a, i0, nt, h, sc, c->cpu))
            for (int32_t i = i0; i < i0 + nt; i++)
                one_head(a, &c->ops, i, h, sc, row);
    }
}

/* Output of a decoding token from its key ranges' partial sums: per head,
 * with M the largest range maximum, out = sum_t o_t w_t / sum_t l_t w_t where
 * w_t = exp(max_t - M) (0 for a range without a visible key). */
static void merge_parts(const aae_attn_args *a, const attn_call *c, int32_t parts)
{
    int32_t nh = a->n_heads, d = a->head_dim;
    const float ninf = aae_bits_to_f32(0xff800000u), *pt[64];
    for (int32_t t = 0; t < parts; t++)
        pt[t] = (const float *)(c->scratch + (size_t)t * c->lay.bytes + c->lay.part_at);
    for (int32_t h = 0; h < nh; h++) {
        float mx = ninf, w[64];
        for (int32_t t = 0; t < parts; t++)
            mx = pt[t][(size_t)nh * d + h] > mx ? pt[t][(size_t)nh * d + h] : mx;
        double l = 0;
        for (int32_t t = 0; t < parts; t++) {
            float m = pt[t][(size_t)nh * d + h];
            w[t] = m == ninf ? 0.0f : aae_expf(m - mx);
            l += (double)w[t] * pt[t][(size_t)nh * (d + 1) + h];
        }
        float inv = (float)(1.0 / l), *out = a->out + (size_t)h * d;
        for (int32_t j = 0; j < d; j++) {
            float o = 0;
            for (int32_t t = 0; t < parts; t++)
                o += w[t] * pt[t][(size_t)h * d + j];
            out[j] = o * inv;
        }
    }
}

void aae_k_attention(const aae_kctx *kc, const aae_attn_args *a, void *scratch)
{
    int32_t n_threads = kc->th && kc->th->n_threads > 0 ? kc->th->n_threads : 1;
    attn_call c = {.a = a, .cpu = kc->cpu, .scratch = scratch, .ops = {dot, axpy, cvt_f16}};
#if defined(__x86_64__)
    if (kc->cpu & (AAE_CPU_AVX2_FMA | AAE_CPU_AVX512))
        c.ops = (vec_ops){dot_avx2, axpy_avx2, cvt_f16_avx2};
#elif defined(__aarch64__)
    if (kc->cpu & AAE_CPU_NEON)
        c.ops = (vec_ops){dot_neon, axpy_neon, cvt_f16};
#endif
    int32_t nk = a->n_cached + a->m;
    c.lay = layout_of(nk, a->n_heads, a->head_dim, n_threads);
    if (a->m == 1) {
        /* a decoding token: key ranges, all heads each, merged below */
        int32_t n = decode_parts(nk, n_threads);
        c.by_key = 1;
        c.per = (nk + n - 1) / n;
        if (n <= 1 || n_threads <= 1 || !kc->th || !kc->th->parallel_for)
            for (int32_t t = 0; t < n; t++)
                attn_task(&c, t, 0);
        else
            kc->th->parallel_for(kc->th->pool, attn_task, &c, n);
        merge_parts(a, &c, n);
        return;
    }
    int32_t total = (a->m + AAE_ATTN_TOKENS - 1) / AAE_ATTN_TOKENS * a->n_heads;
    int32_t parts = n_threads > 1 ? 4 * n_threads : 1;
    c.per = (total + parts - 1) / parts;
    int32_t n_tasks = (total + c.per - 1) / c.per;
    if (n_tasks <= 1 || n_threads <= 1 || !kc->th || !kc->th->parallel_for)
        for (int32_t t = 0; t < n_tasks; t++)
            attn_task(&c, t, 0);
    else
        kc->th->parallel_for(kc->th->pool, attn_task, &c, n_tasks);
}
