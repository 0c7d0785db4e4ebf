/*
 * k_attention_x86.c - AVX-512 paths of aae_k_attention (k_attention.c) for
 * head_dim a multiple of 16 up to 256. A prompt chunk's head (or two heads of
 * one KV head) for a block of consecutive tokens (head_block_nd,
 * pair_block_nd): each key and value row is read from memory once for the
 * block, scores are exponentiated 16 at a time (x86_exp.h), and each visible
 * value row is added to a token's output (in registers, one zmm per 16
 * elements) with one FMA per 16 elements; no per-key call. A decoding token's key
 * range, all heads (keys_nd): see there. On AVX2 CPUs without AVX-512
 * (head_dim a multiple of 8 up to 256): a prompt chunk's head for a block of
 * tokens (head_block_avx2, keys 8 at a time) and a decoding token's key range
 * (keys256_nd).
 */
#include "kernels/kernels.h"

#if !defined(__x86_64__)
int aae_k_attn_head_x86(const aae_attn_args *a, int32_t i, int32_t n_t, int32_t h, int32_t n_h, float *sc,
                        uint32_t cpu)
{
    (void)a, (void)i, (void)n_t, (void)h, (void)n_h, (void)sc, (void)cpu;
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

int aae_k_attn_keys_x86_ok(const aae_attn_args *a, uint32_t cpu)
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
#include "kernels/x86_lanes.h"

#define AI __attribute__((always_inline))

/* The instances below are one function per head_dim (and cache type), so that
 * nd and f16 are constants in each. A model library (spec.h) has one head_dim
 * and one cache type: it compiles only its own instance of each kind (HEAD_ND,
 * KV_F16 constants; SPEC_OK refuses any other args, which then take the
 * generic path): clang -O3 compiles this file for an x86_64 model library in
 * 1.5 s instead of 29. */
#if defined(AAE_SPEC)
#define SPEC_KV_F16 (AAE_SPEC_wtype == AAE_W_Q4F16 || AAE_SPEC_wtype == AAE_W_Q3F16 || AAE_SPEC_wtype == AAE_W_F16)
#define HEAD_ND(a, w) (AAE_SPEC_head_dim / (w))
#define KV_F16(a) SPEC_KV_F16
#define SPEC_OK(a) ((a)->head_dim == AAE_SPEC_head_dim && !(a)->kv_f16 == !SPEC_KV_F16)
/* the head_dims whose heads run in pairs (pair_block_nd) */
#define SPEC_PAIRS (AAE_SPEC_head_dim == 64 || AAE_SPEC_head_dim == 80 || AAE_SPEC_head_dim == 128)
#else
#define HEAD_ND(a, w) ((a)->head_dim / (w))
#define KV_F16(a) ((a)->kv_f16)
#define SPEC_OK(a) 1
#endif

/* 16 elements of a key or value row: float32, or float16 (f16 = 1) widened. */
T512 AI static inline __m512 ld16(const void *row, int j, const int f16)
{
    if (f16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + 16 * j)));
    return _mm512_loadu_ps((const float *)row + 16 * j);
}

/* The sums of the 16 lanes of each of a[0..15], as one vector (lane t: a[t]).
 * Each sum is added in the same order as _mm512_reduce_add_ps adds one vector
 * (lanes i + (i + 8), then + (i + 4), then the pairs {0, 2} and {1, 3}, then
 * those two), so the scores are the same bits as one reduction per key; 45
 * shuffles and adds instead of 16 reductions of 7 each plus 16 scalar stores. */
/* (macros: the shuffle selectors must be literal constants for clang) */
#define FOLD_HALVES(x, y, lo, hi) _mm512_add_ps(_mm512_shuffle_f32x4(x, y, lo), _mm512_shuffle_f32x4(x, y, hi))
#define FOLD_PAIRS(x, y, lo, hi) _mm512_add_ps(_mm512_shuffle_ps(x, y, lo), _mm512_shuffle_ps(x, y, hi))

T512 AI static inline __m512 sums16(const __m512 a[16])
{
    __m512 b[8], c[4];
#pragma GCC unroll 4
    for (int m = 0; m < 4; m++) { /* b[2m]: keys m, 4 + m; b[2m + 1]: 8 + m, 12 + m (8 lanes each) */
        b[2 * m] = FOLD_HALVES(a[m], a[4 + m], 0x44, 0xee);
        b[2 * m + 1] = FOLD_HALVES(a[8 + m], a[12 + m], 0x44, 0xee);
    }
#pragma GCC unroll 4
    for (int m = 0; m < 4; m++) /* c[m], 128-bit lane l: key 4 l + m (4 lanes) */
        c[m] = FOLD_HALVES(b[2 * m], b[2 * m + 1], 0x88, 0xdd);
    __m512 d0 = FOLD_PAIRS(c[0], c[1], 0x44, 0xee), d1 = FOLD_PAIRS(c[2], c[3], 0x44, 0xee);
    return FOLD_PAIRS(d0, d1, 0x88, 0xdd);
}

/* The 16 scores (before the scale) of the query row qh against the rows
 * base + t stride, t < 16. */
T512 AI static inline __m512 dots16(const float *qh, const uint8_t *base, size_t stride, const int nd, const int f16)
{
    __m512 acc[16];
#pragma GCC unroll 16
    for (int t = 0; t < 16; t++) {
        const void *k = base + (size_t)t * stride;
        acc[t] = _mm512_mul_ps(_mm512_loadu_ps(qh), ld16(k, 0, f16));
#pragma GCC unroll 16
        for (int j = 1; j < nd; j++)
            acc[t] = _mm512_fmadd_ps(_mm512_loadu_ps(qh + 16 * j), ld16(k, j, f16), acc[t]);
    }
    return sums16(acc);
}

/* The next block of rows, front to back: the heads read a block column by
 * column (one head's piece of every row), which the hardware prefetchers do not
 * follow as well as one stream. */
T512 AI static inline void prefetch_rows(const uint8_t *p, size_t bytes)
{
    for (size_t o = 0; o < bytes; o += 64)
        _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}

/* Bit t set where ph[t] is not 0 (NaN included). */
T512 AI static inline uint32_t nonzero16(const float *ph)
{
    return _mm512_cmp_ps_mask(_mm512_loadu_ps(ph), _mm512_setzero_ps(), _CMP_NEQ_UQ);
}

/* e = exp(score - max) over one row of n scores in place (masked scores are
 * -inf and give 0); returns 1 / their sum. */
T512 AI static inline float exp_row(float *r, int32_t n, float mx)
{
    const float ninf = -__builtin_inff();
    __m512 vmx = _mm512_set1_ps(mx), vsum = _mm512_setzero_ps();
    for (int32_t s = 0; s < n; s += 16) {
        __mmask16 mk = n - s >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - s)) - 1u);
        __m512 e = exp512(_mm512_sub_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(ninf), mk, r + s), vmx));
        _mm512_mask_storeu_ps(r + s, mk, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    return 1.0f / _mm512_reduce_add_ps(vsum);
}

/* Bit t set where key s + t (t < n) is visible to query position qp: cached
 * slots (chunk = 0) by their positions, the chunk's own keys (chunk = 1) by
 * theirs (kernels.h: window and sink). */
AI static inline uint32_t visible_bits(const aae_attn_args *a, int32_t qp, int32_t s, int32_t n, int chunk)
{
    uint32_t vis = 0;
    for (int32_t t = 0; t < n; t++) {
        int32_t kp = chunk ? a->qpos0 + (s + t - a->n_cached) : a->cpos[s + t];
        vis |= (uint32_t)(kp <= qp && (a->window <= 0 || qp - kp < a->window || kp < a->sink)) << t;
    }
    return vis;
}

