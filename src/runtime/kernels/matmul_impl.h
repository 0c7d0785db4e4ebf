/*
 * matmul_impl.h - private: how aae_k_matmul splits work between its CPU paths.
 *
 * aae_k_matmul (k_matmul.c) cuts W's rows into one contiguous range per task
 * (multiples of AAE_MM_TILE rows) and calls one path's task function for each:
 * portable C (k_matmul.c), x86 AVX2/AVX-512 (k_matmul_x86.c) or NEON
 * (k_matmul_neon.c). A path that returns 0 does not handle this weight type, and
 * the portable path runs instead.
 *
 * x preparation: SIMD paths read a copy of x padded with zeros to aae_mm_kpad(K)
 * (so whole groups can be read), and for 4-bit weights in "nibble order": in
 * each group of 32, the 16 even elements, then the 16 odd ones (the low and high
 * nibbles of the group's 16 bytes). aae_k_matmul writes that copy once per call.
 */
#ifndef AAE_KERNELS_MATMUL_IMPL_H
#define AAE_KERNELS_MATMUL_IMPL_H

#include "kernels/kernels.h"

#define AAE_MM_TILE 4
#define AAE_MM_XT_MIN_M 16
/* A few tokens (a short prompt, the last piece of a chunked one) take the
 * batched decode (k_matmul.c): 2 .. AAE_MM_XB_MAX_M4 tokens with 4-bit
 * weights on AVX-512 VNNI (3-bit with VBMI: .._M3; 4-bit on AVX-VNNI without
 * AVX-512: .._M256), past that the int8 prefill, whose repack pays from there
 * (1.1B, 2 threads: 24 tokens 105 ms against 107, 64 tokens 231 against
 * 300); NEON with sdot 2 .. AAE_MM_TOK_MAX_M. Elsewhere the int8 prefill
 * (AVX2 without AVX-VNNI: the int16 prefill) from AAE_MM_XQ_MIN_M tokens and
 * 2 .. AAE_MM_TOK_MAX_M tokens one decode each.
 * AAE_MM_XB_MAX_M: the most tokens whose x8 blocks the scratch holds. */
#define AAE_MM_XB_MAX_M4 16
#define AAE_MM_XB_MAX_M3 12
#define AAE_MM_XB_MAX_M256 12
#define AAE_MM_XB_MAX_M 16
#define AAE_MM_XQ_MIN_M 5
#define AAE_MM_TOK_MAX_M 4
/* float16 weights, x86: the batched decode up to 48 tokens (AVX-512; AVX2:
 * 32), where the transposed float kernel's blocks of 64 (16) tokens pay for
 * themselves (1.1B q0f16, 1 thread: 16 tokens 245 ms against 662, 48 629
 * against 675, 64 838 against 692) */
#define AAE_MM_XB_MAX_F16 48
#define AAE_MM_XB_MAX_F16_256 32
#define AAE_MM_XT_ROWS 16 /* weight rows whose results are gathered before writing y */
#define AAE_MM_KBLOCK 2080 /* k-block of the transposed prefill kernel: 65 groups of 32, 52 of 40 */
/* k-block of the int16 prefill, in groups: 16 rows of its int16 weights (16
 * KiB of 4-bit, 20 of 3-bit) stay in L1 across the tokens */
#define AAE_MM_XW_KGROUPS 16

/* W's type is t (a constant AAE_W_*). In a model library (spec.h) the
 * quantization is known: with 3- or 4-bit weights every matrix has the
 * library's type (so the test is a constant and the other types' kernels are
 * not compiled in); with float weights a matrix is float32, float16 or
 * bfloat16 (never a 3- or 4-bit type). AAE_MM_W_SPEC_OK(w): w is such a
 * matrix (a path refuses any other). */
#define AAE_MM_W_QUANT(t) ((t) == AAE_W_Q4F16 || (t) == AAE_W_Q4F32 || (t) == AAE_W_Q3F16)
#if defined(AAE_SPEC)
#define AAE_MM_W_IS(w, t)                                                                                      \
    (AAE_MM_W_QUANT(AAE_SPEC_wtype) ? AAE_SPEC_wtype == (t) : !AAE_MM_W_QUANT(t) && (w)->type == (t))
