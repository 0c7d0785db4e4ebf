/*
 * test_kernels.c - every kernel against a straightforward double-precision
 * reference written here from the format description (kernels/kernels.h), on
 * every CPU path this machine has (portable, AVX2, AVX-512 / NEON).
 *
 * Tolerances (relative to the largest |reference| of the output, or absolute
 * where stated):
 *   matmul, float32 paths           1e-5
 *   matmul, decode with integer activations 1e-4 (x rounded to about 1/32767 of
 *   its group max: int16, or two int8 parts)
 *   norms, rope, attention          1e-5
 *   exp 1e-6 relative; tanh, erf 1e-6 absolute; sin/cos 1e-9 absolute
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aae_test.h"
#include "kernels/kernels.h"
#include "kernels/kmath.h"
#include "kernels/matmul_impl.h"
#include "loader/cpu.h"
#include "loader/pool.h"

static uint64_t rng_state = 88172645463325252ull;
static double urand(void) /* [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 4503599627370496.0 - 1.0;
}

static uint16_t f32_to_f16(float f) /* round to nearest even, normal range only (tests) */
{
    union {
        float f;
        uint32_t u;
    } v = {.f = f};
    uint32_t sign = (v.u >> 16) & 0x8000u;
    int32_t e = (int32_t)((v.u >> 23) & 0xff) - 127 + 15;
    uint32_t man = v.u & 0x7fffffu;
    if (e <= 0)
        return (uint16_t)sign; /* flush tiny values to zero (not produced here) */
    uint32_t h = ((uint32_t)e << 10) | (man >> 13);
    uint32_t rest = man & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

static double f16_to_double(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp(m / 1024.0, -14);
    return (h & 0x8000) ? -v : v;
}

/* A random weight of type t, [n, k], with an independent dequantized copy. */
typedef struct tw {
    aae_wmat w;
    void *q, *s;
    double *ref; /* [n, k] */
} tw;

/* 1: make_weight gives float16 group scales of every finite magnitude. */
static int g_wide_scales;

static void make_weight(tw *t, int32_t type, int32_t n, int32_t k)
{
    memset(t, 0, sizeof *t);
    t->ref = calloc((size_t)n * k, sizeof(double));
    t->w.n = n;
    t->w.k = k;
    t->w.type = type;
    if (type == AAE_W_F32 || type == AAE_W_F16 || type == AAE_W_BF16) {
        size_t es = type == AAE_W_F32 ? 4 : 2;
        t->q = calloc((size_t)n * k, es);
        for (size_t i = 0; i < (size_t)n * k; i++) {
            float v = (float)urand();
            if (type == AAE_W_F32) {
                ((float *)t->q)[i] = v;
                t->ref[i] = v;
            } else if (type == AAE_W_F16) {
                ((uint16_t *)t->q)[i] = f32_to_f16(v);
                t->ref[i] = f16_to_double(((uint16_t *)t->q)[i]);
            } else {
                union {
                    float f;
                    uint32_t u;
                } u = {.f = v};
                ((uint16_t *)t->q)[i] = (uint16_t)(u.u >> 16);
                u.u &= 0xffff0000u;
                t->ref[i] = u.f;
            }
        }
        t->w.q = t->q;
        return;
    }
    int q3 = type == AAE_W_Q3F16;
    int32_t G = q3 ? 40 : 32, per = q3 ? 10 : 8, bits = q3 ? 3 : 4, maxint = q3 ? 3 : 7;
    int32_t ng = (k + G - 1) / G;
    t->q = calloc((size_t)n * 4 * ng, 4);
    t->s = calloc((size_t)n * ng, type == AAE_W_Q4F32 ? 4 : 2);
    for (int32_t r = 0; r < n; r++)
        for (int32_t g = 0; g < ng; g++) {
            double scale;
            if (type == AAE_W_Q4F32) {
                float s = (float)(0.01 + 0.02 * fabs(urand()));
                ((float *)t->s)[(size_t)r * ng + g] = s;
                scale = s;
            } else {
                uint16_t h = f32_to_f16((float)(0.01 + 0.02 * fabs(urand())));
                if (g_wide_scales) /* every finite magnitude in turn, zero and subnormals in the first rows, either sign */
                    h = (uint16_t)(((uint32_t)r * (uint32_t)ng + (uint32_t)g) % 0x7c00u) |
                        (uint16_t)(urand() < 0 ? 0x8000u : 0u);
                ((uint16_t *)t->s)[(size_t)r * ng + g] = h;
                scale = f16_to_double(h);
            }
            for (int32_t e = 0; e < G; e++) {
                int32_t col = g * G + e;
                uint32_t code = (uint32_t)(rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull) >> 7;
                code = (uint32_t)((rng_state >> 33) % (uint64_t)(2 * maxint + 1));
                if (col >= k)
                    code = 0;
                uint32_t *word = (uint32_t *)t->q + (size_t)r * 4 * ng + (size_t)g * 4 + e / per;
                *word |= code << ((e % per) * bits);
                if (col < k)
                    t->ref[(size_t)r * k + col] = ((double)code - maxint) * scale;
            }
        }
    t->w.q = t->q;
    t->w.scale = t->s;
}

static void free_weight(tw *t)
{
    free(t->q);
    free(t->s);
    free(t->ref);
}

static aae_pool *g_pool;
static aae_threads g_th;

/* The matmul against a float64 reference on the weights as dequantized. Float
 * activations: the largest difference over the largest |output| (the caller
 * allows 1e-5). int_act (x rounded per group of G = 32, or 40 for 3-bit, as
 * int16 or two int8 parts, to 1 part in 65024 of the group's largest |x|):
 * each output may move by up to sum_c |w_jc| amax(group of c) / 65024 from
 * that rounding; the largest ratio of an output's difference to twice that
 * plus 1e-5 of the largest |output| (the caller allows 1). With
 * g_wide_scales, every output's difference over twice its rounding bound (int
 * activations) plus 1e-5 of sum_c |x_c w_jc|, the largest ratio (allowed 1). */
static double check_matmul(int32_t type, int32_t m, int32_t n, int32_t k, uint32_t cpu, int with_bias, int int_act)
{
    tw t;
    make_weight(&t, type, n, k);
    float *x = malloc((size_t)m * k * sizeof(float)), *y = malloc((size_t)m * n * sizeof(float));
    float *bias = malloc((size_t)n * sizeof(float));
    for (size_t i = 0; i < (size_t)m * k; i++)
        x[i] = (float)urand();
    for (int32_t i = 0; i < n; i++)
        bias[i] = (float)urand();
    aae_vec b = {.p = bias, .n = n, .type = AAE_W_F32};
    aae_kctx kc = {.th = &g_th, .cpu = cpu};
    void *scratch = aligned_alloc(64, (aae_k_matmul_scratch(m, k, g_th.n_threads) + 63) / 64 * 64);
    aae_k_matmul(&kc, y, n, x, k, m, &t.w, with_bias ? &b : NULL, scratch);
    double maxref = 0, maxdiff = 0, worst = 0, wide = 0;
    int32_t G = type == AAE_W_Q3F16 ? 40 : 32;
    double *d = malloc((size_t)m * n * sizeof(double)), *bound = malloc((size_t)m * n * sizeof(double));
    int32_t ngx = (k + G - 1) / G;
    double *gmax = calloc((size_t)m * ngx, sizeof(double)); /* largest |x| of each token's group */
    for (int32_t i = 0; i < m; i++)
        for (int32_t c = 0; c < k; c++)
            gmax[(size_t)i * ngx + c / G] = fmax(gmax[(size_t)i * ngx + c / G], fabs(x[(size_t)i * k + c]));
    for (int32_t i = 0; i < m; i++)
        for (int32_t j = 0; j < n; j++) {
            double s = with_bias ? bias[j] : 0.0, bnd = 0, mag = 0;
            for (int32_t c = 0; c < k; c++) {
                s += (double)x[(size_t)i * k + c] * t.ref[(size_t)j * k + c];
                mag += fabs((double)x[(size_t)i * k + c] * t.ref[(size_t)j * k + c]);
                bnd += fabs(t.ref[(size_t)j * k + c]) * gmax[(size_t)i * ngx + c / G] / 65024.0;
            }
            d[(size_t)i * n + j] = fabs(s - y[(size_t)i * n + j]);
            bound[(size_t)i * n + j] = bnd;
            if (g_wide_scales) /* rows of scales 2^-24 .. 65504: each output against its own magnitude */
                wide = fmax(wide, d[(size_t)i * n + j] / ((int_act ? 2 * bnd : 0) + 1e-5 * mag + 1e-300));
            maxdiff = d[(size_t)i * n + j] > maxdiff ? d[(size_t)i * n + j] : maxdiff;
            maxref = fabs(s) > maxref ? fabs(s) : maxref;
        }
    for (size_t o = 0; o < (size_t)m * n; o++) {
        double r = d[o] / (2 * bound[o] + 1e-5 * maxref);
        worst = r > worst ? r : worst;
    }
    free(d);
    free(bound);
    free(gmax);
    free(scratch);
    free(x);
    free(y);
    free(bias);
    free_weight(&t);
    return g_wide_scales ? wide : int_act ? worst : maxdiff / (maxref > 0 ? maxref : 1);
}

AAE_TEST(matmul_all_types_all_paths)
{
    uint32_t have = aae_cpu_features();
    /* AVX2 with AVX-VNNI (the path of x86-64 CPUs without AVX-512) where present */
    /* and SSSE3 alone (the path of x86-64 CPUs without AVX2) */
    uint32_t paths[7] = {0,
                         have & AAE_CPU_AVX2_FMA,
                         have & (AAE_CPU_AVX2_FMA | AAE_CPU_AVX512),
                         have & AAE_CPU_NEON,
                         (have & AAE_CPU_NEON_DOT) ? have & (AAE_CPU_NEON | AAE_CPU_NEON_DOT) : 0,
                         (have & AAE_CPU_AVX_VNNI) ? have & (AAE_CPU_AVX2_FMA | AAE_CPU_AVX_VNNI) : 0,
                         have & AAE_CPU_SSSE3};
    const int32_t types[6] = {AAE_W_F32, AAE_W_F16, AAE_W_BF16, AAE_W_Q4F16, AAE_W_Q4F32, AAE_W_Q3F16};
    /* m >= 16 with k past one k-block and more than 16 rows: the transposed prefill kernels' blocks and edges;
     * 2 .. 16 tokens: the batched decode's token passes, row blocks (32) and k chunks (4 tokens: 128 groups
     * of 32, 80 of 40; 3 tokens: 160, 112), one decode per token for 2 .. 4 elsewhere; 600 rows: tasks of 48 rows;
     * 70, 90, 100 tokens: a last block of 6, 26, 36 tokens in the transposed float kernel; 200
     * tokens: two token chunks of the AVX2 int16 prefill (192 + 8) */
    const int32_t shapes[][3] = {{1, 37, 64}, {1, 13, 100}, {5, 9, 200}, {7, 33, 96}, {1, 70, 2048}, {9, 6, 45},
                                 {20, 11, 700}, {70, 5, 1300}, {1, 19, 96}, {1, 5, 520}, {1, 3, 150}, {1, 4, 1000},
                                 {17, 21, 2300}, {2, 3, 64}, {3, 5, 4500}, {6, 40, 5000}, {16, 35, 300},
                                 {13, 7, 200}, {5, 600, 130}, {100, 6, 330}, {90, 4, 170}, {200, 19, 170}};
    if (have & AAE_CPU_NEON)
        printf("  (aarch64: dot-product extension %s)\n", (have & AAE_CPU_NEON_DOT) ? "present, tested" : "absent");
    if (have & AAE_CPU_AVX2_FMA)
        printf("  (x86-64: AVX-VNNI %s)\n", (have & AAE_CPU_AVX_VNNI) ? "present, tested" : "absent");
    for (int p = 0; p < 7; p++) {
        if (p > 0 && !paths[p])
            continue;
        for (int t = 0; t < 6; t++)
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                int32_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                /* int16 / two-part int8 activations (4- and 3-bit decodes; 4- and
                 * 3-bit prefill on AVX-512 VNNI, AVX2 (int16 without AVX-VNNI)
                 * and NEON sdot) */
                int q4 = types[t] == AAE_W_Q4F16 || types[t] == AAE_W_Q4F32;
                int int_act = (m <= AAE_MM_TOK_MAX_M && paths[p] && (q4 || types[t] == AAE_W_Q3F16) &&
                               (paths[p] & (AAE_CPU_AVX2_FMA | AAE_CPU_NEON | AAE_CPU_SSSE3))) ||
                              (m > AAE_MM_TOK_MAX_M && (q4 || types[t] == AAE_W_Q3F16) &&
                               ((paths[p] & AAE_CPU_AVX512) ? aae_k_x86_has_vnni()
                                                            : (paths[p] & (AAE_CPU_AVX2_FMA | AAE_CPU_NEON_DOT)) != 0));
                double err = check_matmul(types[t], m, n, k, paths[p], (int)(s & 1), int_act);
                double tol = int_act ? 1.0 : 1e-5;
                if (!(err <= tol)) {
                    fprintf(stderr, "matmul path %s type %d m %d n %d k %d: %s %g > %g\n",
                            aae_cpu_path_name(paths[p]), types[t], m, n, k,
                            int_act ? "error / its rounding bound" : "rel err", err, tol);
                    AAE_CHECK(err <= tol);
                }
            }
    }
}

