/*
 * k_matmul.c - y = x W^T (+ bias) for every weight type: the task split, the
 * choice of CPU path, and the portable C path (see matmul_impl.h).
 */
#include "kernels/kernels.h"
#include "kernels/kmath.h"
#include "kernels/matmul_impl.h"

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Floats per row of the transposed x: m rounded up to 64 (the widest column
 * block), plus 16 so that rows are not a power of two apart. A block kernel
 * reads one cache line from each of its k-block's rows; 512 bytes apart (m =
 * 128) those lines fall in an eighth of the L1 and L2 sets, too few to keep
 * them between the tiles that reread them (1.1B q0f16, 128-token prompt,
 * AVX2, 1 thread, alternating runs: prefill 19.6 -> 25.4 tok/s). */
static int32_t xt_cols(int32_t m) { return (m + 63) / 64 * 64 + 16; }

/* Per task: AAE_MM_TILE dequantized rows; for the transposed prefill kernel
 * AAE_MM_XT_ROWS dequantized k-blocks and a block of AAE_MM_XT_ROWS x
 * xt_cols(m) results. */
static size_t task_bytes(int32_t m, int32_t k)
{
    size_t rows = (size_t)AAE_MM_TILE * (size_t)aae_mm_kpad(k) * 4;
    size_t xt = (size_t)AAE_MM_XT_ROWS * AAE_MM_KBLOCK * 4 + (size_t)AAE_MM_XT_ROWS * (size_t)xt_cols(m) * 4;
    /* int8 prefill: codes and scales of 16 rows (65 groups of 32, 52 of 40) */
    size_t xq = (size_t)(AAE_MM_KBLOCK / 32) * 16 * (8 * 4 + 4);
    /* int16 prefill: int16 weights and scales of 16 rows (groups of up to 40) */
    size_t xw = (size_t)AAE_MM_XW_KGROUPS * 16 * (40 * 2 + 4);
    xq = xq > xw ? xq : xw;
    size_t most = rows > xt ? rows : xt;
    return align64((most > xq ? most : xq) + 256);
}

static size_t xt_bytes(int32_t m, int32_t k)
{
    return m >= AAE_MM_XT_MIN_M ? align64((size_t)aae_mm_kpad(k) * (size_t)xt_cols(m) * 4) : 0;
}

/* Groups of x8 (a multiple of 4) and of x8scale (a multiple of 16). */
static int32_t x8_groups(int32_t k) { return (aae_mm_kpad(k) / 32 + 3) / 4 * 4; }
static int32_t x8_scales(int32_t k) { return (aae_mm_kpad(k) / 32 + 15) / 16 * 16; }

/* Bytes of x8 (the larger of the 4-bit layout and the 3-bit x3 layout: 384
 * bytes per 160 values), then x8off, then x8scale, then x8gofs. */
static size_t x8_qbytes(int32_t k)
{
    size_t q4 = (size_t)x8_groups(k) * 64, q3 = (size_t)(aae_mm_kpad(k) / 160) * 384;
    return align64(q4 > q3 ? q4 : q3);
}

static size_t x8_bytes(int32_t k)
{
    return x8_qbytes(k) + align64((size_t)x8_groups(k) * 32) + 2 * align64((size_t)x8_scales(k) * 4);
}

/* x8gofs of matmul_impl.h from x8off: ngo groups (4-bit: x8_groups, 3-bit:
 * kp / 40), zero up to ngs. Lanes 4i .. 4i + 3 of a 4-group block belong to
 * its group i in both layouts. */
static void x8_group_offsets(float *gofs, const int32_t *off, int32_t ngo, int32_t ngs)
{
    for (int32_t g = 0; g < ngs; g++) {
        int32_t s = 0;
        if (g < ngo) {
            const int32_t *o = off + 32 * (g / 4) + 4 * (g % 4);
            for (int32_t l = 0; l < 4; l++)
                s += 256 * o[l] + o[16 + l];
        }
        gofs[g] = (float)s; /* |s| < 2^24: exact */
    }
}

/* The padded float copy of x (m rows of kp), or in the same space the int8
 * prefill's activations (m rounded up to 4, NEON's token blocks, rows of kp /
 * G groups of 2 G bytes, a scale and an offset: at most 9 kp / 4 bytes per
 * row, G = 32 or 40), or the batched decode's m x8 blocks, or the portable
 * decode's xport (kp values and kp / 32 group sums at most). Never less for
 * more tokens: a model sizes its scratch for its longest chunk. */
static size_t xp_bytes(int32_t m, int32_t k)
{
    size_t kp = (size_t)aae_mm_kpad(k), f = ((size_t)m * kp + kp / 32) * 4,
           q = (size_t)((m + 3) / 4 * 4) * kp / 4 * 9;
    size_t b = (size_t)(m < AAE_MM_XB_MAX_M ? m : AAE_MM_XB_MAX_M) * x8_bytes(k), most = f > q ? f : q;
    return align64(most > b ? most : b);
}

/* The int16 copy of x with its scales and offsets (x16off), then the int8 copy
 * (x8, x8off, x8scale, x8gofs). */
static size_t x16_bytes(int32_t k)
{
    return align64((size_t)aae_mm_kpad(k) * 2) + 2 * align64((size_t)aae_mm_kpad(k) / 8) + x8_bytes(k);
}

size_t aae_k_matmul_scratch(int32_t m, int32_t k, int32_t n_threads)
{
    if (n_threads < 1)
        n_threads = 1;
    return xp_bytes(m, k) + x16_bytes(k) + xt_bytes(m, k) +
           (size_t)n_threads * task_bytes(m, k);
}

/* max |x[e]| over e < 32, in 8 independent lanes (one chain of 32 dependent
 * max operations costs more than the matrix rows of a small decode matmul). */
static float group_absmax(const float *x)
{
    float m[8] = {0};
    for (int32_t e = 0; e < 32; e += 8)
        for (int32_t l = 0; l < 8; l++) {
            float a = x[e + l] < 0 ? -x[e + l] : x[e + l];
            m[l] = a > m[l] ? a : m[l];
        }
    for (int32_t l = 1; l < 8; l++)
        m[0] = m[l] > m[0] ? m[l] : m[0];
    return m[0];
}

