/*
 * k_matmul_x86.c - x86_64 paths of aae_k_matmul (see matmul_impl.h): AVX-512
 * (F, BW, VL), AVX2 + FMA + F16C and SSSE3, chosen at run time from kc->cpu and built
 * with per-function target attributes, so the rest of the library needs no
 * special flags.
 *
 * m == 1 (decode): each weight row is dequantized in registers and multiplied
 * with the prepared x as it streams from memory (the step is bandwidth-bound).
 * m > 1 (prefill): each task dequantizes AAE_MM_TILE rows into float32 scratch
 * once, then a register-blocked micro-kernel multiplies them with all m rows.
 * Dequantized values are (code - max_int) * scale in float32.
 */
#include "kernels/matmul_impl.h"

#if !defined(__x86_64__)
int aae_k_matmul_x86(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1, uint32_t cpu)
{
    (void)j, (void)task, (void)n0, (void)n1, (void)cpu;
    return 0;
}

int aae_k_x86_has_vnni(void) { return 0; }

int aae_k_x86_has_vnni_vbmi(void) { return 0; }

void aae_k_x86_quantize_x8(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k, int32_t ngq, int32_t ngs)
{
    (void)q, (void)off, (void)scale, (void)x, (void)k, (void)ngq, (void)ngs;
}

void aae_k_x86_quantize_x3(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k)
{
    (void)q, (void)off, (void)scale, (void)x, (void)k;
}

void aae_k_x86_quantize_x8_avx2(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k, int32_t ngq,
                                int32_t ngs)
{
    (void)q, (void)off, (void)scale, (void)x, (void)k, (void)ngq, (void)ngs;
}

void aae_k_x86_quantize_xq(int8_t *q, float *scale, int32_t *off, const float *x, int32_t ldx, int32_t m,
                           int32_t k, int32_t gsize)
{
    (void)q, (void)scale, (void)off, (void)x, (void)ldx, (void)m, (void)k, (void)gsize;
}

void aae_k_x86_quantize_xq_avx2(int8_t *q, float *scale, int32_t *off, const float *x, int32_t ldx, int32_t m,
                                int32_t k, int32_t gsize)
{
    (void)q, (void)scale, (void)off, (void)x, (void)ldx, (void)m, (void)k, (void)gsize;
}

void aae_k_x86_quantize_xw_avx2(int16_t *q, float *scale, const float *x, int32_t ldx, int32_t m, int32_t k,
                                int32_t gsize)
{
    (void)q, (void)scale, (void)x, (void)ldx, (void)m, (void)k, (void)gsize;
}

void aae_k_x86_quantize_x16q3_avx2(int16_t *q, float *scale, float *off, const float *x, int32_t k)
{
    (void)q, (void)scale, (void)off, (void)x, (void)k;
}

void aae_k_x86_quantize_x8_ssse3(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k, int32_t ngq,
                                 int32_t ngs)
{
    (void)q, (void)off, (void)scale, (void)x, (void)k, (void)ngq, (void)ngs;
}
#else
#include <cpuid.h>
#include <stdatomic.h>
#include <immintrin.h>

#include "kernels/x86_lanes.h"

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))
#define T512V __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define T512VB __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,avx2,fma,f16c")))
#define T256 __attribute__((target("avx2,fma,f16c")))
#define T256V __attribute__((target("avx2,fma,f16c,avxvnni")))

/* Decode (m == 1) reads each weight once, straight from memory, and its dot
 * loops leave the hardware prefetcher too little time on their own: they
 * prefetch DECODE_PREFETCH_BYTES ahead of the weights being read (rows are
 * contiguous, so past a row's end is the next row), and the VNNI decodes
 * prefetch their scales as far ahead. 1.1B q4f16_1 decode at 1
 * thread, alternating runs: no prefetch 45 tok/s, 2 KiB 50, 4 KiB 54, 6-12 KiB
 * 60-61, 16 KiB 59; q0f16 14.1 -> 16.5 (AVX-512) and 12.7 -> 16.6 (AVX2); AVX2
 * 3-bit (Zen 3) 18.3 -> 19.3 at 1 thread, 31.6 -> 36.7 at 2. Lines past the
 * end of W are only prefetched, never read. */
#ifndef DECODE_PREFETCH_BYTES
#define DECODE_PREFETCH_BYTES 8192
#endif
#define PREFETCH_AHEAD(p) _mm_prefetch((const char *)((uintptr_t)(p) + DECODE_PREFETCH_BYTES), _MM_HINT_T0)

T256 static inline float scale_of(const aae_wmat *w, size_t idx)
{
    if (AAE_MM_W_IS(w, AAE_W_Q4F32))
        return ((const float *)w->scale)[idx];
    return _cvtsh_ss(((const uint16_t *)w->scale)[idx]);
}

/* The transposed prefill (m >= AAE_MM_XT_MIN_M): blocks of AAE_MM_XT_ROWS
 * weight rows, each k-block of AAE_MM_KBLOCK dequantized for all of them
 * (deq), then the tokens of the transposed activations, cols at a time, each
 * column block against the rows 4 at a time (blk), so that a column block is
 * read from L3 once per block of rows, not once per 4 (1.1B q0f16, 128-token
 * prompt, AVX2, 1 thread, alternating runs: prefill 25.0 -> 26.9 tok/s,
 * medians of 4). Inlined into each path's run_xt, so deq and blk are direct
 * calls. */
typedef void (*deq_range_fn)(const aae_wmat *w, int32_t r, int32_t k0, int32_t k1, float *out);
typedef void (*xt_block_fn)(const aae_mm_job *j, const float *wt, int32_t kn, int32_t k0, int32_t ld, int32_t ib,
                            float *res, int first);
__attribute__((always_inline)) static inline void run_xt(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1,
                                                         deq_range_fn deq, xt_block_fn blk, int32_t cols)
{
    const aae_wmat *w = j->w;
    int32_t kp = aae_mm_kpad(w->k), ld = j->ldxt;
    float *wt = (float *)(j->task_scratch + (size_t)task * j->task_bytes);
    float *res = wt + (size_t)AAE_MM_XT_ROWS * AAE_MM_KBLOCK;
    for (int32_t rg = n0; rg < n1; rg += AAE_MM_XT_ROWS) {
        int32_t rows = n1 - rg < AAE_MM_XT_ROWS ? n1 - rg : AAE_MM_XT_ROWS;
        for (int32_t k0 = 0; k0 < kp; k0 += AAE_MM_KBLOCK) {
            int32_t kn = k0 + AAE_MM_KBLOCK < kp ? AAE_MM_KBLOCK : kp - k0;
            int32_t tiles = (rows + AAE_MM_TILE - 1) / AAE_MM_TILE;
            for (int32_t t = 0; t < tiles * AAE_MM_TILE; t++)
                if (t < rows)
                    deq(w, rg + t, k0, k0 + kn, wt + (size_t)t * kn);
                else
                    for (int32_t i = 0; i < kn; i++)
                        wt[(size_t)t * kn + i] = 0.0f;
            for (int32_t ib = 0; ib < j->m; ib += cols)
                for (int32_t r0 = 0; r0 < tiles * AAE_MM_TILE; r0 += AAE_MM_TILE)
                    blk(j, wt + (size_t)r0 * kn, kn, k0, ld, ib, res + (size_t)r0 * ld, k0 == 0);
        }
        for (int32_t i = 0; i < j->m; i++) {
            float *y = j->y + (size_t)i * j->ldy + rg;
            for (int32_t q = 0; q < rows; q++)
                y[q] = res[(size_t)q * ld + i];
        }
    }
}

/* ---------------------------------------------------------------- AVX-512 */

T512 static inline float hsum512(__m512 v) { return _mm512_reduce_add_ps(v); }

/* 32 codes of a 4-bit group as (code - 7): low nibbles (even elements), high nibbles (odd). */
T512 static inline void q4_group_512(const uint8_t *b, __m512 *lo, __m512 *hi)
{
    __m128i v = _mm_loadu_si128((const __m128i *)b);
    const __m128i mask = _mm_set1_epi8(0x0f), seven = _mm_set1_epi8(7);
    __m128i l = _mm_sub_epi8(_mm_and_si128(v, mask), seven);
    __m128i h = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), mask), seven);
    *lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(l));
    *hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(h));
}

/* 40 codes of a 3-bit group as (code - 3), in three vectors (16, 16, 8 lanes). */
T512 static inline void q3_group_512(const uint32_t *q, __m512 out[3])
{
    static const int32_t idx[48] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
                                    1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3,
                                    3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0};
    static const int32_t sh[48] = {0,  3,  6,  9,  12, 15, 18, 21, 24, 27, 0,  3,  6,  9,  12, 15,
                                   18, 21, 24, 27, 0,  3,  6,  9,  12, 15, 18, 21, 24, 27, 0,  3,
                                   6,  9,  12, 15, 18, 21, 24, 27, 0,  0,  0,  0,  0,  0,  0,  0};
    __m512i words = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)q));
    const __m512i seven = _mm512_set1_epi32(7), three = _mm512_set1_epi32(3);
#define Q3_LANES(v)                                                                                         \
    _mm512_cvtepi32_ps(_mm512_sub_epi32(                                                                    \
        _mm512_and_si512(_mm512_srlv_epi32(_mm512_permutexvar_epi32(_mm512_loadu_si512(idx + 16 * (v)), words), \
                                           _mm512_loadu_si512(sh + 16 * (v))),                              \
                         seven),                                                                            \
        three))
    out[0] = Q3_LANES(0);
    out[1] = Q3_LANES(1);
    out[2] = Q3_LANES(2);
#undef Q3_LANES
}

T512 static float dot_q4_512(const aae_wmat *w, int32_t r, const float *xp)
{
    int32_t ng = (w->k + 31) / 32;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    size_t s0 = (size_t)r * ng;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int32_t g = 0;
    for (; g + 2 <= ng; g += 2) {
        __m512 l0, h0, l1, h1;
        q4_group_512(qb + 16 * g, &l0, &h0);
        q4_group_512(qb + 16 * g + 16, &l1, &h1);
        const float *x = xp + 32 * g;
        __m512 t0 = _mm512_fmadd_ps(h0, _mm512_loadu_ps(x + 16), _mm512_mul_ps(l0, _mm512_loadu_ps(x)));
        __m512 t1 = _mm512_fmadd_ps(h1, _mm512_loadu_ps(x + 48), _mm512_mul_ps(l1, _mm512_loadu_ps(x + 32)));
        acc0 = _mm512_fmadd_ps(t0, _mm512_set1_ps(scale_of(w, s0 + g)), acc0);
        acc1 = _mm512_fmadd_ps(t1, _mm512_set1_ps(scale_of(w, s0 + g + 1)), acc1);
    }
    for (; g < ng; g++) {
        __m512 l0, h0;
        q4_group_512(qb + 16 * g, &l0, &h0);
        const float *x = xp + 32 * g;
        __m512 t0 = _mm512_fmadd_ps(h0, _mm512_loadu_ps(x + 16), _mm512_mul_ps(l0, _mm512_loadu_ps(x)));
        acc0 = _mm512_fmadd_ps(t0, _mm512_set1_ps(scale_of(w, s0 + g)), acc0);
    }
    return hsum512(_mm512_add_ps(acc0, acc1));
}

/* 3-bit decode: the lane patterns are loaded once; each group is three
 * permute + shift + mask steps on 32-bit lanes, widened to float32. */
T512 static float dot_q3_512(const aae_wmat *w, int32_t r, const float *xp)
{
    static const int32_t idx[48] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
                                    1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3,
                                    3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0};
    static const int32_t sh[48] = {0,  3,  6,  9,  12, 15, 18, 21, 24, 27, 0,  3,  6,  9,  12, 15,
                                   18, 21, 24, 27, 0,  3,  6,  9,  12, 15, 18, 21, 24, 27, 0,  3,
                                   6,  9,  12, 15, 18, 21, 24, 27, 0,  0,  0,  0,  0,  0,  0,  0};
    const __m512i i0 = _mm512_loadu_si512(idx), i1 = _mm512_loadu_si512(idx + 16), i2 = _mm512_loadu_si512(idx + 32);
    const __m512i s0 = _mm512_loadu_si512(sh), s1 = _mm512_loadu_si512(sh + 16), s2 = _mm512_loadu_si512(sh + 32);
    const __m512i seven = _mm512_set1_epi32(7), three = _mm512_set1_epi32(3);
    int32_t ng = (w->k + 39) / 40;
    const uint32_t *q = (const uint32_t *)w->q + (size_t)r * 4 * ng;
    const uint16_t *sc = (const uint16_t *)w->scale + (size_t)r * ng;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (int32_t g = 0; g < ng; g++) {
        __m512i words = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(q + 4 * g)));
        __m512i c0 = _mm512_sub_epi32(_mm512_and_si512(_mm512_srlv_epi32(_mm512_permutexvar_epi32(i0, words), s0), seven), three);
        __m512i c1 = _mm512_sub_epi32(_mm512_and_si512(_mm512_srlv_epi32(_mm512_permutexvar_epi32(i1, words), s1), seven), three);
        __m512i c2 = _mm512_sub_epi32(_mm512_and_si512(_mm512_srlv_epi32(_mm512_permutexvar_epi32(i2, words), s2), seven), three);
        const float *x = xp + 40 * g;
        __m512 t = _mm512_mul_ps(_mm512_cvtepi32_ps(c0), _mm512_loadu_ps(x));
        t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(c1), _mm512_loadu_ps(x + 16), t);
        /* lanes 8..15 of the third vector are zero codes - 3: mask them via x */
        __m512 t2 = _mm512_mul_ps(_mm512_cvtepi32_ps(c2), _mm512_maskz_loadu_ps(0x00ff, x + 32));
        __m512 s = _mm512_set1_ps(_cvtsh_ss(sc[g]));
        if (g & 1)
            acc1 = _mm512_fmadd_ps(_mm512_add_ps(t, t2), s, acc1);
        else
            acc0 = _mm512_fmadd_ps(_mm512_add_ps(t, t2), s, acc0);
    }
    return hsum512(_mm512_add_ps(acc0, acc1));
}

T512 static float dot_f16_512(const aae_wmat *w, int32_t r, const float *xp)
{
    const uint16_t *p = (const uint16_t *)w->q + (size_t)r * w->k;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int32_t k = w->k, i = 0;
    for (; i + 32 <= k; i += 32) {
        PREFETCH_AHEAD(p + i);
        acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + i))),
                               _mm512_loadu_ps(xp + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + i + 16))),
                               _mm512_loadu_ps(xp + i + 16), acc1);
    }
    for (; i + 16 <= k; i += 16)
        acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + i))),
                               _mm512_loadu_ps(xp + i), acc0);
    float s = hsum512(_mm512_add_ps(acc0, acc1));
    for (; i < k; i++)
        s += aae_k_f16_to_f32(p[i]) * xp[i];
    return s;
}

/* The batched decode of float16 weights (2 .. 15 tokens, see k_matmul.c): T
 * tokens (T <= XB_TOKENS) against elements 32 gb .. 32 ge - 1 of row r (past
 * k masked), each 16 weights converted once for all of them; x the padded
 * float copy xp. Results stored into y (first) or added. */
__attribute__((always_inline)) T512 static inline void f16_512_tokens(const aae_mm_job *j, int32_t r, int32_t t0,
                                                                     int T, int32_t gb, int32_t ge, int first)
{
    const aae_wmat *w = j->w;
    const uint16_t *p = (const uint16_t *)w->q + (size_t)r * w->k;
    int32_t k = w->k, e1 = 32 * ge < k ? 32 * ge : k;
    const float *x[XB_TOKENS];
    __m512 acc[XB_TOKENS][2];
    for (int t = 0; t < T; t++) {
        x[t] = j->xp + (size_t)(t0 + t) * j->ldxp;
        acc[t][0] = acc[t][1] = _mm512_setzero_ps();
    }
    int32_t i = 32 * gb;
    for (; i + 32 <= e1; i += 32) {
        PREFETCH_AHEAD(p + i);
        __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + i)));
        __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + i + 16)));
        for (int t = 0; t < T; t++) {
            acc[t][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x[t] + i), acc[t][0]);
            acc[t][1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x[t] + i + 16), acc[t][1]);
        }
    }
    for (; i < e1; i += 16) { /* x is zero past k; the weights are masked */
        int32_t n = e1 - i < 16 ? e1 - i : 16;
        __m512 w0 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16((__mmask16)((1u << n) - 1u), p + i));
        for (int t = 0; t < T; t++)
            acc[t][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x[t] + i), acc[t][0]);
    }
    for (int t = 0; t < T; t++) {
        float *y = j->y + (size_t)(t0 + t) * j->ldy + r, v = hsum512(_mm512_add_ps(acc[t][0], acc[t][1]));
        *y = first ? v : *y + v;
    }
}

T512 static void run_f16_512_tokens(const aae_mm_job *j, int32_t n0, int32_t n1)
{
    xb_run(j, n0, n1, 32, 128, f16_512_tokens);
}

/* Combined scales (weight scale x x scale) of groups g0 .. g0 + n - 1 of row r. */
T512 static void combined_scales(const aae_wmat *w, int32_t r, int32_t ng, int32_t g0, int32_t n, const float *xs,
                                 float *cs)
{
    size_t base = (size_t)r * ng + g0;
    __mmask16 mk = (__mmask16)((1u << n) - 1u);
    if (AAE_MM_W_IS(w, AAE_W_Q4F16)) {
        __m512 s = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mk, (const uint16_t *)w->scale + base));
        _mm512_storeu_ps(cs, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(mk, xs + g0)));
        return;
    }
    if (AAE_MM_W_IS(w, AAE_W_Q4F32)) {
        __m512 s = _mm512_maskz_loadu_ps(mk, (const float *)w->scale + base);
        _mm512_storeu_ps(cs, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(mk, xs + g0)));
        return;
    }
    for (int32_t i = 0; i < n; i++)
        cs[i] = scale_of(w, base + i) * xs[g0 + i];
}

/* Decode with int16 activations (x16 in pair layout, see matmul_impl.h): two
 * groups at a time, the 32 code bytes widened to 16-bit words; low nibbles
 * (even elements) and high nibbles (odd) multiply the pair's evens and odds
 * with vpmaddwd, exactly in int32; lanes 0-7 then belong to the first group,
 * 8-15 to the second, each scaled by its combined scale in one FMA. */
T512 static float dot_q4_i16_512(const aae_wmat *w, int32_t r, const int16_t *x16, const float *xs, int32_t kpg)
{
    int32_t ng = (w->k + 31) / 32;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    const __m512i lowmask = _mm512_set1_epi16(0x0f), seven = _mm512_set1_epi16(7);
    const __m512i halves = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    float cs[16];
    for (int32_t g0 = 0; g0 < ng; g0 += 16) {
        int32_t n = ng - g0 < 16 ? ng - g0 : 16;
        combined_scales(w, r, ng, g0, n, xs, cs);
        __m512 csv = _mm512_loadu_ps(cs);
        int32_t i = 0;
        for (; i + 2 <= n; i += 2) {
            int32_t g = g0 + i;
            __m512i wd = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(qb + 16 * g)));
            __m512i lo = _mm512_sub_epi16(_mm512_and_si512(wd, lowmask), seven);
            __m512i hi = _mm512_sub_epi16(_mm512_srli_epi16(wd, 4), seven);
            const int16_t *xp = x16 + 32 * g;
            __m512i p = _mm512_add_epi32(_mm512_madd_epi16(lo, _mm512_loadu_si512(xp)),
                                         _mm512_madd_epi16(hi, _mm512_loadu_si512(xp + 32)));
            __m512 sc = _mm512_permutexvar_ps(_mm512_add_epi32(halves, _mm512_set1_epi32(i)), csv);
            if (i & 2)
                acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), sc, acc1);
            else
                acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), sc, acc0);
        }
        if (i < n) { /* the row's last group, alone (g is even) */
            int32_t g = g0 + i;
            const __m256i lowmask8 = _mm256_set1_epi16(0x0f), seven8 = _mm256_set1_epi16(7);
            __m256i wd = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(qb + 16 * g)));
            __m256i lo = _mm256_sub_epi16(_mm256_and_si256(wd, lowmask8), seven8);
            __m256i hi = _mm256_sub_epi16(_mm256_srli_epi16(wd, 4), seven8);
            const int16_t *xp = x16 + 32 * g;
            int32_t odd_at = g + 1 < kpg ? 32 : 16;
            __m256i p = _mm256_add_epi32(_mm256_madd_epi16(lo, _mm256_loadu_si256((const __m256i *)xp)),
                                         _mm256_madd_epi16(hi, _mm256_loadu_si256((const __m256i *)(xp + odd_at))));
            acc0 = _mm512_add_ps(acc0, _mm512_zextps256_ps512(_mm256_mul_ps(_mm256_cvtepi32_ps(p),
                                                                            _mm256_set1_ps(cs[i]))));
        }
    }
    return hsum512(_mm512_add_ps(acc0, acc1));
}