/* Float16 group scales from zero through subnormals to 65504, either sign
 * (each row a run of 256 consecutive magnitudes, each output held to its own
 * size), on every path's 4- and 3-bit decode and prefill: the paths without
 * F16C (SSSE3, portable) convert them in software. */
AAE_TEST(matmul_float16_scales_of_every_magnitude)
{
    uint32_t have = aae_cpu_features();
    const uint32_t paths[5] = {0, have & AAE_CPU_SSSE3, have & AAE_CPU_AVX2_FMA, have & AAE_CPU_NEON, have};
    const int32_t types[2] = {AAE_W_Q4F16, AAE_W_Q3F16}, ms[3] = {1, 3, 9};
    g_wide_scales = 1;
    for (int p = 0; p < 5; p++)
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < 3; i++) {
                if (p > 0 && !paths[p])
                    continue;
                int32_t m = ms[i];
                /* 31744 groups: every finite float16 magnitude once */
                int32_t n = 124, k = types[t] == AAE_W_Q3F16 ? 10240 : 8192;
                int int_act = paths[p] && m <= AAE_MM_TOK_MAX_M &&
                              (paths[p] & (AAE_CPU_AVX2_FMA | AAE_CPU_SSSE3 | AAE_CPU_NEON)) != 0;
                int_act |= m > AAE_MM_TOK_MAX_M && (paths[p] & (AAE_CPU_AVX2_FMA | AAE_CPU_NEON_DOT)) != 0;
                double err = check_matmul(types[t], m, n, k, paths[p], 0, int_act), tol = 1.0;
                if (!(err <= tol))
                    fprintf(stderr, "wide scales: path %s type %d m %d: %g > %g\n", aae_cpu_path_name(paths[p]),
                            types[t], m, err, tol);
                AAE_CHECK(err <= tol);
            }
    g_wide_scales = 0;
}

/* Rows 8 .. 10 of w (at least 11 rows) made copies of rows 0 .. 2: codes
 * and scales, or the float values. */
static void copy_rows_0_2_to_8_10(tw *t)
{
    int32_t k = t->w.k, type = t->w.type;
    size_t qrow, srow = 0;
    if (type == AAE_W_F32)
        qrow = (size_t)k * 4;
    else if (type == AAE_W_F16 || type == AAE_W_BF16)
        qrow = (size_t)k * 2;
    else {
        int32_t G = type == AAE_W_Q3F16 ? 40 : 32, ng = (k + G - 1) / G;
        qrow = (size_t)ng * 16;
        srow = (size_t)ng * (type == AAE_W_Q4F32 ? 4 : 2);
    }
    for (int32_t r = 0; r < 3; r++) {
        memcpy((uint8_t *)t->q + (size_t)(8 + r) * qrow, (uint8_t *)t->q + (size_t)r * qrow, qrow);
        if (srow)
            memcpy((uint8_t *)t->s + (size_t)(8 + r) * srow, (uint8_t *)t->s + (size_t)r * srow, srow);
    }
}

/* A decoding token's row dots give each row the same bits wherever the row
 * falls: the 3-bit AVX-512 VNNI decode runs rows 4 at a time (short ones, 96
 * and 768 columns here, on any thread count; all on one thread) and the last
 * n % 4 one by one, and the AVX2 4- and 3-bit decodes sum 8 rows' lanes
 * together (the last n % 8 with zero rows), so rows 8 .. 10 of 11 (copies of
 * rows 0 .. 2) must come out exactly as rows 0 .. 2. Every 3- and 4-bit type, on each x86 path the
 * CPU has (elsewhere the paths are the portable one, run three times), on the
 * test's pool and on one thread. */
AAE_TEST(decode_rows_same_bits_in_blocks_and_alone)
{
    uint32_t have = aae_cpu_features();
    const uint32_t paths[4] = {have, have & AAE_CPU_AVX2_FMA, 0, have & AAE_CPU_SSSE3};
    const int32_t types[3] = {AAE_W_Q3F16, AAE_W_Q4F16, AAE_W_Q4F32}, ks[4] = {96, 768, 2088, 5632};
    const int32_t n = 11;
    int bad = 0;
    for (int p = 0; p < 4; p++)
        for (int t = 0; t < 3; t++)
            for (int v = 0; v < 8; v++) { /* 4 widths, on the pool and on one thread */
                int one = v / 4, c = v % 4;
                int32_t k = ks[c];
                tw w;
                make_weight(&w, types[t], n, k);
                copy_rows_0_2_to_8_10(&w);
                float *x = malloc((size_t)k * sizeof(float)), y[11];
                for (int32_t i = 0; i < k; i++)
                    x[i] = (float)urand();
                aae_kctx kc = {.th = one ? NULL : &g_th, .cpu = paths[p]};
                void *scratch = aligned_alloc(64, (aae_k_matmul_scratch(1, k, g_th.n_threads) + 63) / 64 * 64);
                aae_k_matmul(&kc, y, n, x, k, 1, &w.w, NULL, scratch);
                for (int32_t r = 0; r < 3; r++)
                    if (memcmp(&y[r], &y[8 + r], sizeof(float)) != 0) {
                        fprintf(stderr, "decode path %s type %d k %d (%s): row %d %.9g, its copy %.9g\n",
                                aae_cpu_path_name(paths[p]), types[t], k, one ? "1 thread" : "pool", r, y[r],
                                y[8 + r]);
                        bad++;
                    }
                free(scratch);
                free(x);
                free_weight(&w);
            }
    AAE_CHECK_EQ_INT(bad, 0);
}

