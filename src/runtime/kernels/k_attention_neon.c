/*
 * k_attention_neon.c - NEON paths of aae_k_attention (k_attention.c) on
 * aarch64, for head_dim a multiple of 16 up to 256 (64, 80, 96, 128 and 256:
 * the usual head sizes of the supported families; others take the generic
 * path).
 *
 * Keys and values go 4 at a time: the 4 rows' piece of a KV head, converted
 * once from float16 when the cache holds float16 (fcvtl: a 4 KB buffer on the
 * stack), serve every query head of that KV head. Scores: 4 dot products at
 * once (the query's 16-float chunk loaded once for the 4 rows, two
 * accumulators per row, the 4 sums reduced together into one vector: no
 * reduction per key). Softmax: 4 scores at a time (exp4, kmath.h's aae_expf
 * on 4 lanes). Values: a head's output is added 16 floats at a time over the
 * 4 rows (fmla by lane), rows whose weight is 0 left out (masked keys: 0 x an
 * infinite value would be NaN).
 *
 * The decode (keys_nd) takes one decoding token's key range for every head
 * and gives the partial sums aae_k_attention merges; the prompt path
 * (head_nd) one head for a block of up to AAE_ATTN_TOKENS tokens, each key and
 * value block read and converted once for all of them, with the same bits for
 * each token as when it runs alone.
 */
#include "kernels/kernels.h"
#include "kernels/kmath.h"

#if !defined(__aarch64__)
int aae_k_attn_head_neon(const aae_attn_args *a, int32_t i, int32_t n_t, int32_t h, float *sc, uint32_t cpu)
{
    (void)a, (void)i, (void)n_t, (void)h, (void)sc, (void)cpu;
    return 0;
}

int aae_k_attn_keys_neon(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part,
                         uint32_t cpu)
{
    (void)a, (void)i, (void)s0, (void)s1, (void)sc, (void)part, (void)cpu;
    return 0;
}

int aae_k_attn_neon_ok(const aae_attn_args *a, uint32_t cpu)
{
    (void)a, (void)cpu;
    return 0;
}
#else
#include <arm_neon.h>

#define AI __attribute__((always_inline))

/* One instance per head_dim / 16 and cache type; a model library (spec.h)
 * compiles only its own (SPEC_OK refuses other args: they take the generic
 * path). */
#if defined(AAE_SPEC)
#define SPEC_KV_F16 (AAE_SPEC_wtype == AAE_W_Q4F16 || AAE_SPEC_wtype == AAE_W_Q3F16 || AAE_SPEC_wtype == AAE_W_F16)
#define ND16(a) (AAE_SPEC_head_dim / 16)
#define KV_F16(a) SPEC_KV_F16
#define SPEC_OK(a) ((a)->head_dim == AAE_SPEC_head_dim && !(a)->kv_f16 == !SPEC_KV_F16)
#else
#define ND16(a) ((a)->head_dim / 16)
#define KV_F16(a) ((a)->kv_f16)
#define SPEC_OK(a) 1
#endif

/* exp on 4 lanes: aae_expf's clamp, rounding (ties away: frinta), reduction
 * and polynomial; below -87.33 the result is 0, so exp(-inf) = 0. */
static inline float32x4_t exp4(float32x4_t x)
{
    uint32x4_t tiny = vcltq_f32(x, vdupq_n_f32(-87.33f)), huge = vcgtq_f32(x, vdupq_n_f32(88.7f));
    float32x4_t xc = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-87.33f)), vdupq_n_f32(88.7f));
    float32x4_t n = vrndaq_f32(vmulq_f32(xc, vdupq_n_f32(1.44269504088896341f)));
    float32x4_t r = vfmsq_f32(xc, n, vdupq_n_f32(0.693145751953125f));
    r = vfmsq_f32(r, n, vdupq_n_f32(1.428606765330187045e-06f));
    float32x4_t p = vfmaq_f32(vdupq_n_f32(1.0f / 720.0f), vdupq_n_f32(1.0f / 5040.0f), r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    float32x4_t v = vmulq_f32(p, vreinterpretq_f32_s32(e));
    v = vbslq_f32(huge, vdupq_n_f32(__builtin_inff()), v);
    return vbslq_f32(tiny, vdupq_n_f32(0.0f), v);
}

static const uint32_t lane_bit[4] = {1, 2, 4, 8};

/* All ones in lane t where bit t of bits is set. */
AI static inline uint32x4_t mask4(uint32_t bits) { return vtstq_u32(vdupq_n_u32(bits), vld1q_u32(lane_bit)); }

