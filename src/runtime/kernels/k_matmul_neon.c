/*
 * k_matmul_neon.c - aarch64 NEON path of aae_k_matmul (see matmul_impl.h).
 * NEON is part of the aarch64 baseline, so no run-time check is needed beyond
 * kc->cpu (the runtime sets AAE_CPU_NEON; 0 selects the portable path).
 *
 * 4- and 3-bit weights, 1 to 4 tokens: the rows meet two-part int8
 * activations (the x8 layout of matmul_impl.h; 3-bit rows the x3n layout, their
 * codes unpacked with tbl and per-lane shifts), 2 to 4 tokens in the batched
 * decode that reads each row once. With the dot-product extension
 * (AAE_CPU_NEON_DOT, ARMv8.2+) the products go through sdot, without it
 * (ARMv8.0) through widening multiplies that give the same int32 lanes
 * (k_matmul_neon_i8.h holds both). From 5 tokens with sdot: the int8 prefill.
 * Float16 decode: each row converted in registers. Otherwise AAE_MM_TILE rows
 * are dequantized to float32 scratch, then a 4 x 4 register-blocked
 * micro-kernel.
 */
#include "kernels/matmul_impl.h"

#if !(defined(__aarch64__) && defined(__ARM_NEON))
int aae_k_matmul_neon(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1, uint32_t cpu)
{
    (void)j, (void)task, (void)n0, (void)n1, (void)cpu;
    return 0;
}

void aae_k_neon_quantize_x8(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k, int32_t ngq, int32_t ngs)
{
    (void)q, (void)off, (void)scale, (void)x, (void)k, (void)ngq, (void)ngs;
}

void aae_k_neon_quantize_x3n(int8_t *q, float *scale, float *gofs, const float *x, int32_t k)
{
    (void)q, (void)scale, (void)gofs, (void)x, (void)k;
}

void aae_k_neon_quantize_xq(int8_t *q, float *scale, int32_t *off, const float *x, int32_t ldx, int32_t m, int32_t k,
                            int32_t gsize)
{
    (void)q, (void)scale, (void)off, (void)x, (void)ldx, (void)m, (void)k, (void)gsize;
}
#else
#include <arm_neon.h>

/* Float16 values are converted by the hardware (fcvt, exact for every value,
 * subnormals included), not by a call to the runtime's scalar conversion. */
static inline float scale_of(const aae_wmat *w, size_t idx)
{
    if (w->type == AAE_W_Q4F32)
        return ((const float *)w->scale)[idx];
    return (float)((const float16_t *)w->scale)[idx];
}

/* Weight scales idx .. idx + 3 as float32. */
static inline float32x4_t scales4(const aae_wmat *w, size_t idx)
{
    if (w->type == AAE_W_Q4F32)
        return vld1q_f32((const float *)w->scale + idx);
    return vcvt_f32_f16(vld1_f16((const float16_t *)w->scale + idx));
}

/* 16 signed bytes -> 4 float32x4 */
static inline void widen16(int8x16_t v, float32x4_t out[4])
{
    int16x8_t a = vmovl_s8(vget_low_s8(v)), b = vmovl_s8(vget_high_s8(v));
    out[0] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(a)));
    out[1] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(a)));
    out[2] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(b)));
    out[3] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(b)));
}

/* A 4-bit group as (code - 7) in nibble order: c[0..3] even elements, c[4..7] odd. */
static inline void q4_group(const uint8_t *b, float32x4_t c[8])
{
    uint8x16_t v = vld1q_u8(b);
    int8x16_t seven = vdupq_n_s8(7);
    int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0f))), seven);
    int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), seven);
    widen16(lo, c);
    widen16(hi, c + 4);
}

/* The codes of a 3-bit group (16 bytes: 4 words of 10 codes, code c of word
 * w at bits 3c .. 3c + 2) in natural order, 8 per uint16 lane vector, bits 3
 * and up not cleared: lane i of vector t takes bytes b, b + 1 of code n = 8t
 * + i (bit = 32 (n / 10) + 3 (n % 10), b = bit / 8; 255 past the group reads
 * zero) and shifts right by bit % 8. */
static const uint8_t q3_idx[5][16] = {
    {0, 1, 0, 1, 0, 1, 1, 2, 1, 2, 1, 2, 2, 3, 2, 3},         {3, 4, 3, 4, 4, 5, 4, 5, 4, 5, 5, 6, 5, 6, 5, 6},
    {6, 7, 6, 7, 7, 8, 7, 8, 8, 9, 8, 9, 8, 9, 9, 10},        {9, 10, 9, 10, 10, 11, 10, 11, 11, 12, 11, 12, 12, 13, 12, 13},
    {12, 13, 13, 14, 13, 14, 13, 14, 14, 15, 14, 15, 15, 255, 15, 255}};