/* The NEON decodes without the dot-product extension (ARMv8.0) form the int32
 * lanes of sdot, so they give the same floats as with it: 4- and 3-bit types,
 * 1 to 4 tokens (the batched decode from 2), widths with a short last group
 * and 3-bit rows ending in a step of 1 to 3 groups, with a bias, on the pool.
 * Runs where the CPU has the extension (qemu -cpu max in CI); on one without
 * it (qemu -cpu cortex-a53) the tests above hold that path to the reference. */
AAE_TEST(neon_decode_same_bits_with_and_without_sdot)
{
    uint32_t have = aae_cpu_features();
    if (!(have & AAE_CPU_NEON_DOT)) {
        printf("  (no NEON dot product here: nothing to compare)\n");
        return;
    }
    const int32_t types[3] = {AAE_W_Q4F16, AAE_W_Q4F32, AAE_W_Q3F16}, ks[5] = {64, 100, 520, 2088, 4500};
    const int32_t n = 37;
    int bad = 0, runs = 0;
    for (int t = 0; t < 3; t++)
        for (int c = 0; c < 5; c++)
            for (int32_t m = 1; m <= AAE_MM_TOK_MAX_M; m++) {
                int32_t k = ks[c];
                tw w;
                make_weight(&w, types[t], n, k);
                float *x = malloc((size_t)m * k * sizeof(float)), *bias = malloc((size_t)n * sizeof(float));
                float *y[2] = {malloc((size_t)m * n * sizeof(float)), malloc((size_t)m * n * sizeof(float))};
                for (int32_t i = 0; i < m * k; i++)
                    x[i] = (float)(urand() * (i % 7 == 0 ? 30.0 : 1.0));
                for (int32_t i = 0; i < n; i++)
                    bias[i] = (float)urand();
                aae_vec b = {.p = bias, .n = n, .type = AAE_W_F32};
                void *scratch = aligned_alloc(64, (aae_k_matmul_scratch(m, k, g_th.n_threads) + 63) / 64 * 64);
                for (int v = 0; v < 2; v++) {
                    aae_kctx kc = {.th = &g_th, .cpu = v ? have & AAE_CPU_NEON : have};
                    aae_k_matmul(&kc, y[v], n, x, k, m, &w.w, &b, scratch);
                }
                for (int32_t i = 0; i < m * n; i++)
                    if (memcmp(&y[0][i], &y[1][i], sizeof(float)) != 0) {
                        fprintf(stderr, "neon type %d m %d k %d: token %d row %d: sdot %.9g, without %.9g\n",
                                types[t], m, k, i / n, i % n, y[0][i], y[1][i]);
                        bad++;
                        break;
                    }
                runs++;
                free(scratch);
                free(y[0]);
                free(y[1]);
                free(bias);
                free(x);
                free_weight(&w);
            }
    AAE_CHECK_EQ_INT(runs, 60);
    AAE_CHECK_EQ_INT(bad, 0);
}

/* The portable path's prompt kernel takes rows 4 at a time and the last n % 4
 * one by one: the same bits either way (rows 8 .. 10 of 11 copy rows 0 .. 2),
 * for every weight type, 5 tokens. */
AAE_TEST(portable_prompt_rows_same_bits_in_tiles_and_alone)
{
    const int32_t types[6] = {AAE_W_F32, AAE_W_F16, AAE_W_BF16, AAE_W_Q4F16, AAE_W_Q4F32, AAE_W_Q3F16};
    const int32_t n = 11, m = 5, k = 1000;
    int bad = 0;
    for (int t = 0; t < 6; t++) {
        tw w;
        make_weight(&w, types[t], n, k);
        copy_rows_0_2_to_8_10(&w);
        float *x = malloc((size_t)m * k * sizeof(float)), y[5 * 11];
        for (int32_t i = 0; i < m * k; i++)
            x[i] = (float)urand();
        aae_kctx kc = {.th = NULL, .cpu = 0};
        void *scratch = aligned_alloc(64, (aae_k_matmul_scratch(m, k, 1) + 63) / 64 * 64);
        aae_k_matmul(&kc, y, n, x, k, m, &w.w, NULL, scratch);
        for (int32_t i = 0; i < m; i++)
            for (int32_t r = 0; r < 3; r++)
                if (memcmp(&y[i * n + r], &y[i * n + 8 + r], sizeof(float)) != 0) {
                    fprintf(stderr, "portable prompt type %d token %d: row %d %.9g, its copy %.9g\n", types[t], i, r,
                            y[i * n + r], y[i * n + 8 + r]);
                    bad++;
                }
        free(scratch);
        free(x);
        free_weight(&w);
    }
    AAE_CHECK_EQ_INT(bad, 0);
}

/* A decode on the pool splits its rows into segments that two threads take
 * from both ends (aae_k_matmul): every row is computed once, with its bias
 * once, and gets the same floats as on one thread, on pools of 2, 3 (a last
 * segment with one thread) and 5 threads, for matrices of 17 rows (2 blocks)
 * up to 2999 (188 blocks, the last one short). y starts as NaN, so a row no
 * block covers shows. */
AAE_TEST(decode_split_covers_every_row_once)
{
    uint32_t have = aae_cpu_features();
    const uint32_t paths[3] = {have, have & AAE_CPU_AVX2_FMA, 0};
    const int32_t types[3] = {AAE_W_Q4F16, AAE_W_Q3F16, AAE_W_F16};
    const int32_t ns[3] = {2999, 17, 40}, k = 1400, n_pools = 3, pool_threads[3] = {2, 3, 5};
    int bad = 0;
    float *x = malloc((size_t)k * sizeof(float)), *bias = malloc((size_t)ns[0] * sizeof(float));
    float *y1 = malloc((size_t)ns[0] * sizeof(float)), *yp = malloc((size_t)ns[0] * sizeof(float));
    for (int32_t i = 0; i < k; i++)
        x[i] = (float)urand();
    for (int32_t i = 0; i < ns[0]; i++)
        bias[i] = (float)urand();
    aae_pool *pools[3] = {NULL, NULL, NULL};
    aae_threads ths[3];
    aae_error err;
    for (int q = 0; q < n_pools; q++) {
        AAE_CHECK(aae_pool_create(pool_threads[q], &pools[q], &err) == AAE_OK);
        aae_pool_threads(pools[q], &ths[q]);
    }
    for (int c = 0; c < 3; c++) {
        int32_t n = ns[c];
        aae_vec b = {.p = bias, .n = n, .type = AAE_W_F32};
        for (int t = 0; t < 3; t++) {
            tw w;
            make_weight(&w, types[t], n, k);
            for (int p = 0; p < 3; p++) {
                if (p > 0 && !paths[p])
                    continue;
                void *scratch = aligned_alloc(64, (aae_k_matmul_scratch(1, k, 5) + 63) / 64 * 64);
                aae_kctx one = {.th = NULL, .cpu = paths[p]};
                for (int32_t i = 0; i < n; i++)
                    y1[i] = __builtin_nanf("");
                aae_k_matmul(&one, y1, n, x, k, 1, &w.w, &b, scratch);
                for (int q = 0; q < n_pools; q++) {
                    aae_kctx pool = {.th = &ths[q], .cpu = paths[p]};
                    for (int32_t i = 0; i < n; i++)
                        yp[i] = __builtin_nanf("");
                    aae_k_matmul(&pool, yp, n, x, k, 1, &w.w, &b, scratch);
                    for (int32_t r = 0; r < n; r++)
                        if (memcmp(&y1[r], &yp[r], sizeof(float)) != 0 || y1[r] != y1[r]) {
                            if (bad++ < 5)
                                fprintf(stderr, "decode path %s type %d n %d, %d threads: row %d one thread %.9g, pool %.9g\n",
                                        aae_cpu_path_name(paths[p]), types[t], n, pool_threads[q], r, y1[r], yp[r]);
                        }
                }
                free(scratch);
            }
            free_weight(&w);
        }
    }
    for (int q = 0; q < n_pools; q++)
        aae_pool_free(pools[q]);
    free(x);
    free(bias);
    free(y1);
    free(yp);
    AAE_CHECK_EQ_INT(bad, 0);
}

/* A model sizes its matmul scratch for its longest chunk and runs shorter
 * ones in it (the last piece of a prompt, one decode per token): the size
 * never shrinks as m grows, whatever kernel a given m takes. */
AAE_TEST(matmul_scratch_grows_with_m)
{
    const int32_t ks[] = {1, 64, 100, 160, 768, 2048, 5000};
    int bad = 0;
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++)
        for (int32_t t = 1; t <= 4; t++)
            for (int32_t m = 1; m < 300; m++)
                bad += aae_k_matmul_scratch(m + 1, ks[c], t) < aae_k_matmul_scratch(m, ks[c], t);
    AAE_CHECK_EQ_INT(bad, 0);
}