/* int16 of v (|v| <= 32767), rounded to nearest: adding and removing 1.5 *
 * 2^23 rounds without a branch (needs IEEE float arithmetic: no -ffast-math). */
static int16_t round_i16(float v) { return (int16_t)(int32_t)((v + 12582912.0f) - 12582912.0f); }

/* x (kp values, nibble order) as int16 with one scale per group of 32:
 * scale = max |x| / 32767, q = round(x / scale). Relative error <= 1.6e-5 of
 * the group's largest value. */
static void quantize_x16(int16_t *q, float *scale, float *off, const float *x, int32_t kp)
{
    int32_t ngp = kp / 32;
    for (int32_t g = 0; g < kp; g += 32) {
        float mx = group_absmax(x + g);
        float s = mx / 32767.0f, inv = mx > 0 ? 32767.0f / mx : 0.0f;
        scale[g / 32] = s;
        /* pair layout (matmul_impl.h): the evens of a group at +0, its odds at
         * +32 when it has a partner group, else at +16 */
        int32_t gi = g / 32, paired = gi + 1 < ngp || gi % 2 == 1;
        int16_t *dst = q + 64 * (gi / 2) + (gi % 2) * 16;
        int32_t odd_at = paired ? 32 : 16;
        int32_t sum = 0;
        for (int32_t e = 0; e < 32; e++) {
            int16_t qv = round_i16(x[g + e] * inv);
            dst[e < 16 ? e : odd_at + e - 16] = qv;
            sum += qv;
        }
        off[g / 32] = -7.0f * s * (float)sum;
    }
}

/* x (k values, plain order, zeros past k) as int16 for the 3-bit decode on
 * AVX2: the scalar definition (matmul_impl.h). */
void aae_k_quantize_x16q3_ref(int16_t *q, float *scale, float *off, const float *x, int32_t k)
{
    int32_t kp = aae_mm_kpad(k);
    for (int32_t g = 0; g < kp / 40; g++) {
        float xg[40], mx = 0.0f;
        for (int32_t e = 0; e < 40; e++) {
            xg[e] = 40 * g + e < k ? x[40 * g + e] : 0.0f;
            float a = xg[e] < 0 ? -xg[e] : xg[e];
            mx = a > mx ? a : mx;
        }
        float sc = mx / 32767.0f, inv = mx > 0 ? 32767.0f / mx : 0.0f;
        /* q3 pair layout (matmul_impl.h): element e is code c = e % 10 of
         * word e / 10, at vector t, lane 2 (4 (g % 2) + e / 10) + h */
        int16_t *dst = q + 80 * (g / 2) + 8 * (g % 2);
        int32_t sum = 0;
        for (int32_t e = 0; e < 40; e++) {
            int16_t qv = round_i16(xg[e] * inv);
            int32_t c = e % 10, t = c < 4 ? c : c < 6 ? 4 : c - 6, h = c >= 5;
            dst[16 * t + 2 * (e / 10) + h] = qv;
            sum += qv;
        }
        scale[g] = sc;
        off[g] = -3.0f * sc * (float)sum;
    }
}

/* int8 of v (|v| <= 127.5 expected; clamped to [-127, 127]), rounded to nearest:
 * adding and removing 1.5 * 2^23 rounds without a branch (IEEE float, no
 * -ffast-math). */