/* Bit t set where lane t of e is not 0 (NaN included). */
AI static inline uint32_t nonzero4(float32x4_t e)
{
    return vaddvq_u32(vandq_u32(vmvnq_u32(vceqzq_f32(e)), vld1q_u32(lane_bit)));
}

/* Bit t set where key s + t (t < nb) is visible to query position qp
 * (kernels.h: causal, window and sink). */
AI static inline uint32_t visible4(const aae_attn_args *a, int32_t qp, int32_t s, int32_t nb)
{
    uint32_t vis = 0;
    for (int32_t t = 0; t < nb; t++) {
        int32_t u = s + t, kp = u < a->n_cached ? a->cpos[u] : a->qpos0 + (u - a->n_cached);
        vis |= (uint32_t)(kp <= qp && (a->window <= 0 || qp - kp < a->window || kp < a->sink)) << t;
    }
    return vis;
}

/* The first nb lanes of v to p, and nb floats from p (the others 0). */
AI static inline void store_n(float *p, float32x4_t v, int32_t nb)
{
    if (nb == 4) {
        vst1q_f32(p, v);
        return;
    }
    float t[4];
    vst1q_f32(t, v);
    for (int32_t i = 0; i < nb; i++)
        p[i] = t[i];
}

AI static inline float32x4_t load_n(const float *p, int32_t nb)
{
    if (nb == 4)
        return vld1q_f32(p);
    float t[4] = {0, 0, 0, 0};
    for (int32_t i = 0; i < nb; i++)
        t[i] = p[i];
    return vld1q_f32(t);
}

/* Float32 pointers to KV head kvh's piece of the key (value = 0) or value rows
 * s .. s + nb - 1: the chunk's rows and a float32 cache's in place, a float16
 * cache's converted into buf (4 x head_dim floats); r[t] for t >= nb repeats
 * r[0] (those lanes are masked or have weight 0). */
AI static inline void rows4(const aae_attn_args *a, int value, int32_t s, int32_t nb, int32_t kvh, float *buf,
                            const float **r, const int nd16, const int f16)
{
    size_t d = 16 * (size_t)nd16;
    for (int32_t t = 0; t < 4; t++) {
        int32_t u = s + t;
        if (t >= nb) {
            r[t] = r[0];
            continue;
        }
        if (u >= a->n_cached) {
            r[t] = (value ? a->vc : a->kc) + (size_t)(u - a->n_cached) * a->ldkv + (size_t)kvh * d;
            continue;
        }
        size_t at = ((size_t)u * a->n_kv + kvh) * d;
        if (!f16) {
            r[t] = (const float *)(value ? a->vcache : a->kcache) + at;
            continue;
        }
        const uint16_t *hp = (const uint16_t *)(value ? a->vcache : a->kcache) + at;
        float *o = buf + (size_t)t * d;
        for (int c = 0; c < nd16; c++) {
            uint16x8x2_t hv = vld1q_u16_x2(hp + 16 * c);
            float16x8_t h0 = vreinterpretq_f16_u16(hv.val[0]), h1 = vreinterpretq_f16_u16(hv.val[1]);
            float32x4x4_t f = {{vcvt_f32_f16(vget_low_f16(h0)), vcvt_high_f32_f16(h0), vcvt_f32_f16(vget_low_f16(h1)),
                                vcvt_high_f32_f16(h1)}};
            vst1q_f32_x4(o + 16 * c, f);
        }
        r[t] = o;
    }
}

/* The dot products of q (16 nd16 floats) with r[0..3], lane t row t's: the
 * query's chunk loaded once for the 4 rows, two accumulators per row, the 4
 * sums reduced together. */
AI static inline float32x4_t dots4(const float *q, const float *const *r, const int nd16)
{
    float32x4_t acc[4][2];
#pragma GCC unroll 4
    for (int t = 0; t < 4; t++)
        acc[t][0] = acc[t][1] = vdupq_n_f32(0.0f);
#pragma GCC unroll 4
    for (int c = 0; c < nd16; c++) {
        float32x4x4_t qv = vld1q_f32_x4(q + 16 * c);
#pragma GCC unroll 4
        for (int t = 0; t < 4; t++) {
            float32x4x4_t kv = vld1q_f32_x4(r[t] + 16 * c);
            acc[t][0] = vfmaq_f32(acc[t][0], qv.val[0], kv.val[0]);
            acc[t][1] = vfmaq_f32(acc[t][1], qv.val[1], kv.val[1]);
            acc[t][0] = vfmaq_f32(acc[t][0], qv.val[2], kv.val[2]);
            acc[t][1] = vfmaq_f32(acc[t][1], qv.val[3], kv.val[3]);
        }
    }
    float32x4_t s0 = vaddq_f32(acc[0][0], acc[0][1]), s1 = vaddq_f32(acc[1][0], acc[1][1]);
    float32x4_t s2 = vaddq_f32(acc[2][0], acc[2][1]), s3 = vaddq_f32(acc[3][0], acc[3][1]);
    return vpaddq_f32(vpaddq_f32(s0, s1), vpaddq_f32(s2, s3));
}