/* cpuid leaf 7, subleaf 0, ECX (inline cpuid: the kernels call no library;
 * the OS state for AVX-512 is checked with AAE_CPU_AVX512). */
static unsigned leaf7_ecx(void)
{
    static _Atomic int cached = -1; /* cpuid traps to the hypervisor in a VM: ask once */
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        unsigned a = 0, b = 0, c = 0, d = 0;
        __cpuid_count(7, 0, a, b, c, d);
        (void)a, (void)b, (void)d;
        v = (int)(c & 0x7fffffffu);
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return (unsigned)v;
}

int aae_k_x86_has_vnni(void) { return (int)((leaf7_ecx() >> 11) & 1u); } /* AVX512_VNNI */

int aae_k_x86_has_vnni_vbmi(void) { return (int)((leaf7_ecx() >> 11) & (leaf7_ecx() >> 1) & 1u); } /* + AVX512_VBMI */

/* Group g of x (k values, zeros past k) as two int8 parts: b[0] q1 evens,
 * b[1] q1 odds, b[2] q2 evens, b[3] q2 odds (16 bytes each); returns u / 256. */
T512V static inline float x8_group512(const float *x, int32_t k, int32_t g, __m128i b[4])
{
    const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i io = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    int32_t base = 32 * g, left = k - base;
    __m512 v0, v1;
    if (left >= 32) {
        v0 = _mm512_loadu_ps(x + base);
        v1 = _mm512_loadu_ps(x + base + 16);
    } else {
        int32_t n0 = left <= 0 ? 0 : left > 16 ? 16 : left, n1 = left <= 16 ? 0 : left - 16;
        v0 = _mm512_maskz_loadu_ps((__mmask16)((1u << n0) - 1u), x + base);
        v1 = _mm512_maskz_loadu_ps((__mmask16)((1u << n1) - 1u), x + base + 16);
    }
    __m512 ve = _mm512_permutex2var_ps(v0, ie, v1), vo = _mm512_permutex2var_ps(v0, io, v1);
    float mx = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(ve), _mm512_abs_ps(vo)));
    float u = mx / 127.0f, inv = mx > 0 ? 127.0f / mx : 0.0f;
    __m512 vu = _mm512_set1_ps(u), vi = _mm512_set1_ps(inv), v256 = _mm512_set1_ps(256.0f);
    __m512i q1e = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(ve, vi)), lo), hi);
    __m512i q1o = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(vo, vi)), lo), hi);
    __m512 re = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(ve, _mm512_mul_ps(vu, _mm512_cvtepi32_ps(q1e))), vi), v256);
    __m512 ro = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(vo, _mm512_mul_ps(vu, _mm512_cvtepi32_ps(q1o))), vi), v256);
    __m512i q2e = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(re), lo), hi);
    __m512i q2o = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(ro), lo), hi);
    b[0] = _mm512_cvtsepi32_epi8(q1e), b[1] = _mm512_cvtsepi32_epi8(q1o);
    b[2] = _mm512_cvtsepi32_epi8(q2e), b[3] = _mm512_cvtsepi32_epi8(q2o);
    return u / 256.0f;
}

/* quantize_x8 of k_matmul.c on AVX-512 VNNI, with the same results, reading x
 * in its own order (k values, zeros past k): a group's evens and odds are
 * split with one permute each, rounded with the default rounding (to nearest
 * even, as the scalar version), clamped to [-127, 127]; the partner sums of
 * the offsets come from vpdpbusd with a vector of ones. */
T512V void aae_k_x86_quantize_x8(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k, int32_t ngq,
                                 int32_t ngs)
{
    const __m128i ones = _mm_set1_epi8(1), m7 = _mm_set1_epi32(-7);
    for (int32_t g = 0; g < ngq; g++) {
        int8_t *e1 = q + 256 * (g / 4) + 16 * (g % 4), *o1 = e1 + 64, *e2 = e1 + 128, *o2 = e1 + 192;
        __m128i b[4];
        scale[g] = x8_group512(x, k, g, b);
        _mm_storeu_si128((__m128i *)e1, b[0]);
        _mm_storeu_si128((__m128i *)o1, b[1]);
        _mm_storeu_si128((__m128i *)e2, b[2]);
        _mm_storeu_si128((__m128i *)o2, b[3]);
        __m128i s1 = _mm_dpbusd_epi32(_mm_dpbusd_epi32(_mm_setzero_si128(), ones, b[0]), ones, b[1]);
        __m128i s2 = _mm_dpbusd_epi32(_mm_dpbusd_epi32(_mm_setzero_si128(), ones, b[2]), ones, b[3]);
        _mm_storeu_si128((__m128i *)(off + 32 * (g / 4) + 4 * (g % 4)), _mm_mullo_epi32(s1, m7));
        _mm_storeu_si128((__m128i *)(off + 32 * (g / 4) + 16 + 4 * (g % 4)), _mm_mullo_epi32(s2, m7));
    }
    for (int32_t g = ngq; g < ngs; g++)
        scale[g] = 0.0f;
}

/* Group g of 40 of x (k values, zeros past k) as two int8 parts in natural
 * order (rounded as x8_group512) into b1, b2 (40 bytes each); returns u / 256
 * and the part sums in *s1, *s2. */
T512V static inline float x40_group512(const float *x, int32_t k, int32_t g, int8_t *b1, int8_t *b2, int32_t *s1,
                                       int32_t *s2)
{
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    int32_t base = 40 * g;
    __m512 v[3];
    for (int i = 0; i < 3; i++) {
        int32_t left = k - base - 16 * i, n = left <= 0 ? 0 : left > 16 ? 16 : left;
        if (i == 2 && n > 8)
            n = 8;
        v[i] = _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), x + base + 16 * i);
    }
    float mx = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(_mm512_abs_ps(v[0]), _mm512_abs_ps(v[1])),
                                                  _mm512_abs_ps(v[2])));
    float u = mx / 127.0f, inv = mx > 0 ? 127.0f / mx : 0.0f;
    __m512 vu = _mm512_set1_ps(u), vi = _mm512_set1_ps(inv), v256 = _mm512_set1_ps(256.0f);
    __m512i t1 = _mm512_setzero_si512(), t2 = _mm512_setzero_si512();
    for (int i = 0; i < 3; i++) {
        __m512i q1 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v[i], vi)), lo), hi);
        __m512 r = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(v[i], _mm512_mul_ps(vu, _mm512_cvtepi32_ps(q1))), vi), v256);
        __m512i q2 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(r), lo), hi);
        __m128i c1 = _mm512_cvtsepi32_epi8(q1), c2 = _mm512_cvtsepi32_epi8(q2);
        if (i < 2) {
            _mm_storeu_si128((__m128i *)(b1 + 16 * i), c1);
            _mm_storeu_si128((__m128i *)(b2 + 16 * i), c2);
        } else {
            _mm_storel_epi64((__m128i *)(b1 + 32), c1);
            _mm_storel_epi64((__m128i *)(b2 + 32), c2);
        }
        t1 = _mm512_add_epi32(t1, q1);
        t2 = _mm512_add_epi32(t2, q2);
    }
    *s1 = _mm512_reduce_add_epi32(t1);
    *s2 = _mm512_reduce_add_epi32(t2);
    return u / 256.0f;
}

/* The int8 prefill's activations (matmul_impl.h: xq, xqs, xqo), rounded as
 * aae_k_x86_quantize_x8; kp / gsize groups per token (zeros past k). */
T512V void aae_k_x86_quantize_xq(int8_t *q, float *scale, int32_t *off, const float *x, int32_t ldx, int32_t m,
                                 int32_t k, int32_t gsize)
{
    int32_t ngp = aae_mm_kpad(k) / gsize;
    const __m128i ones = _mm_set1_epi8(1);
    for (int32_t i = 0; i < m; i++)
        for (int32_t g = 0; g < ngp; g++) {
            size_t at = (size_t)i * ngp + g;
            if (gsize == 40) {
                int32_t s1, s2;
                scale[at] = x40_group512(x + (size_t)i * ldx, k, g, q + 80 * at, q + 80 * at + 40, &s1, &s2);
                off[at] = -3 * (256 * s1 + s2);
                continue;
            }
            __m128i b[4];
            scale[at] = x8_group512(x + (size_t)i * ldx, k, g, b);
            for (int p = 0; p < 4; p++)
                _mm_storeu_si128((__m128i *)(q + 64 * at + 16 * p), b[p]);
            __m128i s1 = _mm_dpbusd_epi32(_mm_dpbusd_epi32(_mm_setzero_si128(), ones, b[0]), ones, b[1]);
            __m128i s2 = _mm_dpbusd_epi32(_mm_dpbusd_epi32(_mm_setzero_si128(), ones, b[2]), ones, b[3]);
            __m128i t = _mm_add_epi32(_mm_slli_epi32(s1, 8), s2);
            t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
            t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
            off[at] = -7 * _mm_cvtsi128_si32(t);
        }
}

/* 8 int32 (|v| <= 127) of a and of b as 16 bytes: a's, then b's. */
T256 static inline __m128i bytes16(__m256i a, __m256i b)
{
    return _mm_packs_epi16(_mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1)),
                           _mm_packs_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1)));
}

/* -7 x the sums of 4 consecutive lanes of e0 + o0 (lanes 0..7: l = 0, 1) and
 * of e1 + o1 (l = 2, 3): the x8off of one part of a group. */
T256 static inline __m128i off4(__m256i e0, __m256i o0, __m256i e1, __m256i o1)
{
    __m256i h = _mm256_hadd_epi32(_mm256_add_epi32(e0, o0), _mm256_add_epi32(e1, o1));
    h = _mm256_hadd_epi32(h, h); /* lane 0: l0, l2, .., lane 4: l1, l3 */
    h = _mm256_permutevar8x32_epi32(h, _mm256_setr_epi32(0, 4, 1, 5, 0, 4, 1, 5));
    return _mm_mullo_epi32(_mm256_castsi256_si128(h), _mm_set1_epi32(-7));
}

/* n vectors of 8 of x from base (zeros past k). */
T256 static inline void load8s(const float *x, int32_t k, int32_t base, int n, __m256 *v)
{
    for (int i = 0; i < n; i++) {
        int32_t left = k - base - 8 * i, c = left < 0 ? 0 : left > 8 ? 8 : left;
        __m256i mk = aae_lanes_below256(c);
        v[i] = c == 8 ? _mm256_loadu_ps(x + base + 8 * i) : _mm256_maskload_ps(x + base + 8 * i, mk);
    }
}

/* max |v| over n vectors */
T256 static inline float absmax256(const __m256 *v, int n)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_andnot_ps(sign, v[0]);
    for (int i = 1; i < n; i++)
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[i]));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    return _mm_cvtss_f32(_mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1)));
}

/* Both int8 parts (as int32 lanes) of n vectors, rounded as the scalar
 * definition (default rounding: to nearest even; clamped to [-127, 127]). */
T256 static inline void split256(const __m256 *src, int n, float u, float inv, __m256i *q1, __m256i *q2)
{
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    __m256 vu = _mm256_set1_ps(u), vi = _mm256_set1_ps(inv), v256 = _mm256_set1_ps(256.0f);
    for (int i = 0; i < n; i++) {
        q1[i] = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(src[i], vi)), lo), hi);
        __m256 r = _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(src[i], _mm256_mul_ps(vu, _mm256_cvtepi32_ps(q1[i]))), vi), v256);
        q2[i] = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(r), lo), hi);
    }
}

/* A group of 32 of x from base: its evens and odds (4 vectors: evens 0-7,
 * 8-15, odds 0-7, 8-15) as both parts; returns u / 256. */
T256 static inline float x8_group256(const float *x, int32_t k, int32_t base, __m256i q1[4], __m256i q2[4])
{
    __m256 v[4], src[4];
    load8s(x, k, base, 4, v);
    for (int h = 0; h < 2; h++) { /* evens / odds of elements 0..15 and 16..31 */
        src[h] = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(v[2 * h], v[2 * h + 1], 0x88)), 0xd8));
        src[2 + h] = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(v[2 * h], v[2 * h + 1], 0xdd)), 0xd8));
    }
    float mx = absmax256(v, 4), u = mx / 127.0f, inv = mx > 0 ? 127.0f / mx : 0.0f;
    split256(src, 4, u, inv, q1, q2);
    return u / 256.0f;
}

T256 static inline int32_t hsum_epi32_256(__m256i v)
{
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
    return _mm_cvtsi128_si32(t);
}

/* aae_k_x86_quantize_x8 on AVX2 (the same bytes as the scalar definition):
 * x in its own order (k values, zeros past k), a group as 4 vectors of 8;
 * evens and odds split with shufps + vpermq; default rounding (to nearest
 * even) and clamping as the scalar version. */
T256 void aae_k_x86_quantize_x8_avx2(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k, int32_t ngq,
                                     int32_t ngs)
{
    for (int32_t g = 0; g < ngq; g++) {
        int8_t *e1 = q + 256 * (g / 4) + 16 * (g % 4), *o1 = e1 + 64, *e2 = e1 + 128, *o2 = e1 + 192;
        __m256i q1[4], q2[4];
        scale[g] = x8_group256(x, k, 32 * g, q1, q2);
        _mm_storeu_si128((__m128i *)e1, bytes16(q1[0], q1[1]));
        _mm_storeu_si128((__m128i *)o1, bytes16(q1[2], q1[3]));
        _mm_storeu_si128((__m128i *)e2, bytes16(q2[0], q2[1]));
        _mm_storeu_si128((__m128i *)o2, bytes16(q2[2], q2[3]));
        _mm_storeu_si128((__m128i *)(off + 32 * (g / 4) + 4 * (g % 4)), off4(q1[0], q1[2], q1[1], q1[3]));
        _mm_storeu_si128((__m128i *)(off + 32 * (g / 4) + 16 + 4 * (g % 4)), off4(q2[0], q2[2], q2[1], q2[3]));
    }
    for (int32_t g = ngq; g < ngs; g++)
        scale[g] = 0.0f;
}

/* aae_k_quantize_xq_ref on AVX2 (the same bytes). */
T256 void aae_k_x86_quantize_xq_avx2(int8_t *q, float *scale, int32_t *off, const float *x, int32_t ldx, int32_t m,
                                     int32_t k, int32_t gsize)
{
    int32_t ngp = aae_mm_kpad(k) / gsize;
    for (int32_t i = 0; i < m; i++)
        for (int32_t g = 0; g < ngp; g++) {
            size_t at = (size_t)i * ngp + g;
            const float *xi = x + (size_t)i * ldx;
            int8_t *d = q + (size_t)2 * gsize * at;
            __m256i q1[5], q2[5];
            if (gsize == 32) {
                scale[at] = x8_group256(xi, k, 32 * g, q1, q2);
                _mm_storeu_si128((__m128i *)d, bytes16(q1[0], q1[1]));
                _mm_storeu_si128((__m128i *)(d + 16), bytes16(q1[2], q1[3]));
                _mm_storeu_si128((__m128i *)(d + 32), bytes16(q2[0], q2[1]));
                _mm_storeu_si128((__m128i *)(d + 48), bytes16(q2[2], q2[3]));
            } else {
                __m256 v[5];
                load8s(xi, k, 40 * g, 5, v);
                float mx = absmax256(v, 5), u = mx / 127.0f, inv = mx > 0 ? 127.0f / mx : 0.0f;
                split256(v, 5, u, inv, q1, q2);
                scale[at] = u / 256.0f;
                _mm_storeu_si128((__m128i *)d, bytes16(q1[0], q1[1]));
                _mm_storeu_si128((__m128i *)(d + 16), bytes16(q1[2], q1[3]));
                _mm_storel_epi64((__m128i *)(d + 32), bytes16(q1[4], q1[4]));
                _mm_storeu_si128((__m128i *)(d + 40), bytes16(q2[0], q2[1]));
                _mm_storeu_si128((__m128i *)(d + 56), bytes16(q2[2], q2[3]));
                _mm_storel_epi64((__m128i *)(d + 72), bytes16(q2[4], q2[4]));
            }
            int nv = gsize / 8;
            __m256i s1 = q1[0], s2 = q2[0];
            for (int v = 1; v < nv; v++) {
                s1 = _mm256_add_epi32(s1, q1[v]);
                s2 = _mm256_add_epi32(s2, q2[v]);
            }
            off[at] = (gsize == 32 ? -7 : -3) * (256 * hsum_epi32_256(s1) + hsum_epi32_256(s2));
        }
}

/* One group of nv vectors (4: 32 values, 5: 40) of the int16 prefill's
 * activations: both parts as in aae_k_x86_quantize_xq_avx2, joined as 256 q1
 * + q2 and packed to int16 (vpackssdw works per 128-bit lane: vpermq restores
 * the order); returns the scale. */
__attribute__((always_inline)) T256 static inline float xw_group256(int16_t *d, const float *x, int32_t k,
                                                                   int32_t base, int nv)
{
    __m256 v[5];
    __m256i q1[5], q2[5], c[6];
    load8s(x, k, base, nv, v);
    float mx = absmax256(v, nv), u = mx / 127.0f, inv = mx > 0 ? 127.0f / mx : 0.0f;
    split256(v, nv, u, inv, q1, q2);
    for (int e = 0; e < nv; e++)
        c[e] = _mm256_add_epi32(_mm256_slli_epi32(q1[e], 8), q2[e]);
    c[nv] = _mm256_setzero_si256();
    for (int e = 0; e < nv; e += 2) {
        __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(c[e], c[e + 1]), 0xd8);
        if (e + 1 < nv)
            _mm256_storeu_si256((__m256i *)(d + 8 * e), p);
        else
            _mm_storeu_si128((__m128i *)(d + 8 * e), _mm256_castsi256_si128(p));
    }
    return u / 256.0f;
}

/* aae_k_quantize_xw_ref on AVX2 (the same values). */
T256 void aae_k_x86_quantize_xw_avx2(int16_t *q, float *scale, const float *x, int32_t ldx, int32_t m, int32_t k,
                                     int32_t gsize)
{
    int32_t kp = aae_mm_kpad(k), ngp = kp / gsize;
    for (int32_t i = 0; i < m; i++)
        for (int32_t g = 0; g < ngp; g++) {
            int16_t *d = q + (size_t)i * kp + (size_t)g * gsize;
            const float *xi = x + (size_t)i * ldx;
            scale[(size_t)i * ngp + g] = gsize == 32 ? xw_group256(d, xi, k, 32 * g, 4) : xw_group256(d, xi, k, 40 * g, 5);
        }
}

/* aae_k_quantize_x16q3_ref on AVX2 (the same values): a group's 40 values as
 * 5 vectors, rounded by vcvtps2dq (to nearest even, as the scalar rounding)
 * and stored to the q3 pair layout through a table of each element's lane.
 * It replaces a padded copy of x and a scalar pass over it (a division by 10
 * per element): about 6% of a 110M q3f16_1 decode step (perf). */
T256 void aae_k_x86_quantize_x16q3_avx2(int16_t *q, float *scale, float *off, const float *x, int32_t k)
{
    /* element e: code c = e % 10 of word e / 10, at vector t (c < 4: c; c = 4,
     * 5: 4; else c - 6), lane 2 (e / 10) + (c >= 5) of its group's 8 */
#define T(c) ((c) < 4 ? (c) : (c) < 6 ? 4 : (c) - 6)
#define AT(e) (16 * T((e) % 10) + 2 * ((e) / 10) + ((e) % 10 >= 5))
#define AT10(w) AT(10 * (w)), AT(10 * (w) + 1), AT(10 * (w) + 2), AT(10 * (w) + 3), AT(10 * (w) + 4), \
                AT(10 * (w) + 5), AT(10 * (w) + 6), AT(10 * (w) + 7), AT(10 * (w) + 8), AT(10 * (w) + 9)
    static const uint8_t at[40] = {AT10(0), AT10(1), AT10(2), AT10(3)};
#undef AT10
#undef AT
#undef T
    int32_t ng = aae_mm_kpad(k) / 40;
    for (int32_t g = 0; g < ng; g++) {
        __m256 v[5];
        load8s(x, k, 40 * g, 5, v);
        float mx = absmax256(v, 5), sc = mx / 32767.0f, inv = mx > 0 ? 32767.0f / mx : 0.0f;
        __m256 vi = _mm256_set1_ps(inv);
        int32_t qv[40];
        __m256i sum = _mm256_setzero_si256();
        for (int i = 0; i < 5; i++) {
            __m256i r = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], vi));
            _mm256_storeu_si256((__m256i *)(qv + 8 * i), r);
            sum = _mm256_add_epi32(sum, r);
        }
        int16_t *dst = q + 80 * (g / 2) + 8 * (g % 2);
        for (int32_t e = 0; e < 40; e++)
            dst[at[e]] = (int16_t)qv[e];
        scale[g] = sc;
        off[g] = -3.0f * sc * (float)hsum_epi32_256(sum);
    }
}