/* The AVX-512 VNNI and AVX2 activation quantizers give exactly the scalar
 * definition's bytes, offsets and scales (x in its own order vs the
 * nibble-order copy), including groups past k, all-zero groups and values at
 * the rounding ties. */
AAE_TEST(quantize_x8_vector_equals_scalar)
{
    uint32_t have = aae_cpu_features();
    int v512 = (have & AAE_CPU_AVX512) && aae_k_x86_has_vnni(), v256 = (have & AAE_CPU_AVX2_FMA) != 0;
    int v128 = (have & AAE_CPU_SSSE3) != 0;
    if (!v512 && !v256 && !v128) {
        printf("  (no SSSE3 here: nothing to compare)\n");
        return;
    }
    const int32_t ks[] = {1, 31, 32, 33, 100, 160, 700, 768, 2048, 2100, 5632};
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++) {
        int32_t k = ks[c], kp = aae_mm_kpad(k), ngq = (kp / 32 + 3) / 4 * 4, ngs = (kp / 32 + 15) / 16 * 16;
        float *x = calloc((size_t)kp, sizeof *x), *xn = calloc((size_t)kp, sizeof *xn);
        int8_t *q1 = calloc((size_t)ngq * 64, 1), *q2 = calloc((size_t)ngq * 64, 1);
        int32_t *o1 = calloc((size_t)ngq * 8, 4), *o2 = calloc((size_t)ngq * 8, 4);
        float *s1 = calloc((size_t)ngs, 4), *s2 = calloc((size_t)ngs, 4);
        for (int32_t i = 0; i < k; i++) {
            double r = urand();
            /* group 1 all zero; in group 2, halves of the scale step (ties) */
            x[i] = i / 32 == 1 ? 0.0f : i / 32 == 2 ? (float)((i % 7) - 3) * 0.5f : (float)(r * (1 + i % 5) * 3.0);
        }
        for (int32_t g = 0; g < kp; g += 32) /* the nibble-order copy the scalar version reads */
            for (int32_t e = 0; e < 32; e++)
                xn[g + (e % 2) * 16 + e / 2] = x[g + e];
        memset(s1, 0x7f, (size_t)ngs * 4);
        memset(s2, 0x7f, (size_t)ngs * 4);
        aae_k_quantize_x8_ref(q1, o1, s1, xn, k);
        for (int path = 0; path < 3; path++) {
            if (!(path == 2 ? v128 : path ? v256 : v512))
                continue;
            memset(q2, 0x55, (size_t)ngq * 64), memset(o2, 0x55, (size_t)ngq * 32), memset(s2, 0x55, (size_t)ngs * 4);
            if (path == 2)
                aae_k_x86_quantize_x8_ssse3(q2, o2, s2, x, k, ngq, ngs);
            else if (path)
                aae_k_x86_quantize_x8_avx2(q2, o2, s2, x, k, ngq, ngs);
            else
                aae_k_x86_quantize_x8(q2, o2, s2, x, k, ngq, ngs);
            AAE_CHECK(memcmp(q1, q2, (size_t)ngq * 64) == 0);
            AAE_CHECK(memcmp(o1, o2, (size_t)ngq * 32) == 0);
            AAE_CHECK(memcmp(s1, s2, (size_t)ngs * 4) == 0);
        }
        free(x), free(xn), free(q1), free(q2), free(o1), free(o2), free(s1), free(s2);
    }
}

/* The AVX2 3-bit decode's int16 activations (x16 in the q3 pair layout) are
 * the scalar definition's values, scales and offsets: past k, an all-zero
 * group and rounding ties (a group whose largest value is 32767, so that
 * halves are exact ties) included; every slot of the layout is written. */
AAE_TEST(quantize_x16q3_vector_equals_scalar)
{
    if (!(aae_cpu_features() & AAE_CPU_AVX2_FMA)) {
        printf("  (no AVX2 here: nothing to compare)\n");
        return;
    }
    const int32_t ks[] = {1, 39, 40, 41, 100, 160, 161, 700, 768, 2048, 2100, 5632};
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++) {
        int32_t k = ks[c], kp = aae_mm_kpad(k), ng = kp / 40;
        float *x = calloc((size_t)k, sizeof *x);
        int16_t *q1 = malloc((size_t)kp * 2), *q2 = malloc((size_t)kp * 2);
        float *s1 = malloc((size_t)ng * 4), *s2 = malloc((size_t)ng * 4);
        float *o1 = malloc((size_t)ng * 4), *o2 = malloc((size_t)ng * 4);
        for (int32_t i = 0; i < k; i++) {
            double r = urand();
            x[i] = i / 40 == 1 ? 0.0f
                   : i / 40 == 2 ? (i % 40 == 0 ? 32767.0f : (float)((i % 9) - 4) + 0.5f)
                                 : (float)(r * (1 + i % 7) * 2.5);
        }
        memset(q1, 0x35, (size_t)kp * 2), memset(s1, 0x35, (size_t)ng * 4), memset(o1, 0x35, (size_t)ng * 4);
        aae_k_quantize_x16q3_ref(q1, s1, o1, x, k);
        memset(q2, 0x53, (size_t)kp * 2);
        aae_k_quantize_x16q3_ref(q2, s2, o2, x, k);
        int unset = 0; /* slots the definition left as filled (under two fills: a value may equal one) */
        for (int32_t i = 0; i < kp; i++)
            unset += q1[i] == 0x3535 && q2[i] == 0x5353;
        AAE_CHECK_EQ_INT(unset, 0);
        memset(q2, 0x53, (size_t)kp * 2), memset(s2, 0x53, (size_t)ng * 4), memset(o2, 0x53, (size_t)ng * 4);
        aae_k_x86_quantize_x16q3_avx2(q2, s2, o2, x, k);
        AAE_CHECK(memcmp(q1, q2, (size_t)kp * 2) == 0);
        AAE_CHECK(memcmp(s1, s2, (size_t)ng * 4) == 0);
        AAE_CHECK(memcmp(o1, o2, (size_t)ng * 4) == 0);
        free(x), free(q1), free(q2), free(s1), free(s2), free(o1), free(o2);
    }
}

/* The NEON activation quantizers give exactly the scalar definitions' bytes,
 * offsets and scales (x8 for 4-bit, x3n for 3-bit), past k, all-zero groups
 * and ties included. */
AAE_TEST(quantize_neon_equals_scalar)
{
    if (!(aae_cpu_features() & AAE_CPU_NEON)) {
        printf("  (no NEON here: nothing to compare)\n");
        return;
    }
    const int32_t ks[] = {1, 31, 32, 33, 39, 40, 41, 100, 160, 161, 700, 768, 2048, 2100, 5632};
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++) {
        int32_t k = ks[c], kp = aae_mm_kpad(k), ngq = (kp / 32 + 3) / 4 * 4, ngs = (kp / 32 + 15) / 16 * 16;
        float *x = calloc((size_t)kp, sizeof *x), *xn = calloc((size_t)kp, sizeof *xn);
        size_t qb = (size_t)ngq * 64 > (size_t)kp * 2 ? (size_t)ngq * 64 : (size_t)kp * 2;
        int8_t *q1 = malloc(qb), *q2 = malloc(qb);
        int32_t *o1 = malloc((size_t)ngq * 32), *o2 = malloc((size_t)ngq * 32);
        float *s1 = malloc((size_t)ngs * 4), *s2 = malloc((size_t)ngs * 4);
        float *f1 = malloc((size_t)ngs * 4), *f2 = malloc((size_t)ngs * 4);
        for (int32_t i = 0; i < k; i++) {
            double r = urand();
            x[i] = i / 32 == 1 ? 0.0f : i / 32 == 2 ? (float)((i % 7) - 3) * 0.5f : (float)(r * (1 + i % 5) * 3.0);
        }
        for (int32_t g = 0; g < kp; g += 32)
            for (int32_t e = 0; e < 32; e++)
                xn[g + (e % 2) * 16 + e / 2] = x[g + e];
        memset(q1, 0x55, qb), memset(q2, 0x35, qb);
        aae_k_quantize_x8_ref(q1, o1, s1, xn, k);
        aae_k_neon_quantize_x8(q2, o2, s2, x, k, ngq, ngs);
        AAE_CHECK(memcmp(q1, q2, (size_t)ngq * 64) == 0);
        AAE_CHECK(memcmp(o1, o2, (size_t)ngq * 32) == 0);
        AAE_CHECK(memcmp(s1, s2, (size_t)ngs * 4) == 0);
        memset(q1, 0x55, qb), memset(q2, 0x35, qb);
        aae_k_quantize_x3n_ref(q1, s1, f1, x, k);
        aae_k_neon_quantize_x3n(q2, s2, f2, x, k);
        AAE_CHECK(memcmp(q1, q2, (size_t)kp * 2) == 0);
        AAE_CHECK(memcmp(s1, s2, (size_t)(kp / 40) * 4) == 0);
        AAE_CHECK(memcmp(f1, f2, (size_t)(kp / 40) * 4) == 0);
        free(x), free(xn), free(q1), free(q2), free(o1), free(o2), free(s1), free(s2), free(f1), free(f2);
    }
    /* the int8 prefill's activations: the xqn layout (4-token blocks) holds the
     * scalar definition's bytes, scales and offsets, zeros for tokens past m */
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++)
        for (int32_t G = 32; G <= 40; G += 8) {
            int32_t k = ks[c], kp = aae_mm_kpad(k), m = 6, m4 = 8, ld = k + 3, ng = kp / G, S = G / 4;
            float *x = malloc((size_t)m * ld * sizeof *x);
            int8_t *qr = malloc((size_t)m * kp * 2), *qn = malloc((size_t)m4 * kp * 2);
            float *sr = malloc((size_t)m * ng * 4), *sn = malloc((size_t)m4 * ng * 4);
            int32_t *orf = malloc((size_t)m * ng * 4), *on = malloc((size_t)m4 * ng * 4);
            for (int32_t i = 0; i < m * ld; i++)
                x[i] = (float)(urand() * (1 + i % 5));
            memset(qn, 0x55, (size_t)m4 * kp * 2);
            aae_k_quantize_xq_ref(qr, sr, orf, x, ld, m, k, G);
            aae_k_neon_quantize_xq(qn, sn, on, x, ld, m, k, G);
            int bad = 0;
            for (int32_t i = 0; i < m4; i++)
                for (int32_t g = 0; g < ng; g++) {
                    size_t blk = (size_t)(i / 4) * ng + g, at = 4 * blk + (size_t)(i % 4);
                    for (int p = 0; p < 2; p++)
                        for (int32_t s = 0; s < S; s++)
                            for (int b = 0; b < 4; b++) {
                                int8_t want = i < m ? qr[(size_t)2 * G * ((size_t)i * ng + g) + p * G + 4 * s + b] : 0;
                                bad += qn[2 * (size_t)S * 16 * blk + (size_t)p * S * 16 + 16 * s + 4 * (i % 4) + b] != want;
                            }
                    bad += sn[at] != (i < m ? sr[(size_t)i * ng + g] : 0.0f);
                    bad += on[at] != (i < m ? orf[(size_t)i * ng + g] : 0);
                }
            AAE_CHECK_EQ_INT(bad, 0);
            free(x), free(qr), free(qn), free(sr), free(sn), free(orf), free(on);
        }
}