static const int16_t q3_shift[5][8] = {{0, -3, -6, -1, -4, -7, -2, -5},
                                       {0, -3, 0, -3, -6, -1, -4, -7},
                                       {-2, -5, 0, -3, 0, -3, -6, -1},
                                       {-4, -7, -2, -5, 0, -3, 0, -3},
                                       {-6, -1, -4, -7, -2, -5, 0, -3}};

static inline void q3_unpack(uint8x16_t v, uint16x8_t out[5])
{
    /* unrolled at -O2 too: gcc 12 -O2 keeps out[] in memory for a loop here
     * (a 3-bit sdot decode step of a 110M model: 230 -> 132 M instructions) */
#pragma GCC unroll 5
    for (int t = 0; t < 5; t++)
        out[t] = vshlq_u16(vreinterpretq_u16_u8(vqtbl1q_u8(v, vld1q_u8(q3_idx[t]))), vld1q_s16(q3_shift[t]));
}

/* A 3-bit group (40 codes in 4 words) as (code - 3), natural order, 10 vectors. */
static inline void q3_group(const uint32_t *q, float32x4_t c[10])
{
    uint16x8_t u[5];
    q3_unpack(vld1q_u8((const uint8_t *)q), u);
    for (int t = 0; t < 5; t++) {
        int16x8_t v = vsubq_s16(vreinterpretq_s16_u16(vandq_u16(u[t], vdupq_n_u16(7))), vdupq_n_s16(3));
        c[2 * t] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(v)));
        c[2 * t + 1] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(v)));
    }
}

static float dot_f16(const aae_wmat *w, int32_t r, const float *xp)
{
    const float16_t *p = (const float16_t *)w->q + (size_t)r * w->k;
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0);
    int32_t k = w->k, i = 0;
    for (; i + 8 <= k; i += 8) {
        float16x8_t h = vld1q_f16(p + i);
        acc0 = vfmaq_f32(acc0, vcvt_f32_f16(vget_low_f16(h)), vld1q_f32(xp + i));
        acc1 = vfmaq_f32(acc1, vcvt_high_f32_f16(h), vld1q_f32(xp + i + 4));
    }
    float s = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < k; i++)
        s += aae_k_f16_to_f32(((const uint16_t *)w->q)[(size_t)r * w->k + i]) * xp[i];
    return s;
}

/* sdot in a function built for the dot-product extension while the rest of
 * the file stays ARMv8.0. Clang before 17 declares vdotq_s32 only when the
 * whole file targets the extension, so it gets the builtin behind it. */
#if defined(__clang__)
#define TDOT __attribute__((target("dotprod")))
#define SDOT(acc, a, b) ((int32x4_t)__builtin_neon_vdotq_v((int8x16_t)(acc), (a), (b), 34))
#else
#define TDOT __attribute__((target("arch=armv8.2-a+dotprod")))
#define SDOT(acc, a, b) vdotq_s32((acc), (a), (b))
#endif

/* Two 3-bit groups (a, b: 16 code bytes each) against their x3n bytes at xb
 * (matmul_impl.h): the 80 codes as 5 byte vectors k in natural order (a's
 * 40, then b's; q3_pair_codes), each meeting 16 bytes of either part
 * (q3_pair_dots). lo: lanes of group a; mid: lanes 0, 1 of a, lanes 2, 3 of
 * b; hi: lanes of b; each lane 256 p1 + p2 (exact: 8 codes per lane, |p1| <
 * 2^13). The batched decode unpacks once and runs the dots per token. */
static inline void q3_pair_codes(uint8x16_t a, uint8x16_t b, int8x16_t k[5])
{
    uint16x8_t ua[5], ub[5];
    q3_unpack(a, ua);
    q3_unpack(b, ub);
    const uint8x16_t seven = vdupq_n_u8(7);
    k[0] = vreinterpretq_s8_u8(vandq_u8(vuzp1q_u8(vreinterpretq_u8_u16(ua[0]), vreinterpretq_u8_u16(ua[1])), seven));
    k[1] = vreinterpretq_s8_u8(vandq_u8(vuzp1q_u8(vreinterpretq_u8_u16(ua[2]), vreinterpretq_u8_u16(ua[3])), seven));
    k[2] = vreinterpretq_s8_u8(vandq_u8(vuzp1q_u8(vreinterpretq_u8_u16(ua[4]), vreinterpretq_u8_u16(ub[0])), seven));
    k[3] = vreinterpretq_s8_u8(vandq_u8(vuzp1q_u8(vreinterpretq_u8_u16(ub[1]), vreinterpretq_u8_u16(ub[2])), seven));
    k[4] = vreinterpretq_s8_u8(vandq_u8(vuzp1q_u8(vreinterpretq_u8_u16(ub[3]), vreinterpretq_u8_u16(ub[4])), seven));
}