static int8_t round_i8(float v)
{
    int32_t r = (int32_t)((v + 12582912.0f) - 12582912.0f);
    return (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
}

/* Group g of G values of x (k values; zero past k) as two int8 parts in
 * natural order, rounded as described at aae_k_quantize_x8_ref; returns u / 256. */
static float split_group(const float *x, int32_t k, int32_t g, int32_t G, int8_t *q1, int8_t *q2)
{
    float mx = 0;
    for (int32_t e = 0; e < G; e++) {
        int32_t t = G * g + e;
        float a = t < k ? (x[t] < 0 ? -x[t] : x[t]) : 0.0f;
        mx = a > mx ? a : mx;
    }
    float u = mx / 127.0f, inv = mx > 0 ? 127.0f / mx : 0.0f;
    for (int32_t e = 0; e < G; e++) {
        int32_t t = G * g + e;
        float v = t < k ? x[t] : 0.0f;
        q1[e] = round_i8(v * inv);
        q2[e] = round_i8((v - u * (float)q1[e]) * inv * 256.0f);
    }
    return u / 256.0f;
}

/* x (kp values, nibble order) as two int8 parts in the x8 layout of
 * matmul_impl.h (the definition; aae_k_x86_quantize_x8 computes the same from x
 * in its own order, and the kernel tests compare the two): with u = max |x| / 127 over the group, q1 = round(x / u) and
 * q2 = round(256 (x - u q1) / u), so x = (u / 256) (256 q1 + q2) + e with
 * |e| <= u / 512 (+ u / 256 in the rare clamped case): about 1.5e-5 of the
 * group's largest |x|, as fine as int16. x8scale holds u / 256. */
void aae_k_quantize_x8_ref(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k)
{
    int32_t kp = aae_mm_kpad(k), ngq = x8_groups(k), ngs = x8_scales(k);
    for (int32_t g = 0; g < ngq; g++) {
        int8_t *e1 = q + 256 * (g / 4) + 16 * (g % 4), *o1 = e1 + 64, *e2 = e1 + 128, *o2 = e1 + 192;
        int8_t q1[32], q2[32]; /* the group in nibble order: evens, then odds */
        scale[g] = split_group(x, kp, g, 32, q1, q2);
        for (int32_t e = 0; e < 16; e++) {
            e1[e] = q1[e], o1[e] = q1[16 + e];
            e2[e] = q2[e], o2[e] = q2[16 + e];
        }
        for (int32_t l = 0; l < 4; l++) {
            int32_t s1 = 0, s2 = 0;
            for (int32_t t = 0; t < 4; t++) {
                s1 += e1[4 * l + t] + o1[4 * l + t];
                s2 += e2[4 * l + t] + o2[4 * l + t];
            }
            off[32 * (g / 4) + 4 * (g % 4) + l] = -7 * s1;
            off[32 * (g / 4) + 16 + 4 * (g % 4) + l] = -7 * s2;
        }
    }
    for (int32_t g = ngq; g < ngs; g++)
        scale[g] = 0.0f;
}

/* The int8 prefill's activations (xq, xqs, xqo of matmul_impl.h), the scalar
 * definition: groups of gsize (32: evens then odds of each part; 40: natural
 * order). */
void aae_k_quantize_xq_ref(int8_t *q, float *scale, int32_t *off, const float *x, int32_t ldx, int32_t m, int32_t k,
                           int32_t gsize)
{
    int32_t ngp = aae_mm_kpad(k) / gsize;
    for (int32_t i = 0; i < m; i++)
        for (int32_t g = 0; g < ngp; g++) {
            size_t at = (size_t)i * ngp + g;
            int8_t q1[40], q2[40], *dst = q + (size_t)2 * gsize * at;
            scale[at] = split_group(x + (size_t)i * ldx, k, g, gsize, q1, q2);
            int32_t s1 = 0, s2 = 0;
            for (int32_t e = 0; e < gsize; e++) {
                /* 4-bit: element e at e / 2 (even) or 16 + e / 2 (odd) */
                int32_t at_e = gsize == 32 ? (e % 2) * 16 + e / 2 : e;
                dst[at_e] = q1[e];
                dst[gsize + at_e] = q2[e];
                s1 += q1[e];
                s2 += q2[e];
            }
            off[at] = (gsize == 32 ? -7 : -3) * (256 * s1 + s2);
        }
}

/* The int16 prefill's activations (xw, xws of matmul_impl.h), the scalar
 * definition: per group of gsize, the int8 prefill's two parts as one value,
 * 256 q1 + q2 (|v| <= 256 x 127 + 127: int16), scale u / 256; natural order,
 * rows of kp. */
void aae_k_quantize_xw_ref(int16_t *q, float *scale, const float *x, int32_t ldx, int32_t m, int32_t k, int32_t gsize)
{
    int32_t kp = aae_mm_kpad(k), ngp = kp / gsize;
    for (int32_t i = 0; i < m; i++)
        for (int32_t g = 0; g < ngp; g++) {
            int8_t q1[40], q2[40];
            scale[(size_t)i * ngp + g] = split_group(x + (size_t)i * ldx, k, g, gsize, q1, q2);
            for (int32_t e = 0; e < gsize; e++)
                q[(size_t)i * kp + (size_t)g * gsize + e] = (int16_t)(256 * q1[e] + q2[e]);
        }
}

/* x (k values, its own order) as two int8 parts in the x3 layout of
 * matmul_impl.h: groups of 40, rounded as in aae_k_quantize_x8_ref. */
void aae_k_quantize_x3_ref(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k)
{
    int32_t ng = (k + 39) / 40, nb = (ng + 3) / 4, ngs = (ng + 15) / 16 * 16;
    for (int32_t i = 0; i < nb * 384; i++)
        q[i] = 0;
    for (int32_t g = 0; g < nb * 4; g++) {
        int8_t q1[40], q2[40];
        scale[g] = split_group(x, k, g, 40, q1, q2);
        int8_t *blk = q + 384 * (g / 4);
        for (int32_t e = 0; e < 40; e++) {
            int32_t w = e / 10, c = 10 * (w % 2) + e % 10, lq = 2 * (g % 4) + w / 2;
            blk[64 * (c / 8) + 8 * lq + c % 8] = q1[e];
            blk[192 + 64 * (c / 8) + 8 * lq + c % 8] = q2[e];
        }
    }
    for (int32_t b = 0; b < nb; b++)
        for (int32_t l = 0; l < 16; l++) {
            int32_t s1 = 0, s2 = 0;
            for (int32_t m = 0; m < 3; m++)
                for (int32_t t = 0; t < 4; t++) {
                    s1 += q[384 * b + 64 * m + 4 * l + t];
                    s2 += q[384 * b + 192 + 64 * m + 4 * l + t];
                }
            off[32 * b + l] = -3 * s1;
            off[32 * b + 16 + l] = -3 * s2;
        }
    for (int32_t g = nb * 4; g < ngs; g++)
        scale[g] = 0.0f;
}

/* x (k values, its own order) as two int8 parts in the x3n layout of
 * matmul_impl.h (the NEON 3-bit decode), scale[g] = u / 256 and gofs[g] =
 * -3 (256 sum q1 + sum q2) for each of the kp / 40 groups (zero past k). */
void aae_k_quantize_x3n_ref(int8_t *q, float *scale, float *gofs, const float *x, int32_t k)
{
    int32_t ngp = aae_mm_kpad(k) / 40;
    for (int32_t g = 0; g < ngp; g++) {
        int8_t *q1 = q + 160 * (g / 2) + 40 * (g % 2), *q2 = q1 + 80;
        scale[g] = split_group(x, k, g, 40, q1, q2);
        int32_t s1 = 0, s2 = 0;
        for (int32_t e = 0; e < 40; e++) {
            s1 += q1[e];
            s2 += q2[e];
        }
        gofs[g] = (float)(-3 * (256 * s1 + s2)); /* |.| < 2^24: exact */
    }
}

/* ---- portable path ------------------------------------------------------ */

/* C for any CPU (x86-64 without AVX2, or a weight type a SIMD path does not
 * take), activations in float32. A decode reads each row once: the 4- and
 * 3-bit codes are converted 4 lanes at a time with the GCC / clang vector
 * extensions below (SSE2 on every x86-64, NEON on aarch64, scalars on a
 * target without vectors), float16 and bfloat16 in loops of a fixed count
 * that compilers vectorize; a prompt dequantizes 4 rows at a time (a
 * group's scale once) and takes their dots with x read once. Against
 * dequantizing every row into a buffer first (a scale conversion per
 * element), kernel alone, rows of 768, 1 thread, Zen 3 (SSE2 build): decode
 * 4-bit 0.10 -> 2.24 GB/s, 3-bit 0.10 -> 1.98, float16 0.84 -> 4.14,
 * bfloat16 0.96 -> 7.77; 128 tokens 7.1 -> 15.9 GMAC/s (4-bit), 6.2 -> 14.2
 * (3-bit), 7.5 -> 16.4 (float16), 8.5 -> 16.5 (float32). */

static float dot_f32(const float *a, const float *b, int32_t n)
{
    float acc[8] = {0};
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int32_t l = 0; l < 8; l++)
            acc[l] += a[i + l] * b[i + l];
    float s = 0;
    for (; i < n; i++)
        s += a[i] * b[i];
    return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* 4 lanes as one value; the _u types load from any 4-byte aligned address. */
typedef float v4f __attribute__((vector_size(16)));
typedef float v4f_u __attribute__((vector_size(16), aligned(4), may_alias));
typedef uint32_t v4u __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef uint32_t v4u_u __attribute__((vector_size(16), aligned(4), may_alias));

static inline v4f ld4(const float *p) { return *(const v4f_u *)p; }

/* y[t] = dot_f32(x, w[t], n) for t < 4, x read once for the four rows: per
 * row two vectors of partial sums (dot_f32's 8 lanes), then the tail and the
 * same final sums, so that a row has the same bits in a tile of 4 or alone. */
static void dot4_f32(float *y, const float *x, const float *const *w, int32_t n)
{
    const float *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
    v4f z = {0, 0, 0, 0}, a0 = z, b0 = z, a1 = z, b1 = z, a2 = z, b2 = z, a3 = z, b3 = z;
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v4f xa = ld4(x + i), xb = ld4(x + i + 4);
        a0 += xa * ld4(w0 + i);
        b0 += xb * ld4(w0 + i + 4);
        a1 += xa * ld4(w1 + i);
        b1 += xb * ld4(w1 + i + 4);
        a2 += xa * ld4(w2 + i);
        b2 += xb * ld4(w2 + i + 4);
        a3 += xa * ld4(w3 + i);
        b3 += xb * ld4(w3 + i + 4);
    }
    v4f c[4] = {a0 + b0, a1 + b1, a2 + b2, a3 + b3};
    for (int32_t t = 0; t < 4; t++) {
        float s = 0;
        for (int32_t e = i; e < n; e++)
            s += x[e] * w[t][e];
        y[t] = s + ((c[t][0] + c[t][1]) + (c[t][2] + c[t][3]));
    }
}