#define AAE_MM_W_SPEC_OK(w)                                                                                    \
    (AAE_MM_W_QUANT(AAE_SPEC_wtype) ? (w)->type == AAE_SPEC_wtype : !AAE_MM_W_QUANT((w)->type))
#else
#define AAE_MM_W_IS(w, t) ((w)->type == (t))
#define AAE_MM_W_SPEC_OK(w) 1
#endif

typedef struct aae_mm_job {
    float *y;
    int32_t ldy;
    const float *x;  /* original x */
    int32_t ldx;
    const float *xp; /* x in the path's order ([m, kp]), or x itself */
    int32_t ldxp;
    /* m == 1 with 4-bit weights on x86: xp as int16, one scale per group of
     * 32 (xscale[g]), in "pair layout": groups 2p and 2p+1 occupy x16[64p ..
     * 64p + 64) as [2p evens, 2p+1 evens, 2p odds, 2p+1 odds] (a group
     * without partner: [evens, odds]); with 3-bit weights on AVX2 (no
     * AVX-512) or SSSE3, one scale per group of 40 in the q3 pair layout: groups 2p and
     * 2p+1 occupy x16[80p .. 80p + 80) as 5 vectors t of 16 lanes, lanes 2i
     * and 2i + 1 for word i of the pair (0-3: group 2p's, 4-7: 2p+1's), lane
     * 2i the word's code t (t < 4) or 4, lane 2i + 1 its code 6 + t (t < 4)
     * or 5 (code c: the word's element c; as the AVX2 decode widens them); or
     * NULL */
    const int16_t *x16;
    const float *xscale;
    /* with x16: x16off[g] = -7 xscale[g] (sum of group g's x16 values; -3
     * for 3-bit), the code offset's share of a group (the AVX2 decodes add
     * sum_g wscale[g] x16off[g] per row instead of subtracting the offset from
     * every code) */
    const float *x16off;
    /* m == 1 with 4-bit weights on AVX-512 VNNI: x as two int8 parts (x =
     * x8scale[g] (256 q1 + q2), see quantize_x8 in k_matmul.c), one scale per
     * group of 32 (zero-padded to a multiple of 16 groups), in blocks of 4
     * groups of 256 bytes: x8[256b ..) the q1 evens of groups 4b .. 4b + 3 (16
     * each), the q1 odds, the q2 evens, the q2 odds; x8off[32b + l] (l < 16) =
     * -7 x the sum of the 8 q1 values that meet lane l of a 64-byte weight
     * block, x8off[32b + 16 + l] the same for q2 (folded into x8gofs below,
     * which the decodes read); or NULL */
    /* m == 1 with 3-bit weights on AVX-512 VNNI + VBMI, the same fields in
     * the x3 layout: x in groups of 40, one scale per group (zero-padded to a
     * multiple of 16 groups), blocks of 4 groups (b) of 384 bytes. Element e
     * of group 4b + g is code c = 10 (w % 2) + e % 10 of qword L = 2g + w / 2
     * of the block's 64 weight bytes (w = e / 10, its word); its part p
     * value (q1: p = 0, q2: p = 1) sits at x8[384b + 192p + 64 (c / 8) + 8L +
     * c % 8] (bytes for c = 20..23 are zero). x8off[32b + l] = -3 x the sum
     * of the q1 bytes that meet dword lane l (bytes 4l .. 4l + 3 of each of
     * the three 64-byte rows), x8off[32b + 16 + l] the same for q2. */
    /* m == 1 with 3-bit weights on NEON sdot, the x3n layout: groups of 40
     * in pairs, x8[160p ..) the q1 values of groups 2p and 2p + 1 in natural
     * order (80 bytes), then their q2 values; x8scale as above, one per group
     * (kp / 40 of them, zero past k); x8off unused (x8gofs below is written
     * directly: -3 (256 sum q1 + sum q2) per group). */
    const int8_t *x8;
    const int32_t *x8off;
    const float *x8scale;
    /* with x8 (both layouts) and NEON x3n: a group's code offset in one number,
     * x8gofs[g] = sum over its 4 lanes of 256 x8off[q1 lane] + x8off[q2
     * lane] (exact in float32; zero past the last group, up to a multiple of
     * 16). The decodes add sum_g cs[g] x8gofs[g] (cs: combined scale) per
     * row, 4 to 16 groups at a time, so their inner loop reads only codes and
     * x8. */
    const float *x8gofs;
    /* the batched decode (2 <= m <= AAE_MM_XB_MAX_M4 on AVX-512 VNNI; 3-bit
     * weights with VBMI up to AAE_MM_XB_MAX_M3; 4-bit on AVX-VNNI up to
     * AAE_MM_XB_MAX_M256): token i's x8, x8off, x8scale and x8gofs (as for a
     * decode; on AVX-VNNI xscale and x16off as its decode reads them) at i
     * x8tok bytes after token 0's */
    size_t x8tok;
    /* m >= AAE_MM_XQ_MIN_M with 4-bit weights on AVX-512 VNNI (past the
     * batched decode), AVX-VNNI or NEON sdot (the int8 prefill): each token's
     * x as two int8 parts per group of 32 (rounded as
     * aae_k_quantize_x8_ref), token i's group g at xq + 64 (i ldxq + g): the
     * q1 evens (16 bytes), q1 odds, q2 evens, q2 odds; xqs[i ldxq + g] its
     * scale (u / 256), xqo[i ldxq + g] its code offset -7 (256 sum q1 + sum
     * q2); ldxq = kp / 32. With 3-bit weights the same per group of 40 in
     * natural order: 80 bytes (q1, then q2), offset -3 (..), ldxq = kp / 40.
     * On NEON (sdot) the xqn layout instead: tokens in blocks of 4 (b = i /
     * 4, zeros past m), block b's group g at xq + 2 S 16 (b ldxq + g) (S =
     * G / 4 k-steps: 4-bit evens 4s .., then odds; 3-bit natural): part 1's
     * k-steps, 16 bytes each (the 4 tokens' 4 bytes), then part 2's; xqs and
     * xqo at 4 (b ldxq + g) + i % 4. Or NULL */
    const int8_t *xq;
    const float *xqs;
    const int32_t *xqo;
    int32_t ldxq;
    /* m >= AAE_MM_XQ_MIN_M with 4- or 3-bit weights on AVX2 with neither
     * AVX-VNNI nor AVX-512: the int16 prefill's activations, the int8 prefill's two
     * parts as one int16 each (256 q1 + q2, natural order, aae_k_quantize_xw_ref):
     * token i's element c at xw[i ldxw + c] (ldxw = kp), its group g's scale
     * (u / 256) at xws[i (kp / G) + g]. Or NULL */
    const int16_t *xw;
    const float *xws;
    int32_t ldxw;
    /* m >= AAE_MM_XT_MIN_M on AVX-512 and AVX2: xp transposed, [kp][ldxt] with ldxt = m
     * rounded up to 64 (zero columns past m), or NULL */
    const float *xt;
    int32_t ldxt;
    /* m == 1 on the portable path with 4- or 3-bit weights: x in the order of
     * the portable decode (k_matmul.c), kp = aae_mm_kpad(k) values with zeros
     * past k, each group as runs of 4, run c holding element c of the group's
     * 4 words (4-bit: xport[32 g + 4 c + i] = x[32 g + 8 i + c], c < 8;
     * 3-bit: xport[40 g + 4 c + i] = x[40 g + 10 i + c], c < 10), then the
     * sum of each group's values (xport[kp + g]); or NULL */
    const float *xport;
    int32_t m;
    const aae_wmat *w;
    const aae_vec *bias;
    uint8_t *task_scratch; /* per task: task_bytes each */
    size_t task_bytes;
    int32_t n_tasks;
} aae_mm_job;