/* aae_k_quantize_x3_ref on AVX-512 VNNI + VBMI, with the same results: per
 * group of 40, both parts rounded as in aae_k_x86_quantize_x8; one vpermb
 * puts the 40 bytes of a part where the x3 layout wants them (three 16-byte
 * pieces, one per 64-byte row of the block, zeros for codes 20..23), and
 * vpdpbusd with ones sums each dword lane for the offsets. */
T512VB void aae_k_x86_quantize_x3(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k)
{
    int32_t ng = (k + 39) / 40, nb = (ng + 3) / 4, ngs = (ng + 15) / 16 * 16;
    /* byte j of the three pieces (row m = j / 16, qword w / 2 = j % 16 / 8, code
     * c = 8 m + j % 8) takes element 10 w + c % 10 with w = 2 (j % 16 / 8) + c / 10
     * for c < 20; else byte 63, which is zero */
    uint8_t idx[64];
    for (int32_t jj = 0; jj < 64; jj++) {
        int32_t m = jj / 16, c = 8 * m + jj % 8, w = 2 * (jj % 16 / 8) + c / 10;
        idx[jj] = (uint8_t)(jj < 48 && c < 20 ? 10 * w + c % 10 : 63);
    }
    const __m512i perm = _mm512_loadu_si512(idx);
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    const __m512i ones = _mm512_set1_epi8(1);
    for (int32_t g = 0; g < nb * 4; g++) {
        int32_t base = 40 * g, left = k - base;
        __m512 v[3];
        for (int t = 0; t < 3; t++) {
            int32_t n = left - 16 * t, lim = t == 2 ? 8 : 16;
            n = n < 0 ? 0 : n > lim ? lim : n;
            v[t] = _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), x + base + 16 * t);
        }
        float mx = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(_mm512_abs_ps(v[0]), _mm512_abs_ps(v[1])),
                                                      _mm512_abs_ps(v[2])));
        float u = mx / 127.0f, inv = mx > 0 ? 127.0f / mx : 0.0f;
        scale[g] = u / 256.0f;
        __m512 vu = _mm512_set1_ps(u), vi = _mm512_set1_ps(inv), v256 = _mm512_set1_ps(256.0f);
        __m128i p1[3], p2[3];
        for (int t = 0; t < 3; t++) {
            __m512i q1 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v[t], vi)), lo), hi);
            __m512 r = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(v[t], _mm512_mul_ps(vu, _mm512_cvtepi32_ps(q1))), vi),
                                     v256);
            __m512i q2 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(r), lo), hi);
            p1[t] = _mm512_cvtsepi32_epi8(q1);
            p2[t] = _mm512_cvtsepi32_epi8(q2);
        }
        __m512i b1 = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_zextsi128_si512(p1[0]), p1[1], 1), p1[2], 2);
        __m512i b2 = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_zextsi128_si512(p2[0]), p2[1], 1), p2[2], 2);
        b1 = _mm512_permutexvar_epi8(perm, b1);
        b2 = _mm512_permutexvar_epi8(perm, b2);
        int8_t *blk = q + 384 * (g / 4) + 16 * (g % 4);
        _mm_storeu_si128((__m128i *)blk, _mm512_castsi512_si128(b1));
        _mm_storeu_si128((__m128i *)(blk + 64), _mm512_extracti32x4_epi32(b1, 1));
        _mm_storeu_si128((__m128i *)(blk + 128), _mm512_extracti32x4_epi32(b1, 2));
        _mm_storeu_si128((__m128i *)(blk + 192), _mm512_castsi512_si128(b2));
        _mm_storeu_si128((__m128i *)(blk + 256), _mm512_extracti32x4_epi32(b2, 1));
        _mm_storeu_si128((__m128i *)(blk + 320), _mm512_extracti32x4_epi32(b2, 2));
        /* dword sums of each piece, then the three rows added: 4 lanes per part */
        __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, b1);
        __m512i s2 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, b2);
        __m128i t1 = _mm_add_epi32(_mm_add_epi32(_mm512_castsi512_si128(s1), _mm512_extracti32x4_epi32(s1, 1)),
                                   _mm512_extracti32x4_epi32(s1, 2));
        __m128i t2 = _mm_add_epi32(_mm_add_epi32(_mm512_castsi512_si128(s2), _mm512_extracti32x4_epi32(s2, 1)),
                                   _mm512_extracti32x4_epi32(s2, 2));
        _mm_storeu_si128((__m128i *)(off + 32 * (g / 4) + 4 * (g % 4)), _mm_mullo_epi32(t1, _mm_set1_epi32(-3)));
        _mm_storeu_si128((__m128i *)(off + 32 * (g / 4) + 16 + 4 * (g % 4)), _mm_mullo_epi32(t2, _mm_set1_epi32(-3)));
    }
    for (int32_t g = nb * 4; g < ngs; g++)
        scale[g] = 0.0f;
}

/* One 64-byte step of the 4-bit VNNI dot: 4 groups of codes at qb (full: a
 * plain load; else only the first 16 nq bytes, nq < 4) as low and high
 * nibbles in k[0], k[1] (codes); against their x8 bytes at xb, scaled by sc
 * (each lane's group's combined scale) into acc (tok; the batched decode runs
 * it once per token on the same codes). The codes are loaded once into a
 * register: folded into the two instructions that use them, each load waited
 * for the same cache miss (1.1B q3f16_1, whose step uses its codes three
 * times, decoded at 39 tok/s against 54 so). */
__attribute__((always_inline)) T512V static inline void q4_vnni_codes(const uint8_t *qb, int32_t nq, __m512i k[3])
{
    const __m512i mask = _mm512_set1_epi8(0x0f);
    PREFETCH_AHEAD(qb);
    __m512i v = nq >= 4 ? _mm512_loadu_si512(qb) : _mm512_maskz_loadu_epi8((__mmask64)((1ull << (16 * nq)) - 1ull), qb);
    __asm__("" : "+v"(v));
    k[0] = _mm512_and_si512(v, mask);
    k[1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), mask);
}

/* The codes of q4_vnni_codes against one token's x8 bytes at xb. */
__attribute__((always_inline)) T512V static inline __m512 q4_vnni_tok(const __m512i k[3], const int8_t *xb, __m512 sc,
                                                                     __m512 acc)
{
    __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), k[0], _mm512_loadu_si512(xb));
    __m512i p2 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), k[0], _mm512_loadu_si512(xb + 128));
    p1 = _mm512_dpbusd_epi32(p1, k[1], _mm512_loadu_si512(xb + 64));
    p2 = _mm512_dpbusd_epi32(p2, k[1], _mm512_loadu_si512(xb + 192));
    /* |p1| < 2^15, so 256 p1 + p2 is exact in int32 and in float32 */
    __m512i p = _mm512_add_epi32(_mm512_slli_epi32(p1, 8), p2);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), sc, acc);
}

__attribute__((always_inline)) T512V static inline __m512 q4_vnni_step(const uint8_t *qb, const int8_t *xb, int32_t nq,
                                                                      __m512 sc, __m512 acc)
{
    __m512i k[3];
    q4_vnni_codes(qb, nq, k);
    return q4_vnni_tok(k, xb, sc, acc);
}

/* The weight scales of groups g0 .. g0 + 15 of the row whose scales start at
 * sc (n < 16 of them: zero past), as float32. The scale stream is prefetched
 * as far ahead as the codes (it is 1/8 of their size in float16). */
__attribute__((always_inline)) T512V static inline __m512 vnni_wscales16(const aae_wmat *w, size_t sc, int32_t g0,
                                                                        int32_t n)
{
    __mmask16 mk = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
    if (!AAE_MM_W_IS(w, AAE_W_Q4F32)) { /* float16 scales: q4f16_1, q3f16_1 */
        const uint16_t *p = (const uint16_t *)w->scale + sc + g0;
        _mm_prefetch((const char *)((uintptr_t)p + DECODE_PREFETCH_BYTES / 8), _MM_HINT_T0);
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mk, p));
    }
    const float *p = (const float *)w->scale + sc + g0;
    _mm_prefetch((const char *)((uintptr_t)p + DECODE_PREFETCH_BYTES / 4), _MM_HINT_T0);
    return _mm512_maskz_loadu_ps(mk, p);
}

/* Combined scales (weight scale x x scale) of the 16 groups from g0 whose
 * weight scales are ws, for the token whose x8scale and x8gofs are xs and
 * gofs; the row's code-offset term sum_g cs[g] x8gofs[g] accumulated in *off. */
__attribute__((always_inline)) T512V static inline __m512 vnni_scales16(__m512 ws, const float *xs, const float *gofs,
                                                                       int32_t g0, __m512 *off)
{
    __m512 c = _mm512_mul_ps(ws, _mm512_loadu_ps(xs + g0));
    *off = _mm512_fmadd_ps(c, _mm512_loadu_ps(gofs + g0), *off);
    return c;
}

/* Decode with two-part int8 activations on AVX-512 VNNI (x8 layout:
 * matmul_impl.h; as fine as int16, see quantize_x8): 64 weight bytes = 4
 * groups per step; the low and the high nibbles (codes 0..15, unsigned) meet
 * the evens and the odds of each part in vpdpbusd (exact in int32; the code
 * offset, -7 x the partner sums, comes in per row through x8gofs, see
 * vnni_scales16). Lanes 4i .. 4i + 3 hold group i's partial sums; one FMA
 * applies the combined scale (weight scale x x scale) of each lane's group.
 * The scales are read in the dot itself, 16 groups at a time (a separate pass
 * over a block of rows first cost 110M q4f16_1 10% at 1 thread). */
/* The VNNI dot of row r: groups of gsize codes (16 bytes each), xg bytes of
 * x8 per group; 16 groups at a time get their combined scales (and the row's
 * offset term, started in acc1), then step takes 4 groups (64 code bytes) at
 * a time, the two accumulators alternating. Inlined into each dot, so step is
 * a direct call. */
typedef __m512 (*vnni_step_fn)(const uint8_t *qb, const int8_t *xb, int32_t nq, __m512 sc, __m512 acc);
__attribute__((always_inline)) T512V static inline float vnni_dot(const aae_wmat *w, int32_t r, const aae_mm_job *j,
                                                                 int32_t gsize, int32_t xg, vnni_step_fn step)
{
    int32_t ng = (w->k + gsize - 1) / gsize;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    const __m512i ix0 = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0), four = _mm512_set1_epi32(4);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (int32_t g0 = 0; g0 < ng; g0 += 16) {
        int32_t n = ng - g0 < 16 ? ng - g0 : 16;
        __m512 csv = vnni_scales16(vnni_wscales16(w, (size_t)r * ng, g0, n), j->x8scale, j->x8gofs, g0, &acc1);
        __m512i ix = ix0;
        for (int32_t i = 0; i < n; i += 4, ix = _mm512_add_epi32(ix, four)) {
            int32_t g = g0 + i;
            __m512 t = step(qb + 16 * g, j->x8 + (size_t)xg * g, ng - g, _mm512_permutexvar_ps(ix, csv), acc0);
            acc0 = acc1;
            acc1 = t;
        }
    }
    return hsum512(_mm512_add_ps(acc0, acc1));
}

/* The sums of the 16 lanes of v[0] .. v[3], each added in the order of
 * _mm512_reduce_add_ps (lanes i + (i + 8), then + (i + 4), then the pairs {0,
 * 2} and {1, 3}, then those two), so the same bits as hsum512 of each; 16
 * shuffles and adds for the four against 4 x 8. (The shuffle selectors are
 * literals, as clang wants.) */
T512 static inline __m128 hsum512x4(const __m512 v[4])
{
    /* lanes i + (i + 8): v[0] and v[1] in b0's halves, v[2] and v[3] in b1's */
    __m512 b0 = _mm512_add_ps(_mm512_shuffle_f32x4(v[0], v[1], 0x44), _mm512_shuffle_f32x4(v[0], v[1], 0xee));
    __m512 b1 = _mm512_add_ps(_mm512_shuffle_f32x4(v[2], v[3], 0x44), _mm512_shuffle_f32x4(v[2], v[3], 0xee));
    /* + (i + 4): 128-bit lane t holds v[t]'s 4 sums */
    __m512 c = _mm512_add_ps(_mm512_shuffle_f32x4(b0, b1, 0x88), _mm512_shuffle_f32x4(b0, b1, 0xdd));
    /* {0, 2} and {1, 3}, then those two, in every lane of each 128 bits */
    __m512 d = _mm512_add_ps(_mm512_shuffle_ps(c, c, 0x44), _mm512_shuffle_ps(c, c, 0xee));
    __m512 e = _mm512_add_ps(_mm512_shuffle_ps(d, d, 0x00), _mm512_shuffle_ps(d, d, 0x55));
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0), e));
}

/* The dots of the 4 rows r .. r + 3 at once, into y[0 .. 3]: each row's
 * steps, accumulators and sum as vnni_dot's (the same bits), the rows
 * interleaved step by step, so that one loop serves 4 rows and one hsum512x4
 * their sums. (vnni_dot keeps its own loop: written as this for 1 row, the
 * 4-bit decode ran 5% slower from L2, 53 -> 50 GB/s.) */
__attribute__((always_inline)) T512V static inline void vnni_dot_rows4(const aae_wmat *w, int32_t r,
                                                                      const aae_mm_job *j, int32_t gsize, int32_t xg,
                                                                      vnni_step_fn step, float *y)
{
    int32_t ng = (w->k + gsize - 1) / gsize;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    size_t rs = 16 * (size_t)ng;
    const __m512i ix0 = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0), four = _mm512_set1_epi32(4);
    __m512 acc0[4], acc1[4], csv[4];
    for (int t = 0; t < 4; t++)
        acc0[t] = acc1[t] = _mm512_setzero_ps();
    for (int32_t g0 = 0; g0 < ng; g0 += 16) {
        int32_t n = ng - g0 < 16 ? ng - g0 : 16;
        for (int t = 0; t < 4; t++)
            csv[t] = vnni_scales16(vnni_wscales16(w, (size_t)(r + t) * ng, g0, n), j->x8scale, j->x8gofs, g0, &acc1[t]);
        __m512i ix = ix0;
        for (int32_t i = 0; i < n; i += 4, ix = _mm512_add_epi32(ix, four)) {
            int32_t g = g0 + i;
            for (int t = 0; t < 4; t++) {
                __m512 v = step(qb + (size_t)t * rs + 16 * g, j->x8 + (size_t)xg * g, ng - g,
                                _mm512_permutexvar_ps(ix, csv[t]), acc0[t]);
                acc0[t] = acc1[t];
                acc1[t] = v;
            }
        }
    }
    __m512 v[4];
    for (int t = 0; t < 4; t++)
        v[t] = _mm512_add_ps(acc0[t], acc1[t]);
    _mm_storeu_ps(y, hsum512x4(v));
}

/* The batched decode (a few tokens, matmul_impl.h; 4- and 3-bit weights): T
 * tokens (T <= XB_TOKENS) against groups gb .. ge - 1 of row r (gb a
 * multiple of 16), each step's codes loaded and unpacked once for all of them
 * (codes), then tok per token (its own x8 block, x8tok bytes after the
 * previous token's); the T results stored into y (first) or added. One
 * accumulator per token: the T chains are independent. */
typedef void (*vnni_codes_fn)(const uint8_t *qb, int32_t nq, __m512i k[3]);
typedef __m512 (*vnni_tok_fn)(const __m512i k[3], const int8_t *xb, __m512 sc, __m512 acc);
__attribute__((always_inline)) T512V static inline void vnni_dot_tokens(const aae_mm_job *j, int32_t r, int32_t t0,
                                                                       int T, int32_t gb, int32_t ge, int first,
                                                                       int32_t gsize, int32_t xg,
                                                                       vnni_codes_fn codes, vnni_tok_fn tok)
{
    const aae_wmat *w = j->w;
    int32_t ng = (w->k + gsize - 1) / gsize;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    const __m512i ix0 = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0), four = _mm512_set1_epi32(4);
    const int8_t *x8[XB_TOKENS];
    const float *xs[XB_TOKENS], *gofs[XB_TOKENS];
    __m512 acc[XB_TOKENS], off[XB_TOKENS];
    for (int t = 0; t < T; t++) {
        x8[t] = xb_tok(j, j->x8, t0 + t);
        xs[t] = xb_tok(j, j->x8scale, t0 + t);
        gofs[t] = xb_tok(j, j->x8gofs, t0 + t);
        acc[t] = off[t] = _mm512_setzero_ps();
    }
    for (int32_t g0 = gb; g0 < ge; g0 += 16) {
        int32_t n = ng - g0 < 16 ? ng - g0 : 16;
        __m512 ws = vnni_wscales16(w, (size_t)r * ng, g0, n), cs[XB_TOKENS];
        for (int t = 0; t < T; t++)
            cs[t] = vnni_scales16(ws, xs[t], gofs[t], g0, &off[t]);
        __m512i ix = ix0;
        for (int32_t i = 0; i < n; i += 4, ix = _mm512_add_epi32(ix, four)) {
            int32_t g = g0 + i;
            __m512i k[3];
            codes(qb + 16 * g, ng - g, k);
            for (int t = 0; t < T; t++)
                acc[t] = tok(k, x8[t] + (size_t)xg * g, _mm512_permutexvar_ps(ix, cs[t]), acc[t]);
        }
    }
    for (int t = 0; t < T; t++) {
        float *y = j->y + (size_t)(t0 + t) * j->ldy + r, v = hsum512(_mm512_add_ps(acc[t], off[t]));
        *y = first ? v : *y + v;
    }
}

T512V static float dot_q4_i8_vnni(const aae_wmat *w, int32_t r, const aae_mm_job *j)
{
    return vnni_dot(w, r, j, 32, 64, q4_vnni_step);
}

T512V static void run_q4_vnni(const aae_mm_job *j, int32_t n0, int32_t n1)
{
    for (int32_t r = n0; r < n1; r++)
        j->y[r] = dot_q4_i8_vnni(j->w, r, j);
}

/* One 64-byte step of the 3-bit VNNI dot: 4 groups of 40 codes at qb (full:
 * a plain load; else only the first 16 nq bytes, nq < 4) as bytes in k[0..2]
 * (codes); against their x3 bytes at xb, scaled by sc into acc (tok). c0..c2
 * are the vpmultishiftqb controls of codes 0-7, 8-15 and 16-23 of each qword
 * (constants the compiler keeps out of the loop). */
__attribute__((always_inline)) T512VB static inline void q3_vnni_codes(const uint8_t *qb, int32_t nq, __m512i k[3])
{
    /* bit offset of code c (0..19) of a qword: word c / 10, 3 bits each */
#define Q3OFF(c) ((c) < 10 ? 3 * (c) : (c) < 20 ? 32 + 3 * ((c) - 10) : 0)
#define Q3CTL(m)                                                                                            \
    _mm512_set1_epi64((long long)((uint64_t)Q3OFF(8 * (m)) | (uint64_t)Q3OFF(8 * (m) + 1) << 8 |             \
                                  (uint64_t)Q3OFF(8 * (m) + 2) << 16 | (uint64_t)Q3OFF(8 * (m) + 3) << 24 |   \
                                  (uint64_t)Q3OFF(8 * (m) + 4) << 32 | (uint64_t)Q3OFF(8 * (m) + 5) << 40 |   \
                                  (uint64_t)Q3OFF(8 * (m) + 6) << 48 | (uint64_t)Q3OFF(8 * (m) + 7) << 56))
    const __m512i c0 = Q3CTL(0), c1 = Q3CTL(1), c2 = Q3CTL(2);
#undef Q3CTL
#undef Q3OFF
    const __m512i seven = _mm512_set1_epi8(7);
    PREFETCH_AHEAD(qb);
    __m512i v = nq >= 4 ? _mm512_loadu_si512(qb) : _mm512_maskz_loadu_epi8((__mmask64)((1ull << (16 * nq)) - 1ull), qb);
    __asm__("" : "+v"(v));
    k[0] = _mm512_and_si512(_mm512_multishift_epi64_epi8(c0, v), seven);
    k[1] = _mm512_and_si512(_mm512_multishift_epi64_epi8(c1, v), seven);
    k[2] = _mm512_and_si512(_mm512_multishift_epi64_epi8(c2, v), seven);
}