/* Key rows of KV head kvh: the cache's (chunk = 0, elements of esz bytes) or
 * the chunk's (1, float32); *stride gets the bytes from one row to the next. */
AI static inline const uint8_t *key_rows(const aae_attn_args *a, int chunk, int32_t kvh, size_t esz,
                                              size_t *stride)
{
    size_t d = (size_t)a->head_dim;
    *stride = chunk ? (size_t)a->ldkv * 4 : (size_t)a->n_kv * d * esz;
    return chunk ? (const uint8_t *)(a->kc + (size_t)kvh * d) : (const uint8_t *)a->kcache + (size_t)kvh * d * esz;
}

/* Value rows of a token block's outputs go ATTN_VKEYS at a time: the rows stay
 * in L1 while every token of the block adds them. */
#define ATTN_VKEYS 32

/* Head h of tokens i0 .. i0 + nt - 1 (nt <= AAE_ATTN_TOKENS), each key and
 * value row read from memory once for the whole block: keys 16 at a time
 * (dots16) token by token while the 16 rows are in L1 (each token's blocks
 * and key-by-key tail as when it runs alone), values ATTN_VKEYS rows at a
 * time, a token's output in registers over them and kept in sc between
 * groups. nd = head_dim / 16 and f16 (the cache holds float16) are constants
 * in each instance below. sc: nt rows of n_cached + i0 + nt scores, then nt
 * head_dim output sums. */
T512 AI static inline void head_block_nd(const aae_attn_args *a, int32_t i0, int32_t nt, int32_t h, float *sc,
                                         const int nd, const int f16)
{
    size_t esz = f16 ? 2 : 4;
    int32_t d = a->head_dim, kvw = a->n_kv * d, kvh = h / (a->n_heads / a->n_kv), nc = a->n_cached;
    int32_t nkmax = nc + i0 + nt, nk[AAE_ATTN_TOKENS], qp[AAE_ATTN_TOKENS];
    const float *q[AAE_ATTN_TOKENS];
    float *sr[AAE_ATTN_TOKENS], mx[AAE_ATTN_TOKENS], inv[AAE_ATTN_TOKENS], *osum = sc + (size_t)nt * nkmax;
    const float ninf = -__builtin_inff();
    const __m512 scale = _mm512_set1_ps(a->scale), minf = _mm512_set1_ps(ninf);
    __m512 vmax[AAE_ATTN_TOKENS];
    for (int32_t t = 0; t < nt; t++) {
        nk[t] = nc + i0 + t + 1, qp[t] = a->qpos0 + i0 + t;
        q[t] = a->q + (size_t)(i0 + t) * a->ldq + (size_t)h * d;
        sr[t] = sc + (size_t)t * nkmax;
        mx[t] = ninf;
        vmax[t] = minf;
    }
    /* scores: the cached keys, then the chunk's */
    for (int chunk = 0; chunk < 2; chunk++) {
        int32_t b0 = chunk ? nc : 0, bend = chunk ? nkmax : nc;
        size_t stride;
        const uint8_t *base = key_rows(a, chunk, kvh, esz, &stride);
        for (int32_t s = b0; s < bend; s += 16) {
            const uint8_t *k16 = base + (size_t)(s - b0) * stride;
            for (int32_t t = 0; t < nt; t++) {
                int32_t b1 = chunk ? nk[t] : nc;
                if (s + 16 <= b1) {
                    uint32_t vis = visible_bits(a, qp[t], s, 16, chunk);
                    __m512 v = minf;
                    if (vis) {
                        v = _mm512_mul_ps(chunk ? dots16(q[t], k16, stride, nd, 0) : dots16(q[t], k16, stride, nd, f16),
                                          scale);
                        v = _mm512_mask_mov_ps(minf, (__mmask16)vis, v);
                        vmax[t] = _mm512_max_ps(v, vmax[t]);
                    }
                    _mm512_storeu_ps(sr[t] + s, v);
                    continue;
                }
                for (int32_t u = s; u < b1; u++) { /* the token's last keys, one by one */
                    int32_t kp = chunk ? a->qpos0 + (u - nc) : a->cpos[u];
                    int vis = kp <= qp[t] && (a->window <= 0 || qp[t] - kp < a->window || kp < a->sink);
                    if (!vis) {
                        sr[t][u] = ninf;
                        continue;
                    }
                    const void *k = base + (size_t)(u - b0) * stride;
                    __m512 acc = _mm512_mul_ps(_mm512_loadu_ps(q[t]), chunk ? ld16(k, 0, 0) : ld16(k, 0, f16));
#pragma GCC unroll 16
                    for (int j = 1; j < nd; j++)
                        acc = _mm512_fmadd_ps(_mm512_loadu_ps(q[t] + 16 * j), chunk ? ld16(k, j, 0) : ld16(k, j, f16),
                                              acc);
                    float v = _mm512_reduce_add_ps(acc) * a->scale;
                    sr[t][u] = v;
                    mx[t] = v > mx[t] ? v : mx[t];
                }
            }
        }
    }
    for (int32_t t = 0; t < nt; t++) {
        float bm = _mm512_reduce_max_ps(vmax[t]);
        mx[t] = bm > mx[t] ? bm : mx[t];
        inv[t] = exp_row(sr[t], nk[t], mx[t]);
    }
    for (int32_t g = 0; g < nkmax; g += ATTN_VKEYS) {
        for (int32_t t = 0; t < nt; t++) {
            int32_t ge = g + ATTN_VKEYS < nk[t] ? g + ATTN_VKEYS : nk[t], gc = ge < nc ? ge : nc;
            if (g >= ge)
                continue;
            float *o_at = osum + (size_t)t * d;
            __m512 o[16];
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++)
                o[j] = j < nd && g ? _mm512_loadu_ps(o_at + 16 * j) : _mm512_setzero_ps();
            int32_t s = g;
            for (; s < gc; s++) {
                if (sr[t][s] == 0.0f)
                    continue;
                __m512 p = _mm512_set1_ps(sr[t][s]);
                const void *v = (const uint8_t *)a->vcache + ((size_t)s * kvw + (size_t)kvh * d) * esz;
#pragma GCC unroll 16
                for (int j = 0; j < nd; j++)
                    o[j] = _mm512_fmadd_ps(p, ld16(v, j, f16), o[j]);
            }
            for (; s < ge; s++) {
                if (sr[t][s] == 0.0f)
                    continue;
                __m512 p = _mm512_set1_ps(sr[t][s]);
                const float *v = a->vc + (size_t)(s - nc) * a->ldkv + (size_t)kvh * d;
#pragma GCC unroll 16
                for (int j = 0; j < nd; j++)
                    o[j] = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 16 * j), o[j]);
            }
#pragma GCC unroll 16
            for (int j = 0; j < nd; j++)
                _mm512_storeu_ps(o_at + 16 * j, o[j]);
        }
    }
    for (int32_t t = 0; t < nt; t++) {
        const float *o_at = osum + (size_t)t * d;
        float *out = a->out + (size_t)(i0 + t) * a->ldo + (size_t)h * d;
        __m512 iv = _mm512_set1_ps(inv[t]);
#pragma GCC unroll 16
        for (int j = 0; j < nd; j++)
            _mm512_storeu_ps(out + 16 * j, _mm512_mul_ps(_mm512_loadu_ps(o_at + 16 * j), iv));
    }
}

/* Scores (before the scale) of two heads sharing a KV head against 8 rows
 * base + t stride: lanes 0..7 head qa's, 8..15 head qb's; each key row read
 * once for both. The same bits as dots16 per head. */
