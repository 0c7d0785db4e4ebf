/*
 * k_matmul_neon_i8.h - private to k_matmul_neon.c: the NEON decodes of 4- and
 * 3-bit weights with two-part int8 activations (the x8 and x3n layouts of
 * matmul_impl.h), written once against a 4-byte dot product and included
 * twice: with the dot-product extension (sdot) and without it (ARMv8.0,
 * products widened to int16 and added in pairs), the same int32 lanes either
 * way, so the same results. No include guard: each inclusion is one instance.
 * The includer defines
 *   I8_TARGET                     the functions' target attribute, or nothing
 *   I8(name)                      the instance's name of name
 *   I8_DOT1(acc, a, b)            acc + lane l: sum over bytes 4l .. 4l + 3 of a b
 *   I8_DOT2(acc, a0, b0, a1, b1)  the same with a0 b0 + a1 b1
 * where a holds codes (0 .. 15) and b activation bytes (-127 .. 127).
 */
/* One 4-bit group against its x8 bytes at xb: the low nibbles lo (evens) and
 * the high ones hi (odds), codes 0..15, meet each int8 part of x, the first
 * part's sums shifted by 8 bits before the second part's products go into the
 * same lanes: lanes 256 p1 + p2, exact (|p1| < 2^14). The code offset (-7 x
 * the group's x) is added per row in float (x8gofs). */
I8_TARGET static inline int32x4_t I8(q4_dot)(int8x16_t lo, int8x16_t hi, const int8_t *xb)
{
    int32x4_t p = I8_DOT2(vdupq_n_s32(0), lo, vld1q_s8(xb), hi, vld1q_s8(xb + 64));
    return I8_DOT2(vshlq_n_s32(p, 8), lo, vld1q_s8(xb + 128), hi, vld1q_s8(xb + 192));
}

/* The same for the group's 16 code bytes v. */
I8_TARGET static inline int32x4_t I8(q4_group)(uint8x16_t v, const int8_t *xb)
{
    int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0f)));
    return I8(q4_dot)(lo, vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), xb);
}

/* Groups 2i and 2i + 1 of a 4-group block (their codes' nibbles lo0, hi0
 * and lo1, hi1) against the block's x8 at xb + 32 i: as I8(q4_dot) each, with
 * the two groups' bytes of each 64-byte row of x8 loaded side by side (one
 * ldp). */
I8_TARGET static inline void I8(q4_two)(int8x16_t lo0, int8x16_t hi0, int8x16_t lo1, int8x16_t hi1, const int8_t *xb,
                                         int32x4_t *p0, int32x4_t *p1)
{
    const int32x4_t z = vdupq_n_s32(0);
    int8x16_t a0 = vld1q_s8(xb), a1 = vld1q_s8(xb + 16), b0 = vld1q_s8(xb + 64), b1 = vld1q_s8(xb + 80);
    int32x4_t s0 = I8_DOT2(z, lo0, a0, hi0, b0), s1 = I8_DOT2(z, lo1, a1, hi1, b1);
    int8x16_t c0 = vld1q_s8(xb + 128), c1 = vld1q_s8(xb + 144), d0 = vld1q_s8(xb + 192), d1 = vld1q_s8(xb + 208);
    *p0 = I8_DOT2(vshlq_n_s32(s0, 8), lo0, c0, hi0, d0);
    *p1 = I8_DOT2(vshlq_n_s32(s1, 8), lo1, c1, hi1, d1);
}

/* The nibbles of 4 groups' code bytes q: lo[i] (evens), hi[i] (odds). */
I8_TARGET static inline void I8(q4_nibbles4)(const uint8_t *q, int8x16_t lo[4], int8x16_t hi[4])
{
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        uint8x16_t v = vld1q_u8(q + 16 * i);
        lo[i] = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0f)));
        hi[i] = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
    }
}

/* 4-bit decode: 4 groups (64 code bytes, one 256-byte block of x8) per round,
 * their combined scales (weight scale x x8scale; f32: float32 weight scales)
 * as one vector, their offsets cs x8gofs added into off; the row's last 1-3
 * groups one by one. Even groups go into acc0, odd ones into acc1. */