/* The codes of q3_vnni_codes against one token's x3 bytes at xb. */
__attribute__((always_inline)) T512VB static inline __m512 q3_vnni_tok(const __m512i k[3], const int8_t *xb, __m512 sc,
                                                                      __m512 acc)
{
    __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), k[0], _mm512_loadu_si512(xb));
    p1 = _mm512_dpbusd_epi32(p1, k[1], _mm512_loadu_si512(xb + 64));
    p1 = _mm512_dpbusd_epi32(p1, k[2], _mm512_loadu_si512(xb + 128));
    __m512i p2 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), k[0], _mm512_loadu_si512(xb + 192));
    p2 = _mm512_dpbusd_epi32(p2, k[1], _mm512_loadu_si512(xb + 256));
    p2 = _mm512_dpbusd_epi32(p2, k[2], _mm512_loadu_si512(xb + 320));
    __m512i p = _mm512_add_epi32(_mm512_slli_epi32(p1, 8), p2);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), sc, acc);
}

__attribute__((always_inline)) T512VB static inline __m512 q3_vnni_step(const uint8_t *qb, const int8_t *xb, int32_t nq,
                                                                       __m512 sc, __m512 acc)
{
    __m512i k[3];
    q3_vnni_codes(qb, nq, k);
    return q3_vnni_tok(k, xb, sc, acc);
}

/* 3-bit decode on AVX-512 VNNI + VBMI, two-part int8 activations in the x3
 * layout (matmul_impl.h): 64 weight bytes = 4 groups of 40 codes; each
 * qword (2 words, 20 codes) gives its codes as bytes with three vpmultishiftqb
 * (8 + 8 + 4 codes, the last 4 bytes meet zero activations), masked to 3 bits;
 * vpdpbusd as in the 4-bit kernel (the code offset, -3 x the partner sums,
 * comes in per row through x8gofs); lanes 4i .. 4i + 3 hold group i.
 * |p1| < 2^16, so 256 p1 + p2 is exact. */
T512VB static float dot_q3_i8_vnni(const aae_wmat *w, int32_t r, const aae_mm_job *j)
{
    return vnni_dot(w, r, j, 40, 96, q3_vnni_step);
}

/* Rows 4 at a time (vnni_dot_rows4) when they are short (up to 32 groups,
 * 1280 columns) or the matmul runs on one thread; the rest one by one. The
 * 3-bit decode is bound by its arithmetic at 1 thread, and a row's block
 * setups, loop and sum are a large part of it when the row is short: from L2,
 * 768 columns 29 -> 38 GB/s, 2048 columns 36 -> 40; 110M q3f16_1 decode (768
 * columns in all but the down projection) 487 -> 548 tok/s at 1 thread, 807
 * -> 857 at 2; 1.1B q3f16_1 (2048 and 5632 columns) at 1 thread 68.1 -> 70.7.
 * With more threads the decode is memory-bound, and 4 long rows (1 KiB or
 * more apart) are 4 streams, which cost more than the sums save (1.1B
 * q3f16_1 at 2 threads -13%): long rows one at a time there. The 4-bit
 * decode is memory-bound at 1 thread already and reads one row at a time. */
T512VB static void run_q3_vnni(const aae_mm_job *j, int32_t n0, int32_t n1)
{
    int32_t r = n0;
    if ((j->w->k + 39) / 40 <= 32 || j->n_tasks == 1)
        for (; r + 4 <= n1; r += 4)
            vnni_dot_rows4(j->w, r, j, 40, 96, q3_vnni_step, j->y + r);
    for (; r < n1; r++)
        j->y[r] = dot_q3_i8_vnni(j->w, r, j);
}

__attribute__((always_inline)) T512V static inline void q4_vnni_dot_tokens(const aae_mm_job *j, int32_t r, int32_t t0,
                                                                          int T, int32_t gb, int32_t ge, int first)
{
    vnni_dot_tokens(j, r, t0, T, gb, ge, first, 32, 64, q4_vnni_codes, q4_vnni_tok);
}

__attribute__((always_inline)) T512VB static inline void q3_vnni_dot_tokens(const aae_mm_job *j, int32_t r, int32_t t0,
                                                                           int T, int32_t gb, int32_t ge, int first)
{
    vnni_dot_tokens(j, r, t0, T, gb, ge, first, 40, 96, q3_vnni_codes, q3_vnni_tok);
}

T512V static void run_q4_vnni_tokens(const aae_mm_job *j, int32_t n0, int32_t n1)
{
    xb_run(j, n0, n1, 32, 64, q4_vnni_dot_tokens);
}

T512VB static void run_q3_vnni_tokens(const aae_mm_job *j, int32_t n0, int32_t n1)
{
    xb_run(j, n0, n1, 40, 96, q3_vnni_dot_tokens);
}

/* y[i, r0 + t] = x_i . wt_t for i < m, t < nr (nr <= 4), kp a multiple of 16. */
T512 static void tile_512(const aae_mm_job *j, const float *wt, int32_t nr, int32_t kp, int32_t r0)
{
    const float *w0 = wt, *w1 = wt + kp, *w2 = wt + 2 * (size_t)kp, *w3 = wt + 3 * (size_t)kp;
    int32_t i = 0;
    for (; i + 4 <= j->m; i += 4) {
        const float *x0 = j->xp + (size_t)i * j->ldxp, *x1 = x0 + j->ldxp, *x2 = x1 + j->ldxp, *x3 = x2 + j->ldxp;
        __m512 a[4][4];
        for (int p = 0; p < 4; p++)
            for (int q = 0; q < 4; q++)
                a[p][q] = _mm512_setzero_ps();
        for (int32_t k = 0; k < kp; k += 16) {
            __m512 b0 = _mm512_loadu_ps(w0 + k), b1 = _mm512_loadu_ps(w1 + k);
            __m512 b2 = _mm512_loadu_ps(w2 + k), b3 = _mm512_loadu_ps(w3 + k);
            __m512 xv[4] = {_mm512_loadu_ps(x0 + k), _mm512_loadu_ps(x1 + k), _mm512_loadu_ps(x2 + k),
                            _mm512_loadu_ps(x3 + k)};
            for (int p = 0; p < 4; p++) {
                a[p][0] = _mm512_fmadd_ps(xv[p], b0, a[p][0]);
                a[p][1] = _mm512_fmadd_ps(xv[p], b1, a[p][1]);
                a[p][2] = _mm512_fmadd_ps(xv[p], b2, a[p][2]);
                a[p][3] = _mm512_fmadd_ps(xv[p], b3, a[p][3]);
            }
        }
        for (int p = 0; p < 4; p++)
            for (int q = 0; q < nr; q++)
                j->y[(size_t)(i + p) * j->ldy + r0 + q] = hsum512(a[p][q]);
    }
    for (; i < j->m; i++) {
        const float *x0 = j->xp + (size_t)i * j->ldxp;
        for (int q = 0; q < nr; q++) {
            const float *wq = wt + (size_t)q * kp;
            __m512 acc = _mm512_setzero_ps();
            for (int32_t k = 0; k < kp; k += 16)
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(x0 + k), _mm512_loadu_ps(wq + k), acc);
            j->y[(size_t)i * j->ldy + r0 + q] = hsum512(acc);
        }
    }
}

/* Groups [k0, k1) of row r as float32 in path order into out (k1 - k0 values,
 * zero past the row's data). k0 is a multiple of AAE_MM_KBLOCK; k1 may be
 * aae_mm_kpad(k), the whole padded row. */
T512 static void deq_range_512(const aae_wmat *w, int32_t r, int32_t k0, int32_t k1, float *out)
{
    int32_t done = k0;
    if (AAE_MM_W_IS(w, AAE_W_Q4F16) || AAE_MM_W_IS(w, AAE_W_Q4F32)) {
        int32_t ng = (w->k + 31) / 32, g1 = k1 / 32 < ng ? k1 / 32 : ng;
        const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
        for (int32_t g = k0 / 32; g < g1; g++) {
            __m512 lo, hi, s = _mm512_set1_ps(scale_of(w, (size_t)r * ng + g));
            q4_group_512(qb + 16 * g, &lo, &hi);
            _mm512_storeu_ps(out + 32 * g - k0, _mm512_mul_ps(lo, s));
            _mm512_storeu_ps(out + 32 * g - k0 + 16, _mm512_mul_ps(hi, s));
            done = 32 * (g + 1);
        }
    } else if (AAE_MM_W_IS(w, AAE_W_Q3F16)) {
        int32_t ng = (w->k + 39) / 40, g1 = k1 / 40 < ng ? k1 / 40 : ng;
        const uint32_t *q = (const uint32_t *)w->q + (size_t)r * 4 * ng;
        for (int32_t g = k0 / 40; g < g1; g++) {
            __m512 c[3], s = _mm512_set1_ps(_cvtsh_ss(((const uint16_t *)w->scale)[(size_t)r * ng + g]));
            q3_group_512(q + 4 * g, c);
            _mm512_storeu_ps(out + 40 * g - k0, _mm512_mul_ps(c[0], s));
            _mm512_storeu_ps(out + 40 * g - k0 + 16, _mm512_mul_ps(c[1], s));
            _mm256_storeu_ps(out + 40 * g - k0 + 32, _mm512_castps512_ps256(_mm512_mul_ps(c[2], s)));
            done = 40 * (g + 1);
        }
    } else {
        int32_t e = k1 < w->k ? k1 : w->k;
        size_t base = (size_t)r * w->k;
        int32_t t0 = k0;
        if (AAE_MM_W_IS(w, AAE_W_F16))
            for (; t0 + 16 <= e; t0 += 16)
                _mm512_storeu_ps(out + t0 - k0, _mm512_cvtph_ps(_mm256_loadu_si256(
                                                    (const __m256i *)((const uint16_t *)w->q + base + t0))));
        else if (AAE_MM_W_IS(w, AAE_W_F32))
            for (; t0 + 16 <= e; t0 += 16)
                _mm512_storeu_ps(out + t0 - k0, _mm512_loadu_ps((const float *)w->q + base + t0));
        for (int32_t t = t0; t < e; t++) {
            float v;
            if (AAE_MM_W_IS(w, AAE_W_F32))
                v = ((const float *)w->q)[base + t];
            else if (AAE_MM_W_IS(w, AAE_W_F16))
                v = _cvtsh_ss(((const uint16_t *)w->q)[base + t]);
            else
                v = aae_k_bf16_to_f32(((const uint16_t *)w->q)[base + t]);
            out[t - k0] = v;
        }
        done = e > k0 ? e : k0;
    }
    for (int32_t t = done; t < k1; t++)
        out[t - k0] = 0.0f;
}

#define XT_FMA4(q, b)                                                                                     \
    do {                                                                                                   \
        a##q##0 = _mm512_fmadd_ps(b, x0, a##q##0);                                                         \
        a##q##1 = _mm512_fmadd_ps(b, x1, a##q##1);                                                         \
        a##q##2 = _mm512_fmadd_ps(b, x2, a##q##2);                                                         \
        a##q##3 = _mm512_fmadd_ps(b, x3, a##q##3);                                                         \
    } while (0)

/* Stores (first k-block) or adds 64 token results into a row of the result block. */
T512 static inline void xt_acc(float *dst, int first, __m512 v0, __m512 v1, __m512 v2, __m512 v3)
{
    if (!first) {
        v0 = _mm512_add_ps(v0, _mm512_loadu_ps(dst));
        v1 = _mm512_add_ps(v1, _mm512_loadu_ps(dst + 16));
        v2 = _mm512_add_ps(v2, _mm512_loadu_ps(dst + 32));
        v3 = _mm512_add_ps(v3, _mm512_loadu_ps(dst + 48));
    }
    _mm512_storeu_ps(dst, v0);
    _mm512_storeu_ps(dst + 16, v1);
    _mm512_storeu_ps(dst + 32, v2);
    _mm512_storeu_ps(dst + 48, v3);
}

/* The last block of tokens when 48 or fewer are left: 4 weight rows x nv
 * vectors of 16 tokens (a block of 64 computed 65 tokens at the cost of 128). */
__attribute__((always_inline)) T512 static inline void xt_narrow_512(const aae_mm_job *j, const float *wt, int32_t kn,
                                                                    int32_t k0, int32_t ld, int32_t ib, float *res,
                                                                    int first, int nv)
{
    __m512 a[4][3];
    for (int q = 0; q < 4; q++)
        for (int v = 0; v < nv; v++)
            a[q][v] = _mm512_setzero_ps();
    const float *xc = j->xt + (size_t)k0 * ld + ib;
    for (int32_t k = 0; k < kn; k++, xc += ld) {
        __m512 x[3];
        for (int v = 0; v < nv; v++)
            x[v] = _mm512_loadu_ps(xc + 16 * v);
        for (int q = 0; q < 4; q++) {
            __m512 b = _mm512_set1_ps(wt[(size_t)q * kn + k]);
            for (int v = 0; v < nv; v++)
                a[q][v] = _mm512_fmadd_ps(b, x[v], a[q][v]);
        }
    }
    for (int q = 0; q < 4; q++)
        for (int v = 0; v < nv; v++) {
            float *dst = res + (size_t)q * ld + ib + 16 * v;
            _mm512_storeu_ps(dst, first ? a[q][v] : _mm512_add_ps(a[q][v], _mm512_loadu_ps(dst)));
        }
}

/* 4 weight rows (wt, kn values each) x 64 tokens from column ib of x^T, 16
 * accumulators in registers. */
T512 static void xt_block_512(const aae_mm_job *j, const float *wt, int32_t kn, int32_t k0, int32_t ld, int32_t ib,
                              float *res, int first)
{
    int32_t left = j->m - ib;
    if (left <= 48) {
        if (left > 32)
            xt_narrow_512(j, wt, kn, k0, ld, ib, res, first, 3);
        else if (left > 16)
            xt_narrow_512(j, wt, kn, k0, ld, ib, res, first, 2);
        else
            xt_narrow_512(j, wt, kn, k0, ld, ib, res, first, 1);
        return;
    }
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    const float *xc = j->xt + (size_t)k0 * ld + ib;
    const float *w0 = wt, *w1 = wt + kn, *w2 = wt + 2 * (size_t)kn, *w3 = wt + 3 * (size_t)kn;
    for (int32_t k = 0; k < kn; k++, xc += ld) {
        __m512 x0 = _mm512_loadu_ps(xc), x1 = _mm512_loadu_ps(xc + 16);
        __m512 x2 = _mm512_loadu_ps(xc + 32), x3 = _mm512_loadu_ps(xc + 48);
        __m512 b = _mm512_set1_ps(w0[k]);
        XT_FMA4(0, b);
        b = _mm512_set1_ps(w1[k]);
        XT_FMA4(1, b);
        b = _mm512_set1_ps(w2[k]);
        XT_FMA4(2, b);
        b = _mm512_set1_ps(w3[k]);
        XT_FMA4(3, b);
    }
    xt_acc(res + ib, first, a00, a01, a02, a03);
    xt_acc(res + ld + ib, first, a10, a11, a12, a13);
    xt_acc(res + 2 * (size_t)ld + ib, first, a20, a21, a22, a23);
    xt_acc(res + 3 * (size_t)ld + ib, first, a30, a31, a32, a33);
}

/* Prefill on AVX-512: y^T blocks as outer products of dequantized weight
 * elements (broadcast) and columns of x^T: 4 weight rows x 64 tokens in 16
 * accumulators; k-blocked so that an x^T block stays in L2. Results of
 * AAE_MM_XT_ROWS rows are gathered in scratch, then written to y one token row
 * at a time (contiguous: strided single stores into y thrash the L1 sets). */
T512 static void run_xt_512(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1)
{
    run_xt(j, task, n0, n1, deq_range_512, xt_block_512, 64);
}

/* The int8 prefill (4- and 3-bit weights, AVX-512 VNNI): 16 weight rows at a
 * time, k-blocks of AAE_MM_KBLOCK columns (65 groups of 32, 52 of 40)
 * repacked into task scratch as codes (0..15 or 0..7) in vpdpbusd order: for
 * group g and k-step s (4 of x's elements: 4-bit, s < 4 evens 4s .. 4s + 3,
 * else odds; 3-bit, elements 4s .. 4s + 3), 16 dwords, one per row, and the
 * rows' scales; the next block is prefetched into L2 meanwhile. Each block of
 * XQ_TOKENS tokens then runs over the block's groups: per k-step one load of
 * the repacked codes, two vpdpbusd per token with its x bytes broadcast (the
 * two parts); per group, per token, 256 p1 + p2 + the group's code offset
 * (exact in int32 and float32) times weight scale x x scale into a float32
 * accumulator of 16 rows. */
#ifndef XQ_TOKENS
#define XQ_TOKENS 6
#endif
/* T tokens from t0 against the block's groups gb .. gb + nbg - 1; S k-steps
 * per group (8: 4-bit, 10: 3-bit), x part 2 at 4 S bytes after part 1. */
__attribute__((always_inline)) T512V static inline void xq_tokens(const aae_mm_job *j, const uint32_t *wr,
                                                                 const float *wsc, int32_t gb, int32_t nbg,
                                                                 int32_t t0, int T, int32_t r0, int32_t nr, int S)
{
    __m512 f[XQ_TOKENS];
    for (int t = 0; t < T; t++)
        f[t] = _mm512_setzero_ps();
    for (int32_t gi = 0; gi < nbg; gi++) {
        int32_t g = gb + gi;
        __m512i a1[XQ_TOKENS], a2[XQ_TOKENS];
        for (int t = 0; t < T; t++)
            a1[t] = a2[t] = _mm512_setzero_si512();
#pragma GCC unroll 10
        for (int s = 0; s < S; s++) {
            __m512i wv = _mm512_loadu_si512(wr + (size_t)(gi * S + s) * 16);
            for (int t = 0; t < T; t++) {
                const int8_t *xb = j->xq + 8 * S * ((size_t)(t0 + t) * j->ldxq + g) + 4 * s;
                int32_t d1, d2;
                __builtin_memcpy(&d1, xb, 4);
                __builtin_memcpy(&d2, xb + 4 * S, 4);
                a1[t] = _mm512_dpbusd_epi32(a1[t], wv, _mm512_set1_epi32(d1));
                a2[t] = _mm512_dpbusd_epi32(a2[t], wv, _mm512_set1_epi32(d2));
            }
        }
        __m512 sw = _mm512_loadu_ps(wsc + (size_t)gi * 16);
        for (int t = 0; t < T; t++) {
            size_t at = (size_t)(t0 + t) * j->ldxq + g;
            __m512i p = _mm512_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(a1[t], 8), a2[t]),
                                         _mm512_set1_epi32(j->xqo[at]));
            f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(sw, _mm512_set1_ps(j->xqs[at])), f[t]);
        }
    }
    __mmask16 mk = (__mmask16)((1u << nr) - 1u);
    for (int t = 0; t < T; t++) {
        float *y = j->y + (size_t)(t0 + t) * j->ldy + r0;
        _mm512_mask_storeu_ps(y, mk, gb == 0 ? f[t] : _mm512_add_ps(f[t], _mm512_maskz_loadu_ps(mk, y)));
    }
}

/* Every token against the block: XQ_TOKENS at a time, the rest one by one. */
__attribute__((always_inline)) T512V static inline void xq_all_tokens(const aae_mm_job *j, const uint32_t *wr,
                                                                     const float *wsc, int32_t gb, int32_t nbg,
                                                                     int32_t r0, int32_t nr, int S)
{
    int32_t t0 = 0;
    for (; t0 + XQ_TOKENS <= j->m; t0 += XQ_TOKENS)
        xq_tokens(j, wr, wsc, gb, nbg, t0, XQ_TOKENS, r0, nr, S);
    for (; t0 < j->m; t0++)
        xq_tokens(j, wr, wsc, gb, nbg, t0, 1, r0, nr, S);
}

/* Dword d of the 16-byte group at base of 16 rows (row stride rs; zeros from
 * row nr on), rows in lanes: o[d] (4 rows per vector, then two rounds of
 * vpermt2d). */