/* o += e_t r[t] for the rows t whose bit is set in used, in the order of t,
 * 16 floats of o at a time kept in registers over the 4 rows. */
#define ADD_ROW(t)                                                                                                  \
    do {                                                                                                            \
        float32x4x4_t x_ = vld1q_f32_x4(r[t] + 16 * c);                                                             \
        ov.val[0] = vfmaq_laneq_f32(ov.val[0], x_.val[0], e, t);                                                    \
        ov.val[1] = vfmaq_laneq_f32(ov.val[1], x_.val[1], e, t);                                                    \
        ov.val[2] = vfmaq_laneq_f32(ov.val[2], x_.val[2], e, t);                                                    \
        ov.val[3] = vfmaq_laneq_f32(ov.val[3], x_.val[3], e, t);                                                    \
    } while (0)
AI static inline void add_rows(float *o, float32x4_t e, uint32_t used, const float *const *r, const int nd16)
{
    if (used == 15) {
        for (int c = 0; c < nd16; c++) {
            float32x4x4_t ov = vld1q_f32_x4(o + 16 * c);
            ADD_ROW(0);
            ADD_ROW(1);
            ADD_ROW(2);
            ADD_ROW(3);
            vst1q_f32_x4(o + 16 * c, ov);
        }
        return;
    }
    for (int c = 0; c < nd16; c++) {
        float32x4x4_t ov = vld1q_f32_x4(o + 16 * c);
        if (used & 1)
            ADD_ROW(0);
        if (used & 2)
            ADD_ROW(1);
        if (used & 4)
            ADD_ROW(2);
        if (used & 8)
            ADD_ROW(3);
        vst1q_f32_x4(o + 16 * c, ov);
    }
}
#undef ADD_ROW

/* Value rows s .. s + nb - 1 of KV head kvh into n outputs of head_dim
 * floats at o, d apart: output u += sum_t w_u,t v_t, its weights at w + u
 * wstride (nb of them). The rows are converted once for all outputs, and only
 * when some weight is not 0. */
AI static inline void values4(const aae_attn_args *a, int32_t s, int32_t nb, int32_t kvh, const float *w,
                              int32_t wstride, float *o, int32_t n, float *buf, const int nd16, const int f16)
{
    const float *r[4];
    int have = 0;
    for (int32_t u = 0; u < n; u++) {
        float32x4_t e = load_n(w + (size_t)u * wstride, nb);
        uint32_t used = nonzero4(e);
        if (!used)
            continue;
        if (!have)
            rows4(a, 1, s, nb, kvh, buf, r, nd16, f16), have = 1;
        add_rows(o + (size_t)u * 16 * nd16, e, used, r, nd16);
    }
}

/* Scores r[0 .. n) (-inf where masked) to e = exp(score - max) in place (0
 * where masked); *mx gets the largest score (-inf, and every e 0, when all are
 * masked; NaN scores are passed over, as by k_attention.c's loops). Returns
 * the sum of the e. All in 4-lane steps, the last one partial with its
 * missing lanes masked: a row's e and sum have the same bits when it is
 * followed by masked scores (a token of a prompt block, see head_nd). */
static float soft_row(float *r, int32_t n, float *mx_out)
{
    const float ninf = -__builtin_inff();
    const float32x4_t vninf = vdupq_n_f32(ninf), zero = vdupq_n_f32(0.0f);
    float32x4_t vm = vninf;
    for (int32_t s = 0; s < n; s += 4) {
        int32_t nb = n - s < 4 ? n - s : 4;
        vm = vmaxnmq_f32(vm, vbslq_f32(mask4((1u << nb) - 1), load_n(r + s, nb), vninf));
    }
    float mx = vmaxnmvq_f32(vm);
    *mx_out = mx;
    float32x4_t vx = vdupq_n_f32(mx), vsum = zero;
    for (int32_t s = 0; s < n; s += 4) {
        int32_t nb = n - s < 4 ? n - s : 4;
        float32x4_t v = vbslq_f32(mask4((1u << nb) - 1), load_n(r + s, nb), vninf);
        /* masked scores (and all, when every one is masked) give 0 */
        float32x4_t e = vbslq_f32(vceqq_f32(v, vninf), zero, exp4(vsubq_f32(v, vx)));
        store_n(r + s, e, nb);
        vsum = vaddq_f32(vsum, e);
    }
    return vaddvq_f32(vsum);
}