T512 AI static inline __m512 dots8x2(const float *qa, const float *qb, const uint8_t *base, size_t stride,
                                     const int nd, const int f16)
{
    __m512 acc[16];
#pragma GCC unroll 8
    for (int t = 0; t < 8; t++) {
        const void *k = base + (size_t)t * stride;
        __m512 k0 = ld16(k, 0, f16);
        acc[t] = _mm512_mul_ps(_mm512_loadu_ps(qa), k0);
        acc[8 + t] = _mm512_mul_ps(_mm512_loadu_ps(qb), k0);
#pragma GCC unroll 16
        for (int j = 1; j < nd; j++) {
            __m512 kj = ld16(k, j, f16);
            acc[t] = _mm512_fmadd_ps(_mm512_loadu_ps(qa + 16 * j), kj, acc[t]);
            acc[8 + t] = _mm512_fmadd_ps(_mm512_loadu_ps(qb + 16 * j), kj, acc[8 + t]);
        }
    }
    return sums16(acc);
}

/* o_a += e_a v, o_b += e_b v over one value row v, each only where its weight
 * is not 0 (as head_block_nd: 0 x an infinite value would be NaN). */
T512 AI static inline void add_row2(__m512 *oa, __m512 *ob, float ea, float eb, const void *v, const int nd,
                                    const int f16)
{
    __m512 pa = _mm512_set1_ps(ea), pb = _mm512_set1_ps(eb);
    if (ea != 0.0f && eb != 0.0f) {
#pragma GCC unroll 8
        for (int j = 0; j < nd; j++) {
            __m512 x = ld16(v, j, f16);
            oa[j] = _mm512_fmadd_ps(pa, x, oa[j]);
            ob[j] = _mm512_fmadd_ps(pb, x, ob[j]);
        }
    } else if (ea != 0.0f) {
#pragma GCC unroll 8
        for (int j = 0; j < nd; j++)
            oa[j] = _mm512_fmadd_ps(pa, ld16(v, j, f16), oa[j]);
    } else if (eb != 0.0f) {
#pragma GCC unroll 8
        for (int j = 0; j < nd; j++)
            ob[j] = _mm512_fmadd_ps(pb, ld16(v, j, f16), ob[j]);
    }
}

/* Heads h and h + 1, which share a KV head (nd <= 8), of tokens i0 .. i0 + nt
 * - 1 (nt <= AAE_ATTN_TOKENS): for each token the same results as head_block_nd for
 * each head, with every key and value row read from memory once for the whole
 * block. Keys go 8 at a time through dots8x2 for both heads, token by token
 * while the 8 rows are in L1 (a token's blocks and key-by-key tail as when it
 * runs alone); values ATTN_VKEYS rows at a time, each token's two outputs in
 * registers over them (FMA chains interleaved) and kept in sc between groups.
 * One token at a time, a long chunk's keys and values (a KV head's 1900 rows
 * are 1 MB of float32) came from L3 again for every token: at 1900 tokens
 * attention was 29% of a 1.1B prefill. sc: 2 nt rows of n_cached + i0 + nt
 * scores, then 2 nt head_dim output sums. (Unused in a model library whose
 * heads do not pair: see SPEC_PAIRS.) */
T512 AI __attribute__((unused)) static inline void pair_block_nd(const aae_attn_args *a, int32_t i0, int32_t nt,
                                                                  int32_t h, float *sc, const int nd, const int f16)
{
    size_t esz = f16 ? 2 : 4;
    int32_t d = a->head_dim, kvw = a->n_kv * d, kvh = h / (a->n_heads / a->n_kv), nc = a->n_cached;
    int32_t nkmax = nc + i0 + nt, nk[AAE_ATTN_TOKENS], qp[AAE_ATTN_TOKENS];
    const float *qa[AAE_ATTN_TOKENS], *qb[AAE_ATTN_TOKENS];
    float *sa[AAE_ATTN_TOKENS], *sb[AAE_ATTN_TOKENS], mxa[AAE_ATTN_TOKENS], mxb[AAE_ATTN_TOKENS];
    float inva[AAE_ATTN_TOKENS], invb[AAE_ATTN_TOKENS], *osum = sc + 2 * (size_t)nt * nkmax;
    const float ninf = -__builtin_inff();
    const __m512 scale = _mm512_set1_ps(a->scale), minf = _mm512_set1_ps(ninf);
    __m512 vmax[AAE_ATTN_TOKENS]; /* lanes 0..7 head h, 8..15 head h + 1 */
    for (int32_t t = 0; t < nt; t++) {
        nk[t] = nc + i0 + t + 1, qp[t] = a->qpos0 + i0 + t;
        qa[t] = a->q + (size_t)(i0 + t) * a->ldq + (size_t)h * d, qb[t] = qa[t] + d;
        sa[t] = sc + 2 * (size_t)t * nkmax, sb[t] = sa[t] + nkmax;
        mxa[t] = mxb[t] = ninf;
        vmax[t] = minf;
    }
    for (int chunk = 0; chunk < 2; chunk++) {
        int32_t b0 = chunk ? nc : 0, bend = chunk ? nkmax : nc;
        size_t stride;
        const uint8_t *base = key_rows(a, chunk, kvh, esz, &stride);
        for (int32_t s = b0; s < bend; s += 8) {
            const uint8_t *k8 = base + (size_t)(s - b0) * stride;
            for (int32_t t = 0; t < nt; t++) {
                int32_t b1 = chunk ? nk[t] : nc;
                if (s + 8 <= b1) {
                    uint32_t vis = visible_bits(a, qp[t], s, 8, chunk);
                    __m512 v = minf;
                    if (vis) {
                        v = _mm512_mul_ps(chunk ? dots8x2(qa[t], qb[t], k8, stride, nd, 0)
                                                : dots8x2(qa[t], qb[t], k8, stride, nd, f16),
                                          scale);
                        v = _mm512_mask_mov_ps(minf, (__mmask16)(vis | vis << 8), v);
                        vmax[t] = _mm512_max_ps(v, vmax[t]);
                    }
                    _mm256_storeu_ps(sa[t] + s, _mm512_castps512_ps256(v));
                    _mm256_storeu_ps(sb[t] + s, _mm512_extractf32x8_ps(v, 1));
                    continue;
                }
                for (int32_t u = s; u < b1; u++) { /* the token's last keys, one by one */
                    int32_t kp = chunk ? a->qpos0 + (u - nc) : a->cpos[u];
                    int vis = kp <= qp[t] && (a->window <= 0 || qp[t] - kp < a->window || kp < a->sink);
                    if (!vis) {
                        sa[t][u] = sb[t][u] = ninf;
                        continue;
                    }
                    const void *k = base + (size_t)(u - b0) * stride;
                    __m512 x = chunk ? ld16(k, 0, 0) : ld16(k, 0, f16);
                    __m512 acca = _mm512_mul_ps(_mm512_loadu_ps(qa[t]), x), accb = _mm512_mul_ps(_mm512_loadu_ps(qb[t]), x);
#pragma GCC unroll 8
                    for (int j = 1; j < nd; j++) {
                        x = chunk ? ld16(k, j, 0) : ld16(k, j, f16);
                        acca = _mm512_fmadd_ps(_mm512_loadu_ps(qa[t] + 16 * j), x, acca);
                        accb = _mm512_fmadd_ps(_mm512_loadu_ps(qb[t] + 16 * j), x, accb);
                    }
                    float va = _mm512_reduce_add_ps(acca) * a->scale, vb = _mm512_reduce_add_ps(accb) * a->scale;
                    sa[t][u] = va, sb[t][u] = vb;
                    mxa[t] = va > mxa[t] ? va : mxa[t];
                    mxb[t] = vb > mxb[t] ? vb : mxb[t];
                }
            }
        }
    }
    for (int32_t t = 0; t < nt; t++) {
        float bma = _mm512_reduce_max_ps(_mm512_mask_mov_ps(minf, 0x00ff, vmax[t]));
        float bmb = _mm512_reduce_max_ps(_mm512_mask_mov_ps(minf, 0xff00, vmax[t]));
        mxa[t] = bma > mxa[t] ? bma : mxa[t];
        mxb[t] = bmb > mxb[t] ? bmb : mxb[t];
        inva[t] = exp_row(sa[t], nk[t], mxa[t]);
        invb[t] = exp_row(sb[t], nk[t], mxb[t]);
    }
    for (int32_t g = 0; g < nkmax; g += ATTN_VKEYS) {
        for (int32_t t = 0; t < nt; t++) {
            int32_t ge = g + ATTN_VKEYS < nk[t] ? g + ATTN_VKEYS : nk[t], gc = ge < nc ? ge : nc;
            if (g >= ge)
                continue;
            float *oa_at = osum + 2 * (size_t)t * d, *ob_at = oa_at + d;
            __m512 oa[8], ob[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) {
                oa[j] = j < nd && g ? _mm512_loadu_ps(oa_at + 16 * j) : _mm512_setzero_ps();
                ob[j] = j < nd && g ? _mm512_loadu_ps(ob_at + 16 * j) : _mm512_setzero_ps();
            }
            int32_t s = g;
            for (; s < gc; s++)
                add_row2(oa, ob, sa[t][s], sb[t][s],
                         (const uint8_t *)a->vcache + ((size_t)s * kvw + (size_t)kvh * d) * esz, nd, f16);
            for (; s < ge; s++)
                add_row2(oa, ob, sa[t][s], sb[t][s], a->vc + (size_t)(s - nc) * a->ldkv + (size_t)kvh * d, nd, 0);
#pragma GCC unroll 8
            for (int j = 0; j < nd; j++) {
                _mm512_storeu_ps(oa_at + 16 * j, oa[j]);
                _mm512_storeu_ps(ob_at + 16 * j, ob[j]);
            }
        }
    }
    for (int32_t t = 0; t < nt; t++) {
        const float *oa_at = osum + 2 * (size_t)t * d, *ob_at = oa_at + d;
        float *out = a->out + (size_t)(i0 + t) * a->ldo + (size_t)h * d;
        __m512 ia = _mm512_set1_ps(inva[t]), ib = _mm512_set1_ps(invb[t]);
#pragma GCC unroll 8
        for (int j = 0; j < nd; j++) {
            _mm512_storeu_ps(out + 16 * j, _mm512_mul_ps(_mm512_loadu_ps(oa_at + 16 * j), ia));
            _mm512_storeu_ps(out + d + 16 * j, _mm512_mul_ps(_mm512_loadu_ps(ob_at + 16 * j), ib));
        }
    }
}