T512V static inline void xq_rows16(const uint8_t *base, size_t rs, int32_t nr, __m512i o[4])
{
    /* dwords 0, 1 (t01) or 2, 3 (t23) of 8 rows held 4 per vector in two
     * vectors: [rows 0-3 d, rows 4-7 d, rows 0-3 d + 1, rows 4-7 d + 1] */
    const __m512i t01 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
    const __m512i t23 = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
    const __m512i lo8 = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    const __m512i hi8 = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    __m512i z[4];
    for (int qd = 0; qd < 4; qd++) {
        __m128i r4[4];
        for (int i = 0; i < 4; i++)
            r4[i] = 4 * qd + i < nr ? _mm_loadu_si128((const __m128i *)(base + (size_t)(4 * qd + i) * rs))
                                    : _mm_setzero_si128();
        z[qd] = _mm512_inserti32x4(
            _mm512_inserti32x4(_mm512_inserti32x4(_mm512_castsi128_si512(r4[0]), r4[1], 1), r4[2], 2), r4[3], 3);
    }
    __m512i a = _mm512_permutex2var_epi32(z[0], t01, z[1]), b = _mm512_permutex2var_epi32(z[0], t23, z[1]);
    __m512i c = _mm512_permutex2var_epi32(z[2], t01, z[3]), e = _mm512_permutex2var_epi32(z[2], t23, z[3]);
    o[0] = _mm512_permutex2var_epi32(a, lo8, c);
    o[1] = _mm512_permutex2var_epi32(a, hi8, c);
    o[2] = _mm512_permutex2var_epi32(b, lo8, e);
    o[3] = _mm512_permutex2var_epi32(b, hi8, e);
}

/* Repack one group of 16 rows into wr (S dwords per row, see above). */
T512V static inline void xq_repack_q4(const uint8_t *base, size_t rs, int32_t nr, uint32_t *wr)
{
    const __m512i mask = _mm512_set1_epi8(0x0f);
    __m512i o[4];
    xq_rows16(base, rs, nr, o);
    for (int d = 0; d < 4; d++) {
        _mm512_storeu_si512(wr + (size_t)d * 16, _mm512_and_si512(o[d], mask));
        _mm512_storeu_si512(wr + (size_t)(4 + d) * 16, _mm512_and_si512(_mm512_srli_epi16(o[d], 4), mask));
    }
}

T512V static inline void xq_repack_q3(const uint8_t *base, size_t rs, int32_t nr, uint32_t *wr)
{
    const __m512i seven = _mm512_set1_epi32(7);
    __m512i o[4];
    xq_rows16(base, rs, nr, o);
    for (int s = 0; s < 10; s++) {
        __m512i d = _mm512_setzero_si512();
        for (int b = 0; b < 4; b++) { /* element e = 4s + b: code e % 10 of word e / 10 */
            int e = 4 * s + b;
            __m512i c = _mm512_and_si512(_mm512_srl_epi32(o[e / 10], _mm_cvtsi32_si128(3 * (e % 10))), seven);
            d = _mm512_or_si512(d, _mm512_slli_epi32(c, 8 * b));
        }
        _mm512_storeu_si512(wr + (size_t)s * 16, d);
    }
}

T512V static void run_xq(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1)
{
    const aae_wmat *w = j->w;
    int q3 = AAE_MM_W_IS(w, AAE_W_Q3F16);
    int32_t G = q3 ? 40 : 32, S = G / 4, KG = AAE_MM_KBLOCK / G, ng = (w->k + G - 1) / G;
    size_t rs = 16 * (size_t)ng; /* bytes per row: 16 per group */
    uint32_t *wr = (uint32_t *)(j->task_scratch + (size_t)task * j->task_bytes);
    float *wsc = (float *)(wr + (size_t)KG * S * 16);
    for (int32_t r0 = n0; r0 < n1; r0 += 16) {
        int32_t nr = n1 - r0 < 16 ? n1 - r0 : 16;
        const uint8_t *q0 = (const uint8_t *)w->q + (size_t)r0 * rs;
        for (int32_t gb = 0; gb < ng; gb += KG) {
            int32_t nbg = ng - gb < KG ? ng - gb : KG;
            /* the next block's codes into L2 while this one computes */
            int32_t ngb = gb + KG < ng ? gb + KG : 0, nr2 = nr;
            const uint8_t *q2 = q0;
            if (ngb == 0) {
                nr2 = n1 - r0 - 16 < 16 ? n1 - r0 - 16 : 16;
                q2 = q0 + 16 * rs;
            }
            for (int32_t t = 0; t < nr2; t++) {
                const uint8_t *p = q2 + (size_t)t * rs + 16 * (size_t)ngb;
                int32_t nb = 16 * (ng - ngb < KG ? ng - ngb : KG);
                for (int32_t b = 0; b < nb; b += 64)
                    _mm_prefetch((const char *)(p + b), _MM_HINT_T1);
            }
            for (int32_t gi = 0; gi < nbg; gi++) {
                const uint8_t *base = q0 + 16 * (size_t)(gb + gi);
                if (q3)
                    xq_repack_q3(base, rs, nr, wr + (size_t)gi * S * 16);
                else
                    xq_repack_q4(base, rs, nr, wr + (size_t)gi * S * 16);
                for (int32_t t = 0; t < 16; t++)
                    wsc[gi * 16 + t] = t < nr ? scale_of(w, (size_t)(r0 + t) * ng + gb + gi) : 0.0f;
            }
            if (q3) /* S a constant in each, so the k-steps unroll */
                xq_all_tokens(j, wr, wsc, gb, nbg, r0, nr, 10);
            else
                xq_all_tokens(j, wr, wsc, gb, nbg, r0, nr, 8);
        }
    }
}

T512 static int run_512(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1)
{
    const aae_wmat *w = j->w;
    if (j->xq) { /* 3- or 4-bit weights: the int8 prefill */
        run_xq(j, task, n0, n1);
        return 1;
    }
    if (j->m == 1 && j->x8) { /* 3- or 4-bit weights: the VNNI decodes */
        if (AAE_MM_W_IS(w, AAE_W_Q3F16))
            run_q3_vnni(j, n0, n1);
        else
            run_q4_vnni(j, n0, n1);
        return 1;
    }
    if (j->x8) { /* a few tokens (k_matmul.c): the batched VNNI decodes */
        if (AAE_MM_W_IS(w, AAE_W_Q3F16))
            run_q3_vnni_tokens(j, n0, n1);
        else
            run_q4_vnni_tokens(j, n0, n1);
        return 1;
    }
    if (j->m == 1 && j->x16 && (AAE_MM_W_IS(w, AAE_W_Q4F16) || AAE_MM_W_IS(w, AAE_W_Q4F32))) {
        for (int32_t r = n0; r < n1; r++)
            j->y[r] = dot_q4_i16_512(w, r, j->x16, j->xscale, aae_mm_kpad(w->k) / 32);
        return 1;
    }
    if (j->m > 1 && j->m <= AAE_MM_XB_MAX_F16 && AAE_MM_W_IS(w, AAE_W_F16)) {
        run_f16_512_tokens(j, n0, n1); /* a few tokens: the batched decode */
        return 1;
    }
    if (j->m == 1) {
        float (*dot)(const aae_wmat *, int32_t, const float *) = NULL;
        if (AAE_MM_W_IS(w, AAE_W_Q4F16) || AAE_MM_W_IS(w, AAE_W_Q4F32))
            dot = dot_q4_512;
        else if (AAE_MM_W_IS(w, AAE_W_Q3F16))
            dot = dot_q3_512;
        else if (AAE_MM_W_IS(w, AAE_W_F16))
            dot = dot_f16_512;
        if (dot) {
            for (int32_t r = n0; r < n1; r++)
                j->y[r] = dot(w, r, j->xp);
            return 1;
        }
    }
    if (j->xt) {
        run_xt_512(j, task, n0, n1);
        return 1;
    }
    int32_t kp = aae_mm_kpad(w->k);
    float *wt = (float *)(j->task_scratch + (size_t)task * j->task_bytes);
    for (int32_t r0 = n0; r0 < n1; r0 += AAE_MM_TILE) {
        int32_t nr = n1 - r0 < AAE_MM_TILE ? n1 - r0 : AAE_MM_TILE;
        for (int32_t t = 0; t < AAE_MM_TILE; t++)
            if (t < nr)
                deq_range_512(w, r0 + t, 0, kp, wt + (size_t)t * kp);
            else
                for (int32_t i = 0; i < kp; i++)
                    wt[(size_t)t * kp + i] = 0.0f;
        tile_512(j, wt, nr, kp, r0);
    }
    return 1;
}

/* ------------------------------------------------------------------- AVX2 */

T256 static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

T256 static inline void q4_group_256(const uint8_t *b, __m256 c[4])
{
    __m128i v = _mm_loadu_si128((const __m128i *)b);
    const __m128i mask = _mm_set1_epi8(0x0f), seven = _mm_set1_epi8(7);
    __m128i l = _mm_sub_epi8(_mm_and_si128(v, mask), seven);
    __m128i h = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), mask), seven);
    c[0] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(l));
    c[1] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(l, 8)));
    c[2] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(h));
    c[3] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(h, 8)));
}

T256 static inline void q3_group_256(const uint32_t *q, __m256 c[5])
{
    static const int32_t idx[40] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
    static const int32_t sh[40] = {0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27,
                                   0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27};
    __m256i words = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q));
    const __m256i seven = _mm256_set1_epi32(7), three = _mm256_set1_epi32(3);
    for (int v = 0; v < 5; v++) {
        __m256i w = _mm256_permutevar8x32_epi32(words, _mm256_loadu_si256((const __m256i *)(idx + 8 * v)));
        w = _mm256_and_si256(_mm256_srlv_epi32(w, _mm256_loadu_si256((const __m256i *)(sh + 8 * v))), seven);
        c[v] = _mm256_cvtepi32_ps(_mm256_sub_epi32(w, three));
    }
}

T256 static float dot_q4_256(const aae_wmat *w, int32_t r, const float *xp)
{
    int32_t ng = (w->k + 31) / 32;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    __m256 acc = _mm256_setzero_ps();
    for (int32_t g = 0; g < ng; g++) {
        __m256 c[4];
        q4_group_256(qb + 16 * g, c);
        const float *x = xp + 32 * g;
        __m256 t = _mm256_mul_ps(c[0], _mm256_loadu_ps(x));
        t = _mm256_fmadd_ps(c[1], _mm256_loadu_ps(x + 8), t);
        t = _mm256_fmadd_ps(c[2], _mm256_loadu_ps(x + 16), t);
        t = _mm256_fmadd_ps(c[3], _mm256_loadu_ps(x + 24), t);
        acc = _mm256_fmadd_ps(t, _mm256_set1_ps(scale_of(w, (size_t)r * ng + g)), acc);
    }
    return hsum256(acc);
}

T256 static float dot_q3_256(const aae_wmat *w, int32_t r, const float *xp)
{
    int32_t ng = (w->k + 39) / 40;
    const uint32_t *q = (const uint32_t *)w->q + (size_t)r * 4 * ng;
    const uint16_t *sc = (const uint16_t *)w->scale + (size_t)r * ng;
    __m256 acc = _mm256_setzero_ps();
    for (int32_t g = 0; g < ng; g++) {
        __m256 c[5];
        q3_group_256(q + 4 * g, c);
        const float *x = xp + 40 * g;
        __m256 t = _mm256_mul_ps(c[0], _mm256_loadu_ps(x));
        for (int v = 1; v < 5; v++)
            t = _mm256_fmadd_ps(c[v], _mm256_loadu_ps(x + 8 * v), t);
        acc = _mm256_fmadd_ps(t, _mm256_set1_ps(_cvtsh_ss(sc[g])), acc);
    }
    return hsum256(acc);
}

T256 static float dot_f16_256(const aae_wmat *w, int32_t r, const float *xp)
{
    const uint16_t *p = (const uint16_t *)w->q + (size_t)r * w->k;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int32_t k = w->k, i = 0;
    for (; i + 16 <= k; i += 16) {
        if (!(i & 16))
            PREFETCH_AHEAD(p + i);
        acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + i))), _mm256_loadu_ps(xp + i),
                               acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + i + 8))),
                               _mm256_loadu_ps(xp + i + 8), acc1);
    }
    float s = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < k; i++)
        s += aae_k_f16_to_f32(p[i]) * xp[i];
    return s;
}

/* f16_512_tokens on AVX2 + F16C: 16 weights per step, the tail past the
 * last whole 8 converted one by one. */
__attribute__((always_inline)) T256 static inline void f16_256_tokens(const aae_mm_job *j, int32_t r, int32_t t0,
                                                                     int T, int32_t gb, int32_t ge, int first)
{
    const aae_wmat *w = j->w;
    const uint16_t *p = (const uint16_t *)w->q + (size_t)r * w->k;
    int32_t k = w->k, e1 = 32 * ge < k ? 32 * ge : k;
    const float *x[XB_TOKENS];
    __m256 acc[XB_TOKENS][2];
    for (int t = 0; t < T; t++) {
        x[t] = j->xp + (size_t)(t0 + t) * j->ldxp;
        acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    }
    int32_t i = 32 * gb;
    for (; i + 16 <= e1; i += 16) {
        if (!(i & 16))
            PREFETCH_AHEAD(p + i);
        __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + i)));
        __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + i + 8)));
        for (int t = 0; t < T; t++) {
            acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x[t] + i), acc[t][0]);
            acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x[t] + i + 8), acc[t][1]);
        }
    }
    float tail[XB_TOKENS] = {0};
    for (; i < e1; i++) {
        float wv = aae_k_f16_to_f32(p[i]);
        for (int t = 0; t < T; t++)
            tail[t] += wv * x[t][i];
    }
    for (int t = 0; t < T; t++) {
        float *y = j->y + (size_t)(t0 + t) * j->ldy + r, v = hsum256(_mm256_add_ps(acc[t][0], acc[t][1])) + tail[t];
        *y = first ? v : *y + v;
    }
}

T256 static void run_f16_256_tokens(const aae_mm_job *j, int32_t n0, int32_t n1)
{
    xb_run(j, n0, n1, 32, 128, f16_256_tokens);
}

/* The int16 decodes' combined scales (weight scale x x scale) of groups g0
 * .. g0 + n - 1 (n <= 8, zero past) of row r, and their code-offset terms
 * (weight scale x x16off) added to *bias. */
T256 static inline __m256 i16_scales8(const aae_wmat *w, int32_t r, int32_t ng, int32_t g0, int32_t n,
                                      const aae_mm_job *j, __m256 *bias)
{
    __m256 ws, xsv, xov;
    size_t at = (size_t)r * ng + g0;
    if (n == 8) {
        if (AAE_MM_W_IS(w, AAE_W_Q4F32))
            ws = _mm256_loadu_ps((const float *)w->scale + at);
        else
            ws = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w->scale + at)));
        xsv = _mm256_loadu_ps(j->xscale + g0);
        xov = _mm256_loadu_ps(j->x16off + g0);
        *bias = _mm256_fmadd_ps(ws, xov, *bias);
        return _mm256_mul_ps(ws, xsv);
    }
    /* the row's last n groups, zeros past them */
    __m256i mk = aae_lanes_below256(n);
    if (AAE_MM_W_IS(w, AAE_W_Q4F32)) {
        ws = _mm256_maskload_ps((const float *)w->scale + at, mk);
    } else if (g0 + n >= 8) {
        /* the row's last 8 float16 scales, moved down 8 - n lanes by a
         * vpshufb (bytes 2 (8 - n) + i, zeros past 2 n): in registers. Scalar
         * stores into a buffer read back as one vector stall that load until
         * they retire (3-bit rows of 768 end in 4 such groups: 16% of the
         * row's time) */
        static const int8_t down[8][16] __attribute__((aligned(16))) = {
#define B(s, i) ((s) + (i) < 16 ? (s) + (i) : -128)
#define D(s)                                                                                                   \
    {B(s, 0), B(s, 1), B(s, 2),  B(s, 3),  B(s, 4),  B(s, 5),  B(s, 6),  B(s, 7),                              \
     B(s, 8), B(s, 9), B(s, 10), B(s, 11), B(s, 12), B(s, 13), B(s, 14), B(s, 15)}
            {0}, D(14), D(12), D(10), D(8), D(6), D(4), D(2)};
#undef D
#undef B
        __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w->scale + at + n - 8));
        ws = _mm256_cvtph_ps(_mm_shuffle_epi8(h, _mm_load_si128((const __m128i *)down[n])));
    } else {
        float t[8];
        for (int32_t i = 0; i < 8; i++)
            t[i] = i < n ? scale_of(w, at + i) : 0.0f;
        ws = _mm256_loadu_ps(t);
    }
    xsv = _mm256_maskload_ps(j->xscale + g0, mk);
    xov = _mm256_maskload_ps(j->x16off + g0, mk);
    *bias = _mm256_fmadd_ps(ws, xov, *bias);
    return _mm256_mul_ps(ws, xsv);
}

/* 4-bit decode on AVX2: two-part int8 activations in the x8 layout
 * (matmul_impl.h), two groups (32 code bytes) per step, as one half of the
 * AVX-512 VNNI step: low and high nibbles (codes 0..15) meet the evens and
 * odds of each part, lanes 0-3 group g, 4-7 group g + 1; PAIR(lo, hi, xb)
 * gives the step's int32 lane sums 256 p1 + p2. The combined scales come from
 * i16_scales8, with xscale = x8scale and x16off = x8scale x x8gofs (the code
 * offset), as aae_k_matmul sets them for these kernels. */
/* One step: 32 code bytes at q (groups g, g + 1; lanes 0-3 and 4-7), x8 at
 * xb, into acc; the pair's combined scales are lane s of each half of ce (a
 * round's 8 scales in the order of ev: groups 0, 2, 4, 6, then 1, 3, 5, 7), so
 * that an in-lane vpermilps with imm (s in every 2-bit field) spreads them. A
 * vpermps from the scales as loaded per step instead (lanes across halves)
 * cost about 4% of the kernel's time (k 2048, from L2, Zen 3). */
#define Q4_X8_256_STEP(PAIR, q, xb, ce, imm, acc)                                                                  \
    do {                                                                                                           \
        __m256i v_ = _mm256_loadu_si256((const __m256i *)(q));                                                     \
        __asm__("" : "+x"(v_)); /* one load (see q4_vnni_step) */                                                   \
        __m256i lo_ = _mm256_and_si256(v_, mask), hi_ = _mm256_and_si256(_mm256_srli_epi16(v_, 4), mask);         \
        __m256i p_ = PAIR(lo_, hi_, xb);                                                                           \
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p_), _mm256_permute_ps(ce, imm), acc);                           \
    } while (0)
#define Q4_X8_256_DOT(PAIR)                                                                                         \
    int32_t ng = (w->k + 31) / 32, g0 = 0;                                                                          \
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);                             \
    const __m256i mask = _mm256_set1_epi8(0x0f), two = _mm256_set1_epi32(2);                                        \
    const __m256i i0 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);                                                  \
    const __m256i ev = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);                                                  \
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), bias = _mm256_setzero_ps();                     \
    for (; g0 + 8 <= ng; g0 += 8) { /* 8 groups (128 code bytes) per round, no branches */                       \
        __m256 ce = _mm256_permutevar8x32_ps(i16_scales8(w, r, ng, g0, 8, j, &bias), ev);                           \
        const uint8_t *q = qb + 16 * g0;                                                                            \
        const int8_t *xb = j->x8 + 64 * g0;                                                                         \
        PREFETCH_AHEAD(q);                                                                                          \
        PREFETCH_AHEAD(q + 64);                                                                                     \
        Q4_X8_256_STEP(PAIR, q, xb, ce, 0x00, acc0);                                                                \
        Q4_X8_256_STEP(PAIR, q + 32, xb + 32, ce, 0x55, acc1);                                                      \
        Q4_X8_256_STEP(PAIR, q + 64, xb + 256, ce, 0xaa, acc0);                                                     \
        Q4_X8_256_STEP(PAIR, q + 96, xb + 288, ce, 0xff, acc1);                                                     \
    }                                                                                                               \
    if (g0 < ng) { /* the last 1-7 groups: whole pairs, then a lone group from a zero-extended half load */      \
        int32_t n = ng - g0;                                                                                        \
        __m256 cs = i16_scales8(w, r, ng, g0, n, j, &bias);                                                         \
        __m256i ix = i0;                                                                                            \
        for (int32_t i = 0; i < n; i += 2, ix = _mm256_add_epi32(ix, two)) {                                        \
            int32_t g = g0 + i;                                                                                     \
            __m256i v = n - i >= 2 ? _mm256_loadu_si256((const __m256i *)(qb + 16 * g))                             \
                                   : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)(qb + 16 * g)));       \
            __m256i lo = _mm256_and_si256(v, mask), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);           \
            __m256i p = PAIR(lo, hi, j->x8 + 256 * (g / 4) + 32 * ((g % 4) / 2));                                   \
            acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_permutevar8x32_ps(cs, ix), acc0);                  \
        }                                                                                                           \
    }                                                                                                               \
    return _mm256_add_ps(_mm256_add_ps(acc0, acc1), bias)