/* A decoding token i, every head, keys s0 .. s1 - 1: the partial sums of
 * k_attention.c's keys_generic (part[h d ..] the unnormalised sum of e_s v_s,
 * part[n_heads d + h] the maximum, part[n_heads (d + 1) + h] the sum of e_s).
 * sc holds the range's scores head-major, h (s1 - s0) + (s - s0), so that a
 * block's 4 scores of a head are one store and one load. */
AI static inline void keys_nd(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part,
                              const int nd16, const int f16)
{
    int32_t d = 16 * nd16, nkv = a->n_kv, grp = a->n_heads / a->n_kv, nh = a->n_heads, ns = s1 - s0;
    int32_t qp = a->qpos0 + i;
    const float *q = a->q + (size_t)i * a->ldq;
    const float32x4_t scale = vdupq_n_f32(a->scale), minf = vdupq_n_f32(-__builtin_inff());
    float buf[4 * 256] __attribute__((aligned(16)));
    const float *r[4];
    float *mxs = part + (size_t)nh * d, *sums = mxs + nh;
    for (int32_t s = s0; s < s1; s += 4) {
        int32_t nb = s1 - s < 4 ? s1 - s : 4;
        uint32_t vis = visible4(a, qp, s, nb);
        uint32x4_t vm = mask4(vis);
        for (int32_t kvh = 0; kvh < nkv; kvh++) {
            if (vis)
                rows4(a, 0, s, nb, kvh, buf, r, nd16, f16);
            for (int32_t h = kvh * grp; h < (kvh + 1) * grp; h++) {
                float32x4_t v = minf;
                if (vis)
                    v = vbslq_f32(vm, vmulq_f32(dots4(q + (size_t)h * d, r, nd16), scale), minf);
                store_n(sc + (size_t)h * ns + (s - s0), v, nb);
            }
        }
    }
    for (int32_t h = 0; h < nh; h++)
        sums[h] = soft_row(sc + (size_t)h * ns, ns, &mxs[h]);
    for (size_t t = 0; t < (size_t)nh * d; t += 4)
        vst1q_f32(part + t, vdupq_n_f32(0.0f));
    for (int32_t s = s0; s < s1; s += 4) {
        int32_t nb = s1 - s < 4 ? s1 - s : 4;
        for (int32_t kvh = 0; kvh < nkv; kvh++)
            values4(a, s, nb, kvh, sc + (size_t)kvh * grp * ns + (s - s0), ns, part + (size_t)kvh * grp * d, grp,
                    buf, nd16, f16);
    }
}

/* Head h of tokens i0 .. i0 + nt - 1 (nt <= AAE_ATTN_TOKENS): each block of 4
 * key (then value) rows converted once for the block's tokens. sc: nt rows of
 * n_cached + i0 + nt scores (a token's keys past its own position are masked
 * by causality and give e = 0, so its row and sums are those of the token
 * alone), then nt head_dim output sums. */