/* The int8 prefill's AVX-512 and AVX2 quantizers give exactly the scalar
 * definition's bytes, scales and offsets, for both group sizes, several
 * tokens, a row stride past k, groups past k, all-zero groups and ties; the
 * int16 prefill's activations are its two parts joined (256 q1 + q2), the
 * AVX2 quantizer's exactly. */
AAE_TEST(quantize_xq_vector_equals_scalar)
{
    uint32_t have = aae_cpu_features();
    int v512 = (have & AAE_CPU_AVX512) && aae_k_x86_has_vnni(), v256 = (have & AAE_CPU_AVX2_FMA) != 0;
    if (!v512 && !v256) {
        printf("  (no AVX2 here: nothing to compare)\n");
        return;
    }
    const int32_t ks[] = {1, 31, 33, 40, 41, 100, 161, 700, 2048, 2100};
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++)
        for (int32_t G = 32; G <= 40; G += 8) {
            int32_t k = ks[c], kp = aae_mm_kpad(k), m = 3, ld = k + 5, ng = kp / G;
            float *x = calloc((size_t)m * ld, sizeof *x);
            int8_t *q1 = malloc((size_t)m * kp * 2), *q2 = malloc((size_t)m * kp * 2);
            float *s1 = malloc((size_t)m * ng * 4), *s2 = malloc((size_t)m * ng * 4);
            int32_t *o1 = malloc((size_t)m * ng * 4), *o2 = malloc((size_t)m * ng * 4);
            for (int32_t i = 0; i < m * ld; i++) {
                int32_t e = i % ld;
                x[i] = e / G == 1 ? 0.0f : e / G == 2 ? (float)((e % 7) - 3) * 0.5f : (float)(urand() * (1 + e % 5) * 3.0);
            }
            memset(q1, 0x55, (size_t)m * kp * 2);
            aae_k_quantize_xq_ref(q1, s1, o1, x, ld, m, k, G);
            for (int path = 0; path < 2; path++) {
                if (!(path ? v256 : v512))
                    continue;
                memset(q2, 0x35, (size_t)m * kp * 2), memset(s2, 0x35, (size_t)m * ng * 4);
                memset(o2, 0x35, (size_t)m * ng * 4);
                if (path)
                    aae_k_x86_quantize_xq_avx2(q2, s2, o2, x, ld, m, k, G);
                else
                    aae_k_x86_quantize_xq(q2, s2, o2, x, ld, m, k, G);
                AAE_CHECK(memcmp(q1, q2, (size_t)m * kp * 2) == 0);
                AAE_CHECK(memcmp(s1, s2, (size_t)m * ng * 4) == 0);
                AAE_CHECK(memcmp(o1, o2, (size_t)m * ng * 4) == 0);
            }
            if (v256) { /* the int16 prefill's activations: the same parts joined, the same scales */
                int16_t *w1 = malloc((size_t)m * kp * 2), *w2 = malloc((size_t)m * kp * 2);
                memset(w2, 0x35, (size_t)m * kp * 2), memset(s2, 0x35, (size_t)m * ng * 4);
                aae_k_quantize_xw_ref(w1, s2, x, ld, m, k, G);
                AAE_CHECK(memcmp(s1, s2, (size_t)m * ng * 4) == 0);
                int bad = 0;
                for (int32_t i = 0; i < m; i++)
                    for (int32_t e = 0; e < kp; e++) {
                        /* xq: 4-bit groups in nibble order (evens, then odds), 3-bit natural */
                        int32_t g = e / G, el = e % G, at = G == 32 ? (el % 2) * 16 + el / 2 : el;
                        const int8_t *b = q1 + (size_t)2 * G * ((size_t)i * ng + g);
                        bad += w1[(size_t)i * kp + e] != 256 * b[at] + b[G + at];
                    }
                AAE_CHECK_EQ_INT(bad, 0);
                memset(s2, 0x35, (size_t)m * ng * 4);
                aae_k_x86_quantize_xw_avx2(w2, s2, x, ld, m, k, G);
                AAE_CHECK(memcmp(w1, w2, (size_t)m * kp * 2) == 0);
                AAE_CHECK(memcmp(s1, s2, (size_t)m * ng * 4) == 0);
                free(w1), free(w2);
            }
            free(x), free(q1), free(q2), free(s1), free(s2), free(o1), free(o2);
        }
}

AAE_TEST(quantize_x3_vector_equals_scalar)
{
    if (!(aae_cpu_features() & AAE_CPU_AVX512) || !aae_k_x86_has_vnni_vbmi()) {
        printf("  (no AVX-512 VNNI + VBMI here: nothing to compare)\n");
        return;
    }
    const int32_t ks[] = {1, 39, 40, 41, 100, 160, 161, 700, 768, 2048, 2100, 5632};
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++) {
        int32_t k = ks[c], ng = (k + 39) / 40, nb = (ng + 3) / 4, ngs = (ng + 15) / 16 * 16;
        float *x = calloc((size_t)k, sizeof *x);
        int8_t *q1 = malloc((size_t)nb * 384), *q2 = malloc((size_t)nb * 384);
        int32_t *o1 = malloc((size_t)nb * 32 * 4), *o2 = malloc((size_t)nb * 32 * 4);
        float *s1 = malloc((size_t)ngs * 4), *s2 = malloc((size_t)ngs * 4);
        for (int32_t i = 0; i < k; i++) {
            double r = urand();
            /* group 1 all zero; in group 2, halves of the scale step (ties) */
            x[i] = i / 40 == 1 ? 0.0f : i / 40 == 2 ? (float)((i % 7) - 3) * 0.5f : (float)(r * (1 + i % 5) * 3.0);
        }
        memset(q1, 0x55, (size_t)nb * 384), memset(q2, 0x35, (size_t)nb * 384); /* every byte is written */
        memset(o1, 0x55, (size_t)nb * 128), memset(o2, 0x33, (size_t)nb * 128);
        memset(s1, 0x7f, (size_t)ngs * 4), memset(s2, 0x3f, (size_t)ngs * 4);
        aae_k_quantize_x3_ref(q1, o1, s1, x, k);
        aae_k_x86_quantize_x3(q2, o2, s2, x, k);
        AAE_CHECK(memcmp(q1, q2, (size_t)nb * 384) == 0);
        AAE_CHECK(memcmp(o1, o2, (size_t)nb * 128) == 0);
        AAE_CHECK(memcmp(s1, s2, (size_t)ngs * 4) == 0);
        free(x), free(q1), free(q2), free(o1), free(o2), free(s1), free(s2);
    }
}

/* float32 -> float16: every float16 value comes back unchanged, a value between
 * two neighbours goes to the nearer (ties to the even one), overflow to
 * infinity, the subnormal range, NaN stays NaN. */