/* One instance per head_dim / 16 and cache type of head_block_nd or
 * pair_block_nd (tokens i .. i + nt - 1). */
#define HEAD_FN(name, body, nd)                                                                            \
    T512 static void name(const aae_attn_args *a, int32_t i, int32_t nt, int32_t h, float *sc)              \
    {                                                                                                      \
        if (KV_F16(a))                                                                                     \
            body(a, i, nt, h, sc, nd, 1);                                                                  \
        else                                                                                               \
            body(a, i, nt, h, sc, nd, 0);                                                                  \
    }
#if !defined(AAE_SPEC)
HEAD_FN(head_4, head_block_nd, 4)
HEAD_FN(head_5, head_block_nd, 5)
HEAD_FN(head_8, head_block_nd, 8)
HEAD_FN(head_16, head_block_nd, 16)
HEAD_FN(pair_4, pair_block_nd, 4)
HEAD_FN(pair_5, pair_block_nd, 5)
HEAD_FN(pair_8, pair_block_nd, 8)
#elif SPEC_PAIRS
HEAD_FN(pair_any, pair_block_nd, HEAD_ND(a, 16))
#endif
HEAD_FN(head_any, head_block_nd, HEAD_ND(a, 16))
#undef HEAD_FN

/* For two heads sharing a KV head (nd <= 8): o0 += e0_t v_t, o1 += e1_t v_t,
 * both over all 16 rows (e_t all nonzero), each value row loaded once for both
 * and each output adding its rows in the order of t: two heads' chains of FMAs
 * overlap where one head's nd chains wait on each other's latency. */
T512 AI static inline void axpy16x2(float *o0, float *o1, const float *p0, const float *p1, const uint8_t *base,
                                    size_t stride, const int nd, const int f16)
{
    __m512 u[8], w[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) /* (dead for j >= nd) */
        u[j] = j < nd ? _mm512_loadu_ps(o0 + 16 * j) : _mm512_setzero_ps(),
        w[j] = j < nd ? _mm512_loadu_ps(o1 + 16 * j) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int t = 0; t < 16; t++) {
        __m512 e0 = _mm512_set1_ps(p0[t]), e1 = _mm512_set1_ps(p1[t]);
#pragma GCC unroll 8
        for (int j = 0; j < nd; j++) {
            __m512 v = ld16(base + (size_t)t * stride, j, f16);
            u[j] = _mm512_fmadd_ps(e0, v, u[j]);
            w[j] = _mm512_fmadd_ps(e1, v, w[j]);
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < nd; j++)
        _mm512_storeu_ps(o0 + 16 * j, u[j]), _mm512_storeu_ps(o1 + 16 * j, w[j]);
}

/* o += e_t v_t for the rows base + t stride whose e_t = ph[t] is not 0 (bit t
 * of nz), in the order of t; nothing when nz is 0. */
T512 AI static inline void axpy16(float *o, const float *ph, uint32_t nz, const uint8_t *base, size_t stride,
                                  const int nd, const int f16)
{
    if (!nz)
        return;
    __m512 ov[16];
#pragma GCC unroll 16
    for (int j = 0; j < 16; j++) /* (dead for j >= nd) */
        ov[j] = j < nd ? _mm512_loadu_ps(o + 16 * j) : _mm512_setzero_ps();
    if (nz == 0xffff) {
#pragma GCC unroll 16
        for (int t = 0; t < 16; t++) {
            __m512 p = _mm512_set1_ps(ph[t]);
#pragma GCC unroll 16
            for (int j = 0; j < nd; j++)
                ov[j] = _mm512_fmadd_ps(p, ld16(base + (size_t)t * stride, j, f16), ov[j]);
        }
    } else {
        for (; nz; nz &= nz - 1) {
            int t = __builtin_ctz(nz);
            __m512 p = _mm512_set1_ps(ph[t]);
#pragma GCC unroll 16
            for (int j = 0; j < nd; j++)
                ov[j] = _mm512_fmadd_ps(p, ld16(base + (size_t)t * stride, j, f16), ov[j]);
        }
    }
#pragma GCC unroll 16
    for (int j = 0; j < nd; j++)
        _mm512_storeu_ps(o + 16 * j, ov[j]);
}

/* One decoding token i, all heads, keys s0 .. s1 - 1 only: the partial sums
 * that aae_k_attention merges over the key ranges of its tasks. Each thread
 * streams its own contiguous part of the cache front to back. (Going head by
 * head over the whole range, as head_block_nd does, reads each row in head_dim
 * pieces with a stride of n_kv x head_dim: 12 GB/s from memory for a
 * 110M-sized cache, against ~36 for a plain read; cutting rows between threads
 * by heads was as slow.)
 * - Grouped heads (n_heads > n_kv): blocks of 16 key rows, each read by every
 *   head while it is in L1, the next block prefetched. Two heads of a KV head
 *   share each row's loads; their 16 scores are reduced together (sums16), and
 *   over the 16 value rows their outputs stay in registers. 1.1B-sized (32
 *   heads, 4 KV heads), 1 thread: 6.5 -> 2.2 ns per key and head.
 * - One head per KV head: key by key, all heads (each row is read once and
 *   used once; blocks read column by column were slower from memory).
 * Keys past the last whole block (and the token's own key) go one by one. sc
 * holds n_heads rows of s1 - s0 scores; part gets, per head h, the
 * unnormalised output sum_s e_s v_s at part[h d ..], then the heads' maxima at
 * part[n_heads d + h] and their sums of e_s at part[n_heads (d + 1) + h], with
 * e_s = exp(score_s - max) (a range without a visible key: max -inf, sums 0).
 * Keys with e_s = 0 are left out. Every head's output adds its keys in order,
 * one FMA each, and the scores are the same bits as one reduction per key, so
 * the result does not depend on the blocks. */