AI static inline void head_nd(const aae_attn_args *a, int32_t i0, int32_t nt, int32_t h, float *sc, const int nd16,
                              const int f16)
{
    int32_t d = 16 * nd16, kvh = h / (a->n_heads / a->n_kv), nk = a->n_cached + i0 + nt;
    const float32x4_t scale = vdupq_n_f32(a->scale), minf = vdupq_n_f32(-__builtin_inff());
    float buf[4 * 256] __attribute__((aligned(16)));
    const float *r[4], *q[AAE_ATTN_TOKENS];
    float *sr[AAE_ATTN_TOKENS], *osum = sc + (size_t)nt * nk, inv[AAE_ATTN_TOKENS];
    int32_t qp[AAE_ATTN_TOKENS];
    for (int32_t t = 0; t < nt; t++) {
        q[t] = a->q + (size_t)(i0 + t) * a->ldq + (size_t)h * d;
        qp[t] = a->qpos0 + i0 + t;
        sr[t] = sc + (size_t)t * nk;
    }
    for (int32_t s = 0; s < nk; s += 4) {
        int32_t nb = nk - s < 4 ? nk - s : 4;
        uint32_t vis[AAE_ATTN_TOKENS], any = 0;
        for (int32_t t = 0; t < nt; t++)
            any |= vis[t] = visible4(a, qp[t], s, nb);
        if (any)
            rows4(a, 0, s, nb, kvh, buf, r, nd16, f16);
        for (int32_t t = 0; t < nt; t++) {
            float32x4_t v = minf;
            if (vis[t])
                v = vbslq_f32(mask4(vis[t]), vmulq_f32(dots4(q[t], r, nd16), scale), minf);
            store_n(sr[t] + s, v, nb);
        }
    }
    for (int32_t t = 0; t < nt; t++) {
        float mx;
        inv[t] = 1.0f / soft_row(sr[t], nk, &mx); /* the token's own key is visible: the sum is >= 1 */
    }
    for (size_t t = 0; t < (size_t)nt * d; t += 4)
        vst1q_f32(osum + t, vdupq_n_f32(0.0f));
    for (int32_t s = 0; s < nk; s += 4) {
        int32_t nb = nk - s < 4 ? nk - s : 4;
        values4(a, s, nb, kvh, sc + s, nk, osum, nt, buf, nd16, f16);
    }
    for (int32_t t = 0; t < nt; t++) {
        const float *o = osum + (size_t)t * d;
        float *out = a->out + (size_t)(i0 + t) * a->ldo + (size_t)h * d;
        float32x4_t iv = vdupq_n_f32(inv[t]);
        for (int32_t j = 0; j < d; j += 4)
            vst1q_f32(out + j, vmulq_f32(vld1q_f32(o + j), iv));
    }
}

#define INSTANCES(suffix, nd16)                                                                                     \
    static void keys_##suffix(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part)     \
    {                                                                                                               \
        if (KV_F16(a))                                                                                              \
            keys_nd(a, i, s0, s1, sc, part, nd16, 1);                                                               \
        else                                                                                                        \
            keys_nd(a, i, s0, s1, sc, part, nd16, 0);                                                               \
    }                                                                                                               \
    static void head_##suffix(const aae_attn_args *a, int32_t i, int32_t nt, int32_t h, float *sc)                   \
    {                                                                                                               \
        if (KV_F16(a))                                                                                              \
            head_nd(a, i, nt, h, sc, nd16, 1);                                                                      \
        else                                                                                                        \
            head_nd(a, i, nt, h, sc, nd16, 0);                                                                      \
    }
#if !defined(AAE_SPEC)
INSTANCES(4, 4)   /* head_dim 64 */
INSTANCES(5, 5)   /* 80 (phi-2) */
INSTANCES(8, 8)   /* 128 */
INSTANCES(16, 16) /* 256 (gemma) */
#endif
INSTANCES(any, ND16(a))
#undef INSTANCES

typedef void (*keys_fn)(const aae_attn_args *, int32_t, int32_t, int32_t, float *, float *);
typedef void (*head_fn)(const aae_attn_args *, int32_t, int32_t, int32_t, float *);
#if defined(AAE_SPEC)
#define PICK(kind, a) kind##_any
#else
#define PICK(kind, a)                                                                                               \
    (ND16(a) == 4    ? kind##_4                                                                                        \
     : ND16(a) == 5  ? kind##_5                                                                                        \
     : ND16(a) == 8  ? kind##_8                                                                                        \
     : ND16(a) == 16 ? kind##_16                                                                                       \
                     : kind##_any)
#endif

int aae_k_attn_neon_ok(const aae_attn_args *a, uint32_t cpu)
{
    int32_t d = a->head_dim;
    return (cpu & AAE_CPU_NEON) && d > 0 && d % 16 == 0 && d <= 256 && SPEC_OK(a);
}

int aae_k_attn_head_neon(const aae_attn_args *a, int32_t i, int32_t n_t, int32_t h, float *sc, uint32_t cpu)
{
    if (!aae_k_attn_neon_ok(a, cpu) || n_t < 1 || n_t > AAE_ATTN_TOKENS || i < 0 || i > a->m - n_t)
        return 0;
    head_fn f = PICK(head, a);
    f(a, i, n_t, h, sc);
    return 1;
}

int aae_k_attn_keys_neon(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part,
                         uint32_t cpu)
{
    if (!aae_k_attn_neon_ok(a, cpu))
        return 0;
    keys_fn f = PICK(keys, a);
    f(a, i, s0, s1, sc, part);
    return 1;
}
#undef PICK
#endif