AAE_TEST(f32_to_f16_rounding)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu)) { /* NaN */
            uint16_t r = aae_k_f32_to_f16(aae_k_f16_to_f32((uint16_t)h));
            bad += !((r & 0x7c00u) == 0x7c00u && (r & 0x3ffu));
            continue;
        }
        float f = aae_k_f16_to_f32((uint16_t)h);
        bad += aae_k_f32_to_f16(f) != h;
        if ((h & 0x7fffu) < 0x7bffu) { /* finite, with a larger finite neighbour */
            double a = f, b = aae_k_f16_to_f32((uint16_t)(h + 1));
            if ((h & 0x8000u) == 0) {
                uint16_t lo_even = (h & 1u) ? (uint16_t)(h + 1) : (uint16_t)h;
                bad += aae_k_f32_to_f16((float)(a + (b - a) * 0.25)) != h;
                bad += aae_k_f32_to_f16((float)(a + (b - a) * 0.75)) != (uint16_t)(h + 1);
                bad += aae_k_f32_to_f16((float)(a + (b - a) * 0.5)) != lo_even;
            }
        }
    }
    AAE_CHECK_EQ_INT(bad, 0);
    AAE_CHECK_EQ_INT(aae_k_f32_to_f16(65519.0f), 0x7bff);
    AAE_CHECK_EQ_INT(aae_k_f32_to_f16(65520.0f), 0x7c00);
    AAE_CHECK_EQ_INT(aae_k_f32_to_f16(-1e9f), 0xfc00);
    AAE_CHECK_EQ_INT(aae_k_f32_to_f16(1e-9f), 0);
    AAE_CHECK_EQ_INT(aae_k_f32_to_f16(-0.0f), 0x8000);
    /* the row conversion gives the same bits on every path (x86 F16C, NEON) */
    enum { N = 4099 };
    float *src = malloc(sizeof(float) * N), *fr = malloc(sizeof(float) * N);
    uint16_t *h = malloc(sizeof(uint16_t) * N);
    for (int i = 0; i < N; i++) {
        double e = (urand() + 1.0) * 20.0 - 30.0; /* 2^-30 .. 2^10: subnormals to large */
        src[i] = (float)(urand() * exp2(e));
    }
    src[0] = 65520.0f, src[1] = -70000.0f, src[2] = 0.0f, src[3] = -0.0f, src[4] = 6.1e-5f, src[5] = 3e-8f;
    uint32_t have = aae_cpu_features();
    uint32_t paths[3] = {0, have & (AAE_CPU_AVX2_FMA | AAE_CPU_NEON), have};
    for (int p = 0; p < 3; p++) {
        aae_kctx kctx = {.th = &g_th, .cpu = paths[p]};
        aae_k_f16_row(&kctx, h, fr, src, N);
        int wrong = 0;
        for (int i = 0; i < N; i++)
            wrong += h[i] != aae_k_f32_to_f16(src[i]) || aae_f32_to_bits(fr[i]) != aae_f32_to_bits(aae_k_f16_to_f32(h[i]));
        if (wrong)
            fprintf(stderr, "f16 row on path %s: %d of %d differ\n", aae_cpu_path_name(paths[p]), wrong, N);
        AAE_CHECK_EQ_INT(wrong, 0);
    }
    free(src), free(fr), free(h);
}

AAE_TEST(get_row_matches_reference)
{
    const int32_t types[6] = {AAE_W_F32, AAE_W_F16, AAE_W_BF16, AAE_W_Q4F16, AAE_W_Q4F32, AAE_W_Q3F16};
    for (int t = 0; t < 6; t++) {
        tw w;
        make_weight(&w, types[t], 3, 85);
        float row[85];
        aae_k_get_row(&w.w, 2, row);
        for (int c = 0; c < 85; c++)
            AAE_CHECK(fabs(row[c] - w.ref[2 * 85 + c]) <= 1e-7);
        free_weight(&w);
    }
}

AAE_TEST(math_functions)
{
    double worst_exp = 0, worst_tanh = 0, worst_erf = 0, worst_sin = 0;
    for (int i = 0; i <= 200000; i++) {
        float x = -87.0f + 175.0f * (float)i / 200000.0f;
        double e = exp((double)x);
        double r = fabs(aae_expf(x) - e) / e;
        worst_exp = r > worst_exp ? r : worst_exp;
        float y = -10.0f + 20.0f * (float)i / 200000.0f;
        double a = fabs(aae_tanhf(y) - tanh((double)y));
        worst_tanh = a > worst_tanh ? a : worst_tanh;
        a = fabs(aae_erff(y) - erf((double)y));
        worst_erf = a > worst_erf ? a : worst_erf;
        double z = -2000.0 + 4000.0 * i / 200000.0, s, c;
        aae_sincos(z, &s, &c);
        a = fmax(fabs(s - sin(z)), fabs(c - cos(z)));
        worst_sin = a > worst_sin ? a : worst_sin;
    }
    if (worst_exp > 1e-6 || worst_tanh > 1e-6 || worst_erf > 1e-6 || worst_sin > 1e-9)
        fprintf(stderr, "exp %g tanh %g erf %g sincos %g\n", worst_exp, worst_tanh, worst_erf, worst_sin);
    AAE_CHECK(worst_exp <= 1e-6);
    AAE_CHECK(worst_tanh <= 1e-6);
    AAE_CHECK(worst_erf <= 1e-6);
    AAE_CHECK(worst_sin <= 1e-9);
    AAE_CHECK(aae_expf(-200.0f) == 0.0f);
    AAE_CHECK(isinf(aae_expf(100.0f)));
}

/* rmsnorm and layernorm against double-precision formulas, with float32,
 * float16 and bfloat16 weights and rows past one span of 64 */
AAE_TEST(norms)
{
    enum { M = 3, NMAX = 150 };
    const int32_t ns[] = {50, 150};
    for (size_t c = 0; c < 2; c++)
        for (int ty = 0; ty < 3; ty++) {
            int32_t N = ns[c];
            float x[M * NMAX], y[M * NMAX], w[NMAX], b[NMAX];
            uint16_t w16[NMAX], b16[NMAX];
            for (int i = 0; i < M * N; i++)
                x[i] = (float)(urand() * 3);
            for (int i = 0; i < N; i++) {
                w[i] = (float)urand(), b[i] = (float)urand();
                if (ty == 1) { /* the weights as stored: float16 */
                    w16[i] = aae_k_f32_to_f16(w[i]), b16[i] = aae_k_f32_to_f16(b[i]);
                    w[i] = aae_k_f16_to_f32(w16[i]), b[i] = aae_k_f16_to_f32(b16[i]);
                } else if (ty == 2) { /* bfloat16: the top half */
                    w16[i] = (uint16_t)(aae_f32_to_bits(w[i]) >> 16), b16[i] = (uint16_t)(aae_f32_to_bits(b[i]) >> 16);
                    w[i] = aae_bits_to_f32((uint32_t)w16[i] << 16), b[i] = aae_bits_to_f32((uint32_t)b16[i] << 16);
                }
            }
            int32_t type = ty == 0 ? AAE_W_F32 : ty == 1 ? AAE_W_F16 : AAE_W_BF16;
            aae_vec wv = {ty ? (const void *)w16 : (const void *)w, N, type};
            aae_vec bv = {ty ? (const void *)b16 : (const void *)b, N, type};
            aae_k_rmsnorm(y, x, &wv, M, N, 1e-5f);
            for (int r = 0; r < M; r++) {
                double ss = 0;
                for (int i = 0; i < N; i++)
                    ss += (double)x[r * N + i] * x[r * N + i];
                double inv = 1.0 / sqrt(ss / N + 1e-5);
                for (int i = 0; i < N; i++)
                    AAE_CHECK(fabs(y[r * N + i] - x[r * N + i] * inv * w[i]) <= 1e-5);
            }
            aae_k_layernorm(y, x, &wv, &bv, M, N, 1e-5f);
            for (int r = 0; r < M; r++) {
                double mean = 0, var = 0;
                for (int i = 0; i < N; i++)
                    mean += x[r * N + i];
                mean /= N;
                for (int i = 0; i < N; i++)
                    var += (x[r * N + i] - mean) * (x[r * N + i] - mean);
                double inv = 1.0 / sqrt(var / N + 1e-5);
                for (int i = 0; i < N; i++)
                    AAE_CHECK(fabs(y[r * N + i] - ((x[r * N + i] - mean) * inv * w[i] + b[i])) <= 1e-5);
            }
        }
}

/* float16 -> float32 for every bit pattern against the IEEE definition
 * computed in double: subnormals, infinities and NaN included. */
AAE_TEST(f16_to_f32_every_value)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        int e = (int)((h >> 10) & 0x1fu), man = (int)(h & 0x3ffu);
        double sign = (h & 0x8000u) ? -1.0 : 1.0;
        float f = aae_k_f16_to_f32((uint16_t)h);
        uint32_t fb = aae_f32_to_bits(f);
        if (e == 31 && man) { /* NaN, its payload kept */
            bad += !(f != f) || (fb >> 31) != (h >> 15) || ((fb >> 13) & 0x3ffu) != (uint32_t)man;
            continue;
        }
        double want = e == 31 ? sign * HUGE_VAL
                              : e == 0 ? sign * ldexp(man, -24) : sign * ldexp(1024 + man, e - 25);
        bad += (double)f != want || (fb >> 31) != (h >> 15); /* -0 keeps its sign */
    }
    AAE_CHECK_EQ_INT(bad, 0);
}