/* A 3-bit step of fewer than 4 groups (left of them): its codes and scales
 * from zero-padded copies in tail and tails (no read past the row). */
static inline void q3_last_step(const uint8_t **q, const float16_t **sc, int32_t left, uint8_t tail[64],
                                float16_t tails[4])
{
    if (left >= 4)
        return;
    for (int32_t i = 0; i < 64; i++)
        tail[i] = i < 16 * left ? (*q)[i] : 0;
    for (int32_t i = 0; i < 4; i++)
        tails[i] = i < left ? (*sc)[i] : (float16_t)0.0f;
    *q = tail;
    *sc = tails;
}

/* The decodes with the dot-product extension: sdot. */
#define I8_TARGET TDOT
#define I8(name) name##_sdot
#define I8_DOT1(acc, a, b) SDOT((acc), (a), (b))
#define I8_DOT2(acc, a0, b0, a1, b1) SDOT(SDOT((acc), (a0), (b0)), (a1), (b1))
#include "kernels/k_matmul_neon_i8.h"
#undef I8_DOT2
#undef I8_DOT1
#undef I8
#undef I8_TARGET

/* The lanes of sdot without it (ARMv8.0: Cortex-A53, A57, A72, as in the
 * Raspberry Pi 3 and 4 and older phones): the byte products widened to int16
 * (smull, smlal: a code times a byte is at most 15 x 127 in magnitude, so the
 * two of I8_DOT2 and then a pairwise add of neighbours, four products, stay
 * below 2^13), a pairwise add of neighbouring int16 (addp) and a widening
 * pairwise add into the int32 lanes (sadalp): lane l gets bytes 4l .. 4l + 3,
 * the lanes of sdot, exact: six operations for two sdot. The float decodes
 * these replace widened every code to float32 (about 25 operations per 4-bit
 * group before its 8 multiply-adds) and read 4 bytes of x per weight, not 2. */
static inline int32x4_t mull_dot1(int32x4_t acc, int8x16_t a, int8x16_t b)
{
    int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b)), hi = vmull_high_s8(a, b);
    return vpadalq_s16(acc, vpaddq_s16(lo, hi));
}

static inline int32x4_t mull_dot2(int32x4_t acc, int8x16_t a0, int8x16_t b0, int8x16_t a1, int8x16_t b1)
{
    int16x8_t lo = vmlal_s8(vmull_s8(vget_low_s8(a0), vget_low_s8(b0)), vget_low_s8(a1), vget_low_s8(b1));
    int16x8_t hi = vmlal_high_s8(vmull_high_s8(a0, b0), a1, b1);
    return vpadalq_s16(acc, vpaddq_s16(lo, hi));
}

#define I8_TARGET
#define I8(name) name##_mull
#define I8_DOT1(acc, a, b) mull_dot1((acc), (a), (b))
#define I8_DOT2(acc, a0, b0, a1, b1) mull_dot2((acc), (a0), (b0), (a1), (b1))
#include "kernels/k_matmul_neon_i8.h"
#undef I8_DOT2
#undef I8_DOT1
#undef I8
#undef I8_TARGET

/* round to nearest even, clamped to [-127, 127] (as the scalar round_i8) */
static inline int32x4_t round_clamp(float32x4_t v)
{
    return vminq_s32(vmaxq_s32(vcvtnq_s32_f32(v), vdupq_n_s32(-127)), vdupq_n_s32(127));
}

/* Both int8 parts of n vectors of x (n a multiple of 2; u, inv as in the
 * scalar definition), computed in its order of operations. */
static inline void split_parts(const float32x4_t *v, int n, float u, float inv, int32x4_t *q1, int32x4_t *q2)
{
    float32x4_t vu = vdupq_n_f32(u), vi = vdupq_n_f32(inv), v256 = vdupq_n_f32(256.0f);
    for (int i = 0; i < n; i++) {
        q1[i] = round_clamp(vmulq_f32(v[i], vi));
        q2[i] = round_clamp(vmulq_f32(vmulq_f32(vsubq_f32(v[i], vmulq_f32(vu, vcvtq_f32_s32(q1[i]))), vi), v256));
    }
}