/* Returns 1 if the path handled rows [n0, n1) of the job, 0 if it cannot. */
int aae_k_matmul_x86(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1, uint32_t cpu);
/* 1 if the CPU has AVX-512 VNNI (vpdpbusd), else 0. */
int aae_k_x86_has_vnni(void);
/* x (aae_mm_kpad(k) values in nibble order) as x8, x8off, x8scale (the
 * layout above): the scalar definition. */
void aae_k_quantize_x8_ref(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k);
/* x (k values in its own order) as x8, x8off, x8scale in the x3 layout above
 * (3-bit weights; same rounding as aae_k_quantize_x8_ref, groups of 40). */
void aae_k_quantize_x3_ref(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k);
/* x (k values, its own order) as x8scale, x8gofs and the x3n layout above
 * (NEON 3-bit decode): the scalar definition. */
void aae_k_quantize_x3n_ref(int8_t *q, float *scale, float *gofs, const float *x, int32_t k);
/* The NEON versions (the same bytes; x in its own order): aae_k_quantize_x8_ref
 * (ngq groups of x8, ngs scales) and aae_k_quantize_x3n_ref. No-ops elsewhere. */
void aae_k_neon_quantize_x8(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k, int32_t ngq, int32_t ngs);
void aae_k_neon_quantize_x3n(int8_t *q, float *scale, float *gofs, const float *x, int32_t k);
/* 1 if the CPU has AVX-512 VNNI and VBMI (vpmultishiftqb), else 0. */
int aae_k_x86_has_vnni_vbmi(void);
/* aae_k_quantize_x8_ref on AVX-512 VNNI, reading x in its own order (k
 * values): ngq groups of x8 (a multiple of 4), ngs scales. */