T512 AI static inline void keys_nd(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part,
                                   const int nd, const int f16)
{
    size_t esz = f16 ? 2 : 4;
    int32_t d = a->head_dim, kvw = a->n_kv * d, grp = a->n_heads / a->n_kv, qp = a->qpos0 + i, nh = a->n_heads;
    int32_t nc = a->n_cached, ns = s1 - s0, blocked = grp > 1 ? s0 + (((s1 < nc ? s1 : nc) - s0) / 16) * 16 : s0;
    size_t row = (size_t)kvw * esz;
    const float *q = a->q + (size_t)i * a->ldq;
    const float ninf = -__builtin_inff();
    float *mxs = part + (size_t)nh * d, *sums = mxs + nh;
    for (int32_t s = s0; s < blocked; s += 16) {
        uint32_t vis = visible_bits(a, qp, s, 16, 0);
        const uint8_t *kb = (const uint8_t *)a->kcache + (size_t)s * row;
        if (s + 32 <= blocked)
            prefetch_rows(kb + 16 * row, 16 * row);
        const __m512 scale = _mm512_set1_ps(a->scale), minf = _mm512_set1_ps(ninf);
        for (int32_t g = 0; g < a->n_kv; g++) {
            const uint8_t *k0 = kb + (size_t)g * (size_t)d * esz;
            float *out = sc + (size_t)g * grp * ns + (s - s0);
            if (!vis) {
                for (int32_t h = 0; h < grp; h++)
                    _mm512_storeu_ps(out + (size_t)h * ns, minf);
                continue;
            }
            const float *qg = q + (size_t)g * grp * d;
            int32_t h = 0;
            for (; h + 2 <= grp; h += 2)
                for (int half = 0; half < 2; half++) {
                    __m512 v = dots8x2(qg + (size_t)h * d, qg + (size_t)(h + 1) * d, k0 + (size_t)(8 * half) * row,
                                       row, nd, f16);
                    uint32_t m8 = (vis >> (8 * half)) & 0xffu;
                    v = _mm512_mask_mov_ps(minf, (__mmask16)(m8 | m8 << 8), _mm512_mul_ps(v, scale));
                    _mm256_storeu_ps(out + (size_t)h * ns + 8 * half, _mm512_castps512_ps256(v));
                    _mm256_storeu_ps(out + (size_t)(h + 1) * ns + 8 * half, _mm512_extractf32x8_ps(v, 1));
                }
            for (; h < grp; h++) {
                __m512 v = _mm512_mul_ps(dots16(qg + (size_t)h * d, k0, row, nd, f16), scale);
                _mm512_storeu_ps(out + (size_t)h * ns, _mm512_mask_mov_ps(minf, (__mmask16)vis, v));
            }
        }
    }
    for (int32_t s = blocked; s < s1; s++) {
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
        /* the largest score, 16 lanes at a time (a chain of scalar maxima was
         * 12% of the time); a NaN score is passed over as by r[s] > mx */
        float *r = sc + (size_t)h * ns;
        __m512 vmax = _mm512_set1_ps(ninf);
        for (int32_t s = 0; s < ns; s += 16) {
            __mmask16 mk = ns - s >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (ns - s)) - 1u);
            vmax = _mm512_max_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(ninf), mk, r + s), vmax);
        }
        float mx = _mm512_reduce_max_ps(vmax);
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
    for (int32_t s = s0; s < blocked; s += 16) {
        const uint8_t *vb = (const uint8_t *)a->vcache + (size_t)s * row;
        if (s + 32 <= blocked)
            prefetch_rows(vb + 16 * row, 16 * row);
        for (int32_t g = 0; g < a->n_kv; g++) {
            /* keys with e_s = 0 (masked, or exp underflowed) are skipped, as one
             * by one: 0 x an infinite value would be NaN */
            const float *pg = sc + (size_t)g * grp * ns + (s - s0);
            float *og = part + (size_t)g * grp * d;
            uint32_t any = 0;
            for (int32_t h = 0; h < grp; h++)
                any |= nonzero16(pg + (size_t)h * ns);
            if (!any)
                continue;
            const uint8_t *v0 = vb + (size_t)g * (size_t)d * esz;
            int32_t h = 0;
            if (nd <= 8)
                for (; h + 2 <= grp; h += 2) {
                    const float *p0 = pg + (size_t)h * ns, *p1 = p0 + ns;
                    uint32_t n0 = nonzero16(p0), n1 = nonzero16(p1);
                    if ((n0 & n1) == 0xffff) {
                        axpy16x2(og + (size_t)h * d, og + (size_t)(h + 1) * d, p0, p1, v0, row, nd, f16);
                    } else {
                        axpy16(og + (size_t)h * d, p0, n0, v0, row, nd, f16);
                        axpy16(og + (size_t)(h + 1) * d, p1, n1, v0, row, nd, f16);
                    }
                }
            for (; h < grp; h++)
                axpy16(og + (size_t)h * d, pg + (size_t)h * ns, nonzero16(pg + (size_t)h * ns), v0, row, nd, f16);
        }
    }
    for (int32_t s = blocked; s < s1; s++) {
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

/* A decoding token's key-range function for one head_dim / w (nd) and both
 * cache types, from impl (keys_nd, keys256_nd) under target attribute T. */
#define KEYS_INSTANCE(T, impl, name, nd)                                                                   \
    T static void name(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part)    \
    {                                                                                                      \
        if (KV_F16(a))                                                                                     \
            impl(a, i, s0, s1, sc, part, nd, 1);                                                           \
        else                                                                                               \
            impl(a, i, s0, s1, sc, part, nd, 0);                                                           \
    }
#define KEYS_FN(name, nd) KEYS_INSTANCE(T512, keys_nd, name, nd)
#if !defined(AAE_SPEC)
KEYS_FN(keys_4, 4)
KEYS_FN(keys_5, 5)
KEYS_FN(keys_8, 8)
KEYS_FN(keys_16, 16)
#endif
KEYS_FN(keys_any, HEAD_ND(a, 16))
#undef KEYS_FN

/* The AVX2 kernels (CPUs without AVX-512). */
#define T256A __attribute__((target("avx2,fma,f16c")))
T256A static inline __m256 ld8(const void *p, int32_t j, int f16)
{
    return f16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + 8 * j)))
               : _mm256_loadu_ps((const float *)p + 8 * j);
}

T256A static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/* A prompt chunk's head h for tokens i0 .. i0 + nt - 1 on AVX2 (CPUs
 * without AVX-512; head_dim a multiple of 8 up to 256), as head_block_nd: each
 * key and value row read from memory once for the block, keys 8 at a time
 * token by token while the 8 rows are in L1 (the 8 dot products reduced
 * together by sums8), a token's own key-by-key tail as when it runs alone;
 * exponentials 8 at a time; values ATTN_VKEYS rows at a time, a token's
 * output 64 elements at a time in registers over them, kept in sc between
 * groups. The generic path read every key and value row once per token and
 * head, a float16 row through a converted copy (110M, 1024-token prompt on a
 * Zen 3 core: 63% of the prefill). nd = head_dim / 8 is a constant in each
 * instance below. Each token's results are the same bits in any block. */