/* 16 partial sums added in a fixed order (a row's bits do not depend on
 * where it falls). */
static float sum16(const float *a)
{
    float h[8];
    for (int32_t l = 0; l < 8; l++)
        h[l] = a[l] + a[l + 8];
    return ((h[0] + h[4]) + (h[1] + h[5])) + ((h[2] + h[6]) + (h[3] + h[7]));
}

static inline float qscale(const aae_wmat *w, size_t at)
{
    return AAE_MM_W_IS(w, AAE_W_Q4F32) ? ((const float *)w->scale)[at]
                                       : aae_f16_bits_to_f32(((const uint16_t *)w->scale)[at]);
}

/* A loop of a constant count unrolled whole (clang left the codes' loop
 * rolled at -O2 and ran it 21% slower). */
#if defined(__clang__)
#define AAE_UNROLL_ALL _Pragma("clang loop unroll(full)")
#else
#define AAE_UNROLL_ALL _Pragma("GCC unroll 16")
#endif

/* Row r of b-bit codes against xport: code c of a group's 4 words (4-bit: 8
 * per word, groups of 32, w = (code - 7) scale; 3-bit: 10 per word, groups
 * of 40, w = (code - 3) scale), as one vector, meets run c of the group's x;
 * per group the codes times x, less the offset times the group's sum of x,
 * times the group's scale. Without the offset in every lane: 12% faster
 * (4-bit, kernel alone, rows of 768, 8 alternating runs). */
static inline float row_codes(const aae_wmat *w, int32_t r, const float *xw, const int b)
{
    const int per = 32 / b, G = 4 * per;
    const uint32_t m = (1u << b) - 1u;
    int32_t ng = (w->k + G - 1) / G;
    const uint32_t *q = (const uint32_t *)w->q + (size_t)r * 4 * ng;
    const float *xs = xw + aae_mm_kpad(w->k);
    v4f acc = {0, 0, 0, 0};
    float off = 0;
    for (int32_t g = 0; g < ng; g++) {
        v4u v = *(const v4u_u *)(q + 4 * (size_t)g);
        const float *xg = xw + (size_t)G * g;
        v4f p0 = {0, 0, 0, 0}, p1 = p0;
        AAE_UNROLL_ALL /* fixed shifts and offsets */
        for (int c = 0; c < per; c += 2) {
            p0 += __builtin_convertvector((v4i)((v >> (b * c)) & m), v4f) * ld4(xg + 4 * c);
            p1 += __builtin_convertvector((v4i)((v >> (b * c + b)) & m), v4f) * ld4(xg + 4 * c + 4);
        }
        float sc = qscale(w, (size_t)r * ng + g);
        acc += sc * (p0 + p1);
        off += sc * xs[g];
    }
    return ((acc[0] + acc[2]) + (acc[1] + acc[3])) - (float)(m / 2) * off;
}

/* Row r of float16 or bfloat16 weights against x (k values); 16 partial
 * sums (the same loop in vector extensions with 4 or 8 was 15-30% slower:
 * GCC widens 4 uint16 lanes one by one). */
static float row_f16(const aae_wmat *w, int32_t r, const float *x)
{
    int32_t k = w->k, i = 0;
    const uint16_t *p = (const uint16_t *)w->q + (size_t)r * k;
    float acc[16] = {0}, t = 0;
    if (AAE_MM_W_IS(w, AAE_W_F16)) {
        for (; i + 16 <= k; i += 16)
            for (int32_t l = 0; l < 16; l++)
                acc[l] += aae_f16_bits_to_f32(p[i + l]) * x[i + l];
        for (; i < k; i++)
            t += aae_f16_bits_to_f32(p[i]) * x[i];
    } else {
        for (; i + 16 <= k; i += 16)
            for (int32_t l = 0; l < 16; l++)
                acc[l] += aae_bits_to_f32((uint32_t)p[i + l] << 16) * x[i + l];
        for (; i < k; i++)
            t += aae_bits_to_f32((uint32_t)p[i] << 16) * x[i];
    }
    return t + sum16(acc);
}

/* x as xport (see matmul_impl.h) for b-bit codes: kp values, zeros past k,
 * then the group sums. */
static void prep_xport(float *xo, const float *x, int32_t k, int b)
{
    int32_t kp = aae_mm_kpad(k), per = 32 / b, G = 4 * per;
    for (int32_t g = 0; g < kp; g += G)
        for (int32_t c = 0; c < per; c++)
            for (int32_t i = 0; i < 4; i++) {
                int32_t src = g + per * i + c;
                xo[g + 4 * c + i] = src < k ? x[src] : 0.0f;
            }
    for (int32_t g = 0; g < kp / G; g++) {
        float t = 0;
        for (int32_t e = 0; e < G; e++)
            t += xo[G * g + e];
        xo[kp + g] = t;
    }
}

