/*
 * kmath.h - freestanding math for kernels: exp, tanh, erf, sin, cos.
 *
 * Model libraries may not call libm, so these are our own. Accuracy (checked
 * against libm in tests/runtime/test_kernels.c over wide ranges):
 *   aae_expf   relative error < 1e-6 on [-87, 88]
 *   aae_tanhf  absolute error < 1e-6
 *   aae_erff   absolute error < 2e-7 (Chebyshev fit of erfc, fractional error 1.2e-7)
 *   aae_sincos absolute error < 1e-12 for |x| < 1e6 (double, Cody-Waite reduction)
 */
#ifndef AAE_KERNELS_KMATH_H
#define AAE_KERNELS_KMATH_H

#include <stdint.h>

static inline float aae_bits_to_f32(uint32_t u)
{
    union {
        uint32_t u;
        float f;
    } v = {.u = u};
    return v.f;
}

static inline uint32_t aae_f32_to_bits(float f)
{
    union {
        float f;
        uint32_t u;
    } v = {.f = f};
    return v.u;
}

/* IEEE float16 bits to float32, exactly and without branches (a select for
 * infinities and NaN): the exponent and mantissa moved into float32's
 * places, then scaled by 2^112 (exact for normals and subnormals alike). */
static inline float aae_f16_bits_to_f32(uint32_t h)
{
    uint32_t sign = (h & 0x8000u) << 16, em = h & 0x7fffu;
    uint32_t bits = aae_f32_to_bits(aae_bits_to_f32(em << 13) * 0x1p112f);
    uint32_t special = 0u - (uint32_t)(em >= 0x7c00u); /* all ones for infinities and NaN: a mask, so loops vectorize */
    bits = (bits & ~special) | ((0x7f800000u | (em << 13)) & special);
    return aae_bits_to_f32(bits | sign);
}

/* Round to nearest (ties away); no libm call (|x| < 2^31). */
static inline float aae_roundf(float x) { return (float)(int32_t)(x >= 0 ? x + 0.5f : x - 0.5f); }
static inline double aae_round_d(double x) { return (double)(int64_t)(x >= 0 ? x + 0.5 : x - 0.5); }

/* Branch-free (so that loops over it vectorize); results below 2^-126 flush to 0. */
static inline float aae_expf(float x)
{
    float xc = x < -87.33f ? -87.33f : x > 88.7f ? 88.7f : x;
    float n = aae_roundf(xc * 1.44269504088896341f);
    float r = xc - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    /* Taylor to degree 7 on |r| <= 0.35: truncation error < 1e-8 */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    float v = p * aae_bits_to_f32((uint32_t)((int32_t)n + 127) << 23);
    v = x > 88.7f ? aae_bits_to_f32(0x7f800000u) : v;
    return x < -87.33f ? 0.0f : v;
}

static inline float aae_tanhf(float x)
{
    float a = x < 0 ? -x : x;
    float t;
    if (a < 0.0625f) {
        float a2 = a * a; /* odd Taylor series: error < 1e-9 here */
        t = a * (1.0f + a2 * (-1.0f / 3.0f + a2 * (2.0f / 15.0f + a2 * (-17.0f / 315.0f))));
    } else if (a > 10.0f) {
        t = 1.0f;
    } else {
        t = 1.0f - 2.0f / (aae_expf(2.0f * a) + 1.0f);
    }
    return x < 0 ? -t : t;
}

static inline double aae_exp_d(double x)
{
    /* double exp for erf: |x| <= 60 here; Taylor to degree 13 after reduction */
    if (x < -700.0)
        return 0.0;
    double n = aae_round_d(x * 1.4426950408889634);
    double r = x - n * 0.6931471803691238 - n * 1.9082149292705877e-10;
    double p = 1.0;
    for (int i = 13; i >= 1; i--)
        p = 1.0 + p * r / i;
    int64_t e = (int64_t)n;
    union {
        uint64_t u;
        double d;
    } s = {.u = (uint64_t)(e + 1023) << 52};
    return p * s.d;
}

static inline float aae_erff(float xf)
{
    double x = xf;
    double z = x < 0 ? -x : x;
    double t = 1.0 / (1.0 + 0.5 * z);
    double r = t * aae_exp_d(-z * z - 1.26551223 +
                             t * (1.00002368 +
                                  t * (0.37409196 +
                                       t * (0.09678418 +
                                            t * (-0.18628806 +
                                                 t * (0.27886807 +
                                                      t * (-1.13520398 +
                                                           t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    double e = 1.0 - r;
    return (float)(x < 0 ? -e : e);
}

/* sin and cos of x (double), |x| < 1e9. */
static inline void aae_sincos(double x, double *s, double *c)
{
    double k = aae_round_d(x * 0.63661977236758134); /* x / (pi/2) */
    double r = x - k * 1.5707963267341256;
    r -= k * 6.077100506506192e-11;
    r -= k * 2.0222662487959506e-21;
    double r2 = r * r;
    double sp = r * (1.0 + r2 * (-1.0 / 6 + r2 * (1.0 / 120 + r2 * (-1.0 / 5040 + r2 * (1.0 / 362880 +
                r2 * (-1.0 / 39916800 + r2 * (1.0 / 6227020800.0 + r2 * (-1.0 / 1307674368000.0))))))));
    double cp = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24 + r2 * (-1.0 / 720 + r2 * (1.0 / 40320 + r2 * (-1.0 / 3628800 +
                r2 * (1.0 / 479001600.0 + r2 * (-1.0 / 87178291200.0 + r2 * (1.0 / 20922789888000.0))))))));
    int64_t q = (int64_t)k & 3;
    if (q < 0)
        q += 4;
    switch (q) {
    case 0: *s = sp; *c = cp; break;
    case 1: *s = cp; *c = -sp; break;
    case 2: *s = -sp; *c = -cp; break;
    default: *s = -cp; *c = sp; break;
    }
}

static inline float aae_gelu_tanh(float x)
{
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    return 0.5f * x * (1.0f + aae_tanhf(k * (x + 0.044715f * x * x * x)));
}

static inline float aae_gelu_erf(float x) { return 0.5f * x * (1.0f + aae_erff(x * 0.7071067811865476f)); }

static inline float aae_silu(float x) { return x / (1.0f + aae_expf(-x)); }

#endif