/* 8 int32 (|v| <= 127) of a and b as 8 bytes. */
static inline int8x8_t bytes8(int32x4_t a, int32x4_t b)
{
    return vqmovn_s16(vcombine_s16(vqmovn_s32(a), vqmovn_s32(b)));
}

/* n floats of x from e (a group), zeros past k, as vectors in v (n / 4). */
static inline void load_group(const float *x, int32_t k, int32_t e, int32_t n, float32x4_t *v)
{
    float t[40];
    const float *src = x + e;
    if (k - e < n) {
        for (int32_t i = 0; i < n; i++)
            t[i] = e + i < k ? x[e + i] : 0.0f;
        src = t;
    }
    for (int32_t i = 0; i < n / 4; i++)
        v[i] = vld1q_f32(src + 4 * i);
}

static inline float absmax(const float32x4_t *v, int n)
{
    float32x4_t m = vabsq_f32(v[0]);
    for (int i = 1; i < n; i++)
        m = vmaxq_f32(m, vabsq_f32(v[i]));
    return vmaxvq_f32(m);
}

/* aae_k_quantize_x8_ref from x in its own order: a group's evens and odds by
 * vuzp (elements 8i .. 8i + 7 -> evens / odds 4i .. 4i + 3). */
void aae_k_neon_quantize_x8(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k, int32_t ngq, int32_t ngs)
{
    for (int32_t g = 0; g < ngq; g++) {
        int8_t *e1 = q + 256 * (g / 4) + 16 * (g % 4), *o1 = e1 + 64, *e2 = e1 + 128, *o2 = e1 + 192;
        float32x4_t v[8], eo[8]; /* eo: evens 0..15 (4 vectors), odds 0..15 */
        load_group(x, k, 32 * g, 32, v);
        for (int i = 0; i < 4; i++) {
            eo[i] = vuzp1q_f32(v[2 * i], v[2 * i + 1]);
            eo[4 + i] = vuzp2q_f32(v[2 * i], v[2 * i + 1]);
        }
        float mx = absmax(v, 8), u = mx / 127.0f, inv = mx > 0 ? 127.0f / mx : 0.0f;
        scale[g] = u / 256.0f;
        int32x4_t q1[8], q2[8];
        split_parts(eo, 8, u, inv, q1, q2);
        vst1q_s8(e1, vcombine_s8(bytes8(q1[0], q1[1]), bytes8(q1[2], q1[3])));
        vst1q_s8(o1, vcombine_s8(bytes8(q1[4], q1[5]), bytes8(q1[6], q1[7])));
        vst1q_s8(e2, vcombine_s8(bytes8(q2[0], q2[1]), bytes8(q2[2], q2[3])));
        vst1q_s8(o2, vcombine_s8(bytes8(q2[4], q2[5]), bytes8(q2[6], q2[7])));
        for (int l = 0; l < 4; l++) {
            off[32 * (g / 4) + 4 * (g % 4) + l] = -7 * vaddvq_s32(vaddq_s32(q1[l], q1[4 + l]));
            off[32 * (g / 4) + 16 + 4 * (g % 4) + l] = -7 * vaddvq_s32(vaddq_s32(q2[l], q2[4 + l]));
        }
    }
    for (int32_t g = ngq; g < ngs; g++)
        scale[g] = 0.0f;
}

/* aae_k_quantize_x3n_ref: 10 vectors per group of 40. */
void aae_k_neon_quantize_x3n(int8_t *q, float *scale, float *gofs, const float *x, int32_t k)
{
    int32_t ngp = aae_mm_kpad(k) / 40;
    for (int32_t g = 0; g < ngp; g++) {
        int8_t *b1 = q + 160 * (g / 2) + 40 * (g % 2), *b2 = b1 + 80;
        float32x4_t v[10];
        load_group(x, k, 40 * g, 40, v);
        float mx = absmax(v, 10), u = mx / 127.0f, inv = mx > 0 ? 127.0f / mx : 0.0f;
        int32x4_t q1[10], q2[10], s1 = vdupq_n_s32(0), s2 = vdupq_n_s32(0);
        split_parts(v, 10, u, inv, q1, q2);
        for (int i = 0; i < 10; i += 2) {
            vst1_s8(b1 + 4 * i, bytes8(q1[i], q1[i + 1]));
            vst1_s8(b2 + 4 * i, bytes8(q2[i], q2[i + 1]));
            s1 = vaddq_s32(s1, vaddq_s32(q1[i], q1[i + 1]));
            s2 = vaddq_s32(s2, vaddq_s32(q2[i], q2[i + 1]));
        }
        scale[g] = u / 256.0f;
        gofs[g] = (float)(-3 * (256 * vaddvq_s32(s1) + vaddvq_s32(s2)));
    }
}

