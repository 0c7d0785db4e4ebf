/*
 * kernels.h - the kernel interface: the only thing model code calls.
 *
 * FREESTANDING: this header and every kernels/ source use only <stddef.h>,
 * <stdint.h>, <stdbool.h>, <float.h> and the compiler's intrinsic headers. No
 * libc call, no allocation, no I/O: buffers come in through arguments, threads
 * through the aae_threads callback table the runtime fills. The same sources are
 * built into libsphere_aae (generic) and into each model library (`sphere_aae
 * compile`, with -ffreestanding -DAAE_SPEC; see kernels/spec.h for the symbol
 * renaming that gives every external symbol the library's prefix).
 *
 * Kernels know nothing of models: they see matrices, vectors and a KV layout.
 * Activations are float32. Weights are read in place, in their stored format:
 *
 *   AAE_W_F32   float32 [n, k]
 *   AAE_W_F16   float16 [n, k]
 *   AAE_W_BF16  bfloat16 [n, k] (the "f32-to-bf16" records of MLC-LLM)
 *   AAE_W_Q4F16 / AAE_W_Q4F32  uint32 q [n, 4*ceil(k/32)] + scale [n, ceil(k/32)]
 *               (f16 / f32): element j of a group of 32 is nibble j%8 of word
 *               j/8, least significant first; w = (code - 7) * scale
 *   AAE_W_Q3F16 uint32 q [n, 4*ceil(k/40)] + f16 scale [n, ceil(k/40)]: element
 *               j of a group of 40 is bits 3*(j%10) of word j/10; w = (code - 3) * scale
 *
 * Threading: a kernel splits its work into tasks and calls
 * th->parallel_for(th->pool, fn, arg, n_tasks), which returns when all ran.
 * With parallel_for == NULL the tasks run on the calling thread (thread 0).
 */
#ifndef AAE_KERNELS_H
#define AAE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/spec.h"

typedef enum aae_wtype {
    AAE_W_F32 = 0,
    AAE_W_F16 = 1,
    AAE_W_BF16 = 2,
    AAE_W_Q4F16 = 3,
    AAE_W_Q4F32 = 4,
    AAE_W_Q3F16 = 5
} aae_wtype;

/* A weight matrix W [n, k] (Hugging Face [out, in] layout). */
typedef struct aae_wmat {
    const void *q;     /* the data (codes for quantized types) */
    const void *scale; /* quantized types only */
    int32_t n, k;
    int32_t type;      /* aae_wtype */
} aae_wmat;

/* A 1-D parameter (norm weight, bias) as stored: type is AAE_W_F32, F16 or BF16.
 * p == NULL means "absent" (no bias). */
typedef struct aae_vec {
    const void *p;
    int32_t n;
    int32_t type;
} aae_vec;

/* One task of a parallel_for: thread is the index, in [0, n_threads), of the
 * thread running it (for per-thread scratch); no two tasks run at once on one
 * thread index. */
typedef void (*aae_task_fn)(void *arg, int32_t task, int32_t thread);

typedef struct aae_threads {
    /* Runs fn(arg, t, thread) for every t in [0, n_tasks), returns when all are
     * done. Tasks are handed out one at a time, so kernels split work into more
     * tasks than threads and a thread the OS parks delays only its own task. */
    void (*parallel_for)(void *pool, aae_task_fn fn, void *arg, int32_t n_tasks);
    void *pool;
    int32_t n_threads;
} aae_threads;

/* CPU features the runtime detected; kernels pick their path from these. */
enum {
    AAE_CPU_AVX2_FMA = 1u << 0, /* x86_64: AVX2 + FMA + F16C */
    AAE_CPU_AVX512 = 1u << 1,   /* x86_64: AVX-512 F + BW + VL */
    AAE_CPU_NEON = 1u << 2,     /* aarch64: always */
    AAE_CPU_NEON_DOT = 1u << 3, /* aarch64: dot product */
    AAE_CPU_AVX_VNNI = 1u << 4, /* x86_64: AVX-VNNI (256-bit vpdpbusd, VEX), with AVX2 */
    AAE_CPU_SSSE3 = 1u << 5     /* x86_64: SSSE3 (the 128-bit kernels of CPUs without AVX2) */
};

typedef struct aae_kctx {
    const aae_threads *th;
    uint32_t cpu;  /* AAE_CPU_* of the running CPU (masked by the user's choice) */
} aae_kctx;