void aae_k_matmul_portable(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1)
{
    const aae_wmat *w = j->w;
    int32_t k = w->k;
    if (j->m == 1 && (j->xport || !AAE_MM_W_QUANT(w->type))) { /* a decode: each row once, no copy */
        for (int32_t r = n0; r < n1; r++) {
            float v;
            if (AAE_MM_W_IS(w, AAE_W_Q4F16) || AAE_MM_W_IS(w, AAE_W_Q4F32))
                v = row_codes(w, r, j->xport, 4);
            else if (AAE_MM_W_IS(w, AAE_W_Q3F16))
                v = row_codes(w, r, j->xport, 3);
            else if (AAE_MM_W_IS(w, AAE_W_F32))
                v = dot_f32(j->x, (const float *)w->q + (size_t)r * k, k);
            else
                v = row_f16(w, r, j->x);
            j->y[r] = v;
        }
        return;
    }
    float *rows = (float *)(j->task_scratch + (size_t)task * j->task_bytes);
    for (int32_t r0 = n0; r0 < n1; r0 += AAE_MM_TILE) {
        int32_t nr = n1 - r0 < AAE_MM_TILE ? n1 - r0 : AAE_MM_TILE;
        const float *wr[AAE_MM_TILE];
        for (int32_t t = 0; t < nr; t++) {
            if (w->type == AAE_W_F32) {
                wr[t] = (const float *)w->q + (size_t)(r0 + t) * k;
            } else {
                aae_k_get_row(w, r0 + t, rows + (size_t)t * k);
                wr[t] = rows + (size_t)t * k;
            }
        }
        for (int32_t i = 0; i < j->m; i++) {
            const float *xr = j->x + (size_t)i * j->ldx;
            float *yr = j->y + (size_t)i * j->ldy;
            if (nr == AAE_MM_TILE)
                dot4_f32(yr + r0, xr, wr, k);
            else
                for (int32_t t = 0; t < nr; t++)
                    yr[r0 + t] = dot_f32(xr, wr[t], k);
        }
    }
}

/* ---- dispatch ----------------------------------------------------------- */

/* A decode on T threads splits its rows (in blocks of 16) into ceil(T / 2)
 * segments, two threads' share each (one for the last when T is odd). */
#define MM_MAX_SEGS 64

typedef struct mm_call {
    const aae_kctx *kc;
    aae_mm_job job;
    int32_t chunk_rows; /* prefill: rows per task */
    /* decode: segment s is blocks seg0[s] .. seg0[s + 1] - 1; seg[s] holds the
     * next block from its front (high 32 bits) and one past the next from its
     * back (low 32), relative to seg0[s] (arrays of the caller's, not zeroed
     * with the struct: a freestanding build must not call memset or bzero) */
    int32_t n_segs;
    int32_t *seg0;
    uint64_t *seg;
} mm_call;

/* *p = desired if *p == expected (acquire-release); 1 if it was. aarch64 as
 * an exclusive load / store loop: compilers call out to libgcc's
 * __aarch64_cas8_acq_rel for the builtin (outline atomics), which a model
 * library, linked without it, must not reference. */
static inline int mm_cas64(uint64_t *p, uint64_t expected, uint64_t desired)
{
#if defined(__aarch64__)
    uint64_t old;
    uint32_t busy;
    __asm__ volatile("1: ldaxr %0, [%2]\n"
                     "   cmp %0, %3\n"
                     "   b.ne 2f\n"
                     "   stlxr %w1, %4, [%2]\n"
                     "   cbnz %w1, 1b\n"
                     "2:\n"
                     : "=&r"(old), "=&r"(busy)
                     : "r"(p), "r"(expected), "r"(desired)
                     : "cc", "memory");
    return old == expected;
#else
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
#endif
}

static void mm_rows(const mm_call *c, int32_t thread, int32_t n0, int32_t n1);

/* Blocks of segment sg from one end (back = 0: the front), a quarter of what
 * is left at a time (at least one block), until the ends meet. */
static void mm_segment(mm_call *c, int32_t sg, int back, int32_t thread)
{
    uint64_t *st = &c->seg[sg];
    for (;;) {
        uint64_t v = __atomic_load_n(st, __ATOMIC_ACQUIRE);
        uint32_t f = (uint32_t)(v >> 32), b = (uint32_t)v;
        if (f >= b)
            return;
        uint32_t take = (b - f + 3) / 4;
        uint64_t nv = back ? ((uint64_t)f << 32 | (b - take)) : ((uint64_t)(f + take) << 32 | b);
        if (!mm_cas64(st, v, nv))
            continue;
        int32_t b0 = c->seg0[sg] + (int32_t)(back ? b - take : f);
        int32_t n0 = 16 * b0, n1 = 16 * (b0 + (int32_t)take);
        mm_rows(c, thread, n0, n1 < c->job.w->n ? n1 : c->job.w->n);
    }
}

/* A decode task: task t takes segment t / 2 from its front (t even) or back,
 * then helps the other segments from the same end. A thread reads its rows
 * front to back in runs of a quarter of what is left (the hardware prefetcher
 * keeps its stream), and the two threads of a segment finish within a block
 * of each other however their speeds differ: a core that falls behind (a busy
 * core, its share of memory) no longer leaves the other waiting on a chunk
 * fixed in advance. Zen 3, 2 threads, alternating runs of the same build,
 * medians of per-round ratios: 110M q4f16_1 decode +4.5% (12 rounds, against
 * 2 equal chunks per thread taken in turn), 1.1B +5.2% (6, against 80% / T
 * per thread and chunks of 10% / T). */
static void mm_task_ends(void *arg, int32_t t, int32_t thread)
{
    mm_call *c = arg;
    int32_t sg = t / 2, back = t % 2;
    for (int32_t i = 0; i < c->n_segs; i++)
        mm_segment(c, (sg + i) % c->n_segs, back, thread);
}