void aae_k_x86_quantize_x8(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k, int32_t ngq, int32_t ngs);
/* aae_k_x86_quantize_x8 on AVX2 (the same bytes). */
void aae_k_x86_quantize_x8_avx2(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k, int32_t ngq,
                                int32_t ngs);
/* aae_k_x86_quantize_x8 with SSSE3 (the same bytes). */
void aae_k_x86_quantize_x8_ssse3(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k, int32_t ngq,
                                 int32_t ngs);
/* The int8 prefill's activations (xq, xqs, xqo above): the scalar definition. */
void aae_k_quantize_xq_ref(int8_t *q, float *scale, int32_t *off, const float *x, int32_t ldx, int32_t m, int32_t k,
                           int32_t gsize);
/* The int16 prefill's activations (xw, xws above; ldxw = kp): the scalar
 * definition, the int8 prefill's two parts joined. */
void aae_k_quantize_xw_ref(int16_t *q, float *scale, const float *x, int32_t ldx, int32_t m, int32_t k, int32_t gsize);
/* x (k values, plain order, zeros past k) as the 3-bit AVX2 decode's int16
 * activations (x16, xscale, x16off above: the q3 pair layout, kp / 40
 * groups): scale = max |x| / 32767, q = round(x / scale) (to nearest even),
 * off = -3 scale (sum of the group's q). The scalar definition. */
void aae_k_quantize_x16q3_ref(int16_t *q, float *scale, float *off, const float *x, int32_t k);
/* aae_k_quantize_x16q3_ref on AVX2 (the same values). */
void aae_k_x86_quantize_x16q3_avx2(int16_t *q, float *scale, float *off, const float *x, int32_t k);
/* aae_k_quantize_xw_ref on AVX2 (the same values). */
void aae_k_x86_quantize_xw_avx2(int16_t *q, float *scale, const float *x, int32_t ldx, int32_t m, int32_t k,
                                int32_t gsize);
/* The int8 prefill's activations (xq, xqs, xqo above) of the m rows of x
 * (row stride ldx, k values each) on AVX-512 VNNI, groups of gsize (32: 4-bit
 * weights, 40: 3-bit). */
void aae_k_x86_quantize_xq(int8_t *q, float *scale, int32_t *off, const float *x, int32_t ldx, int32_t m,
                           int32_t k, int32_t gsize);
