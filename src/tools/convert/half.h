/*
 * half.h - IEEE binary16 (float16) and bfloat16 conversions, written for exactness.
 *
 * float32 -> float16 / bfloat16 round to nearest, ties to even; overflow gives
 * +-Inf; subnormal float16 results are produced (no flush to zero); NaN stays NaN
 * (quiet, sign kept). float16 / bfloat16 -> float32 is exact.
 *
 * aae_round_f16() returns the float32 holding the float16 that aae_f32_to_f16()
 * would produce: the convert tools do float16 arithmetic as "compute in float32,
 * round to float16", which is exact for one +, -, *, / of two float16 values
 * (float32 has more than 2*11+2 significand bits, so the double rounding is harmless).
 */
#ifndef AAE_CONVERT_HALF_H
#define AAE_CONVERT_HALF_H

#include <stdint.h>
#include <string.h>

static inline uint32_t aae_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float aae_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The float32 value of the float16 nearest to x (ties to even). Branch-free so that
 * loops over it vectorise. */
static inline float aae_round_f16(float x)
{
    uint32_t b = aae_f32_bits(x);
    uint32_t sign = b & 0x80000000u;
    uint32_t a = b & 0x7fffffffu;
    /* normal float16 range: drop 13 significand bits, rounding to nearest even */
    uint32_t normal = (a + 0x0fffu + ((a >> 13) & 1u)) & 0xffffe000u;
    /* below 2^-14 float16 is subnormal, a fixed step of 2^-24: adding 0.5 (whose
     * float32 ulp is 2^-24) rounds to that step, subtracting it again is exact */
    float fa = aae_f32_from_bits(a);
    uint32_t sub = aae_f32_bits((fa + 0.5f) - 0.5f);
    uint32_t r = a < 0x38800000u ? sub : normal;
    r = a >= 0x477ff000u ? 0x7f800000u : r;  /* >= 65520 rounds to infinity */
    r = a > 0x7f800000u ? (a | 0x00400000u) : r; /* NaN stays (quiet) NaN */
    return aae_f32_from_bits(r | sign);
}

/* float16 -> float32, branch-free (vectorises): the 15 low bits shifted into a float32
 * are the value times 2^-112 for normal and subnormal inputs alike. */
static inline float aae_f16_to_f32_fast(uint16_t h)
{
    uint32_t a = (uint32_t)(h & 0x7fffu) << 13;
    uint32_t b = aae_f32_bits(aae_f32_from_bits(a) * 0x1p112f);
    b = (h & 0x7c00u) == 0x7c00u ? (a | 0x7f800000u) : b; /* Inf, NaN */
    return aae_f32_from_bits(b | ((uint32_t)(h & 0x8000u) << 16));
}

/* The float16 bits of x, which must already be a finite float16 value (e.g. the
 * result of aae_round_f16); the inverse of the trick above. */
static inline uint16_t aae_f16_bits_exact(float x)
{
    uint32_t b = aae_f32_bits(x);
    uint32_t a = aae_f32_bits(aae_f32_from_bits(b & 0x7fffffffu) * 0x1p-112f);
    return (uint16_t)((a >> 13) | ((b >> 16) & 0x8000u));
}

uint16_t aae_f32_to_f16(float x);
float aae_f16_to_f32(uint16_t h);
uint16_t aae_f32_to_bf16(float x);

static inline float aae_bf16_to_f32(uint16_t h)
{
    return aae_f32_from_bits((uint32_t)h << 16);
}

/* Bulk conversions (n elements). */
void aae_f16_to_f32_n(const uint16_t *src, float *dst, size_t n);
void aae_f32_to_f16_n(const float *src, uint16_t *dst, size_t n);

#endif