/* One task = one chunk of rows; scratch belongs to the thread. */
static void mm_task(void *arg, int32_t ch, int32_t thread)
{
    const mm_call *c = arg;
    int32_t n0 = ch * c->chunk_rows, n1 = n0 + c->chunk_rows;
    mm_rows(c, thread, n0, n1 < c->job.w->n ? n1 : c->job.w->n);
}

static void mm_rows(const mm_call *c, int32_t thread, int32_t n0, int32_t n1)
{
    const aae_mm_job *j = &c->job;
    int done = aae_k_matmul_x86(j, thread, n0, n1, c->kc->cpu) || aae_k_matmul_neon(j, thread, n0, n1, c->kc->cpu);
    if (!done)
        aae_k_matmul_portable(j, thread, n0, n1);
    if (j->bias && j->bias->p) {
        float buf[AAE_K_VEC_SPAN];
        for (int32_t r0 = n0; r0 < n1; r0 += AAE_K_VEC_SPAN) {
            int32_t nb = n1 - r0 < AAE_K_VEC_SPAN ? n1 - r0 : AAE_K_VEC_SPAN;
            const float *b = aae_k_vec_span(j->bias, r0, nb, buf);
            for (int32_t i = 0; i < j->m; i++)
                for (int32_t r = 0; r < nb; r++)
                    j->y[(size_t)i * j->ldy + r0 + r] += b[r];
        }
    }
}

/* The padded copy of one row of x, in nibble order for 4-bit weights (see
 * matmul_impl.h). */
static void prep_x(float *xp, const float *x, int32_t k, int nibble_order)
{
    int32_t kp = aae_mm_kpad(k);
    for (int32_t g = 0; g < kp; g += 32)
        for (int32_t e = 0; e < 32; e++) {
            int32_t src = g + e;
            int32_t dst = nibble_order ? g + (e % 2) * 16 + e / 2 : src;
            xp[dst] = src < k ? x[src] : 0.0f;
        }
}