/* ---- matrix products ---------------------------------------------------- */

/* Bytes of scratch aae_k_matmul needs for m rows of x and a weight of k columns. */
size_t aae_k_matmul_scratch(int32_t m, int32_t k, int32_t n_threads);

/* y[i, j] = sum_t x[i, t] * W[j, t] (+ bias[j]) for i < m, j < W.n.
 * x is [m, W.k] with row stride ldx, y is [m, W.n] with row stride ldy.
 * scratch holds aae_k_matmul_scratch(m, W.k, threads) bytes, 64-byte aligned. */
void aae_k_matmul(const aae_kctx *kc, float *y, int32_t ldy, const float *x, int32_t ldx, int32_t m,
                  const aae_wmat *w, const aae_vec *bias, void *scratch);

/* out[0..k) = row r of W, dequantized (embedding lookup). */
void aae_k_get_row(const aae_wmat *w, int32_t r, float *out);

/* ---- element-wise and normalisation ------------------------------------- */

/* y = x / sqrt(mean(x^2) + eps) * w, for each of m rows of n (x and y may alias). */
void aae_k_rmsnorm(float *y, const float *x, const aae_vec *w, int32_t m, int32_t n, float eps);
/* y = (x - mean) / sqrt(var + eps) * w + b (biased variance). */
void aae_k_layernorm(float *y, const float *x, const aae_vec *w, const aae_vec *b, int32_t m, int32_t n, float eps);
/* x[i] += v[i] */
void aae_k_add(float *x, const float *v, int32_t n);
void aae_k_scale(float *x, float s, int32_t n);
/* x += bias (per row of n), m rows */
void aae_k_add_bias(float *x, const aae_vec *bias, int32_t m, int32_t n);

enum { AAE_ACT_KIND_SILU = 0, AAE_ACT_KIND_GELU_TANH = 1, AAE_ACT_KIND_GELU_ERF = 2 };
/* out[i, j] = act(gu[i, j]) * gu[i, n + j] for a fused [gate; up] row of 2n. */
void aae_k_glu(const aae_kctx *kc, float *out, const float *gu, int32_t m, int32_t n, int32_t act);
/* x = act(x) */
void aae_k_act(const aae_kctx *kc, float *x, int32_t n, int32_t act);
/* x86 vector path of the two above (k_act_x86.c): out[j] = act(g[j]) * u[j]
 * (u may be NULL: out = act(g)); returns 0 when it does not apply. */
int aae_k_act_x86(float *out, const float *g, const float *u, int32_t n, int32_t act, uint32_t cpu);

/* ---- attention ---------------------------------------------------------- */

/* Rotary embedding, Hugging Face rotate-half form, in place on the first
 * rot_dim elements of each of n_heads heads of head_dim in one token's row.
 * cs holds cos[rot_dim/2] then sin[rot_dim/2] of this position. */
void aae_k_rope(float *x, int32_t n_heads, int32_t head_dim, int32_t rot_dim, const float *cs);
/* cs[0..half) = cos(pos * inv_freq[j]), cs[half..2half) = sin(...), in float32
 * arithmetic for the angle as transformers does. */
void aae_k_rope_table(float *cs, int32_t pos, const float *inv_freq, int32_t half);

/* Causal attention of m query tokens (one layer) over keys from two sources:
 * the KV cache (n_cached slots; slot s holds position cpos[s]) and the chunk
 * itself (m tokens at positions qpos0 .. qpos0 + m - 1, keys kc/vc with row
 * stride ldkv). A key at position p is visible to the query at position q when
 * p <= q and (window <= 0 or q - p < window or p < sink).
 * q: [m, ldq] holding n_heads * head_dim; out: [m, ldo]. k/v cache rows are
 * n_kv * head_dim values: float32, or float16 when kv_f16 (then the chunk's own
 * keys and values, kc/vc, are float32 holding float16-exact values). scratch:
 * aae_k_attention_scratch bytes. */