/* The sums of the 8 lanes of each of a[0..7], as one vector (lane t: a[t]). */
T256A static inline __m256 sums8(const __m256 a[8])
{
    __m256 h01 = _mm256_hadd_ps(a[0], a[1]), h23 = _mm256_hadd_ps(a[2], a[3]);
    __m256 h45 = _mm256_hadd_ps(a[4], a[5]), h67 = _mm256_hadd_ps(a[6], a[7]);
    __m256 l = _mm256_hadd_ps(h01, h23), u = _mm256_hadd_ps(h45, h67); /* 128-bit halves: keys 0-3, 4-7 */
    return _mm256_add_ps(_mm256_permute2f128_ps(l, u, 0x20), _mm256_permute2f128_ps(l, u, 0x31));
}

/* The 8 scores (before the scale) of the query row qh against the rows
 * base + t stride, t < 8. */
AI T256A static inline __m256 dots8(const float *qh, const uint8_t *base, size_t stride, const int nd, const int f16)
{
    __m256 acc[8];
#pragma GCC unroll 8
    for (int t = 0; t < 8; t++) {
        const void *k = base + (size_t)t * stride;
        acc[t] = _mm256_mul_ps(_mm256_loadu_ps(qh), ld8(k, 0, f16));
#pragma GCC unroll 32
        for (int j = 1; j < nd; j++)
            acc[t] = _mm256_fmadd_ps(_mm256_loadu_ps(qh + 8 * j), ld8(k, j, f16), acc[t]);
    }
    return sums8(acc);
}

AI T256A static inline void head_block_avx2(const aae_attn_args *a, int32_t i0, int32_t nt, int32_t h, float *sc,
                                            const int nd, const int f16)
{
    size_t esz = f16 ? 2 : 4;
    int32_t d = a->head_dim, kvw = a->n_kv * d, kvh = h / (a->n_heads / a->n_kv), nc = a->n_cached;
    int32_t nkmax = nc + i0 + nt, nk[AAE_ATTN_TOKENS], qp[AAE_ATTN_TOKENS];
    const float *q[AAE_ATTN_TOKENS];
    float *sr[AAE_ATTN_TOKENS], mx[AAE_ATTN_TOKENS], inv[AAE_ATTN_TOKENS], *osum = sc + (size_t)nt * nkmax;
    const float ninf = -__builtin_inff();
    const __m256 scale = _mm256_set1_ps(a->scale), minf = _mm256_set1_ps(ninf);
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    __m256 vmax[AAE_ATTN_TOKENS];
    for (int32_t t = 0; t < nt; t++) {
        nk[t] = nc + i0 + t + 1, qp[t] = a->qpos0 + i0 + t;
        q[t] = a->q + (size_t)(i0 + t) * a->ldq + (size_t)h * d;
        sr[t] = sc + (size_t)t * nkmax;
        mx[t] = ninf;
        vmax[t] = minf;
    }
    /* scores: the cached keys, then the chunk's */
    for (int chunk = 0; chunk < 2; chunk++) {
        int32_t b0 = chunk ? nc : 0, bend = chunk ? nkmax : nc;
        size_t stride;
        const uint8_t *base = key_rows(a, chunk, kvh, esz, &stride);
        for (int32_t s = b0; s < bend; s += 8) {
            const uint8_t *k8 = base + (size_t)(s - b0) * stride;
            for (int32_t t = 0; t < nt; t++) {
                int32_t b1 = chunk ? nk[t] : nc;
                if (s + 8 <= b1) {
                    uint32_t vis = visible_bits(a, qp[t], s, 8, chunk);
                    __m256 v = minf;
                    if (vis) {
                        v = _mm256_mul_ps(chunk ? dots8(q[t], k8, stride, nd, 0) : dots8(q[t], k8, stride, nd, f16),
                                          scale);
                        __m256i vb = _mm256_and_si256(_mm256_set1_epi32((int32_t)vis), bit);
                        v = _mm256_blendv_ps(minf, v, _mm256_castsi256_ps(_mm256_cmpeq_epi32(vb, bit)));
                        vmax[t] = _mm256_max_ps(v, vmax[t]);
                    }
                    _mm256_storeu_ps(sr[t] + s, v);
                    continue;
                }
                for (int32_t u = s; u < b1; u++) { /* the token's last keys, one by one */
                    int32_t kp = chunk ? a->qpos0 + (u - nc) : a->cpos[u];
                    int vis = kp <= qp[t] && (a->window <= 0 || qp[t] - kp < a->window || kp < a->sink);
                    if (!vis) {
                        sr[t][u] = ninf;
                        continue;
                    }
                    const void *k = base + (size_t)(u - b0) * stride;
                    __m256 acc = _mm256_mul_ps(_mm256_loadu_ps(q[t]), chunk ? ld8(k, 0, 0) : ld8(k, 0, f16));
#pragma GCC unroll 32
                    for (int j = 1; j < nd; j++)
                        acc = _mm256_fmadd_ps(_mm256_loadu_ps(q[t] + 8 * j), chunk ? ld8(k, j, 0) : ld8(k, j, f16),
                                              acc);
                    float v = hsum8(acc) * a->scale;
                    sr[t][u] = v;
                    mx[t] = v > mx[t] ? v : mx[t];
                }
            }
        }
    }
    for (int32_t t = 0; t < nt; t++) { /* e = exp(score - max) in place (masked: -inf, giving 0), 1 / sum */
        float lanes[8], *r = sr[t];
        _mm256_storeu_ps(lanes, vmax[t]);
        for (int l = 0; l < 8; l++)
            mx[t] = lanes[l] > mx[t] ? lanes[l] : mx[t];
        __m256 vmx = _mm256_set1_ps(mx[t]), vsum = _mm256_setzero_ps();
        int32_t s = 0;
        for (; s + 8 <= nk[t]; s += 8) {
            __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(r + s), vmx));
            _mm256_storeu_ps(r + s, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        if (s < nk[t]) {
            float t8[8];
            for (int l = 0; l < 8; l++)
                t8[l] = s + l < nk[t] ? r[s + l] : ninf;
            __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(t8), vmx));
            _mm256_storeu_ps(t8, e);
            for (int l = 0; s + l < nk[t]; l++)
                r[s + l] = t8[l];
            vsum = _mm256_add_ps(vsum, e);
        }
        inv[t] = 1.0f / hsum8(vsum);
    }
    for (int32_t g = 0; g < nkmax; g += ATTN_VKEYS)
        for (int32_t t = 0; t < nt; t++) {
            int32_t ge = g + ATTN_VKEYS < nk[t] ? g + ATTN_VKEYS : nk[t], gc = ge < nc ? ge : nc;
            if (g >= ge)
                continue;
            for (int jc = 0; jc < nd; jc += 8) { /* 64 elements of the output at a time */
                float *o_at = osum + (size_t)t * d + 8 * jc;
                int nj = nd - jc < 8 ? nd - jc : 8;
                __m256 o[8];
#pragma GCC unroll 8
                for (int j = 0; j < 8; j++)
                    o[j] = j < nj && g ? _mm256_loadu_ps(o_at + 8 * j) : _mm256_setzero_ps();
                int32_t s = g;
                for (; s < gc; s++) {
                    if (sr[t][s] == 0.0f) /* masked or underflowed: 0 x an infinite value would be NaN */
                        continue;
                    __m256 p = _mm256_set1_ps(sr[t][s]);
                    const uint8_t *v = (const uint8_t *)a->vcache + ((size_t)s * kvw + (size_t)kvh * d + 8 * jc) * esz;
#pragma GCC unroll 8
                    for (int j = 0; j < nj; j++)
                        o[j] = _mm256_fmadd_ps(p, ld8(v, j, f16), o[j]);
                }
                for (; s < ge; s++) {
                    if (sr[t][s] == 0.0f)
                        continue;
                    __m256 p = _mm256_set1_ps(sr[t][s]);
                    const float *v = a->vc + (size_t)(s - nc) * a->ldkv + (size_t)kvh * d + 8 * jc;
#pragma GCC unroll 8
                    for (int j = 0; j < nj; j++)
                        o[j] = _mm256_fmadd_ps(p, _mm256_loadu_ps(v + 8 * j), o[j]);
                }
#pragma GCC unroll 8
                for (int j = 0; j < nj; j++)
                    _mm256_storeu_ps(o_at + 8 * j, o[j]);
            }
        }
    for (int32_t t = 0; t < nt; t++) {
        const float *o_at = osum + (size_t)t * d;
        float *out = a->out + (size_t)(i0 + t) * a->ldo + (size_t)h * d;
        __m256 iv = _mm256_set1_ps(inv[t]);
        for (int j = 0; j < nd; j++)
            _mm256_storeu_ps(out + 8 * j, _mm256_mul_ps(_mm256_loadu_ps(o_at + 8 * j), iv));
    }
}