AAE_TEST(rope_partial_rotate_half)
{
    enum { H = 2, D = 8, ROT = 4 };
    float inv[ROT / 2] = {1.0f, 0.01f}, cs[ROT], x[H * D], orig[H * D];
    for (int i = 0; i < H * D; i++)
        orig[i] = x[i] = (float)urand();
    aae_k_rope_table(cs, 7, inv, ROT / 2);
    aae_k_rope(x, H, D, ROT, cs);
    for (int h = 0; h < H; h++) {
        const float *o = orig + h * D;
        for (int j = 0; j < ROT / 2; j++) {
            double a = 7.0 * inv[j];
            AAE_CHECK(fabs(x[h * D + j] - (o[j] * cos(a) - o[j + ROT / 2] * sin(a))) <= 1e-5);
            AAE_CHECK(fabs(x[h * D + j + ROT / 2] - (o[j + ROT / 2] * cos(a) + o[j] * sin(a))) <= 1e-5);
        }
        for (int j = ROT; j < D; j++)
            AAE_CHECK(x[h * D + j] == o[j]); /* past rot_dim: untouched */
    }
}

/* Attention over cache + chunk (window, sink, GQA) against a direct loop in
 * double precision, on every CPU path, for head_dim 8 (portable and AVX2:
 * AVX-512 takes multiples of 16) and the vector paths' 64, 80, 128, 256 and a
 * generic multiple of 16 (48). The scratch starts as NaN. Returns the
 * largest absolute error. */
static double check_attention(uint32_t cpu, int D, int NC, int M, int W, int S, int f16, int NH, int NKV)
{
    float *q = malloc(sizeof(float) * M * NH * D), *kc = malloc(sizeof(float) * M * NKV * D);
    float *vc = malloc(sizeof(float) * M * NKV * D), *kcache = malloc(sizeof(float) * NC * NKV * D);
    float *vcache = malloc(sizeof(float) * NC * NKV * D), *out = malloc(sizeof(float) * M * NH * D);
    int32_t *cpos = malloc(sizeof(int32_t) * NC);
    double *sc = malloc(sizeof(double) * (NC + M));
    int *vis = malloc(sizeof(int) * (NC + M));
    for (int s = 0; s < NC; s++) /* ring order: any order works */
        cpos[s] = (s * 7 + 3) % NC;
    for (int i = 0; i < M * NH * D; i++)
        q[i] = (float)urand();
    for (int i = 0; i < M * NKV * D; i++)
        kc[i] = (float)urand(), vc[i] = (float)urand();
    for (int i = 0; i < NC * NKV * D; i++)
        kcache[i] = (float)urand(), vcache[i] = (float)urand();
    /* a float16 cache: the kernel reads the float16 copies, the reference below
     * their exact values; the chunk's rows hold float16-exact values (kernels.h) */
    uint16_t *k16 = malloc(sizeof(uint16_t) * (NC * NKV * D + 1)), *v16 = malloc(sizeof(uint16_t) * (NC * NKV * D + 1));
    if (f16) {
        for (int i = 0; i < NC * NKV * D; i++) {
            k16[i] = aae_k_f32_to_f16(kcache[i]), v16[i] = aae_k_f32_to_f16(vcache[i]);
            kcache[i] = aae_k_f16_to_f32(k16[i]), vcache[i] = aae_k_f16_to_f32(v16[i]);
        }
        for (int i = 0; i < M * NKV * D; i++)
            kc[i] = aae_k_f16_to_f32(aae_k_f32_to_f16(kc[i])), vc[i] = aae_k_f16_to_f32(aae_k_f32_to_f16(vc[i]));
    }
    int qpos0 = NC;
    /* slots that no query of the chunk sees (past the window, not in the sink)
     * hold infinite keys and values, as a float16 cache can after an overflow:
     * a kernel must leave them out, not multiply them by a zero weight */
    for (int s = 0; s < NC; s++)
        if (W > 0 && !(qpos0 - cpos[s] < W || cpos[s] < S))
            for (int t = 0; t < NKV * D; t++) {
                kcache[s * NKV * D + t] = vcache[s * NKV * D + t] = INFINITY;
                k16[s * NKV * D + t] = v16[s * NKV * D + t] = 0x7c00;
            }
    aae_attn_args a = {.out = out, .ldo = NH * D, .q = q, .ldq = NH * D, .m = M, .qpos0 = qpos0,
                       .kcache = f16 ? (const void *)k16 : kcache, .vcache = f16 ? (const void *)v16 : vcache,
                       .kv_f16 = f16, .cpos = cpos, .n_cached = NC, .kc = kc, .vc = vc, .ldkv = NKV * D,
                       .n_heads = NH, .n_kv = NKV, .head_dim = D, .window = W, .sink = S, .scale = 0.35f};
    aae_kctx kctx = {.th = &g_th, .cpu = cpu};
    size_t sb = aae_k_attention_scratch(NC + M, NH, D, g_th.n_threads);
    void *scratch = malloc(sb);
    memset(scratch, 0xff, sb); /* NaN: a score or sum read before it is written shows */
    aae_k_attention(&kctx, &a, scratch);
    free(scratch);
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int h = 0; h < NH; h++) {
            int qp = qpos0 + i, kvh = h / (NH / NKV);
            double mx = -1e300, sum = 0;
            for (int s = 0; s < NC + i + 1; s++) {
                int kp = s < NC ? cpos[s] : qpos0 + (s - NC);
                const float *k = s < NC ? kcache + s * NKV * D + kvh * D : kc + (s - NC) * NKV * D + kvh * D;
                vis[s] = kp <= qp && (W <= 0 || qp - kp < W || kp < S);
                double d = 0;
                for (int t = 0; t < D; t++)
                    d += (double)q[i * NH * D + h * D + t] * k[t];
                sc[s] = d * 0.35;
                if (vis[s] && sc[s] > mx)
                    mx = sc[s];
            }
            for (int s = 0; s < NC + i + 1; s++)
                sum += vis[s] ? exp(sc[s] - mx) : 0;
            for (int t = 0; t < D; t++) {
                double o = 0;
                for (int s = 0; s < NC + i + 1; s++) {
                    if (!vis[s])
                        continue;
                    const float *v = s < NC ? vcache + s * NKV * D + kvh * D : vc + (s - NC) * NKV * D + kvh * D;
                    o += exp(sc[s] - mx) / sum * v[t];
                }
                double e = fabs(out[i * NH * D + h * D + t] - o);
                worst = e <= worst ? worst : isnan(e) ? INFINITY : e; /* a NaN output fails */
            }
        }
    free(q), free(kc), free(vc), free(kcache), free(vcache), free(out), free(cpos), free(sc), free(vis);
    free(k16), free(v16);
    return worst;
}

AAE_TEST(attention_window_sink_gqa)
{
    uint32_t have = aae_cpu_features();
    uint32_t paths[3] = {0, have & AAE_CPU_AVX2_FMA, have};
    const int dims[] = {8, 48, 64, 80, 128, 256};
    /* (cached slots, chunk tokens, window, sink): a short window with a sink,
     * no window over a long cache (several 16-score blocks and a tail), a
     * prefill-sized chunk, one decoding token (blocks of 16 keys and a tail)
     * past a window with a sink, and past a longer one (blocks partly and
     * wholly masked); prompt chunks of 16-key blocks under a window, without
     * and with a cache */
    const int cases[][4] = {{6, 3, 4, 1}, {70, 1, 0, 0}, {37, 2, 16, 4}, {0, 33, 0, 0}, {45, 1, 9, 3},
                            {150, 1, 50, 2}, {0, 40, 12, 2}, {40, 20, 24, 3}};
    for (int p = 0; p < 3; p++) {
        if (p > 0 && !paths[p])
            continue;
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
            for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
                for (int f16 = 0; f16 < 2; f16++)
                    for (int nkv = 1; nkv <= 4; nkv *= 2) { /* 4, 2, 1 heads per KV head */
                        double e = check_attention(paths[p], dims[di], cases[c][0], cases[c][1], cases[c][2],
                                                   cases[c][3], f16, 4, nkv);
                        if (!(e <= 1e-5)) {
                            fprintf(stderr, "attention path %s head_dim %d case %zu kv %s, %d KV heads: abs err %g > "
                                    "1e-5\n", aae_cpu_path_name(paths[p]), dims[di], c, f16 ? "float16" : "float32",
                                    nkv, e);
                            AAE_CHECK(e <= 1e-5);
                        }
                    }
    }
}

/* A decoding token with 8 or more query heads, as the vector paths take them
 * 8 at a time (the AVX2 decode: 8 heads' scores in one vector, the last
 * vector partial): 12 heads (110M-like) with 12, 4, 3 and 1 KV heads, 9 and
 * 16 heads, over caches of 1 to 4 key ranges (the pool's tasks) and a tail of
 * keys past the last block of 4, with and without a window and sink. */