/* The int8 prefill's activations in the xqn layout (matmul_impl.h), rounded
 * as the scalar definition; tokens up to a multiple of 4 (zeros past m). */
void aae_k_neon_quantize_xq(int8_t *q, float *scale, int32_t *off, const float *x, int32_t ldx, int32_t m, int32_t k,
                            int32_t gsize)
{
    int32_t ngp = aae_mm_kpad(k) / gsize, S = gsize / 4, m4 = (m + 3) / 4 * 4;
    for (int32_t i = 0; i < m4; i++)
        for (int32_t g = 0; g < ngp; g++) {
            size_t blk = (size_t)(i / 4) * ngp + g, at = 4 * blk + (size_t)(i % 4);
            int8_t *d1 = q + 2 * S * 16 * blk + 4 * (i % 4), *d2 = d1 + S * 16;
            if (i >= m) {
                for (int32_t s = 0; s < S; s++)
                    for (int b = 0; b < 4; b++)
                        d1[16 * s + b] = d2[16 * s + b] = 0;
                scale[at] = 0.0f;
                off[at] = 0;
                continue;
            }
            float32x4_t v[10], src[10];
            for (int32_t s = 0; s < 10; s++)
                v[s] = vdupq_n_f32(0);
            load_group(x + (size_t)i * ldx, k, gsize * g, gsize, v);
            for (int32_t s = 0; s < S; s++) /* k-step s: 4-bit evens 4s.., then odds; 3-bit natural */
                src[s] = gsize == 40 ? v[s] : s < 4 ? vuzp1q_f32(v[2 * s], v[2 * s + 1])
                                                    : vuzp2q_f32(v[2 * (s - 4)], v[2 * (s - 4) + 1]);
            float mx = absmax(v, S), u = mx / 127.0f, inv = mx > 0 ? 127.0f / mx : 0.0f;
            int32x4_t q1[10], q2[10], s1 = vdupq_n_s32(0), s2 = vdupq_n_s32(0);
            split_parts(src, S, u, inv, q1, q2);
            for (int32_t s = 0; s < S; s += 2) {
                int32x2_t b1 = vreinterpret_s32_s8(bytes8(q1[s], q1[s + 1]));
                int32x2_t b2 = vreinterpret_s32_s8(bytes8(q2[s], q2[s + 1]));
                vst1_lane_s32((int32_t *)(void *)(d1 + 16 * s), b1, 0);
                vst1_lane_s32((int32_t *)(void *)(d1 + 16 * (s + 1)), b1, 1);
                vst1_lane_s32((int32_t *)(void *)(d2 + 16 * s), b2, 0);
                vst1_lane_s32((int32_t *)(void *)(d2 + 16 * (s + 1)), b2, 1);
                s1 = vaddq_s32(s1, vaddq_s32(q1[s], q1[s + 1]));
                s2 = vaddq_s32(s2, vaddq_s32(q2[s], q2[s + 1]));
            }
            scale[at] = u / 256.0f;
            off[at] = (gsize == 32 ? -7 : -3) * (256 * vaddvq_s32(s1) + vaddvq_s32(s2));
        }
}

/* [r0.d, r1.d, r2.d, r3.d] for d = 0..3: a 4 x 4 transpose of dwords. */
static inline void transpose4(uint8x16_t r0, uint8x16_t r1, uint8x16_t r2, uint8x16_t r3, uint8x16_t out[4])
{
    uint32x4_t t0 = vtrn1q_u32(vreinterpretq_u32_u8(r0), vreinterpretq_u32_u8(r1));
    uint32x4_t t1 = vtrn2q_u32(vreinterpretq_u32_u8(r0), vreinterpretq_u32_u8(r1));
    uint32x4_t t2 = vtrn1q_u32(vreinterpretq_u32_u8(r2), vreinterpretq_u32_u8(r3));
    uint32x4_t t3 = vtrn2q_u32(vreinterpretq_u32_u8(r2), vreinterpretq_u32_u8(r3));
    out[0] = vreinterpretq_u8_u64(vtrn1q_u64(vreinterpretq_u64_u32(t0), vreinterpretq_u64_u32(t2)));
    out[1] = vreinterpretq_u8_u64(vtrn1q_u64(vreinterpretq_u64_u32(t1), vreinterpretq_u64_u32(t3)));
    out[2] = vreinterpretq_u8_u64(vtrn2q_u64(vreinterpretq_u64_u32(t0), vreinterpretq_u64_u32(t2)));
    out[3] = vreinterpretq_u8_u64(vtrn2q_u64(vreinterpretq_u64_u32(t1), vreinterpretq_u64_u32(t3)));
}

