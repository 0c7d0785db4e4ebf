/* k_basic.c - element-wise kernels: conversions, norms, activations, RoPE (portable C). */
#include "kernels/kernels.h"
#include "kernels/kmath.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

float aae_k_f16_to_f32(uint16_t h) { return aae_f16_bits_to_f32(h); }

float aae_k_bf16_to_f32(uint16_t h) { return aae_bits_to_f32((uint32_t)h << 16); }

uint16_t aae_k_f32_to_f16(float f)
{
    uint32_t x = aae_f32_to_bits(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* NaN stays NaN */
        return (uint16_t)(sign | 0x7e00u);
    if (ax >= 0x477ff000u) /* >= 65520 rounds to infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) { /* below 2^-14: a float16 subnormal (or the smallest normal) */
        float a = aae_bits_to_f32(ax) * 16777216.0f; /* exact: times 2^24, < 1024 */
        uint32_t m = (uint32_t)(int32_t)((a + 12582912.0f) - 12582912.0f); /* to nearest even */
        return (uint16_t)(sign | m);
    }
    uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u); /* round the 13 dropped bits to nearest even */
    return (uint16_t)(sign | ((r - (112u << 23)) >> 13));
}

void aae_k_f16_row(const aae_kctx *kc, uint16_t *dst16, float *dstf, const float *src, int32_t n)
{
    int32_t i = aae_k_f16_row_x86(dst16, dstf, src, n, kc->cpu); /* the tail is done below */
#if defined(__aarch64__)
    if (kc->cpu & AAE_CPU_NEON)
        for (; i + 4 <= n; i += 4) { /* FPCR's default rounding: to nearest even */
            float16x4_t h = vcvt_f16_f32(vld1q_f32(src + i));
            if (dst16)
                vst1_u16(dst16 + i, vreinterpret_u16_f16(h));
            if (dstf)
                vst1q_f32(dstf + i, vcvt_f32_f16(h));
        }
#endif
    for (; i < n; i++) {
        uint16_t h = aae_k_f32_to_f16(src[i]);
        if (dst16)
            dst16[i] = h;
        if (dstf)
            dstf[i] = aae_k_f16_to_f32(h);
    }
}

static float rsqrt_of(double v) { return (float)(1.0 / __builtin_sqrt(v)); }

const float *aae_k_vec_span(const aae_vec *v, int32_t j0, int32_t n, float *buf)
{
    const uint16_t *h = (const uint16_t *)v->p + j0;
    if (v->type == AAE_W_F16)
        for (int32_t j = 0; j < n; j++)
            buf[j] = aae_f16_bits_to_f32(h[j]);
    else if (v->type == AAE_W_BF16)
        for (int32_t j = 0; j < n; j++)
            buf[j] = aae_bits_to_f32((uint32_t)h[j] << 16);
    else
        return (const float *)v->p + j0;
    return buf;
}

/* sum of x[j] (sq: of x[j]^2) in double, four partial sums (one chain of n
 * dependent additions cost the 110M model's decode 2%) */