/* With AVX-VNNI (AVX2 CPUs with the 256-bit vpdpbusd, e.g. those without AVX-512). */
T256V static inline __m256i q4_pair_vnni(__m256i lo, __m256i hi, const int8_t *xb)
{
    __m256i p = _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), lo, _mm256_loadu_si256((const __m256i *)xb));
    p = _mm256_dpbusd_avx_epi32(p, hi, _mm256_loadu_si256((const __m256i *)(xb + 64)));
    p = _mm256_dpbusd_avx_epi32(_mm256_slli_epi32(p, 8), lo, _mm256_loadu_si256((const __m256i *)(xb + 128)));
    return _mm256_dpbusd_avx_epi32(p, hi, _mm256_loadu_si256((const __m256i *)(xb + 192)));
}

/* Without AVX-VNNI, the same bits: vpmaddubsw gives the codes (0..15) times a
 * part's bytes as int16 sums of two products (at most 2 x 15 x 128 = 3840, no
 * saturation), the evens' and odds' sums of a part add in int16 (at most
 * 7680), and vpmaddwd by 256 (part 1) or 1 (part 2) gathers each lane's four
 * products into int32: the lane sums of the VNNI dot, exact. 9 integer
 * operations per pair of groups; the int16-activation decode it replaced took
 * 16 (4 vpmaddwd, 4 widenings and their masks and shifts, 2 adds): from L2 on
 * a Zen 3 core 7.8 -> 12.4 GB/s, and 1.1B q4f16_1 decode at 1 thread 13.0 ->
 * 18.0 tok/s; with the loop's bookkeeping gone (8 groups per round) the
 * kernel reads 26 GB/s from L3, past the core's 18 GB/s from memory. */
T256 static inline __m256i q4_pair_avx2(__m256i lo, __m256i hi, const int8_t *xb)
{
    __m256i s1 = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)xb)),
                                  _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(xb + 64))));
    __m256i s2 = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(xb + 128))),
                                  _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(xb + 192))));
    return _mm256_add_epi32(_mm256_madd_epi16(s1, _mm256_set1_epi16(256)), _mm256_madd_epi16(s2, _mm256_set1_epi16(1)));
}

T256V static __m256 dot_q4_vnni_256(const aae_wmat *w, int32_t r, const aae_mm_job *j) { Q4_X8_256_DOT(q4_pair_vnni); }

T256 static __m256 dot_q4_x8_256(const aae_wmat *w, int32_t r, const aae_mm_job *j) { Q4_X8_256_DOT(q4_pair_avx2); }
#undef Q4_X8_256_DOT
#undef Q4_X8_256_STEP

/* One pair of groups (nb = 32 code bytes, 16 for a lone group) of the batched
 * AVX-VNNI decode against T tokens' x8 at offset xo of each, the pair's
 * combined scales lanes 2 q, 2 q + 1 of each cs. */
__attribute__((always_inline)) T256V static inline void q4_vnni_256_pair(const uint8_t *qb, int nb,
                                                                        const int8_t *const *x8, size_t xo,
                                                                        const __m256 *cs, int32_t q, int T, __m256 *acc)
{
    const __m256i mask = _mm256_set1_epi8(0x0f);
    PREFETCH_AHEAD(qb);
    __m256i v = nb == 32 ? _mm256_loadu_si256((const __m256i *)qb)
                         : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)qb));
    __asm__("" : "+x"(v)); /* one load (see q4_vnni_step) */
    __m256i lo = _mm256_and_si256(v, mask), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
    __m256i ix = _mm256_setr_epi32(2 * q, 2 * q, 2 * q, 2 * q, 2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q + 1);
    for (int t = 0; t < T; t++) {
        const int8_t *xb = x8[t] + xo;
        __m256i p1 = _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), lo, _mm256_loadu_si256((const __m256i *)xb));
        __m256i p2 = _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), lo, _mm256_loadu_si256((const __m256i *)(xb + 128)));
        p1 = _mm256_dpbusd_avx_epi32(p1, hi, _mm256_loadu_si256((const __m256i *)(xb + 64)));
        p2 = _mm256_dpbusd_avx_epi32(p2, hi, _mm256_loadu_si256((const __m256i *)(xb + 192)));
        __m256i p = _mm256_add_epi32(_mm256_slli_epi32(p1, 8), p2);
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_permutevar8x32_ps(cs[t], ix), acc[t]);
    }
}

/* The batched decode on AVX-VNNI (4-bit; a few tokens, see k_matmul.c): T
 * tokens (T <= XB_TOKENS) against groups gb .. ge - 1 of row r (gb a
 * multiple of 8), as dot_q4_vnni_256 with each step's codes loaded and
 * unpacked once for all of them; token t's x8, x8scale and x8scale x x8gofs
 * (xscale, x16off) at t x8tok bytes after token 0's. The offset term goes
 * into each token's accumulator (one chain per token). */
__attribute__((always_inline)) T256V static inline void q4_vnni_256_dot_tokens(const aae_mm_job *j, int32_t r,
                                                                              int32_t t0, int T, int32_t gb,
                                                                              int32_t ge, int first)
{
    const aae_wmat *w = j->w;
    int32_t ng = (w->k + 31) / 32;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    const int8_t *x8[XB_TOKENS];
    const float *xs[XB_TOKENS], *xo[XB_TOKENS];
    __m256 acc[XB_TOKENS];
    for (int t = 0; t < T; t++) {
        x8[t] = xb_tok(j, j->x8, t0 + t);
        xs[t] = xb_tok(j, j->xscale, t0 + t);
        xo[t] = xb_tok(j, j->x16off, t0 + t);
        acc[t] = _mm256_setzero_ps();
    }
    for (int32_t g0 = gb; g0 < ge; g0 += 8) {
        int32_t n = ng - g0 < 8 ? ng - g0 : 8;
        __m256i mk = aae_lanes_below256(n);
        __m256 ws, cs[XB_TOKENS];
        if (n == 8)
            ws = !AAE_MM_W_IS(w, AAE_W_Q4F32)
                     ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w->scale + (size_t)r * ng + g0)))
                     : _mm256_loadu_ps((const float *)w->scale + (size_t)r * ng + g0);
        else {
            float tb[8];
            for (int32_t i = 0; i < 8; i++)
                tb[i] = i < n ? scale_of(w, (size_t)r * ng + g0 + i) : 0.0f;
            ws = _mm256_loadu_ps(tb);
        }
        for (int t = 0; t < T; t++) {
            acc[t] = _mm256_fmadd_ps(ws, _mm256_maskload_ps(xo[t] + g0, mk), acc[t]);
            cs[t] = _mm256_mul_ps(ws, _mm256_maskload_ps(xs[t] + g0, mk));
        }
        /* 8 groups (g0 a multiple of 8) are x8 block g0 / 4 and the next: pair
         * i / 2 at 256 (i / 4) + 32 ((i % 4) / 2), constants once unrolled */
        if (n == 8) {
#pragma GCC unroll 4
            for (int32_t i = 0; i < 8; i += 2)
                q4_vnni_256_pair(qb + 16 * (g0 + i), 32, x8, 256 * (g0 / 4) + 256 * (i / 4) + 32 * ((i % 4) / 2), cs,
                                 i / 2, T, acc);
        } else {
            for (int32_t i = 0; i < n; i += 2)
                q4_vnni_256_pair(qb + 16 * (g0 + i), n - i >= 2 ? 32 : 16, x8,
                                 256 * (g0 / 4) + 256 * (i / 4) + 32 * ((i % 4) / 2), cs, i / 2, T, acc);
        }
    }
    for (int t = 0; t < T; t++) {
        float *y = j->y + (size_t)(t0 + t) * j->ldy + r, v = hsum256(acc[t]);
        *y = first ? v : *y + v;
    }
}

T256V static void run_q4_vnni_256_tokens(const aae_mm_job *j, int32_t n0, int32_t n1)
{
    xb_run(j, n0, n1, 32, 64, q4_vnni_256_dot_tokens);
}

/* 4 x-rows by 2 w-rows per block: 8 accumulators + 6 operands fit the 16 ymm registers. */
T256 static void tile_256(const aae_mm_job *j, const float *wt, int32_t nr, int32_t kp, int32_t r0)
{
    for (int32_t q0 = 0; q0 < nr; q0 += 2) {
        const float *w0 = wt + (size_t)q0 * kp, *w1 = w0 + kp;
        int two = q0 + 1 < nr;
        int32_t i = 0;
        for (; i + 4 <= j->m; i += 4) {
            const float *x0 = j->xp + (size_t)i * j->ldxp;
            __m256 a[4][2];
            for (int p = 0; p < 4; p++)
                a[p][0] = a[p][1] = _mm256_setzero_ps();
            for (int32_t k = 0; k < kp; k += 8) {
                __m256 b0 = _mm256_loadu_ps(w0 + k), b1 = _mm256_loadu_ps(w1 + k);
                for (int p = 0; p < 4; p++) {
                    __m256 xv = _mm256_loadu_ps(x0 + (size_t)p * j->ldxp + k);
                    a[p][0] = _mm256_fmadd_ps(xv, b0, a[p][0]);
                    a[p][1] = _mm256_fmadd_ps(xv, b1, a[p][1]);
                }
            }
            for (int p = 0; p < 4; p++) {
                j->y[(size_t)(i + p) * j->ldy + r0 + q0] = hsum256(a[p][0]);
                if (two)
                    j->y[(size_t)(i + p) * j->ldy + r0 + q0 + 1] = hsum256(a[p][1]);
            }
        }
        for (; i < j->m; i++) {
            const float *x0 = j->xp + (size_t)i * j->ldxp;
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
            for (int32_t k = 0; k < kp; k += 8) {
                __m256 xv = _mm256_loadu_ps(x0 + k);
                a0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w0 + k), a0);
                a1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w1 + k), a1);
            }
            j->y[(size_t)i * j->ldy + r0 + q0] = hsum256(a0);
            if (two)
                j->y[(size_t)i * j->ldy + r0 + q0 + 1] = hsum256(a1);
        }
    }
}

/* The 3-bit codes of a pair of groups (8 words: 4 of group g, 4 of g + 1)
 * widened to int16 without a shuffle: code c (0..9) of a word is its bits
 * 3c .. 3c + 2, so the word's low 16-bit lane holds codes 0-4 (from bits 0,
 * 3, 6, 9, 12) and its high lane codes 6-9 (from bits 2, 5, 8, 11); code 5
 * straddles the two and comes from the high lane of the word shifted left by
 * one. Vector t (0..4) takes from each word's low lane code t (t < 4) or 4,
 * from its high lane code 6 + t (t < 4) or 5: vpmullw by 2^(13 - first bit)
 * per lane lifts the code to bits 13..15 (the bits above it fall out of the
 * lane) and vpsrlw 13 brings it down (AVX2 has no per-lane 16-bit shift).
 * 12 operations for 80 codes (a vpshufb per vector took 15). */
#define Q3M(lo, hi) 1 << (lo), 1 << (hi), 1 << (lo), 1 << (hi), 1 << (lo), 1 << (hi), 1 << (lo), 1 << (hi)
static const uint16_t q3_mul256[5][16] __attribute__((aligned(32))) = {
    {Q3M(13, 11), Q3M(13, 11)}, {Q3M(10, 8), Q3M(10, 8)}, {Q3M(7, 5), Q3M(7, 5)}, {Q3M(4, 2), Q3M(4, 2)},
    {Q3M(1, 13), Q3M(1, 13)}};
#undef Q3M

/* 3-bit decode with int16 activations on AVX2 (x16 in the q3 pair layout,
 * matmul_impl.h): a pair of groups (32 code bytes, 80 weights) per step, its
 * codes widened as above and multiplied with vpmaddwd (exact in int32);
 * lanes 0-3 hold the first group's sums, 4-7 the second's. The codes stay
 * unsigned (0..7): the offset 3 comes in per group through x16off. Combined
 * scales for 8 groups at a time from i16_scales8. */
/* One pair of groups (32 code bytes at q, v loaded by the caller) against
 * x16 at x: int32 lane sums, lanes 0-3 the first group's, 4-7 the second's. */
T256 static inline __m256i q3_i16_pair_256(__m256i v, const int16_t *x)
{
    __m256i u = _mm256_blend_epi16(v, _mm256_slli_epi32(v, 1), 0xaa); /* high lanes: code 5 from bit 0 */
    __m256i p = _mm256_setzero_si256();
#pragma GCC unroll 5
    for (int t = 0; t < 5; t++) {
        __m256i c = _mm256_mullo_epi16(t < 4 ? v : u, _mm256_load_si256((const __m256i *)q3_mul256[t]));
        c = _mm256_srli_epi16(c, 13);
        p = _mm256_add_epi32(p, _mm256_madd_epi16(c, _mm256_loadu_si256((const __m256i *)(x + 16 * t))));
    }
    return p;
}

/* One pair of groups at q (32 code bytes) against x into acc, with combined
 * scales sc (the first group's in lanes 0-3, the second's in 4-7). */
T256 static inline __m256 q3_i16_step_256(const uint8_t *q, const int16_t *x, __m256 sc, __m256 acc)
{
    __m256i p = q3_i16_pair_256(_mm256_loadu_si256((const __m256i *)q), x);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), sc, acc);
}

T256 static __m256 dot_q3_i16_256(const aae_wmat *w, int32_t r, const aae_mm_job *j)
{
    int32_t ng = (w->k + 39) / 40, g0 = 0;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    const __m256i two = _mm256_set1_epi32(2), i0 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    const __m256i i1 = _mm256_add_epi32(i0, two), ev = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), bias = _mm256_setzero_ps();
    /* 8 groups (128 code bytes) per round with fixed offsets and no branches:
     * the loop's bookkeeping otherwise costs as much as the arithmetic; the
     * scales spread per step in-lane as in Q4_X8_256_STEP */
    for (; g0 + 8 <= ng; g0 += 8) {
        __m256 ce = _mm256_permutevar8x32_ps(i16_scales8(w, r, ng, g0, 8, j, &bias), ev);
        const uint8_t *q = qb + 16 * g0;
        const int16_t *x = j->x16 + 40 * g0; /* pair g / 2 at 80 (g / 2) */
        PREFETCH_AHEAD(q);
        PREFETCH_AHEAD(q + 64);
        acc0 = q3_i16_step_256(q, x, _mm256_permute_ps(ce, 0x00), acc0);
        acc1 = q3_i16_step_256(q + 32, x + 80, _mm256_permute_ps(ce, 0x55), acc1);
        acc0 = q3_i16_step_256(q + 64, x + 160, _mm256_permute_ps(ce, 0xaa), acc0);
        acc1 = q3_i16_step_256(q + 96, x + 240, _mm256_permute_ps(ce, 0xff), acc1);
    }
    if (g0 < ng) { /* the last 1-7 groups: whole pairs, then a lone group from a zero-extended half load */
        int32_t n = ng - g0;
        __m256 cs = i16_scales8(w, r, ng, g0, n, j, &bias);
        __m256i ix = i0;
        int32_t i = 0;
        if (n >= 4) { /* two whole pairs as in a round, each on its own sum (3-bit rows of 768 and 2048 end
                       * in 4 groups: from L2, k 768 21.5 -> 22.9 GMAC/s, 2048 27.2 -> 27.7) */
            acc0 = q3_i16_step_256(qb + 16 * g0, j->x16 + 40 * g0, _mm256_permutevar8x32_ps(cs, i0), acc0);
            acc1 = q3_i16_step_256(qb + 16 * g0 + 32, j->x16 + 40 * g0 + 80, _mm256_permutevar8x32_ps(cs, i1), acc1);
            i = 4;
            ix = _mm256_add_epi32(i1, two);
        }
        for (; i < n; i += 2, ix = _mm256_add_epi32(ix, two)) {
            int32_t g = g0 + i;
            __m256i v = n - i >= 2 ? _mm256_loadu_si256((const __m256i *)(qb + 16 * g))
                                   : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)(qb + 16 * g)));
            __m256i p = q3_i16_pair_256(v, j->x16 + 40 * g);
            acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_permutevar8x32_ps(cs, ix), acc0);
        }
    }
    return _mm256_add_ps(_mm256_add_ps(acc0, acc1), bias);
}

/* Columns k0 .. k1 - 1 of row r as float32 (k0 and k1 on group boundaries,
 * zeros past k; k1 may be aae_mm_kpad(k), the whole padded row). */
T256 static void deq_range_256(const aae_wmat *w, int32_t r, int32_t k0, int32_t k1, float *out)
{
    int32_t done = k0;
    if (AAE_MM_W_IS(w, AAE_W_Q4F16) || AAE_MM_W_IS(w, AAE_W_Q4F32)) {
        int32_t ng = (w->k + 31) / 32, g1 = k1 / 32 < ng ? k1 / 32 : ng;
        const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
        for (int32_t g = k0 / 32; g < g1; g++) {
            __m256 c[4], sc = _mm256_set1_ps(scale_of(w, (size_t)r * ng + g));
            q4_group_256(qb + 16 * g, c);
            for (int v = 0; v < 4; v++)
                _mm256_storeu_ps(out + 32 * g - k0 + 8 * v, _mm256_mul_ps(c[v], sc));
            done = 32 * (g + 1);
        }
    } else if (AAE_MM_W_IS(w, AAE_W_Q3F16)) {
        int32_t ng = (w->k + 39) / 40, g1 = k1 / 40 < ng ? k1 / 40 : ng;
        const uint32_t *q = (const uint32_t *)w->q + (size_t)r * 4 * ng;
        for (int32_t g = k0 / 40; g < g1; g++) {
            __m256 c[5], sc = _mm256_set1_ps(_cvtsh_ss(((const uint16_t *)w->scale)[(size_t)r * ng + g]));
            q3_group_256(q + 4 * g, c);
            for (int v = 0; v < 5; v++)
                _mm256_storeu_ps(out + 40 * g - k0 + 8 * v, _mm256_mul_ps(c[v], sc));
            done = 40 * (g + 1);
        }
    } else {
        int32_t e = k1 < w->k ? k1 : w->k, t = k0;
        size_t base = (size_t)r * w->k;
        if (AAE_MM_W_IS(w, AAE_W_F16))
            for (; t + 8 <= e; t += 8)
                _mm256_storeu_ps(out + t - k0,
                                 _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w->q + base + t))));
        else if (AAE_MM_W_IS(w, AAE_W_F32))
            for (; t + 8 <= e; t += 8)
                _mm256_storeu_ps(out + t - k0, _mm256_loadu_ps((const float *)w->q + base + t));
        for (; t < e; t++) {
            if (AAE_MM_W_IS(w, AAE_W_F32))
                out[t - k0] = ((const float *)w->q)[base + t];
            else if (AAE_MM_W_IS(w, AAE_W_F16))
                out[t - k0] = _cvtsh_ss(((const uint16_t *)w->q)[base + t]);
            else
                out[t - k0] = aae_k_bf16_to_f32(((const uint16_t *)w->q)[base + t]);
        }
        done = e > k0 ? e : k0;
    }
    for (int32_t t = done; t < k1; t++)
        out[t - k0] = 0.0f;
}

/* The transposed prefill kernel of run_xt_512 on AVX2: 4 weight rows x 16
 * tokens per block (8 accumulators; the 16 ymm registers leave no room for
 * more), stores (first k-block) or adds into the result block. */