/* One group of 4 rows (16 code bytes each at base, row stride rs; zeros from
 * row nr on) in sdot order: k-step s at dst + 32 s (the other 4 rows of the
 * tile at + 16). 4-bit: steps 0-3 the low nibbles (evens), 4-7 the high;
 * 3-bit: the 40 codes in natural order, 4 per step. */
static inline void xqn_repack4(const uint8_t *base, size_t rs, int32_t nr, int q3, uint8_t *dst)
{
    uint8x16_t v[3][4]; /* per source vector, per row */
    for (int i = 0; i < 4; i++) {
        uint8x16_t raw = i < nr ? vld1q_u8(base + (size_t)i * rs) : vdupq_n_u8(0);
        if (q3) {
            uint16x8_t u[5];
            q3_unpack(raw, u);
            const uint8x16_t seven = vdupq_n_u8(7);
            v[0][i] = vandq_u8(vuzp1q_u8(vreinterpretq_u8_u16(u[0]), vreinterpretq_u8_u16(u[1])), seven);
            v[1][i] = vandq_u8(vuzp1q_u8(vreinterpretq_u8_u16(u[2]), vreinterpretq_u8_u16(u[3])), seven);
            v[2][i] = vandq_u8(vuzp1q_u8(vreinterpretq_u8_u16(u[4]), vreinterpretq_u8_u16(u[4])), seven);
        } else {
            v[0][i] = vandq_u8(raw, vdupq_n_u8(0x0f));
            v[1][i] = vshrq_n_u8(raw, 4);
        }
    }
    int steps = q3 ? 10 : 8;
    for (int h = 0; h < (q3 ? 3 : 2); h++) {
        uint8x16_t o[4];
        transpose4(v[h][0], v[h][1], v[h][2], v[h][3], o);
        for (int d = 0; d < 4 && 4 * h + d < steps; d++)
            vst1q_u8(dst + 32 * (4 * h + d), o[d]);
    }
}

/* sdot of a with dword lane L of b broadcast (the indexed form, spelled with
 * a dup so that every compiler with the SDOT macro takes it) */
#define SDOT_LANE(acc, a, b, L) SDOT((acc), (a), vreinterpretq_s8_s32(vdupq_laneq_s32(vreinterpretq_s32_s8(b), L)))

/* 8 rows (two vectors of 4) x 4 tokens (the lanes of one x vector per part)
 * over the block's groups gb .. gb + nbg - 1; S k-steps per group. */
TDOT static inline void xqn_tokens(const aae_mm_job *j, const uint8_t *wr, const float *wsc, int32_t gb,
                                   int32_t nbg, int32_t tb, int32_t r0, int32_t nr, int32_t S)
{
    float32x4_t f[2][4]; /* the loops over h and t unrolled at -O2 too, as in tile */
#pragma GCC unroll 4
    for (int h = 0; h < 2; h++)
#pragma GCC unroll 4
        for (int t = 0; t < 4; t++)
            f[h][t] = vdupq_n_f32(0);
    for (int32_t gi = 0; gi < nbg; gi++) {
        int32_t g = gb + gi;
        size_t blk = (size_t)tb * j->ldxq + g;
        const int8_t *xb = j->xq + 2 * (size_t)S * 16 * blk;
        int32x4_t a1[2][4], a2[2][4];
#pragma GCC unroll 4
        for (int h = 0; h < 2; h++)
#pragma GCC unroll 4
            for (int t = 0; t < 4; t++)
                a1[h][t] = a2[h][t] = vdupq_n_s32(0);
        for (int32_t s = 0; s < S; s++) {
            int8x16_t w0 = vld1q_s8((const int8_t *)wr + (size_t)(gi * S + s) * 32);
            int8x16_t w1 = vld1q_s8((const int8_t *)wr + (size_t)(gi * S + s) * 32 + 16);
            int8x16_t x1 = vld1q_s8(xb + 16 * s), x2 = vld1q_s8(xb + 16 * (S + s));
#define XQN_TOKEN(t)                                     \
    a1[0][t] = SDOT_LANE(a1[0][t], w0, x1, t);           \
    a1[1][t] = SDOT_LANE(a1[1][t], w1, x1, t);           \
    a2[0][t] = SDOT_LANE(a2[0][t], w0, x2, t);           \
    a2[1][t] = SDOT_LANE(a2[1][t], w1, x2, t)
            XQN_TOKEN(0);
            XQN_TOKEN(1);
            XQN_TOKEN(2);
            XQN_TOKEN(3);
#undef XQN_TOKEN
        }
        float32x4_t sw[2] = {vld1q_f32(wsc + (size_t)gi * 8), vld1q_f32(wsc + (size_t)gi * 8 + 4)};
#pragma GCC unroll 4
        for (int t = 0; t < 4; t++) {
            int32x4_t o = vdupq_n_s32(j->xqo[4 * blk + t]);
            float xs = j->xqs[4 * blk + t];
#pragma GCC unroll 4
            for (int h = 0; h < 2; h++) {
                int32x4_t p = vaddq_s32(vaddq_s32(vshlq_n_s32(a1[h][t], 8), a2[h][t]), o);
                f[h][t] = vfmaq_f32(f[h][t], vcvtq_f32_s32(p), vmulq_n_f32(sw[h], xs));
            }
        }
    }
    for (int t = 0; t < 4 && 4 * tb + t < j->m; t++) {
        float *y = j->y + (size_t)(4 * tb + t) * j->ldy + r0;
#pragma GCC unroll 4
        for (int h = 0; h < 2; h++) {
            float v[4];
            vst1q_f32(v, f[h][t]);
            for (int i = 0; i < 4 && 4 * h + i < nr; i++)
                y[4 * h + i] = gb == 0 ? v[i] : y[4 * h + i] + v[i];
        }
    }
}