AAE_TEST(attention_decode_many_heads)
{
    uint32_t have = aae_cpu_features();
    uint32_t paths[3] = {0, have & AAE_CPU_AVX2_FMA, have};
    const int heads[][2] = {{12, 12}, {12, 4}, {12, 3}, {12, 1}, {9, 9}, {9, 3}, {16, 16}, {16, 2}};
    const int dims[] = {8, 64, 80, 128, 256};
    const int cases[][4] = {{0, 1, 0, 0}, {5, 1, 0, 0}, {70, 1, 0, 0}, {203, 1, 0, 0}, {150, 1, 50, 2}, {45, 1, 9, 3}};
    for (int p = 0; p < 3; p++) {
        if (p > 0 && !paths[p])
            continue;
        for (size_t hi = 0; hi < sizeof heads / sizeof heads[0]; hi++)
            for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
                for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
                    for (int f16 = 0; f16 < 2; f16++) {
                        double e = check_attention(paths[p], dims[di], cases[c][0], cases[c][1], cases[c][2],
                                                   cases[c][3], f16, heads[hi][0], heads[hi][1]);
                        if (!(e <= 1e-5)) {
                            fprintf(stderr, "attention path %s: %d heads, %d KV heads, head_dim %d, case %zu, kv %s: "
                                    "abs err %g > 1e-5\n", aae_cpu_path_name(paths[p]), heads[hi][0], heads[hi][1],
                                    dims[di], c, f16 ? "float16" : "float32", e);
                            AAE_CHECK(e <= 1e-5);
                        }
                    }
    }
}

/* The vector prompt-attention kernel of this CPU: aae_k_attn_head_x86 (n_h
 * 1 or 2), aae_k_attn_head_neon (n_h 1). */
static int head_block(const aae_attn_args *a, int32_t i, int32_t nt, int32_t h, int32_t nh, float *sc, uint32_t cpu)
{
#if defined(__aarch64__)
    return nh == 1 && aae_k_attn_head_neon(a, i, nt, h, sc, cpu);
#else
    return aae_k_attn_head_x86(a, i, nt, h, nh, sc, cpu);
#endif
}

/* Blocks of 1 to AAE_ATTN_TOKENS tokens, one head or two heads of one KV head
 * together (aae_k_attn_head_x86 with n_h = 1, 2; AVX2 and NEON: n_h = 1) give
 * the same bits as each head and token alone, for every head_dim that pairs,
 * float16 and float32 caches, with and without a window; every row of the
 * output is written. */
AAE_TEST(attention_head_pairs_match_single)
{
    uint32_t cpu = aae_cpu_features();
    enum { NH = 4, NKV = 2, NC = 37, M = 21 };
    const int dims[] = {64, 80, 128};
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
        for (int f16 = 0; f16 < 2; f16++)
            for (int w = 0; w < 2; w++) {
                int D = dims[di];
                float *q = malloc(sizeof(float) * M * NH * D), *kc = malloc(sizeof(float) * M * NKV * D);
                float *vc = malloc(sizeof(float) * M * NKV * D), *kf = malloc(sizeof(float) * NC * NKV * D);
                float *vf = malloc(sizeof(float) * NC * NKV * D);
                uint16_t *k16 = malloc(sizeof(uint16_t) * NC * NKV * D), *v16 = malloc(sizeof(uint16_t) * NC * NKV * D);
                float *o1 = calloc((size_t)M * NH * D, sizeof(float)), *o2 = calloc((size_t)M * NH * D, sizeof(float));
                float *sc = malloc(sizeof(float) * 2 * AAE_ATTN_TOKENS * (NC + M + D));
                int32_t cpos[NC];
                for (int s = 0; s < NC; s++)
                    cpos[s] = (s * 7 + 3) % NC;
                for (int i = 0; i < M * NH * D; i++)
                    q[i] = (float)urand();
                for (int i = 0; i < M * NKV * D; i++)
                    kc[i] = (float)urand(), vc[i] = (float)urand();
                for (int i = 0; i < NC * NKV * D; i++) {
                    kf[i] = (float)urand(), vf[i] = (float)urand();
                    k16[i] = aae_k_f32_to_f16(kf[i]), v16[i] = aae_k_f32_to_f16(vf[i]);
                }
                aae_attn_args a = {.ldo = NH * D, .q = q, .ldq = NH * D, .m = M, .qpos0 = NC,
                                   .kcache = f16 ? (const void *)k16 : kf, .vcache = f16 ? (const void *)v16 : vf,
                                   .kv_f16 = f16, .cpos = cpos, .n_cached = NC, .kc = kc, .vc = vc,
                                   .ldkv = NKV * D, .n_heads = NH, .n_kv = NKV, .head_dim = D,
                                   .window = w ? 12 : 0, .sink = w ? 2 : 0, .scale = 0.35f};
                /* AVX-512: one head and pairs; AVX2 and NEON: one head (pairs refused) */
                int singles = (cpu & (AAE_CPU_AVX512 | AAE_CPU_AVX2_FMA | AAE_CPU_NEON)) != 0;
                int pairs = (cpu & AAE_CPU_AVX512) != 0;
                int ran = 1;
                a.out = o1;
                size_t scb = sizeof(float) * 2 * AAE_ATTN_TOKENS * (NC + M + D);
                for (int i = 0; i < M; i++)
                    for (int h = 0; h < NH; h++) {
                        memset(sc, 0xff, scb); /* NaN: a score read before it is written shows */
                        ran &= head_block(&a, i, 1, h, 1, sc, cpu);
                    }
                AAE_CHECK(ran == singles);
                for (int nt = 1; nt <= AAE_ATTN_TOKENS; nt++) {
                    a.out = o2;
                    for (int nh = 1; nh <= 2; nh++) {
                        int ran2 = 1;
                        for (int i = 0; i < M * NH * D; i++)
                            o2[i] = 12345.0f;
                        for (int i0 = 0; i0 < M; i0 += nt)
                            for (int h = 0; h < NH; h += nh) {
                                memset(sc, 0xff, scb);
                                ran2 &= head_block(&a, i0, M - i0 < nt ? M - i0 : nt, h, nh, sc, cpu);
                            }
                        AAE_CHECK(ran2 == (nh == 1 ? singles : pairs));
                        if (ran2)
                            AAE_CHECK(memcmp(o1, o2, sizeof(float) * M * NH * D) == 0);
                    }
                }
                /* a block past the chunk's tokens or over AAE_ATTN_TOKENS is refused */
                AAE_CHECK(!head_block(&a, 0, AAE_ATTN_TOKENS + 1, 0, 2, sc, cpu));
                AAE_CHECK(!head_block(&a, M - 1, 2, 0, 2, sc, cpu));
                AAE_CHECK(!head_block(&a, 0, AAE_ATTN_TOKENS + 1, 0, 1, sc, cpu));
                AAE_CHECK(!head_block(&a, M - 1, 2, 0, 1, sc, cpu));
                free(q), free(kc), free(vc), free(kf), free(vf), free(k16), free(v16), free(o1), free(o2), free(sc);
            }
}

AAE_TEST(activations_all_paths)
{
    enum { N = 37 };
    float gu[2 * N], out[N], xa[N];
    for (int i = 0; i < N; i++)
        gu[i] = (float)(urand() * 12), gu[N + i] = (float)urand();
    /* the ends of exp's range: clamped, flushed to zero */
    gu[0] = -100.0f, gu[1] = 100.0f, gu[2] = -87.5f, gu[3] = 88.5f, gu[4] = -44.0f;
    uint32_t have = aae_cpu_features();
    uint32_t paths[3] = {0, have, have & (AAE_CPU_AVX2_FMA | AAE_CPU_NEON)};
    for (int p = 0; p < 3; p++)
        for (int act = 0; act < 3; act++) {
            aae_kctx kc = {.th = &g_th, .cpu = paths[p]};
            aae_k_glu(&kc, out, gu, 1, N, act);
            memcpy(xa, gu, sizeof xa);
            aae_k_act(&kc, xa, N, act);
            for (int i = 0; i < N; i++) {
                double x = gu[i], a;
                if (act == AAE_ACT_KIND_SILU)
                    a = x / (1 + exp(-x));
                else if (act == AAE_ACT_KIND_GELU_TANH)
                    a = 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
                else
                    a = 0.5 * x * (1 + erf(x / sqrt(2.0)));
                double tol = 2e-6 * (fabs(a) > 1 ? fabs(a) : 1);
                if (fabs(out[i] - a * gu[N + i]) > tol || fabs(xa[i] - a) > tol) {
                    fprintf(stderr, "act %d path %u x %g: %g / %g vs %g\n", act, paths[p], x, xa[i], out[i], a);
                    AAE_CHECK(0);
                }
            }
        }
}

static void count_task(void *arg, int32_t task, int32_t thread)
{
    int *h = arg;
    if (thread < 0 || thread >= 3)
        h[63] += 1000000; /* thread index out of range: fails the count */
    __atomic_fetch_add(&h[task], 1, __ATOMIC_RELAXED);
}

AAE_TEST(thread_pool_counts)
{
    static int hits[64];
    memset(hits, 0, sizeof hits);
    for (int rep = 0; rep < 3000; rep++)
        g_th.parallel_for(g_th.pool, count_task, hits, 1 + rep % 64);
    int total = 0;
    for (int t = 0; t < 64; t++)
        total += hits[t];
    int want = 0;
    for (int rep = 0; rep < 3000; rep++)
        want += 1 + rep % 64;
    AAE_CHECK_EQ_INT(total, want);
}

int main(void)
{
    aae_error err;
    if (aae_pool_create(3, &g_pool, &err) != AAE_OK)
        return 1;
    aae_pool_threads(g_pool, &g_th);
    int rc = aae_test_run_all();
    aae_pool_free(g_pool);
    return rc;
}