T256 static void xt_block_256(const aae_mm_job *j, const float *wt, int32_t kn, int32_t k0, int32_t ld, int32_t ib,
                              float *res, int first)
{
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    const float *xc = j->xt + (size_t)k0 * ld + ib;
    const float *w0 = wt, *w1 = wt + kn, *w2 = wt + 2 * (size_t)kn, *w3 = wt + 3 * (size_t)kn;
    for (int32_t k = 0; k < kn; k++, xc += ld) {
        __m256 x0 = _mm256_loadu_ps(xc), x1 = _mm256_loadu_ps(xc + 8);
        __m256 b = _mm256_broadcast_ss(w0 + k);
        a00 = _mm256_fmadd_ps(b, x0, a00);
        a01 = _mm256_fmadd_ps(b, x1, a01);
        b = _mm256_broadcast_ss(w1 + k);
        a10 = _mm256_fmadd_ps(b, x0, a10);
        a11 = _mm256_fmadd_ps(b, x1, a11);
        b = _mm256_broadcast_ss(w2 + k);
        a20 = _mm256_fmadd_ps(b, x0, a20);
        a21 = _mm256_fmadd_ps(b, x1, a21);
        b = _mm256_broadcast_ss(w3 + k);
        a30 = _mm256_fmadd_ps(b, x0, a30);
        a31 = _mm256_fmadd_ps(b, x1, a31);
    }
    __m256 v[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
    for (int q = 0; q < 4; q++) {
        float *dst = res + (size_t)q * ld + ib;
        for (int h = 0; h < 2; h++)
            _mm256_storeu_ps(dst + 8 * h, first ? v[q][h] : _mm256_add_ps(v[q][h], _mm256_loadu_ps(dst + 8 * h)));
    }
}

T256 static void run_xt_256(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1)
{
    run_xt(j, task, n0, n1, deq_range_256, xt_block_256, 16);
}

/* The int8 prefill on AVX-VNNI (CPUs without AVX-512): as run_xq, with 8
 * weight rows per tile (ymm) and 4 tokens per block (16 registers). */
#define XQ_TOKENS_256 4
__attribute__((always_inline)) T256V static inline void xq_tokens_256(const aae_mm_job *j, const uint32_t *wr,
                                                                     const float *wsc, int32_t gb, int32_t nbg,
                                                                     int32_t t0, int T, int32_t r0, int32_t nr,
                                                                     int S)
{
    __m256 f[XQ_TOKENS_256];
    for (int t = 0; t < T; t++)
        f[t] = _mm256_setzero_ps();
    for (int32_t gi = 0; gi < nbg; gi++) {
        int32_t g = gb + gi;
        __m256i a1[XQ_TOKENS_256], a2[XQ_TOKENS_256];
        for (int t = 0; t < T; t++)
            a1[t] = a2[t] = _mm256_setzero_si256();
#pragma GCC unroll 10
        for (int s = 0; s < S; s++) {
            __m256i wv = _mm256_loadu_si256((const __m256i *)(wr + (size_t)(gi * S + s) * 8));
            for (int t = 0; t < T; t++) {
                const int8_t *xb = j->xq + 8 * S * ((size_t)(t0 + t) * j->ldxq + g) + 4 * s;
                int32_t d1, d2;
                __builtin_memcpy(&d1, xb, 4);
                __builtin_memcpy(&d2, xb + 4 * S, 4);
                a1[t] = _mm256_dpbusd_avx_epi32(a1[t], wv, _mm256_set1_epi32(d1));
                a2[t] = _mm256_dpbusd_avx_epi32(a2[t], wv, _mm256_set1_epi32(d2));
            }
        }
        __m256 sw = _mm256_loadu_ps(wsc + (size_t)gi * 8);
        for (int t = 0; t < T; t++) {
            size_t at = (size_t)(t0 + t) * j->ldxq + g;
            __m256i p = _mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32(a1[t], 8), a2[t]),
                                         _mm256_set1_epi32(j->xqo[at]));
            f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(sw, _mm256_set1_ps(j->xqs[at])), f[t]);
        }
    }
    __m256i mk = aae_lanes_below256(nr);
    for (int t = 0; t < T; t++) {
        float *y = j->y + (size_t)(t0 + t) * j->ldy + r0;
        _mm256_maskstore_ps(y, mk, gb == 0 ? f[t] : _mm256_add_ps(f[t], _mm256_maskload_ps(y, mk)));
    }
}

__attribute__((always_inline)) T256V static inline void xq_all_tokens_256(const aae_mm_job *j, const uint32_t *wr,
                                                                         const float *wsc, int32_t gb, int32_t nbg,
                                                                         int32_t r0, int32_t nr, int S)
{
    int32_t t0 = 0;
    for (; t0 + XQ_TOKENS_256 <= j->m; t0 += XQ_TOKENS_256)
        xq_tokens_256(j, wr, wsc, gb, nbg, t0, XQ_TOKENS_256, r0, nr, S);
    for (; t0 < j->m; t0++)
        xq_tokens_256(j, wr, wsc, gb, nbg, t0, 1, r0, nr, S);
}

/* Dword d of the 16-byte group at base of 8 rows (row stride rs; zeros from
 * row nr on), rows in lanes: o[d] (4 x 4 transposes of each half). */
T256 static inline void xq_rows8(const uint8_t *base, size_t rs, int32_t nr, __m256i o[4])
{
    __m128i d[2][4];
    for (int h = 0; h < 2; h++) {
        __m128i r[4];
        for (int i = 0; i < 4; i++)
            r[i] = 4 * h + i < nr ? _mm_loadu_si128((const __m128i *)(base + (size_t)(4 * h + i) * rs))
                                  : _mm_setzero_si128();
        __m128i t0 = _mm_unpacklo_epi32(r[0], r[1]), t1 = _mm_unpacklo_epi32(r[2], r[3]);
        __m128i t2 = _mm_unpackhi_epi32(r[0], r[1]), t3 = _mm_unpackhi_epi32(r[2], r[3]);
        d[h][0] = _mm_unpacklo_epi64(t0, t1);
        d[h][1] = _mm_unpackhi_epi64(t0, t1);
        d[h][2] = _mm_unpacklo_epi64(t2, t3);
        d[h][3] = _mm_unpackhi_epi64(t2, t3);
    }
    for (int i = 0; i < 4; i++)
        o[i] = _mm256_inserti128_si256(_mm256_castsi128_si256(d[0][i]), d[1][i], 1);
}

T256V static void run_xq_256(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1)
{
    const aae_wmat *w = j->w;
    int q3 = AAE_MM_W_IS(w, AAE_W_Q3F16);
    int32_t G = q3 ? 40 : 32, S = G / 4, KG = AAE_MM_KBLOCK / G, ng = (w->k + G - 1) / G;
    size_t rs = 16 * (size_t)ng;
    uint32_t *wr = (uint32_t *)(j->task_scratch + (size_t)task * j->task_bytes);
    float *wsc = (float *)(wr + (size_t)KG * S * 8);
    const __m256i m4 = _mm256_set1_epi8(0x0f), seven = _mm256_set1_epi32(7);
    for (int32_t r0 = n0; r0 < n1; r0 += 8) {
        int32_t nr = n1 - r0 < 8 ? n1 - r0 : 8;
        const uint8_t *q0 = (const uint8_t *)w->q + (size_t)r0 * rs;
        for (int32_t gb = 0; gb < ng; gb += KG) {
            int32_t nbg = ng - gb < KG ? ng - gb : KG;
            for (int32_t gi = 0; gi < nbg; gi++) {
                __m256i o[4];
                uint32_t *dst = wr + (size_t)gi * S * 8;
                xq_rows8(q0 + 16 * (size_t)(gb + gi), rs, nr, o);
                if (q3) {
                    for (int s = 0; s < 10; s++) {
                        __m256i d = _mm256_setzero_si256();
                        for (int b = 0; b < 4; b++) {
                            int e = 4 * s + b;
                            __m256i c = _mm256_and_si256(_mm256_srl_epi32(o[e / 10], _mm_cvtsi32_si128(3 * (e % 10))), seven);
                            d = _mm256_or_si256(d, _mm256_slli_epi32(c, 8 * b));
                        }
                        _mm256_storeu_si256((__m256i *)(dst + (size_t)s * 8), d);
                    }
                } else {
                    for (int d = 0; d < 4; d++) {
                        _mm256_storeu_si256((__m256i *)(dst + (size_t)d * 8), _mm256_and_si256(o[d], m4));
                        _mm256_storeu_si256((__m256i *)(dst + (size_t)(4 + d) * 8),
                                            _mm256_and_si256(_mm256_srli_epi16(o[d], 4), m4));
                    }
                }
                for (int32_t t = 0; t < 8; t++)
                    wsc[gi * 8 + t] = t < nr ? scale_of(w, (size_t)(r0 + t) * ng + gb + gi) : 0.0f;
            }
            if (q3)
                xq_all_tokens_256(j, wr, wsc, gb, nbg, r0, nr, 10);
            else
                xq_all_tokens_256(j, wr, wsc, gb, nbg, r0, nr, 8);
        }
    }
}

/* The int16 prefill on AVX2 without AVX-VNNI (4- and 3-bit weights): the
 * int8 prefill's activations as one int16 each (xw), against the weights
 * widened to int16 (code - 7 or code - 3) in vpmaddwd order, 16 rows at a time
 * over k-blocks of AAE_MM_XW_KGROUPS groups (in L1): for group g and pair p
 * (elements 2p, 2p + 1 of the group), rows 0-7 then 8-15, 16 int16 (the
 * pair of each row), then the 16 rows' scales. Per pair, two weight loads and
 * per token one broadcast of its pair of x and two vpmaddwd into int32 lane
 * sums (at most 2 x 8 x 32639 per product pair, 20 pairs: exact); per group
 * and token, the sums times weight scale x x scale into float32 accumulators.
 * vpmaddwd multiplies 16 pairs where an FMA takes 8, and the repack is paid
 * once per k-block for all the tokens. */
#define XW_TOKENS 3
#ifndef XW_CHUNK
#define XW_CHUNK 192
#endif
/* Token t's pair p: its two int16 of x broadcast, times both row vectors. */
#define XW_TOKEN_PAIR(t, p)                                                                                        \
    do {                                                                                                           \
        int32_t d_;                                                                                                \
        __builtin_memcpy(&d_, x##t + 2 * (p), 4);                                                                  \
        __m256i xb_ = _mm256_set1_epi32(d_);                                                                       \
        a##t##0 = _mm256_add_epi32(a##t##0, _mm256_madd_epi16(w0, xb_));                                           \
        a##t##1 = _mm256_add_epi32(a##t##1, _mm256_madd_epi16(w1, xb_));                                           \
    } while (0)
/* Token t's group sums times weight scale x x scale, added into its float32
 * accumulators f<t>0 (rows 0-7) and f<t>1 (rows 8-15). */
#define XW_TOKEN_SCALE(t)                                                                                          \
    do {                                                                                                           \
        __m256 sx_ = _mm256_broadcast_ss(j->xws + (size_t)(t0 + t) * ngp + g);                                     \
        f##t##0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a##t##0), _mm256_mul_ps(s0, sx_), f##t##0);                   \
        f##t##1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a##t##1), _mm256_mul_ps(s1, sx_), f##t##1);                   \
    } while (0)
/* Token t's accumulators start from its 16 results (a later k-block) or 0. */
#define XW_TOKEN_START(t)                                                                                          \
    do {                                                                                                           \
        f##t##0 = add ? _mm256_loadu_ps(out[t]) : _mm256_setzero_ps();                                             \
        f##t##1 = add ? _mm256_loadu_ps(out[t] + 8) : _mm256_setzero_ps();                                         \
    } while (0)
#define XW_TOKEN_END(t)                                                                                            \
    do {                                                                                                           \
        _mm256_storeu_ps(out[t], f##t##0);                                                                         \
        _mm256_storeu_ps(out[t] + 8, f##t##1);                                                                     \
    } while (0)
/* T tokens from t0 against the k-block's groups gb .. gb + nbg - 1 of rows r0
 * .. r0 + nr - 1: int32 sums in 2 T registers per group, scaled into 2 T
 * float32 accumulators kept over the k-block and added into the results at its
 * end (y itself for 16 rows, else a local block copied out). Writing y at
 * every group instead (a load, an add and a store per token and 8 rows) took
 * about a fifth of the kernel's time (Zen 3, k 2048 x 5632, 128 tokens: 38.6
 * -> 45.2 GMAC/s, medians of 9). */
__attribute__((always_inline)) T256 static inline void xw_tokens_256(const aae_mm_job *j, const int16_t *wr,
                                                                    const float *wsc, int32_t gb, int32_t nbg,
                                                                    int32_t t0, int T, int32_t r0, int32_t nr,
                                                                    int G)
{
    int P = G / 2;
    int32_t ngp = j->ldxw / G;
    float part[XW_TOKENS][16], *out[XW_TOKENS];
    for (int t = 0; t < T; t++)
        out[t] = nr == 16 ? j->y + (size_t)(t0 + t) * j->ldy + r0 : part[t];
    __m256 f00, f01, f10 = _mm256_setzero_ps(), f11 = f10, f20 = f10, f21 = f10;
    int add = gb > 0 && nr == 16;
    XW_TOKEN_START(0);
    if (T > 1)
        XW_TOKEN_START(1);
    if (T > 2)
        XW_TOKEN_START(2);
    for (int32_t gi = 0; gi < nbg; gi++) {
        int32_t g = gb + gi;
        const int16_t *wg = wr + (size_t)gi * G * 16;
        const int16_t *x0 = j->xw + (size_t)t0 * j->ldxw + (size_t)g * G;
        const int16_t *x1 = x0 + (T > 1 ? j->ldxw : 0), *x2 = x0 + (T > 2 ? 2 * (size_t)j->ldxw : 0);
        __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
#pragma GCC unroll 4
        for (int p = 0; p < P; p++) {
            __m256i w0 = _mm256_loadu_si256((const __m256i *)(wg + 32 * p));
            __m256i w1 = _mm256_loadu_si256((const __m256i *)(wg + 32 * p + 16));
            XW_TOKEN_PAIR(0, p);
            if (T > 1)
                XW_TOKEN_PAIR(1, p);
            if (T > 2)
                XW_TOKEN_PAIR(2, p);
        }
        __m256 s0 = _mm256_loadu_ps(wsc + 16 * gi), s1 = _mm256_loadu_ps(wsc + 16 * gi + 8);
        XW_TOKEN_SCALE(0);
        if (T > 1)
            XW_TOKEN_SCALE(1);
        if (T > 2)
            XW_TOKEN_SCALE(2);
    }
    XW_TOKEN_END(0);
    if (T > 1)
        XW_TOKEN_END(1);
    if (T > 2)
        XW_TOKEN_END(2);
    if (nr < 16)
        for (int t = 0; t < T; t++) {
            float *y = j->y + (size_t)(t0 + t) * j->ldy + r0;
            for (int32_t r = 0; r < nr; r++)
                y[r] = gb == 0 ? part[t][r] : y[r] + part[t][r];
        }
}
#undef XW_TOKEN_PAIR
#undef XW_TOKEN_SCALE
#undef XW_TOKEN_START
#undef XW_TOKEN_END

__attribute__((always_inline)) T256 static inline void xw_all_tokens_256(const aae_mm_job *j, const int16_t *wr,
                                                                        const float *wsc, int32_t gb, int32_t nbg,
                                                                        int32_t r0, int32_t nr, int G, int32_t ta,
                                                                        int32_t tb)
{
    int32_t t0 = ta;
    for (; t0 + XW_TOKENS <= tb; t0 += XW_TOKENS)
        xw_tokens_256(j, wr, wsc, gb, nbg, t0, XW_TOKENS, r0, nr, G);
    if (tb - t0 == 2)
        xw_tokens_256(j, wr, wsc, gb, nbg, t0, 2, r0, nr, G);
    else if (tb - t0 == 1)
        xw_tokens_256(j, wr, wsc, gb, nbg, t0, 1, r0, nr, G);
}

/* Groups gb .. gb + nbg - 1 of rows r0 .. r0 + nr - 1 (q0: row r0's codes,
 * rs bytes per row) as the int16 prefill's weights (wr) and scales (wsc,
 * zeros for rows past nr), G constant after inlining (32: 4-bit, 40: 3-bit);
 * the next k-block's codes are prefetched meanwhile. */
__attribute__((always_inline)) T256 static inline void xw_repack_256(const aae_wmat *w, const uint8_t *q0, size_t rs,
                                                                    int32_t ng, int32_t r0, int32_t nr, int32_t gb,
                                                                    int32_t nbg, int16_t *wr, float *wsc, int G)
{
    const __m256i m4 = _mm256_set1_epi32(0x0f), h4 = _mm256_set1_epi32(0xf0);
    const __m256i m3 = _mm256_set1_epi32(7), h3 = _mm256_set1_epi32(0x38);
    const __m256i z4 = _mm256_set1_epi16(7), z3 = _mm256_set1_epi16(3);
    int32_t next = gb + AAE_MM_XW_KGROUPS, nn = ng - next < AAE_MM_XW_KGROUPS ? ng - next : AAE_MM_XW_KGROUPS;
    for (int32_t r = 0; r < nr && nn > 0; r++)
        for (int32_t b = 0; b < 16 * nn; b += 64)
            _mm_prefetch((const char *)(q0 + (size_t)r * rs + 16 * (size_t)next + b), _MM_HINT_T0);
    const int P = G / 2; /* not in the loop's condition: UBSan's check there drops the unroll pragma */
    for (int32_t gi = 0; gi < nbg; gi++) {
        int16_t *dst = wr + (size_t)gi * G * 16;
        for (int h = 0; h < 2; h++) { /* rows 8h .. 8h + 7: dword d of each in lanes */
            __m256i o[4];
            xq_rows8(q0 + (size_t)8 * h * rs + 16 * (size_t)(gb + gi), rs, nr - 8 * h, o);
#pragma GCC unroll 20
            for (int p = 0; p < P; p++) {
                __m256i t, v;
                if (G == 40) { /* pair p: codes 2p, 2p + 1 of word p / 5, from bit 6 (p % 5) */
                    t = _mm256_srli_epi32(o[p / 5], 6 * (p % 5));
                    v = _mm256_or_si256(_mm256_and_si256(t, m3), _mm256_slli_epi32(_mm256_and_si256(t, h3), 13));
                    v = _mm256_sub_epi16(v, z3);
                } else { /* pair p: the nibbles of byte p */
                    t = _mm256_srli_epi32(o[p / 4], 8 * (p % 4));
                    v = _mm256_or_si256(_mm256_and_si256(t, m4), _mm256_slli_epi32(_mm256_and_si256(t, h4), 12));
                    v = _mm256_sub_epi16(v, z4);
                }
                _mm256_storeu_si256((__m256i *)(dst + 32 * p + 16 * h), v);
            }
        }
    }
    for (int32_t t = 0; t < 16; t++)
        for (int32_t gi = 0; gi < nbg; gi++)
            wsc[gi * 16 + t] = t < nr ? scale_of(w, (size_t)(r0 + t) * ng + gb + gi) : 0.0f;
}

T256 static void run_xw_256(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1)
{
    const aae_wmat *w = j->w;
    int q3 = AAE_MM_W_IS(w, AAE_W_Q3F16);
    int32_t G = q3 ? 40 : 32, ng = (w->k + G - 1) / G;
    size_t rs = 16 * (size_t)ng;
    int16_t *wr = (int16_t *)(j->task_scratch + (size_t)task * j->task_bytes);
    float *wsc = (float *)(wr + (size_t)AAE_MM_XW_KGROUPS * G * 16);
    /* Tokens XW_CHUNK at a time: a k-block's slice of their x (1 KiB each)
     * stays in L2 while the block's rows run over it; the weights are
     * repacked again for every chunk (Zen 3, 1 thread, m = 1024, k 5632 x
     * 2048: 34 -> 46 GMAC/s). */
    for (int32_t ta = 0; ta < j->m; ta += XW_CHUNK) {
        int32_t tb = j->m - ta < XW_CHUNK ? j->m : ta + XW_CHUNK;
        for (int32_t r0 = n0; r0 < n1; r0 += 16) {
            int32_t nr = n1 - r0 < 16 ? n1 - r0 : 16;
            const uint8_t *q0 = (const uint8_t *)w->q + (size_t)r0 * rs;
            for (int32_t gb = 0; gb < ng; gb += AAE_MM_XW_KGROUPS) {
                int32_t nbg = ng - gb < AAE_MM_XW_KGROUPS ? ng - gb : AAE_MM_XW_KGROUPS;
                if (q3) {
                    xw_repack_256(w, q0, rs, ng, r0, nr, gb, nbg, wr, wsc, 40);
                    xw_all_tokens_256(j, wr, wsc, gb, nbg, r0, nr, 40, ta, tb);
                } else {
                    xw_repack_256(w, q0, rs, ng, r0, nr, gb, nbg, wr, wsc, 32);
                    xw_all_tokens_256(j, wr, wsc, gb, nbg, r0, nr, 32, ta, tb);
                }
            }
        }
    }
}

/* ---- SSSE3: x86-64 CPUs without AVX2 ------------------------------------
 * The 128-bit integer decodes of CPUs that have SSSE3 but not AVX2 (the
 * SSE4.2-only Atom / Celeron / Pentium Silver cores of embedded boards and
 * older PCs): the activations and the arithmetic of the AVX2 4- and 3-bit
 * decodes, one group per 16-byte step, no FMA and no F16C; everything else
 * takes the portable kernels. */
#define T128 __attribute__((target("ssse3")))

/* n (1..4) float16 scales from p as float32, zeros past n: the bits of
 * aae_f16_bits_to_f32 (magnitude times 2^112, infinities and NaN kept),
 * with SSE2 integer operations. */
T128 static inline __m128 f16x4_128(const uint16_t *p, int32_t n)
{
    __m128i h;
    if (n == 4) {
        h = _mm_loadl_epi64((const __m128i *)p);
    } else { /* never past the row's last scale (the array may end there) */
        uint16_t t[4] = {0, 0, 0, 0};
        for (int32_t i = 0; i < n; i++)
            t[i] = p[i];
        h = _mm_loadl_epi64((const __m128i *)t);
    }
    h = _mm_unpacklo_epi16(h, _mm_setzero_si128());
    __m128i sign = _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x8000)), 16);
    __m128i em = _mm_and_si128(h, _mm_set1_epi32(0x7fff));
    __m128i bits = _mm_castps_si128(_mm_mul_ps(_mm_castsi128_ps(_mm_slli_epi32(em, 13)),
                                               _mm_castsi128_ps(_mm_set1_epi32(0x77800000)))); /* 2^112 */
    __m128i special = _mm_cmpgt_epi32(em, _mm_set1_epi32(0x7bff));
    __m128i inf = _mm_or_si128(_mm_set1_epi32(0x7f800000), _mm_slli_epi32(em, 13));
    bits = _mm_or_si128(_mm_andnot_si128(special, bits), _mm_and_si128(special, inf));
    return _mm_castsi128_ps(_mm_or_si128(bits, sign));
}