__attribute__((always_inline)) I8_TARGET static inline float I8(dot_q4_s)(const aae_wmat *w, int32_t r,
                                                                           const aae_mm_job *j, const int f32)
{
    int32_t ng = (w->k + 31) / 32, g = 0;
    const uint8_t *q = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    const float *ws32 = (const float *)w->scale + (size_t)r * ng, *xs = j->x8scale, *go = j->x8gofs;
    const float16_t *ws16 = (const float16_t *)w->scale + (size_t)r * ng;
    const int8_t *xb = j->x8;
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0), off = vdupq_n_f32(0);
    for (; g + 4 <= ng; g += 4, q += 64, xb += 256) {
        float32x4_t ws = f32 ? vld1q_f32(ws32 + g) : vcvt_f32_f16(vld1_f16(ws16 + g));
        float32x4_t cs = vmulq_f32(ws, vld1q_f32(xs + g));
        off = vfmaq_f32(off, cs, vld1q_f32(go + g));
        int8x16_t lo[4], hi[4];
        int32x4_t p0, p1, p2, p3;
        I8(q4_nibbles4)(q, lo, hi);
        I8(q4_two)(lo[0], hi[0], lo[1], hi[1], xb, &p0, &p1);
        I8(q4_two)(lo[2], hi[2], lo[3], hi[3], xb + 32, &p2, &p3);
        acc0 = vfmaq_laneq_f32(acc0, vcvtq_f32_s32(p0), cs, 0);
        acc1 = vfmaq_laneq_f32(acc1, vcvtq_f32_s32(p1), cs, 1);
        acc0 = vfmaq_laneq_f32(acc0, vcvtq_f32_s32(p2), cs, 2);
        acc1 = vfmaq_laneq_f32(acc1, vcvtq_f32_s32(p3), cs, 3);
    }
    float offt = 0.0f;
    for (; g < ng; g++, q += 16) {
        int32x4_t p = I8(q4_group)(vld1q_u8(q), xb + 16 * (g % 4));
        float cs = (f32 ? ws32[g] : (float)ws16[g]) * xs[g];
        offt += cs * go[g];
        if (g & 1)
            acc1 = vfmaq_n_f32(acc1, vcvtq_f32_s32(p), cs);
        else
            acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(p), cs);
    }
    return vaddvq_f32(vaddq_f32(vaddq_f32(acc0, acc1), off)) + offt;
}

I8_TARGET static float I8(dot_q4)(const aae_wmat *w, int32_t r, const aae_mm_job *j)
{
    return w->type == AAE_W_Q4F32 ? I8(dot_q4_s)(w, r, j, 1) : I8(dot_q4_s)(w, r, j, 0);
}

/* The codes of q3_pair_codes against their x3n bytes at xb. */
I8_TARGET static inline void I8(q3_pair_dots)(const int8x16_t k[5], const int8_t *xb, int32x4_t *lo, int32x4_t *mid,
                                               int32x4_t *hi)
{
    const int32x4_t z = vdupq_n_s32(0);
    int32x4_t l = I8_DOT2(z, k[0], vld1q_s8(xb), k[1], vld1q_s8(xb + 16));
    int32x4_t m = I8_DOT1(z, k[2], vld1q_s8(xb + 32));
    int32x4_t h = I8_DOT2(z, k[3], vld1q_s8(xb + 48), k[4], vld1q_s8(xb + 64));
    /* the first part's lanes shifted, then the second part's products added
     * to them (as I8(q4_dot)) */
    *lo = I8_DOT2(vshlq_n_s32(l, 8), k[0], vld1q_s8(xb + 80), k[1], vld1q_s8(xb + 96));
    *mid = I8_DOT1(vshlq_n_s32(m, 8), k[2], vld1q_s8(xb + 112));
    *hi = I8_DOT2(vshlq_n_s32(h, 8), k[3], vld1q_s8(xb + 128), k[4], vld1q_s8(xb + 144));
}

I8_TARGET static inline void I8(q3_pair)(uint8x16_t a, uint8x16_t b, const int8_t *xb, int32x4_t *lo, int32x4_t *mid,
                                          int32x4_t *hi)
{
    int8x16_t k[5];
    q3_pair_codes(a, b, k);
    I8(q3_pair_dots)(k, xb, lo, mid, hi);
}

/* 3-bit decode: 4 groups (64 code bytes, two pairs) per step
 * against x in the x3n layout; codes 0..7 (unsigned) and the code offset, -3
 * x each group's x sum, added per row as sum_g cs[g] x8gofs[g] (cs: the
 * combined scale, weight scale x x8scale). A last step of fewer than 4
 * groups reads them from a zero-padded copy (no read past the row). */