static double sum_of(const float *x, int32_t n, int sq)
{
    double s[4] = {0, 0, 0, 0};
    int32_t j = 0;
    for (; j + 4 <= n; j += 4)
        for (int l = 0; l < 4; l++)
            s[l] += sq ? (double)x[j + l] * x[j + l] : (double)x[j + l];
    for (; j < n; j++)
        s[0] += sq ? (double)x[j] * x[j] : (double)x[j];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

void aae_k_rmsnorm(float *y, const float *x, const aae_vec *w, int32_t m, int32_t n, float eps)
{
    float wb[AAE_K_VEC_SPAN];
    for (int32_t i = 0; i < m; i++) {
        const float *xr = x + (size_t)i * n;
        float *yr = y + (size_t)i * n;
        float r = rsqrt_of(sum_of(xr, n, 1) / n + eps);
        for (int32_t j0 = 0; j0 < n; j0 += AAE_K_VEC_SPAN) {
            int32_t c = n - j0 < AAE_K_VEC_SPAN ? n - j0 : AAE_K_VEC_SPAN;
            const float *wv = aae_k_vec_span(w, j0, c, wb);
            for (int32_t j = 0; j < c; j++)
                yr[j0 + j] = xr[j0 + j] * r * wv[j];
        }
    }
}

void aae_k_layernorm(float *y, const float *x, const aae_vec *w, const aae_vec *b, int32_t m, int32_t n, float eps)
{
    float wb[AAE_K_VEC_SPAN], bb[AAE_K_VEC_SPAN];
    for (int32_t i = 0; i < m; i++) {
        const float *xr = x + (size_t)i * n;
        float *yr = y + (size_t)i * n;
        double mean = sum_of(xr, n, 0) / n, v[4] = {0, 0, 0, 0};
        int32_t j = 0;
        for (; j + 4 <= n; j += 4)
            for (int l = 0; l < 4; l++)
                v[l] += ((double)xr[j + l] - mean) * ((double)xr[j + l] - mean);
        for (; j < n; j++)
            v[0] += ((double)xr[j] - mean) * ((double)xr[j] - mean);
        float r = rsqrt_of(((v[0] + v[1]) + (v[2] + v[3])) / n + eps);
        float mf = (float)mean;
        for (int32_t j0 = 0; j0 < n; j0 += AAE_K_VEC_SPAN) {
            int32_t c = n - j0 < AAE_K_VEC_SPAN ? n - j0 : AAE_K_VEC_SPAN;
            const float *wv = aae_k_vec_span(w, j0, c, wb), *bv = b && b->p ? aae_k_vec_span(b, j0, c, bb) : NULL;
            for (int32_t e = 0; e < c; e++) {
                float t = (xr[j0 + e] - mf) * r * wv[e];
                yr[j0 + e] = bv ? t + bv[e] : t;
            }
        }
    }
}

void aae_k_add(float *x, const float *v, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        x[i] += v[i];
}

void aae_k_scale(float *x, float s, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        x[i] *= s;
}

void aae_k_add_bias(float *x, const aae_vec *bias, int32_t m, int32_t n)
{
    if (!bias || !bias->p)
        return;
    float buf[AAE_K_VEC_SPAN];
    for (int32_t j0 = 0; j0 < n; j0 += AAE_K_VEC_SPAN) {
        int32_t c = n - j0 < AAE_K_VEC_SPAN ? n - j0 : AAE_K_VEC_SPAN;
        const float *b = aae_k_vec_span(bias, j0, c, buf);
        for (int32_t i = 0; i < m; i++)
            for (int32_t j = 0; j < c; j++)
                x[(size_t)i * n + j0 + j] += b[j];
    }
}

/* The activation switch sits outside the loops so that each loop vectorizes
 * (GCC at -O2 only vectorizes the cheapest loops: ask for -O3 here). */
#if defined(__GNUC__) && !defined(__clang__)
#define VEC_LOOPS __attribute__((optimize("O3")))
#else
#define VEC_LOOPS
#endif

VEC_LOOPS void aae_k_glu(const aae_kctx *kc, float *out, const float *gu, int32_t m, int32_t n, int32_t act)
{
    for (int32_t i = 0; i < m; i++) {
        const float *g = gu + (size_t)i * 2 * n, *u = g + n;
        float *o = out + (size_t)i * n;
        if (aae_k_act_x86(o, g, u, n, act, kc ? kc->cpu : 0))
            continue;
        if (act == AAE_ACT_KIND_GELU_TANH)
            for (int32_t j = 0; j < n; j++)
                o[j] = aae_gelu_tanh(g[j]) * u[j];
        else if (act == AAE_ACT_KIND_GELU_ERF)
            for (int32_t j = 0; j < n; j++)
                o[j] = aae_gelu_erf(g[j]) * u[j];
        else
            for (int32_t j = 0; j < n; j++)
                o[j] = aae_silu(g[j]) * u[j];
    }
}

VEC_LOOPS void aae_k_act(const aae_kctx *kc, float *x, int32_t n, int32_t act)
{
    if (aae_k_act_x86(x, x, NULL, n, act, kc ? kc->cpu : 0))
        return;
    if (act == AAE_ACT_KIND_GELU_TANH)
        for (int32_t i = 0; i < n; i++)
            x[i] = aae_gelu_tanh(x[i]);
    else if (act == AAE_ACT_KIND_GELU_ERF)
        for (int32_t i = 0; i < n; i++)
            x[i] = aae_gelu_erf(x[i]);
    else
        for (int32_t i = 0; i < n; i++)
            x[i] = aae_silu(x[i]);
}

void aae_k_rope_table(float *cs, int32_t pos, const float *inv_freq, int32_t half)
{
    for (int32_t j = 0; j < half; j++) {
        float ang = (float)pos * inv_freq[j]; /* float32 product, as transformers computes it */
        double s, c;
        aae_sincos((double)ang, &s, &c);
        cs[j] = (float)c;
        cs[half + j] = (float)s;
    }
}

void aae_k_rope(float *x, int32_t n_heads, int32_t head_dim, int32_t rot_dim, const float *cs)
{
    int32_t half = rot_dim / 2;
    for (int32_t h = 0; h < n_heads; h++) {
        float *v = x + (size_t)h * head_dim;
        for (int32_t j = 0; j < half; j++) {
            float a = v[j], b = v[j + half];
            float c = cs[j], s = cs[half + j];
            v[j] = a * c - b * s;
            v[j + half] = b * c + a * s;
        }
    }
}

void aae_k_get_row(const aae_wmat *w, int32_t r, float *out)
{
    int32_t k = w->k;
    size_t row = (size_t)r;
    switch (w->type) {
    case AAE_W_F32: {
        const float *p = (const float *)w->q + row * k;
        for (int32_t j = 0; j < k; j++)
            out[j] = p[j];
        break;
    }
    case AAE_W_F16:
    case AAE_W_BF16: {
        const uint16_t *p = (const uint16_t *)w->q + row * k;
        if (w->type == AAE_W_F16)
            for (int32_t j = 0; j < k; j++)
                out[j] = aae_f16_bits_to_f32(p[j]);
        else
            for (int32_t j = 0; j < k; j++)
                out[j] = aae_bits_to_f32((uint32_t)p[j] << 16);
        break;
    }
    case AAE_W_Q4F16:
    case AAE_W_Q4F32: { /* a group's scale once; a whole group's 16 bytes in one loop */
        int32_t ng = (k + 31) / 32;
        const uint8_t *q = (const uint8_t *)((const uint32_t *)w->q + row * 4 * ng);
        for (int32_t g = 0; g < ng; g++) {
            float s = w->type == AAE_W_Q4F16 ? aae_f16_bits_to_f32(((const uint16_t *)w->scale)[row * ng + g])
                                             : ((const float *)w->scale)[row * ng + g];
            const uint8_t *b = q + 16 * (size_t)g;
            float *o = out + 32 * (size_t)g;
            if (k - 32 * g >= 32) {
                for (int32_t i = 0; i < 16; i++) {
                    o[2 * i] = (float)((int32_t)(b[i] & 15u) - 7) * s;
                    o[2 * i + 1] = (float)((int32_t)(b[i] >> 4) - 7) * s;
                }
            } else {
                for (int32_t e = 0; e < k - 32 * g; e++)
                    o[e] = (float)((int32_t)((b[e / 2] >> (4 * (e % 2))) & 15u) - 7) * s;
            }
        }
        break;
    }
    case AAE_W_Q3F16: {
        int32_t ng = (k + 39) / 40;
        const uint32_t *q = (const uint32_t *)w->q + row * 4 * ng;
        for (int32_t g = 0; g < ng; g++) {
            float s = aae_f16_bits_to_f32(((const uint16_t *)w->scale)[row * ng + g]);
            int32_t n = k - 40 * g < 40 ? k - 40 * g : 40;
            for (int32_t e = 0; e < n; e++)
                out[40 * g + e] = (float)((int32_t)((q[g * 4 + e / 10] >> ((e % 10) * 3)) & 7u) - 3) * s;
        }
        break;
    }
    default: break;
    }
}