typedef struct aae_attn_args {
    float *out;
    int32_t ldo;
    const float *q;
    int32_t ldq;
    int32_t m;
    int32_t qpos0;
    const void *kcache, *vcache;  /* [cap, n_kv * head_dim], float32 or (kv_f16) float16 */
    int32_t kv_f16;
    const int32_t *cpos;          /* positions of the cached slots */
    int32_t n_cached;             /* slots 0 .. n_cached-1 are valid */
    const float *kc, *vc;         /* this chunk's keys / values */
    int32_t ldkv;
    int32_t n_heads, n_kv, head_dim;
    int32_t window, sink;
    float scale;
} aae_attn_args;
size_t aae_k_attention_scratch(int32_t n_keys, int32_t n_heads, int32_t head_dim, int32_t n_threads);
void aae_k_attention(const aae_kctx *kc, const aae_attn_args *a, void *scratch);
/* x86 vector path of aae_k_attention for head h (n_h = 1) or heads h and h + 1
 * together (n_h = 2: they share a KV head, h even) of tokens i .. i + n_t - 1
 * (1 <= n_t <= AAE_ATTN_TOKENS), each key and value row read once for all of
 * them; the same results as one head and one token at a time
 * (k_attention_x86.c). sc holds n_h n_t (n_cached + i + n_t + head_dim)
 * floats of scratch. Returns 0 (nothing done) where it does not apply: no
 * AVX-512, head_dim not a multiple of 16 up to 256, tokens past the chunk's
 * m; for n_h = 2 also head_dim other than 64, 80, 128 or heads that do not
 * pair. */
#define AAE_ATTN_TOKENS 4
int aae_k_attn_head_x86(const aae_attn_args *a, int32_t i, int32_t n_t, int32_t h, int32_t n_h, float *sc,
                        uint32_t cpu);
/* One decoding token i, every head, keys s0 .. s1 - 1 read key by key: the
 * partial output sums, maxima and exp sums that aae_k_attention merges (layout
 * in k_attention_x86.c); sc holds n_heads x (s1 - s0) floats, part n_heads x
 * (head_dim + 2). Returns 0 where it does not apply, as above. */
int aae_k_attn_keys_x86(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part,
                        uint32_t cpu);
/* 1 if the two functions above apply to a on this CPU (AVX-512, head_dim a
 * multiple of 16 up to 256), else 0. */
int aae_k_attn_x86_ok(const aae_attn_args *a, uint32_t cpu);
/* 1 if aae_k_attn_keys_x86 applies to a on this CPU: as above, or AVX2 with
 * head_dim a multiple of 8. */
int aae_k_attn_keys_x86_ok(const aae_attn_args *a, uint32_t cpu);
/* The NEON paths (k_attention_neon.c, aarch64): aae_k_attn_head_neon as
 * aae_k_attn_head_x86 with n_h = 1, aae_k_attn_keys_neon as
 * aae_k_attn_keys_x86 (sc the same size); they apply (aae_k_attn_neon_ok) with
 * NEON and head_dim a multiple of 16 up to 256, and return 0 otherwise. */
int aae_k_attn_head_neon(const aae_attn_args *a, int32_t i, int32_t n_t, int32_t h, float *sc, uint32_t cpu);
int aae_k_attn_keys_neon(const aae_attn_args *a, int32_t i, int32_t s0, int32_t s1, float *sc, float *part,
                         uint32_t cpu);
int aae_k_attn_neon_ok(const aae_attn_args *a, uint32_t cpu);

/* ---- conversions -------------------------------------------------------- */
float aae_k_f16_to_f32(uint16_t h);
/* float32 to float16, rounded to nearest even (overflow to infinity, float16
 * subnormals kept). */
uint16_t aae_k_f32_to_f16(float f);
/* n values of src as float16 into dst16 (if not NULL) and rounded to float16
 * precision into dstf (if not NULL; may alias src); the same rounding as
 * aae_k_f32_to_f16 on every path (F16C on x86, NEON on aarch64). */
void aae_k_f16_row(const aae_kctx *kc, uint16_t *dst16, float *dstf, const float *src, int32_t n);
/* x86 part of aae_k_f16_row (k_attention_x86.c): converts a prefix of the row
 * (whole vectors) and returns its length; 0 without F16C. */
int32_t aae_k_f16_row_x86(uint16_t *dst16, float *dstf, const float *src, int32_t n, uint32_t cpu);
float aae_k_bf16_to_f32(uint16_t h);
/* Elements j0 .. j0 + n - 1 (n <= AAE_K_VEC_SPAN) of v as float32: v's own
 * memory when v is float32, else converted into buf. */
#define AAE_K_VEC_SPAN 64
const float *aae_k_vec_span(const aae_vec *v, int32_t j0, int32_t n, float *buf);

#endif