/* Weight scales g0 .. g0 + n - 1 (n 1..4) of row r as float32, zeros past n. */
T128 static inline __m128 wscale4_128(const aae_wmat *w, size_t at, int32_t n)
{
    if (AAE_MM_W_IS(w, AAE_W_Q4F32)) {
        if (n == 4)
            return _mm_loadu_ps((const float *)w->scale + at);
        float t[4] = {0, 0, 0, 0};
        for (int32_t i = 0; i < n; i++)
            t[i] = ((const float *)w->scale)[at + i];
        return _mm_loadu_ps(t);
    }
    return f16x4_128((const uint16_t *)w->scale + at, n);
}

/* One group's int32 lane sums 256 p1 + p2 (see q4_pair_avx2): its 16 code
 * bytes at q against its x8 bytes at xb (evens of part 1; odds at + 64, part 2
 * at + 128 and + 192; 16-byte aligned in the 64-byte aligned scratch, so that
 * the loads fold into pmaddubsw: 6.8 -> 7.5 GB/s from L2, rows of 768). */
T128 static inline __m128i q4_group_128(const uint8_t *q, const int8_t *xb)
{
    const __m128i mask = _mm_set1_epi8(0x0f);
    __m128i v = _mm_loadu_si128((const __m128i *)q);
    __m128i lo = _mm_and_si128(v, mask), hi = _mm_and_si128(_mm_srli_epi16(v, 4), mask);
    __m128i s1 = _mm_add_epi16(_mm_maddubs_epi16(lo, _mm_load_si128((const __m128i *)xb)),
                               _mm_maddubs_epi16(hi, _mm_load_si128((const __m128i *)(xb + 64))));
    __m128i s2 = _mm_add_epi16(_mm_maddubs_epi16(lo, _mm_load_si128((const __m128i *)(xb + 128))),
                               _mm_maddubs_epi16(hi, _mm_load_si128((const __m128i *)(xb + 192))));
    return _mm_add_epi32(_mm_madd_epi16(s1, _mm_set1_epi16(256)), _mm_madd_epi16(s2, _mm_set1_epi16(1)));
}

/* A round's 4 group sums s (int32) scaled into acc: weight scale x xscale,
 * and weight scale x x16off (the code offset's share) into bias; groups g0 ..
 * g0 + n - 1 of row r (at = r ng + g0), zeros past n. */
T128 static inline void scale_round_128(const aae_wmat *w, size_t at, int32_t n, int32_t g0, const aae_mm_job *j,
                                        __m128i s, __m128 *acc, __m128 *bias)
{
    __m128 ws = wscale4_128(w, at, n);
    *acc = _mm_add_ps(*acc, _mm_mul_ps(_mm_cvtepi32_ps(s), _mm_mul_ps(ws, _mm_loadu_ps(j->xscale + g0))));
    *bias = _mm_add_ps(*bias, _mm_mul_ps(ws, _mm_loadu_ps(j->x16off + g0)));
}

/* The sum of acc + bias's lanes. */
T128 static inline float row_sum_128(__m128 acc, __m128 bias)
{
    acc = _mm_add_ps(acc, bias);
    acc = _mm_add_ps(acc, _mm_movehl_ps(acc, acc));
    return _mm_cvtss_f32(_mm_add_ss(acc, _mm_shuffle_ps(acc, acc, 1)));
}

/* 4-bit decode of row r: 4 groups per round, their lane sums reduced to one
 * vector of 4 group sums (phaddd) and scaled together (xscale and x16off as
 * for the AVX2 decode); the last 1-3 groups as a short round (the
 * activations' fields hold zeros up to a multiple of 16 groups). */
T128 static float dot_q4_x8_128(const aae_wmat *w, int32_t r, const aae_mm_job *j)
{
    int32_t ng = (w->k + 31) / 32;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    __m128 acc = _mm_setzero_ps(), bias = _mm_setzero_ps();
    for (int32_t g0 = 0; g0 < ng; g0 += 4) {
        int32_t n = ng - g0 < 4 ? ng - g0 : 4;
        const uint8_t *q = qb + 16 * (size_t)g0;
        const int8_t *xb = j->x8 + 64 * (size_t)g0;
        __m128i s;
        if (n == 4) {
            PREFETCH_AHEAD(q);
            __m128i p0 = q4_group_128(q, xb), p1 = q4_group_128(q + 16, xb + 16);
            __m128i p2 = q4_group_128(q + 32, xb + 32), p3 = q4_group_128(q + 48, xb + 48);
            s = _mm_hadd_epi32(_mm_hadd_epi32(p0, p1), _mm_hadd_epi32(p2, p3));
        } else {
            __m128i p[3] = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
            for (int32_t i = 0; i < n; i++)
                p[i] = q4_group_128(q + 16 * i, xb + 16 * i);
            s = _mm_hadd_epi32(_mm_hadd_epi32(p[0], p[1]), _mm_hadd_epi32(p[2], _mm_setzero_si128()));
        }
        scale_round_128(w, (size_t)r * ng + g0, n, g0, j, s, &acc, &bias);
    }
    return row_sum_128(acc, bias);
}

/* Both int8 parts of 4 values as int32 lanes, rounded as the scalar definition
 * (cvtps2dq: to nearest even; clamped to [-127, 127] through int16, SSE2 has
 * no 32-bit min / max). */
T128 static inline void split128(__m128 v, __m128 vu, __m128 vi, __m128i *q1, __m128i *q2)
{
    const __m128i lo = _mm_set1_epi16(-127), hi = _mm_set1_epi16(127);
    __m128i a = _mm_cvtps_epi32(_mm_mul_ps(v, vi));
    a = _mm_min_epi16(_mm_max_epi16(_mm_packs_epi32(a, a), lo), hi);
    *q1 = _mm_srai_epi32(_mm_unpacklo_epi16(a, a), 16);
    __m128 r = _mm_mul_ps(_mm_mul_ps(_mm_sub_ps(v, _mm_mul_ps(vu, _mm_cvtepi32_ps(*q1))), vi), _mm_set1_ps(256.0f));
    __m128i b = _mm_cvtps_epi32(r);
    b = _mm_min_epi16(_mm_max_epi16(_mm_packs_epi32(b, b), lo), hi);
    *q2 = _mm_srai_epi32(_mm_unpacklo_epi16(b, b), 16);
}

/* -7 x the sums of lanes of e[l] + o[l] for l = 0..3, as one vector. */
T128 static inline __m128i off4_128(const __m128i e[4], const __m128i o[4])
{
    __m128i h = _mm_hadd_epi32(_mm_hadd_epi32(_mm_add_epi32(e[0], o[0]), _mm_add_epi32(e[1], o[1])),
                               _mm_hadd_epi32(_mm_add_epi32(e[2], o[2]), _mm_add_epi32(e[3], o[3])));
    return _mm_sub_epi32(h, _mm_slli_epi32(h, 3));
}

/* 16 int32 (|v| <= 127) of 4 vectors as 16 bytes. */
T128 static inline __m128i bytes16_128(const __m128i v[4])
{
    return _mm_packs_epi16(_mm_packs_epi32(v[0], v[1]), _mm_packs_epi32(v[2], v[3]));
}

/* aae_k_quantize_x8_ref with SSSE3, reading x in its own order (the same bytes):
 * a group as 8 vectors of 4, evens and odds split with shufps. */
T128 void aae_k_x86_quantize_x8_ssse3(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k, int32_t ngq,
                                      int32_t ngs)
{
    const __m128 sign = _mm_set1_ps(-0.0f);
    for (int32_t g = 0; g < ngq; g++) {
        int8_t *e1 = q + 256 * (g / 4) + 16 * (g % 4);
        __m128 v[8], ev[4], od[4];
        if (32 * g + 32 <= k) {
            for (int i = 0; i < 8; i++)
                v[i] = _mm_loadu_ps(x + 32 * g + 4 * i);
        } else { /* the last group, zeros past k */
            float t[32];
            for (int32_t e = 0; e < 32; e++)
                t[e] = 32 * g + e < k ? x[32 * g + e] : 0.0f;
            for (int i = 0; i < 8; i++)
                v[i] = _mm_loadu_ps(t + 4 * i);
        }
        __m128 m = _mm_andnot_ps(sign, v[0]);
        for (int i = 1; i < 8; i++)
            m = _mm_max_ps(m, _mm_andnot_ps(sign, v[i]));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        float mx = _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
        float u = mx / 127.0f, inv = mx > 0 ? 127.0f / mx : 0.0f;
        __m128 vu = _mm_set1_ps(u), vi = _mm_set1_ps(inv);
        __m128i a1[4], a2[4], b1[4], b2[4]; /* evens' and odds' parts */
        for (int i = 0; i < 4; i++) {
            ev[i] = _mm_shuffle_ps(v[2 * i], v[2 * i + 1], 0x88);
            od[i] = _mm_shuffle_ps(v[2 * i], v[2 * i + 1], 0xdd);
            split128(ev[i], vu, vi, &a1[i], &a2[i]);
            split128(od[i], vu, vi, &b1[i], &b2[i]);
        }
        _mm_storeu_si128((__m128i *)e1, bytes16_128(a1));
        _mm_storeu_si128((__m128i *)(e1 + 64), bytes16_128(b1));
        _mm_storeu_si128((__m128i *)(e1 + 128), bytes16_128(a2));
        _mm_storeu_si128((__m128i *)(e1 + 192), bytes16_128(b2));
        _mm_storeu_si128((__m128i *)(off + 32 * (g / 4) + 4 * (g % 4)), off4_128(a1, b1));
        _mm_storeu_si128((__m128i *)(off + 32 * (g / 4) + 16 + 4 * (g % 4)), off4_128(a2, b2));
        scale[g] = u / 256.0f;
    }
    for (int32_t g = ngq; g < ngs; g++)
        scale[g] = 0.0f;
}

/* The 3-bit codes of one group (4 words) widened to int16 as for the AVX2
 * decode (q3_i16_pair_256: pmullw by a power of two per lane lifts a code to
 * bits 13..15, psrlw 13 brings it down; vector 4 takes code 5 from the words
 * shifted left by one in its high lanes, selected with a mask: SSSE3 has no
 * pblendw; the multipliers are the first half of q3_mul256's rows), multiplied
 * with the group's int16 x (its 8 lanes of each of the pair layout's 5
 * vectors, 16-byte aligned: the loads fold into pmaddwd). */
T128 static inline __m128i q3_group_128(const uint8_t *q, const int16_t *x)
{
    const __m128i high = _mm_set1_epi32((int)0xffff0000u);
    __m128i v = _mm_loadu_si128((const __m128i *)q);
    __m128i u = _mm_or_si128(_mm_andnot_si128(high, v), _mm_and_si128(high, _mm_slli_epi32(v, 1)));
    __m128i p = _mm_setzero_si128();
#pragma GCC unroll 5
    for (int t = 0; t < 5; t++) {
        __m128i c = _mm_mullo_epi16(t < 4 ? v : u, _mm_load_si128((const __m128i *)q3_mul256[t]));
        c = _mm_srli_epi16(c, 13);
        p = _mm_add_epi32(p, _mm_madd_epi16(c, _mm_load_si128((const __m128i *)(x + 16 * t))));
    }
    return p;
}

/* 3-bit decode of row r with int16 activations (x16 in the q3 pair layout,
 * xscale, x16off as for the AVX2 decode): 4 groups per round, reduced and
 * scaled together as in dot_q4_x8_128. Group g's x: pair g / 2, half g % 2. */
T128 static float dot_q3_i16_128(const aae_wmat *w, int32_t r, const aae_mm_job *j)
{
    int32_t ng = (w->k + 39) / 40;
    const uint8_t *qb = (const uint8_t *)((const uint32_t *)w->q + (size_t)r * 4 * ng);
    __m128 acc = _mm_setzero_ps(), bias = _mm_setzero_ps();
    for (int32_t g0 = 0; g0 < ng; g0 += 4) {
        int32_t n = ng - g0 < 4 ? ng - g0 : 4;
        const uint8_t *q = qb + 16 * (size_t)g0;
        const int16_t *x = j->x16 + 40 * (size_t)g0;
        __m128i s;
        if (n == 4) {
            PREFETCH_AHEAD(q);
            __m128i p0 = q3_group_128(q, x), p1 = q3_group_128(q + 16, x + 8);
            __m128i p2 = q3_group_128(q + 32, x + 80), p3 = q3_group_128(q + 48, x + 88);
            s = _mm_hadd_epi32(_mm_hadd_epi32(p0, p1), _mm_hadd_epi32(p2, p3));
        } else { /* the last 1-3 groups (the activations' fields run to a multiple of 4 groups) */
            __m128i p[3] = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
            for (int32_t i = 0; i < n; i++)
                p[i] = q3_group_128(q + 16 * i, x + 80 * (i / 2) + 8 * (i % 2));
            s = _mm_hadd_epi32(_mm_hadd_epi32(p[0], p[1]), _mm_hadd_epi32(p[2], _mm_setzero_si128()));
        }
        scale_round_128(w, (size_t)r * ng + g0, n, g0, j, s, &acc, &bias);
    }
    return row_sum_128(acc, bias);
}

T128 static int run_128(const aae_mm_job *j, int32_t n0, int32_t n1)
{
    const aae_wmat *w = j->w;
    if (j->m == 1 && j->x8 && (AAE_MM_W_IS(w, AAE_W_Q4F16) || AAE_MM_W_IS(w, AAE_W_Q4F32))) {
        for (int32_t r = n0; r < n1; r++)
            j->y[r] = dot_q4_x8_128(w, r, j);
        return 1;
    }
    if (j->m == 1 && j->x16 && AAE_MM_W_IS(w, AAE_W_Q3F16)) {
        for (int32_t r = n0; r < n1; r++)
            j->y[r] = dot_q3_i16_128(w, r, j);
        return 1;
    }
    return 0; /* the portable kernels */
}

/* The sums of 8 rows' lane vectors as one vector (row i in lane i). */
T256 static inline __m256 hsum8_256(const __m256 v[8])
{
    __m256 a = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    __m256 b = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
}

/* Rows n0 .. n1 - 1 of a decode whose DOT(w, r, j) returns row r's lane
 * vector: 8 rows' vectors summed together and stored as one (a horizontal sum
 * and a scalar store per row took as long as a round of 8 groups: 4-bit rows
 * of 768 from L2, Zen 3, 25.6 -> 27.3 GMAC/s); the last 1-7 rows with zero
 * vectors for the others, so that a row's sum has the same bits wherever it
 * falls (hadd never mixes two rows' lanes). */
#define ROWS_256(DOT)                                                                                              \
    do {                                                                                                           \
        for (int32_t r_ = n0; r_ < n1; r_ += 8) {                                                                  \
            int32_t nr_ = n1 - r_ < 8 ? n1 - r_ : 8;                                                               \
            __m256 v_[8];                                                                                          \
            for (int32_t i_ = 0; i_ < 8; i_++)                                                                     \
                v_[i_] = i_ < nr_ ? DOT(w, r_ + i_, j) : _mm256_setzero_ps();                                      \
            __m256 s_ = hsum8_256(v_);                                                                             \
            if (nr_ == 8)                                                                                          \
                _mm256_storeu_ps(j->y + r_, s_);                                                                   \
            else                                                                                                   \
                _mm256_maskstore_ps(j->y + r_, aae_lanes_below256(nr_), s_);                                       \
        }                                                                                                          \
    } while (0)

T256 static int run_256(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1, uint32_t cpu)
{
    const aae_wmat *w = j->w;
    if (j->xw) { /* 3- or 4-bit weights without AVX-VNNI: the int16 prefill */
        run_xw_256(j, task, n0, n1);
        return 1;
    }
    if (j->xq) { /* 3- or 4-bit weights with AVX-VNNI: the int8 prefill */
        run_xq_256(j, task, n0, n1);
        return 1;
    }
    if (j->m == 1 && j->x8 && (AAE_MM_W_IS(w, AAE_W_Q4F16) || AAE_MM_W_IS(w, AAE_W_Q4F32))) {
        if (cpu & AAE_CPU_AVX_VNNI)
            ROWS_256(dot_q4_vnni_256);
        else
            ROWS_256(dot_q4_x8_256);
        return 1;
    }
    if (j->m > 1 && j->x8 && (cpu & AAE_CPU_AVX_VNNI) && (AAE_MM_W_IS(w, AAE_W_Q4F16) || AAE_MM_W_IS(w, AAE_W_Q4F32))) {
        run_q4_vnni_256_tokens(j, n0, n1); /* a few tokens: the batched decode */
        return 1;
    }
    if (j->m == 1 && j->x16 && AAE_MM_W_IS(w, AAE_W_Q3F16)) {
        ROWS_256(dot_q3_i16_256);
        return 1;
    }
    if (j->m > 1 && j->m <= AAE_MM_XB_MAX_F16_256 && AAE_MM_W_IS(w, AAE_W_F16)) {
        run_f16_256_tokens(j, n0, n1); /* a few tokens: the batched decode */
        return 1;
    }
    if (j->m == 1) {
        float (*dot)(const aae_wmat *, int32_t, const float *) = NULL;
        if (AAE_MM_W_IS(w, AAE_W_Q4F16) || AAE_MM_W_IS(w, AAE_W_Q4F32))
            dot = dot_q4_256;
        else if (AAE_MM_W_IS(w, AAE_W_Q3F16))
            dot = dot_q3_256;
        else if (AAE_MM_W_IS(w, AAE_W_F16))
            dot = dot_f16_256;
        if (dot) {
            for (int32_t r = n0; r < n1; r++)
                j->y[r] = dot(w, r, j->xp);
            return 1;
        }
    }
    if (j->xt) {
        run_xt_256(j, task, n0, n1);
        return 1;
    }
    int32_t kp = aae_mm_kpad(w->k);
    float *wt = (float *)(j->task_scratch + (size_t)task * j->task_bytes);
    for (int32_t r0 = n0; r0 < n1; r0 += AAE_MM_TILE) {
        int32_t nr = n1 - r0 < AAE_MM_TILE ? n1 - r0 : AAE_MM_TILE;
        for (int32_t t = 0; t < AAE_MM_TILE; t++)
            if (t < nr)
                deq_range_256(w, r0 + t, 0, kp, wt + (size_t)t * kp);
            else
                for (int32_t i = 0; i < kp; i++)
                    wt[(size_t)t * kp + i] = 0.0f;
        tile_256(j, wt, nr, kp, r0);
    }
    return 1;
}

int aae_k_matmul_x86(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1, uint32_t cpu)
{
    if (!AAE_MM_W_SPEC_OK(j->w))
        return 0;
    if (cpu & AAE_CPU_AVX512)
        return run_512(j, task, n0, n1);
    if (cpu & AAE_CPU_AVX2_FMA)
        return run_256(j, task, n0, n1, cpu);
    if (cpu & AAE_CPU_SSSE3)
        return run_128(j, n0, n1);
    return 0;
}
#endif