/* The int8 prefill with sdot (4- and 3-bit weights): as the x86 one, tiles of
 * 8 rows (k-blocks of AAE_MM_KBLOCK columns repacked in sdot order) against
 * blocks of 4 tokens, each token's x bytes a lane of the indexed sdot. */
TDOT static void run_xqn(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1)
{
    const aae_wmat *w = j->w;
    int q3 = w->type == AAE_W_Q3F16;
    int32_t G = q3 ? 40 : 32, S = G / 4, KG = AAE_MM_KBLOCK / G, ng = (w->k + G - 1) / G;
    size_t rs = 16 * (size_t)ng;
    uint8_t *wr = j->task_scratch + (size_t)task * j->task_bytes;
    float *wsc = (float *)(wr + (size_t)KG * S * 32);
    for (int32_t r0 = n0; r0 < n1; r0 += 8) {
        int32_t nr = n1 - r0 < 8 ? n1 - r0 : 8;
        const uint8_t *q0 = (const uint8_t *)w->q + (size_t)r0 * rs;
        for (int32_t gb = 0; gb < ng; gb += KG) {
            int32_t nbg = ng - gb < KG ? ng - gb : KG;
            for (int32_t gi = 0; gi < nbg; gi++) {
                const uint8_t *base = q0 + 16 * (size_t)(gb + gi);
                xqn_repack4(base, rs, nr, q3, wr + (size_t)gi * S * 32);
                xqn_repack4(base + 4 * rs, rs, nr - 4, q3, wr + (size_t)gi * S * 32 + 16);
                for (int32_t t = 0; t < 8; t++)
                    wsc[gi * 8 + t] = t < nr ? scale_of(w, (size_t)(r0 + t) * ng + gb + gi) : 0.0f;
            }
            for (int32_t tb = 0; tb < (j->m + 3) / 4; tb++)
                xqn_tokens(j, wr, wsc, gb, nbg, tb, r0, nr, S);
        }
    }
}

static void deq_row(const aae_wmat *w, int32_t r, float *out, int32_t kp)
{
    int32_t done;
    if (w->type == AAE_W_Q4F16 || w->type == AAE_W_Q4F32) {
        int32_t ng = (w->k + 31) / 32;
        const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
        for (int32_t g = 0; g < ng; g++) {
            float32x4_t c[8];
            float s = scale_of(w, (size_t)r * ng + g);
            q4_group(qb + 16 * g, c);
            for (int i = 0; i < 8; i++)
                vst1q_f32(out + 32 * g + 4 * i, vmulq_n_f32(c[i], s));
        }
        done = 32 * ng;
    } else if (w->type == AAE_W_Q3F16) {
        int32_t ng = (w->k + 39) / 40;
        const uint32_t *q = (const uint32_t *)w->q + (size_t)r * 4 * ng;
        for (int32_t g = 0; g < ng; g++) {
            float32x4_t c[10];
            float s = (float)((const float16_t *)w->scale)[(size_t)r * ng + g];
            q3_group(q + 4 * g, c);
            for (int i = 0; i < 10; i++)
                vst1q_f32(out + 40 * g + 4 * i, vmulq_n_f32(c[i], s));
        }
        done = 40 * ng;
    } else {
        aae_k_get_row(w, r, out);
        done = w->k;
    }
    for (int32_t i = done; i < kp; i++)
        out[i] = 0.0f;
}