/* aae_k_quantize_xq_ref on AVX2 (the same bytes). */
void aae_k_x86_quantize_xq_avx2(int8_t *q, float *scale, int32_t *off, const float *x, int32_t ldx, int32_t m,
                                int32_t k, int32_t gsize);
/* The int8 prefill's activations in the NEON xqn layout (rounded as
 * aae_k_quantize_xq_ref). */
void aae_k_neon_quantize_xq(int8_t *q, float *scale, int32_t *off, const float *x, int32_t ldx, int32_t m, int32_t k,
                            int32_t gsize);
/* aae_k_quantize_x3_ref on AVX-512 VNNI + VBMI (the same bytes). */
void aae_k_x86_quantize_x3(int8_t *q, int32_t *off, float *scale, const float *x, int32_t k);
int aae_k_matmul_neon(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1, uint32_t cpu);
void aae_k_matmul_portable(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1);

/* Every token of the batched decode against rows n0 .. n1 - 1: blocks of
 * XB_ROWS rows, and in each, chunks of groups that the tokens pass over
 * XB_TOKENS at a time (dot: T tokens from t0 against groups gb .. ge - 1 of
 * row r, stored into y when first, else added). A chunk is as long as the
 * tokens' x8 slices (xg bytes per group each) fit in XB_X8_BYTES (L1): whole
 * rows of 5632 columns made 4 tokens' slices 55 KiB, read from L2 at 1.6
 * times the time of chunks; shorter rows stay whole (cut, they cost 2 tokens
 * 20% more at 1 thread: the rows' streams interleave). The block keeps the
 * rows' chunk in L1 / L2 between passes. Plain C: inlined into each path's
 * kernel, with its dot (x86: k_matmul_x86.c, NEON: k_matmul_neon.c). */
#define XB_TOKENS 4
/* Token t's copy of one of token 0's x8 fields p (x8, x8off, x8scale,
 * x8gofs, or xscale / x16off on AVX-VNNI): x8tok bytes per token. */
static inline const void *xb_tok(const aae_mm_job *j, const void *p, int32_t t)
{
    return (const uint8_t *)p + (size_t)t * j->x8tok;
}
#define XB_ROWS 32
#define XB_X8_BYTES 32768
typedef void (*xb_dot_fn)(const aae_mm_job *j, int32_t r, int32_t t0, int T, int32_t gb, int32_t ge, int first);
__attribute__((always_inline)) static inline void xb_run(const aae_mm_job *j, int32_t n0, int32_t n1, int32_t gsize,
                                                        int32_t xg, xb_dot_fn dot)
{
    int32_t ng = (j->w->k + gsize - 1) / gsize, tpass = j->m < XB_TOKENS ? j->m : XB_TOKENS;
    int32_t chunk = XB_X8_BYTES / (tpass * xg) / 16 * 16;
    if (chunk >= ng)
        chunk = ng;
    for (int32_t r0 = n0; r0 < n1; r0 += XB_ROWS) {
        int32_t r1 = n1 - r0 < XB_ROWS ? n1 : r0 + XB_ROWS;
        for (int32_t gb = 0; gb < ng; gb += chunk) {
            int32_t ge = ng - gb < chunk ? ng : gb + chunk;
            for (int32_t t0 = 0; t0 < j->m; t0 += XB_TOKENS) {
                int32_t T = j->m - t0 < XB_TOKENS ? j->m - t0 : XB_TOKENS;
                for (int32_t r = r0; r < r1; r++) {
                    if (T == 4)
                        dot(j, r, t0, 4, gb, ge, gb == 0);
                    else if (T == 3)
                        dot(j, r, t0, 3, gb, ge, gb == 0);
                    else if (T == 2)
                        dot(j, r, t0, 2, gb, ge, gb == 0);
                    else
                        dot(j, r, t0, 1, gb, ge, gb == 0);
                }
            }
        }
    }
}

/* The padded length of a prepared row of x: K rounded up to 160, a multiple of
 * both group sizes (32 and 40), zero-filled past K. */
static inline int32_t aae_mm_kpad(int32_t k) { return (k + 159) / 160 * 160; }

#endif