I8_TARGET static float I8(dot_q3)(const aae_wmat *w, int32_t r, const aae_mm_job *j)
{
    int32_t ng = (w->k + 39) / 40;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    const float16_t *ws = (const float16_t *)w->scale + (size_t)r * ng;
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0), off = vdupq_n_f32(0);
    for (int32_t g = 0; g < ng; g += 4) {
        uint8_t tail[64];
        float16_t tails[4];
        const uint8_t *q = qb + 16 * (size_t)g;
        const float16_t *sc = ws + g;
        q3_last_step(&q, &sc, ng - g, tail, tails);
        float32x4_t cs = vmulq_f32(vcvt_f32_f16(vld1_f16(sc)), vld1q_f32(j->x8scale + g));
        off = vfmaq_f32(off, cs, vld1q_f32(j->x8gofs + g));
        const int8_t *xb = j->x8 + 160 * (size_t)(g / 2);
        int32x4_t lo, mid, hi;
        I8(q3_pair)(vld1q_u8(q), vld1q_u8(q + 16), xb, &lo, &mid, &hi);
        acc0 = vfmaq_laneq_f32(acc0, vcvtq_f32_s32(lo), cs, 0);
        acc1 = vfmaq_f32(acc1, vcvtq_f32_s32(mid), vzip1q_f32(cs, cs));
        acc0 = vfmaq_laneq_f32(acc0, vcvtq_f32_s32(hi), cs, 1);
        I8(q3_pair)(vld1q_u8(q + 32), vld1q_u8(q + 48), xb + 160, &lo, &mid, &hi);
        acc1 = vfmaq_laneq_f32(acc1, vcvtq_f32_s32(lo), cs, 2);
        acc0 = vfmaq_f32(acc0, vcvtq_f32_s32(mid), vzip2q_f32(cs, cs));
        acc1 = vfmaq_laneq_f32(acc1, vcvtq_f32_s32(hi), cs, 3);
    }
    return vaddvq_f32(vaddq_f32(vaddq_f32(acc0, acc1), off));
}

/* The batched decode (2 .. 4 tokens, see k_matmul.c): T tokens
 * (T <= XB_TOKENS) against groups gb .. ge - 1 of row r, as the decodes
 * above with each step's codes loaded and unpacked once for all of them;
 * token t's x8, x8scale and x8gofs at t x8tok bytes after token 0's; results
 * stored into y (first) or added. 4-bit: 4 groups per step (gb a multiple of
 * 4), the row's last 1-3 groups one by one. */
__attribute__((always_inline)) I8_TARGET static inline void I8(q4_tokens)(const aae_mm_job *j, int32_t r,
                                                                           int32_t t0, int T, int32_t gb,
                                                                           int32_t ge, int first)
{
    const aae_wmat *w = j->w;
    int32_t ng = (w->k + 31) / 32, g = gb;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    const int8_t *x8[XB_TOKENS];
    const float *xs[XB_TOKENS], *go[XB_TOKENS];
    float32x4_t acc[XB_TOKENS], off[XB_TOKENS];
    float offt[XB_TOKENS];
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        x8[t] = xb_tok(j, j->x8, t0 + t);
        xs[t] = xb_tok(j, j->x8scale, t0 + t);
        go[t] = xb_tok(j, j->x8gofs, t0 + t);
        acc[t] = off[t] = vdupq_n_f32(0);
        offt[t] = 0.0f;
    }
    for (; g + 4 <= ge; g += 4) {
        float32x4_t ws = scales4(w, (size_t)r * ng + g);
        int8x16_t lo[4], hi[4];
        I8(q4_nibbles4)(qb + 16 * (size_t)g, lo, hi);
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            const int8_t *xb = x8[t] + 64 * (size_t)g;
            float32x4_t cs = vmulq_f32(ws, vld1q_f32(xs[t] + g));
            int32x4_t p0, p1, p2, p3;
            off[t] = vfmaq_f32(off[t], cs, vld1q_f32(go[t] + g));
            I8(q4_two)(lo[0], hi[0], lo[1], hi[1], xb, &p0, &p1);
            I8(q4_two)(lo[2], hi[2], lo[3], hi[3], xb + 32, &p2, &p3);
            acc[t] = vfmaq_laneq_f32(acc[t], vcvtq_f32_s32(p0), cs, 0);
            acc[t] = vfmaq_laneq_f32(acc[t], vcvtq_f32_s32(p1), cs, 1);
            acc[t] = vfmaq_laneq_f32(acc[t], vcvtq_f32_s32(p2), cs, 2);
            acc[t] = vfmaq_laneq_f32(acc[t], vcvtq_f32_s32(p3), cs, 3);
        }
    }
    for (; g < ge; g++) {
        uint8x16_t v = vld1q_u8(qb + 16 * (size_t)g);
        int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0f)));
        int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
        size_t xa = 256 * (size_t)(g / 4) + 16 * (size_t)(g % 4);
        float ws = scale_of(w, (size_t)r * ng + g);
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            float cs = ws * xs[t][g];
            offt[t] += cs * go[t][g];
            acc[t] = vfmaq_n_f32(acc[t], vcvtq_f32_s32(I8(q4_dot)(lo, hi, x8[t] + xa)), cs);
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        float *y = j->y + (size_t)(t0 + t) * j->ldy + r, v = vaddvq_f32(vaddq_f32(acc[t], off[t])) + offt[t];
        *y = first ? v : *y + v;
    }
}