static void tile(const aae_mm_job *j, const float *wt, int32_t nr, int32_t kp, int32_t r0)
{
    int32_t i = 0;
    for (; i + 4 <= j->m; i += 4) {
        const float *x0 = j->xp + (size_t)i * j->ldxp;
        /* the p and q loops unrolled at -O2 too: gcc 12 -O2 keeps a[][] in
         * memory otherwise (a 64-token prefill of a 110M 4-bit model on
         * ARMv8.0: 3.5x the instructions) */
        float32x4_t a[4][4];
#pragma GCC unroll 4
        for (int p = 0; p < 4; p++)
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++)
                a[p][q] = vdupq_n_f32(0);
        for (int32_t k = 0; k < kp; k += 4) {
            float32x4_t b[4];
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++)
                b[q] = vld1q_f32(wt + (size_t)q * kp + k);
#pragma GCC unroll 4
            for (int p = 0; p < 4; p++) {
                float32x4_t xv = vld1q_f32(x0 + (size_t)p * j->ldxp + k);
#pragma GCC unroll 4
                for (int q = 0; q < 4; q++)
                    a[p][q] = vfmaq_f32(a[p][q], xv, b[q]);
            }
        }
        for (int p = 0; p < 4; p++)
            for (int q = 0; q < nr; q++)
                j->y[(size_t)(i + p) * j->ldy + r0 + q] = vaddvq_f32(a[p][q]);
    }
    for (; i < j->m; i++) {
        const float *x0 = j->xp + (size_t)i * j->ldxp;
        for (int q = 0; q < nr; q++) {
            float32x4_t acc = vdupq_n_f32(0);
            for (int32_t k = 0; k < kp; k += 4)
                acc = vfmaq_f32(acc, vld1q_f32(x0 + k), vld1q_f32(wt + (size_t)q * kp + k));
            j->y[(size_t)i * j->ldy + r0 + q] = vaddvq_f32(acc);
        }
    }
}

int aae_k_matmul_neon(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1, uint32_t cpu)
{
    if (!(cpu & AAE_CPU_NEON))
        return 0;
    const aae_wmat *w = j->w;
    if (j->xq && (cpu & AAE_CPU_NEON_DOT)) {
        run_xqn(j, task, n0, n1);
        return 1;
    }
    int dot = (cpu & AAE_CPU_NEON_DOT) != 0, q3 = w->type == AAE_W_Q3F16;
    if (j->m == 1 && j->x8) { /* 4- or 3-bit weights, two-part int8 activations */
        float (*row)(const aae_wmat *, int32_t, const aae_mm_job *) =
            q3 ? (dot ? dot_q3_sdot : dot_q3_mull) : (dot ? dot_q4_sdot : dot_q4_mull);
        for (int32_t r = n0; r < n1; r++)
            j->y[r] = row(w, r, j);
        return 1;
    }
    if (j->m > 1 && j->x8) { /* a few tokens: the batched decode */
        if (q3)
            (dot ? run_q3_tokens_sdot : run_q3_tokens_mull)(j, n0, n1);
        else
            (dot ? run_q4_tokens_sdot : run_q4_tokens_mull)(j, n0, n1);
        return 1;
    }
    if (j->m == 1 && w->type == AAE_W_F16) {
        for (int32_t r = n0; r < n1; r++)
            j->y[r] = dot_f16(w, r, j->xp);
        return 1;
    }
    int32_t kp = aae_mm_kpad(w->k);
    float *wt = (float *)(j->task_scratch + (size_t)task * j->task_bytes);
    for (int32_t r0 = n0; r0 < n1; r0 += AAE_MM_TILE) {
        int32_t nr = n1 - r0 < AAE_MM_TILE ? n1 - r0 : AAE_MM_TILE;
        for (int32_t t = 0; t < AAE_MM_TILE; t++)
            if (t < nr)
                deq_row(w, r0 + t, wt + (size_t)t * kp, kp);
            else
                for (int32_t i = 0; i < kp; i++)
                    wt[(size_t)t * kp + i] = 0.0f;
        tile(j, wt, nr, kp, r0);
    }
    return 1;
}
#endif