void aae_k_matmul(const aae_kctx *kc, float *y, int32_t ldy, const float *x, int32_t ldx, int32_t m,
                  const aae_wmat *w, const aae_vec *bias, void *scratch)
{
    int32_t n_threads = kc->th && kc->th->n_threads > 0 ? kc->th->n_threads : 1;
    int nib = w->type == AAE_W_Q4F16 || w->type == AAE_W_Q4F32, q3 = w->type == AAE_W_Q3F16;
    int x512 = (kc->cpu & AAE_CPU_AVX512) != 0;
    /* a few tokens on AVX-512 VNNI or (4-bit) AVX-VNNI: the batched decode */
    int xb256 = m >= 2 && !x512 && nib && m <= AAE_MM_XB_MAX_M256 && (kc->cpu & AAE_CPU_AVX2_FMA) &&
                (kc->cpu & AAE_CPU_AVX_VNNI);
    /* NEON: 2 .. 4 tokens (with the dot-product extension the int8 prefill
     * from 5, as on x86 without the batched decode; not measured here) */
    int xbn = m >= 2 && m <= AAE_MM_TOK_MAX_M && (nib || q3) && (kc->cpu & AAE_CPU_NEON);
    int xb = xb256 || xbn || (m >= 2 && x512 &&
                       ((nib && m <= AAE_MM_XB_MAX_M4 && aae_k_x86_has_vnni()) ||
                        (q3 && m <= AAE_MM_XB_MAX_M3 && aae_k_x86_has_vnni_vbmi())));
    int x86 = (kc->cpu & (AAE_CPU_AVX2_FMA | AAE_CPU_AVX512)) != 0;
    /* SSSE3 without AVX2: the 128-bit 4- and 3-bit decodes (k_matmul_x86.c) */
    int s128 = !x86 && (kc->cpu & AAE_CPU_SSSE3) && (nib || q3);
    int tok = ((nib || q3) && m <= AAE_MM_TOK_MAX_M) || (w->type == AAE_W_F16 && !x86 && m <= AAE_MM_TOK_MAX_M - 1);
    if (m >= 2 && !xb && tok && (x86 || s128 || (kc->cpu & AAE_CPU_NEON))) {
        /* A few tokens without the batched decode: one decode each reads the
         * weights m times, yet costs less than dequantizing them for the float
         * kernel or repacking them for the int8 prefill (1.1B q4f16_1 on
         * AVX2, 2 threads, 2 tokens: 30 ms against 96; with AVX-VNNI 21
         * against 38; q0f16 72 against 111, but 4 tokens 115 against 99:
         * float16 so only on NEON, x86 has a batched float16 decode). The
         * scratch of m tokens holds that of one. */
        for (int32_t i = 0; i < m; i++)
            aae_k_matmul(kc, y + (size_t)i * ldy, ldy, x + (size_t)i * ldx, ldx, 1, w, bias, scratch);
        return;
    }
    mm_call c = {.kc = kc};
    aae_mm_job *j = &c.job;
    int32_t kp = aae_mm_kpad(w->k);
    uint8_t *s = scratch;
    j->y = y;
    j->ldy = ldy;
    j->x = x;
    j->ldx = ldx;
    j->xp = x;
    j->ldxp = ldx;
    j->m = m;
    j->w = w;
    j->bias = bias;
    j->task_bytes = task_bytes(m, w->k);
    j->task_scratch = s + xp_bytes(m, w->k) + x16_bytes(w->k) + xt_bytes(m, w->k);
    j->xport = NULL;
    if (m == 1 && s128 && q3) { /* x16 in the q3 pair layout, as for the AVX2 3-bit decode */
        uint8_t *q = s + xp_bytes(m, w->k);
        float *xs16 = (float *)(q + align64((size_t)kp * 2)), *xo16 = xs16 + align64((size_t)kp / 8) / 4;
        aae_k_quantize_x16q3_ref((int16_t *)q, xs16, xo16, x, w->k);
        j->x16 = (const int16_t *)q;
        j->xscale = xs16;
        j->x16off = xo16;
    } else if (m == 1 && s128) { /* x8 straight from x; xscale and x16off as for the AVX2 decode (below) */
        uint8_t *q8 = s + xp_bytes(m, w->k) + align64((size_t)kp * 2) + 2 * align64((size_t)kp / 8);
        int32_t *off = (int32_t *)(q8 + x8_qbytes(w->k));
        float *xs8 = (float *)(q8 + x8_qbytes(w->k) + align64((size_t)x8_groups(w->k) * 32));
        float *gofs = (float *)((uint8_t *)xs8 + align64((size_t)x8_scales(w->k) * 4));
        aae_k_x86_quantize_x8_ssse3((int8_t *)q8, off, xs8, x, w->k, x8_groups(w->k), x8_scales(w->k));
        x8_group_offsets(gofs, off, x8_groups(w->k), x8_scales(w->k));
        for (int32_t g = 0; g < x8_scales(w->k); g++)
            gofs[g] *= xs8[g];
        j->x8 = (const int8_t *)q8;
        j->xscale = xs8;
        j->x16off = gofs;
    } else if (m == 1 && (nib || q3) && !(kc->cpu & (AAE_CPU_AVX2_FMA | AAE_CPU_AVX512 | AAE_CPU_NEON))) {
        prep_xport((float *)s, x, w->k, q3 ? 3 : 4); /* in the space of the padded copy */
        j->xport = (const float *)s;
    }
    if (kc->cpu & (AAE_CPU_AVX2_FMA | AAE_CPU_AVX512 | AAE_CPU_NEON)) {
        float *xp = (float *)s;
        /* integer-activation decodes: x8 (two int8 parts) for VNNI and NEON
         * (4- and 3-bit; sdot or its ARMv8.0 form), else int16 on AVX2 / AVX-512 */
        int vnni4 = nib && m == 1 && x512 && aae_k_x86_has_vnni();
        int vnni3 = q3 && m == 1 && x512 && aae_k_x86_has_vnni_vbmi();
        int sdot = nib && m == 1 && (kc->cpu & AAE_CPU_NEON);
        int sdot3 = q3 && m == 1 && (kc->cpu & AAE_CPU_NEON);
        /* 4-bit decode on AVX2 without AVX-512 (AVX-VNNI where present) */
        int x8avx2 = nib && m == 1 && !x512 && (kc->cpu & AAE_CPU_AVX2_FMA);
        /* 4-bit decode on AVX-512 without VNNI: int16 activations */
        int x16 = nib && m == 1 && x512 && !vnni4;
        /* 3-bit decode on AVX2 (AVX-512 without VBMI keeps its float kernel) */
        int x16q3 = q3 && m == 1 && !vnni3 && !x512 && (kc->cpu & AAE_CPU_AVX2_FMA);
        /* 4- and 3-bit prefill on AVX-512 VNNI or AVX-VNNI: int8 activations in
         * the space of the padded copy */
        int xq = (nib || q3) && m >= AAE_MM_XQ_MIN_M && !xb &&
                 (x512 ? aae_k_x86_has_vnni()
                       : ((kc->cpu & AAE_CPU_AVX2_FMA) && (kc->cpu & AAE_CPU_AVX_VNNI)) || (kc->cpu & AAE_CPU_NEON_DOT));
        /* the same on AVX2 without AVX-VNNI: int16 activations (vpmaddwd) */
        int xw = (nib || q3) && m >= AAE_MM_XQ_MIN_M && !xb && !x512 && (kc->cpu & AAE_CPU_AVX2_FMA) &&
                 !(kc->cpu & AAE_CPU_AVX_VNNI);
        uint8_t *q = s + xp_bytes(m, w->k); /* x16, its scales, then x8 */
        uint8_t *q8 = q + align64((size_t)kp * 2) + 2 * align64((size_t)kp / 8);
        int8_t *x8 = (int8_t *)q8;
        int32_t *off = (int32_t *)(q8 + x8_qbytes(w->k));
        float *xs8 = (float *)(q8 + x8_qbytes(w->k) + align64((size_t)x8_groups(w->k) * 32));
        float *gofs = (float *)((uint8_t *)xs8 + align64((size_t)x8_scales(w->k) * 4));
        if (xb) { /* each token's x8 block as for its decode, x8tok bytes apart */
            size_t tb = x8_bytes(w->k);
            for (int32_t i = 0; i < m; i++) {
                uint8_t *b = s + (size_t)i * tb;
                int32_t *o = (int32_t *)(b + x8_qbytes(w->k));
                float *sc = (float *)(b + x8_qbytes(w->k) + align64((size_t)x8_groups(w->k) * 32));
                float *go = (float *)((uint8_t *)sc + align64((size_t)x8_scales(w->k) * 4));
                if (xbn && q3) /* x3n; x8gofs written directly */
                    aae_k_neon_quantize_x3n((int8_t *)b, sc, go, x + (size_t)i * ldx, w->k);
                else if (xbn)
                    aae_k_neon_quantize_x8((int8_t *)b, o, sc, x + (size_t)i * ldx, w->k, x8_groups(w->k),
                                           x8_scales(w->k));
                else if (q3)
                    aae_k_x86_quantize_x3((int8_t *)b, o, sc, x + (size_t)i * ldx, w->k);
                else if (xb256)
                    aae_k_x86_quantize_x8_avx2((int8_t *)b, o, sc, x + (size_t)i * ldx, w->k, x8_groups(w->k),
                                               x8_scales(w->k));
                else
                    aae_k_x86_quantize_x8((int8_t *)b, o, sc, x + (size_t)i * ldx, w->k, x8_groups(w->k),
                                          x8_scales(w->k));
                if (!(xbn && q3))
                    x8_group_offsets(go, o, q3 ? kp / 40 : x8_groups(w->k), x8_scales(w->k));
                if (xb256) /* the AVX-VNNI decode's scale fields, as below */
                    for (int32_t g = 0; g < x8_scales(w->k); g++)
                        go[g] *= sc[g];
                if (i == 0) {
                    j->x8 = (const int8_t *)b;
                    j->x8off = o;
                    j->x8scale = j->xscale = sc;
                    j->x8gofs = j->x16off = go;
                }
            }
            j->x8tok = tb;
        } else if (vnni4) { /* the VNNI decodes read only x8, quantized from x itself */
            aae_k_x86_quantize_x8(x8, off, xs8, x, w->k, x8_groups(w->k), x8_scales(w->k));
        } else if (vnni3) {
            aae_k_x86_quantize_x3(x8, off, xs8, x, w->k);
        } else if (sdot3) { /* reads x itself, offsets straight into x8gofs */
            aae_k_neon_quantize_x3n(x8, xs8, gofs, x, w->k);
            j->x8gofs = gofs;
        } else if (sdot) {
            aae_k_neon_quantize_x8(x8, off, xs8, x, w->k, x8_groups(w->k), x8_scales(w->k));
        } else if (x8avx2) {
            aae_k_x86_quantize_x8_avx2(x8, off, xs8, x, w->k, x8_groups(w->k), x8_scales(w->k));
        } else if (xq) {
            /* m4 kp / G groups (m4: m rounded up to 4, NEON's token blocks): 2 G
             * bytes, a scale and an offset each (xp_bytes) */
            int32_t G = nib ? 32 : 40, ngp = kp / G, m4 = (m + 3) / 4 * 4;
            int8_t *xqb = (int8_t *)xp;
            float *xqs = (float *)(xqb + (size_t)m4 * ngp * 2 * G);
            int32_t *xqo = (int32_t *)(xqs + (size_t)m4 * ngp);
            if (x512)
                aae_k_x86_quantize_xq(xqb, xqs, xqo, x, ldx, m, w->k, G);
            else if (kc->cpu & AAE_CPU_NEON_DOT) /* blocks of 4 tokens */
                aae_k_neon_quantize_xq(xqb, xqs, xqo, x, ldx, m, w->k, G);
            else
                aae_k_x86_quantize_xq_avx2(xqb, xqs, xqo, x, ldx, m, w->k, G);
            j->xq = xqb;
            j->xqs = xqs;
            j->xqo = xqo;
            j->ldxq = ngp;
        } else if (xw) { /* m rows of kp int16, then m kp / G scales (xp_bytes) */
            int32_t G = nib ? 32 : 40;
            int16_t *xwb = (int16_t *)xp;
            float *xws = (float *)(xwb + (size_t)m * kp);
            aae_k_x86_quantize_xw_avx2(xwb, xws, x, ldx, m, w->k, G);
            j->xw = xwb;
            j->xws = xws;
            j->ldxw = kp;
        } else if (!x16q3) { /* the AVX2 3-bit decode reads x16 only (below) */
            for (int32_t i = 0; i < m; i++)
                prep_x(xp + (size_t)i * kp, x + (size_t)i * ldx, w->k, nib);
            j->xp = xp;
            j->ldxp = kp;
        }
        if (x8avx2) { /* i16_scales8's fields: x8scale, x8scale x x8gofs */
            x8_group_offsets(gofs, off, x8_groups(w->k), x8_scales(w->k));
            for (int32_t g = 0; g < x8_scales(w->k); g++)
                gofs[g] *= xs8[g];
            j->x8 = x8;
            j->xscale = xs8;
            j->x16off = gofs;
        }
        if (vnni4 || vnni3 || sdot) {
            x8_group_offsets(gofs, off, vnni3 ? kp / 40 : x8_groups(w->k), x8_scales(w->k));
            j->x8gofs = gofs;
        }
        if (vnni4 || vnni3 || sdot || sdot3) {
            j->x8 = x8;
            j->x8off = off;
            j->x8scale = xs8;
        }
        if (x16 || x16q3) {
            float *xs16 = (float *)(q + align64((size_t)kp * 2)), *xo16 = xs16 + align64((size_t)kp / 8) / 4;
            if (x16)
                quantize_x16((int16_t *)q, xs16, xo16, xp, kp);
            else /* from x itself (the padded copy above is not read) */
                aae_k_x86_quantize_x16q3_avx2((int16_t *)q, xs16, xo16, x, w->k);
            j->x16 = (const int16_t *)q;
            j->xscale = xs16;
            j->x16off = xo16;
        }
        /* float16 weights, a few tokens on x86: the batched decode on xp */
        int xbf = w->type == AAE_W_F16 && x86 && m <= (x512 ? AAE_MM_XB_MAX_F16 : AAE_MM_XB_MAX_F16_256);
        if (m >= AAE_MM_XT_MIN_M && !xq && !xw && !xb && !xbf && x86) {
            float *xt = (float *)(s + xp_bytes(m, w->k) + x16_bytes(w->k));
            int32_t ld = xt_cols(m);
            for (int32_t t = 0; t < kp; t++) {
                float *row = xt + (size_t)t * ld;
                for (int32_t i = 0; i < m; i++)
                    row[i] = xp[(size_t)i * kp + t];
                for (int32_t i = m; i < ld; i++)
                    row[i] = 0.0f;
            }
            j->xt = xt;
            j->ldxt = ld;
        }
    }
    j->n_tasks = n_threads;
    int pool = n_threads > 1 && kc->th && kc->th->parallel_for;
    int32_t nb = (w->n + 15) / 16;
    if (m == 1 && pool && nb > 1) { /* decode: segments taken from both ends (mm_task_ends) */
        int32_t seg0[MM_MAX_SEGS + 1];
        uint64_t seg[MM_MAX_SEGS];
        c.seg0 = seg0;
        c.seg = seg;
        int32_t shares = n_threads < 2 * MM_MAX_SEGS ? n_threads : 2 * MM_MAX_SEGS;
        c.n_segs = (shares + 1) / 2;
        for (int32_t sg = 0; sg <= c.n_segs; sg++) /* two shares per segment, one for an odd T's last */
            c.seg0[sg] = (int32_t)((int64_t)nb * (2 * sg < shares ? 2 * sg : shares) / shares);
        for (int32_t sg = 0; sg < c.n_segs; sg++)
            c.seg[sg] = (uint64_t)(uint32_t)(c.seg0[sg + 1] - c.seg0[sg]);
        kc->th->parallel_for(kc->th->pool, mm_task_ends, &c, shares);
        return;
    }
    /* Prefill: chunks of a multiple of 16 rows, about 8 per thread (it
     * computes more than it reads: short chunks balance it); one when
     * single-threaded. */
    int32_t parts = n_threads > 1 ? 8 * n_threads : 1;
    int32_t per = (w->n + parts - 1) / parts;
    c.chunk_rows = (per + 15) / 16 * 16;
    int32_t n_chunks = (w->n + c.chunk_rows - 1) / c.chunk_rows;
    if (n_chunks <= 1 || !pool)
        for (int32_t ch = 0; ch < n_chunks; ch++)
            mm_task(&c, ch, 0);
    else
        kc->th->parallel_for(kc->th->pool, mm_task, &c, n_chunks);
}