/* 3-bit: 4 groups per step (gb, ge multiples of 4 or ge the row's end; a
 * last step of fewer groups from a zero-padded copy, as I8(dot_q3)). */
__attribute__((always_inline)) I8_TARGET static inline void I8(q3_tokens)(const aae_mm_job *j, int32_t r,
                                                                           int32_t t0, int T, int32_t gb,
                                                                           int32_t ge, int first)
{
    const aae_wmat *w = j->w;
    int32_t ng = (w->k + 39) / 40;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    const float16_t *wsc = (const float16_t *)w->scale + (size_t)r * ng;
    const int8_t *x8[XB_TOKENS];
    const float *xs[XB_TOKENS], *gofs[XB_TOKENS];
    float32x4_t acc[XB_TOKENS], off[XB_TOKENS];
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        x8[t] = xb_tok(j, j->x8, t0 + t);
        xs[t] = xb_tok(j, j->x8scale, t0 + t);
        gofs[t] = xb_tok(j, j->x8gofs, t0 + t);
        acc[t] = off[t] = vdupq_n_f32(0);
    }
    for (int32_t g = gb; g < ge; g += 4) {
        uint8_t tail[64];
        float16_t tails[4];
        const uint8_t *q = qb + 16 * (size_t)g;
        const float16_t *sc = wsc + g;
        q3_last_step(&q, &sc, ng - g, tail, tails);
        float32x4_t ws = vcvt_f32_f16(vld1_f16(sc));
        int8x16_t ka[5], kb[5];
        q3_pair_codes(vld1q_u8(q), vld1q_u8(q + 16), ka);
        q3_pair_codes(vld1q_u8(q + 32), vld1q_u8(q + 48), kb);
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            float32x4_t cs = vmulq_f32(ws, vld1q_f32(xs[t] + g));
            off[t] = vfmaq_f32(off[t], cs, vld1q_f32(gofs[t] + g));
            const int8_t *xb = x8[t] + 160 * (size_t)(g / 2);
            int32x4_t lo, mid, hi;
            I8(q3_pair_dots)(ka, xb, &lo, &mid, &hi);
            acc[t] = vfmaq_laneq_f32(acc[t], vcvtq_f32_s32(lo), cs, 0);
            acc[t] = vfmaq_f32(acc[t], vcvtq_f32_s32(mid), vzip1q_f32(cs, cs));
            acc[t] = vfmaq_laneq_f32(acc[t], vcvtq_f32_s32(hi), cs, 1);
            I8(q3_pair_dots)(kb, xb + 160, &lo, &mid, &hi);
            acc[t] = vfmaq_laneq_f32(acc[t], vcvtq_f32_s32(lo), cs, 2);
            acc[t] = vfmaq_f32(acc[t], vcvtq_f32_s32(mid), vzip2q_f32(cs, cs));
            acc[t] = vfmaq_laneq_f32(acc[t], vcvtq_f32_s32(hi), cs, 3);
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        float *y = j->y + (size_t)(t0 + t) * j->ldy + r, v = vaddvq_f32(vaddq_f32(acc[t], off[t]));
        *y = first ? v : *y + v;
    }
}

I8_TARGET static void I8(run_q4_tokens)(const aae_mm_job *j, int32_t n0, int32_t n1)
{
    xb_run(j, n0, n1, 32, 64, I8(q4_tokens));
}

I8_TARGET static void I8(run_q3_tokens)(const aae_mm_job *j, int32_t n0, int32_t n1)
{
    xb_run(j, n0, n1, 40, 80, I8(q3_tokens));
}