/* One instance per head_dim / 8 and cache type (head_dim 64, 80, 128, 256, any). */
#define HEAD256_FN(name, nd)                                                                               \
    T256A static void name(const aae_attn_args *a, int32_t i, int32_t nt, int32_t h, float *sc)             \
    {                                                                                                      \
        if (KV_F16(a))                                                                                     \
            head_block_avx2(a, i, nt, h, sc, nd, 1);                                                       \
        else                                                                                               \
            head_block_avx2(a, i, nt, h, sc, nd, 0);                                                       \
    }
#if !defined(AAE_SPEC)
HEAD256_FN(head256_8, 8)
HEAD256_FN(head256_10, 10)
HEAD256_FN(head256_16, 16)
HEAD256_FN(head256_32, 32)
#endif
HEAD256_FN(head256_any, HEAD_ND(a, 8))
#undef HEAD256_FN

/* A decoding token's key range on AVX2, with the outputs of keys_nd: key by
 * key, every head against the key's row (each cache row read once, front to
 * back, float16 converted in registers, the row pf rows ahead prefetched),
 * the scores kept key-major (sc[(s - s0) n_heads + h]) so that 8 heads' dot
 * products reduce together (sums8) into one store, and the maxima, the
 * exponentials and their sums 8 heads at a time down the key column; then the
 * values 4 keys at a time (values_block), keys with e_s = 0 left out. The
 * version this replaced (per score a division for the head's KV head, a
 * horizontal sum and a scalar store; per key and head a load and a store of
 * the output; nd unknown to the compiler) took half of a 110M decode step at
 * 1,300 tokens. A 110M-sized float16 cache, Zen 3, 1 thread: from L3 9-15 ->
 * 21-23 GB/s, from memory 8-11 -> 10-12 (memory and arithmetic overlap little
 * on this core); without the prefetch 9-20 GB/s from L3. A head's score is
 * the same bits wherever the head falls among the 8 (missing heads are zero
 * vectors, sums8 never mixes lanes), so the result does not depend on the
 * key ranges. */
#ifndef ATTN_PF_BYTES
#define ATTN_PF_BYTES 8192
#endif
/* The dot products of key row k (KV head pieces d apart; f16: float16) with
 * the query heads h0 .. h0 + 7 (those below nh; the others 0), as sums8
 * lanes. *g and *hh: head h0's KV head and its index in the group, advanced
 * past the 8 heads. */
AI T256A static inline __m256 scores8(const float *q, const uint8_t *k, int32_t h0, int32_t nh, int32_t grp,
                                      int32_t *pg, int32_t *phh, const int nd, const int f16)
{
    int32_t g = *pg, hh = *phh;
    size_t piece = (size_t)nd * 8 * (f16 ? 2 : 4);
    __m256 acc[8];
#pragma GCC unroll 8
    for (int t = 0; t < 8; t++) {
        if (h0 + t >= nh) {
            acc[t] = _mm256_setzero_ps();
            continue;
        }
        const float *qh = q + (size_t)(h0 + t) * 8 * nd;
        const uint8_t *kh = k + (size_t)g * piece;
        __m256 d = _mm256_mul_ps(_mm256_loadu_ps(qh), ld8(kh, 0, f16));
#pragma GCC unroll 32
        for (int j = 1; j < nd; j++)
            d = _mm256_fmadd_ps(_mm256_loadu_ps(qh + 8 * j), ld8(kh, j, f16), d);
        acc[t] = d;
        if (++hh == grp)
            hh = 0, g++;
    }
    *pg = g, *phh = hh;
    return sums8(acc);
}

/* o_h += e_t,h v_t for the value rows v + t stride (t < nb <= 4) of a block
 * of cached keys (e_t: key t's n_heads weights, nh apart; weights of 0 left
 * out), in the order of t: each head's output piece stays in registers over
 * the block (one load and one store per 4 keys, not per key; the stores
 * bounded the key-by-key version). */
AI T256A static inline void values_block(float *part, const float *e, int32_t nh, const uint8_t *v, size_t stride,
                                         int nb, int32_t nkv, int32_t grp, const int nd, const int f16)
{
    size_t piece = (size_t)nd * 8 * (f16 ? 2 : 4);
    for (int32_t h = 0; h < nkv * grp; h++) {
        int used = 0;
#pragma GCC unroll 4
        for (int t = 0; t < 4; t++)
            used |= (t < nb && e[(size_t)t * nh + h] != 0.0f) << t;
        if (!used) /* masked or underflowed: 0 x an infinite value would be NaN */
            continue;
        const uint8_t *vh = v + (size_t)(h / grp) * piece;
        for (int jc = 0; jc < nd; jc += 8) {
            int nj = nd - jc < 8 ? nd - jc : 8;
            float *o = part + (size_t)h * 8 * nd + 8 * jc;
            __m256 acc[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                acc[j] = j < nj ? _mm256_loadu_ps(o + 8 * j) : _mm256_setzero_ps();
#pragma GCC unroll 4
            for (int t = 0; t < 4; t++) {
                if (!(used >> t & 1))
                    continue;
                __m256 p = _mm256_set1_ps(e[(size_t)t * nh + h]);
#pragma GCC unroll 8
                for (int j = 0; j < nj; j++)
                    acc[j] = _mm256_fmadd_ps(p, ld8(vh + (size_t)t * stride, jc + j, f16), acc[j]);
            }
#pragma GCC unroll 8
            for (int j = 0; j < nj; j++)
                _mm256_storeu_ps(o + 8 * j, acc[j]);
        }
    }
}

AI T256A static inline void keys256_nd(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc,
                                       float *part, const int nd, const int f16)
{
    size_t esz = f16 ? 2 : 4;
    int32_t d = 8 * nd, nkv = a->n_kv, grp = a->n_heads / nkv, nh = a->n_heads, nc = a->n_cached;
    int32_t qp = a->qpos0 + i, ns = s1 - s0;
    size_t row = (size_t)nkv * d * esz;
    int32_t pf = (int32_t)(ATTN_PF_BYTES / row) + 1, pfe = s1 < nc ? s1 : nc;
    const float *q = a->q + (size_t)i * a->ldq;
    const float ninf = -__builtin_inff();
    const __m256 scale = _mm256_set1_ps(a->scale), minf = _mm256_set1_ps(ninf), zero = _mm256_setzero_ps();
    float *mxs = part + (size_t)nh * d, *sums = mxs + nh;
    for (int32_t s = s0; s < s1; s++) {
        float *r = sc + (size_t)(s - s0) * nh;
        int32_t kp = s < nc ? a->cpos[s] : a->qpos0 + (s - nc);
        int vis = kp <= qp && (a->window <= 0 || qp - kp < a->window || kp < a->sink);
        if (ATTN_PF_BYTES > 0 && s + pf < pfe)
            for (size_t o = 0; o < row; o += 64)
                _mm_prefetch((const char *)a->kcache + (size_t)(s + pf) * row + o, _MM_HINT_T0);
        int32_t g = 0, hh = 0;
        for (int32_t h0 = 0; h0 < nh; h0 += 8) {
            __m256 v = minf;
            if (vis)
                v = _mm256_mul_ps(s < nc ? scores8(q, (const uint8_t *)a->kcache + (size_t)s * row, h0, nh, grp, &g,
                                                   &hh, nd, f16)
                                         : scores8(q, (const uint8_t *)(a->kc + (size_t)(s - nc) * a->ldkv), h0, nh,
                                                   grp, &g, &hh, nd, 0),
                                  scale);
            if (nh - h0 >= 8)
                _mm256_storeu_ps(r + h0, v);
            else
                _mm256_maskstore_ps(r + h0, aae_lanes_below256(nh - h0), v);
        }
    }
    for (int32_t h0 = 0; h0 < nh; h0 += 8) {
        /* heads h0 .. h0 + 7 down the key column (lanes past nh unused); the
         * largest score (a NaN score is passed over: vmaxps returns its second
         * operand then), e = exp(score - max) in place and its sum; a head
         * without a visible key gets max -inf and e = 0 */
        __m256i mk = aae_lanes_below256(nh - h0 < 8 ? nh - h0 : 8);
        __m256 vmax = minf, vsum = zero;
        for (int32_t s = 0; s < ns; s++)
            vmax = _mm256_max_ps(_mm256_maskload_ps(sc + (size_t)s * nh + h0, mk), vmax);
        __m256 none = _mm256_cmp_ps(vmax, minf, _CMP_EQ_OQ);
        for (int32_t s = 0; s < ns; s++) {
            float *r = sc + (size_t)s * nh + h0;
            __m256 e = _mm256_blendv_ps(exp256(_mm256_sub_ps(_mm256_maskload_ps(r, mk), vmax)), zero, none);
            _mm256_maskstore_ps(r, mk, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        _mm256_maskstore_ps(mxs + h0, mk, vmax);
        _mm256_maskstore_ps(sums + h0, mk, vsum);
    }
    for (size_t j = 0; j < (size_t)nh * d; j += 8)
        _mm256_storeu_ps(part + j, zero);
    for (int32_t s = s0; s < pfe; s += 4) {
        int nb = pfe - s < 4 ? pfe - s : 4;
        if (ATTN_PF_BYTES > 0 && s + pf + 4 <= pfe)
            for (size_t o = 0; o < 4 * row; o += 64)
                _mm_prefetch((const char *)a->vcache + (size_t)(s + pf) * row + o, _MM_HINT_T0);
        values_block(part, sc + (size_t)(s - s0) * nh, nh, (const uint8_t *)a->vcache + (size_t)s * row, row, nb, nkv,
                     grp, nd, f16);
    }
    for (int32_t s = s0 > nc ? s0 : nc; s < s1; s += 4) /* the chunk's rows (float32) */
        values_block(part, sc + (size_t)(s - s0) * nh, nh, (const uint8_t *)(a->vc + (size_t)(s - nc) * a->ldkv),
                     (size_t)a->ldkv * 4, s1 - s < 4 ? s1 - s : 4, nkv, grp, nd, 0);
}

#define KEYS256_FN(name, nd) KEYS_INSTANCE(T256A, keys256_nd, name, nd)
#if !defined(AAE_SPEC)
KEYS256_FN(keys256_8, 8)
KEYS256_FN(keys256_10, 10)
KEYS256_FN(keys256_16, 16)
KEYS256_FN(keys256_32, 32)
#endif
KEYS256_FN(keys256_any, HEAD_ND(a, 8))
#undef KEYS256_FN
#undef KEYS_INSTANCE

int aae_k_attn_keys_x86_ok(const aae_attn_args *a, uint32_t cpu)
{
    return aae_k_attn_x86_ok(a, cpu) || ((cpu & AAE_CPU_AVX2_FMA) && a->head_dim % 8 == 0 && a->head_dim > 0);
}

int aae_k_attn_keys_x86(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part,
                        uint32_t cpu)
{
    if (!aae_k_attn_x86_ok(a, cpu)) {
        if (!aae_k_attn_keys_x86_ok(a, cpu))
            return 0;
#if defined(AAE_SPEC)
        keys256_any(a, i, s0, s1, sc, part);
#else
        typedef void (*fn256)(const aae_attn_args *, int32_t, int32_t, int32_t, float *, float *);
        static const fn256 by_nd8[33] = {[8] = keys256_8, [10] = keys256_10, [16] = keys256_16, [32] = keys256_32};
        int32_t nd8 = a->head_dim / 8;
        (nd8 <= 32 && by_nd8[nd8] ? by_nd8[nd8] : keys256_any)(a, i, s0, s1, sc, part);
#endif
        return 1;
    }
#if defined(AAE_SPEC)
    keys_any(a, i, s0, s1, sc, part);
#else
    /* specialised: head_dim 64 (Llama-2/TinyLlama), 80 (phi-2), 128 (most 7B), 256 (gemma) */
    typedef void (*fn)(const aae_attn_args *, int32_t, int32_t, int32_t, float *, float *);
    static const fn by_nd[17] = {[4] = keys_4, [5] = keys_5, [8] = keys_8, [16] = keys_16};
    (by_nd[a->head_dim / 16] ? by_nd[a->head_dim / 16] : keys_any)(a, i, s0, s1, sc, part);
#endif
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
    return (cpu & AAE_CPU_AVX512) && d % 16 == 0 && d <= 256 && d > 0 && SPEC_OK(a);
}

int aae_k_attn_head_x86(const aae_attn_args *a, int32_t i, int32_t n_t, int32_t h, int32_t n_h, float *sc,
                        uint32_t cpu)
{
    typedef void (*fn)(const aae_attn_args *, int32_t, int32_t, int32_t, float *);
    if (n_t < 1 || n_t > AAE_ATTN_TOKENS || i < 0 || i > a->m - n_t || !SPEC_OK(a))
        return 0;
#if defined(AAE_SPEC)
    static const fn by_nd8[1], by_nd[1];
#if SPEC_PAIRS
    static const fn pairs[1] = {pair_any};
#else
    static const fn pairs[1];
#endif
#define ND_AT(nd) 0
#else
    static const fn by_nd8[33] = {[8] = head256_8, [10] = head256_10, [16] = head256_16, [32] = head256_32};
    static const fn pairs[17] = {[4] = pair_4, [5] = pair_5, [8] = pair_8};
    static const fn by_nd[17] = {[4] = head_4, [5] = head_5, [8] = head_8, [16] = head_16};
#define ND_AT(nd) (nd)
#endif
    int32_t d = a->head_dim;
    if (!aae_k_attn_x86_ok(a, cpu)) { /* AVX2: one head at a time */
        if (!(cpu & AAE_CPU_AVX2_FMA) || n_h != 1 || d % 8 || d <= 0 || d > 256)
            return 0;
        (by_nd8[ND_AT(d / 8)] ? by_nd8[ND_AT(d / 8)] : head256_any)(a, i, n_t, h, sc);
        return 1;
    }
    if (n_h == 2) { /* head_dim 64, 80, 128; h and h + 1 on one KV head */
        int32_t grp = a->n_heads / a->n_kv;
        if (!pairs[ND_AT(d / 16)] || h % 2 || grp % 2)
            return 0;
        pairs[ND_AT(d / 16)](a, i, n_t, h, sc);
        return 1;
    }
    (by_nd[ND_AT(d / 16)] ? by_nd[ND_AT(d / 16)] : head_any)(a, i, n_t, h, sc);
    return 1;
#undef ND_AT
}
#endif
