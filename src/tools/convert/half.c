/*
 * half.c - float16 / bfloat16 conversions (see half.h for the rounding rules).
 */
#include "half.h"

#include <stddef.h>

#include "kernels/kernels.h"

uint16_t aae_f32_to_f16(float x)
{
    uint32_t b = aae_f32_bits(x);
    uint16_t sign = (uint16_t)((b >> 16) & 0x8000u);
    uint32_t a = b & 0x7fffffffu;
    if (a > 0x7f800000u) /* NaN: keep the top payload bits, force quiet */
        return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x477ff000u) /* >= 65520 (and Inf) */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) { /* float16 subnormal or zero: count 2^-24 steps */
        float fa = aae_f32_from_bits(a) + 0.5f;
        return (uint16_t)(sign | (aae_f32_bits(fa) - 0x3f000000u));
    }
    a += 0x0fffu + ((a >> 13) & 1u); /* round to nearest even at bit 13 */
    return (uint16_t)(sign | ((a - 0x38000000u) >> 13)); /* rebias 127 -> 15 */
}

/* One float16 -> float32 for the runtime and the tools: the kernels' (freestanding). */
float aae_f16_to_f32(uint16_t h)
{
    return aae_k_f16_to_f32(h);
}

uint16_t aae_f32_to_bf16(float x)
{
    uint32_t b = aae_f32_bits(x);
    if ((b & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((b >> 16) | 0x0040u);
    b += 0x7fffu + ((b >> 16) & 1u);
    return (uint16_t)(b >> 16);
}

void aae_f16_to_f32_n(const uint16_t *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = aae_f16_to_f32(src[i]);
}

void aae_f32_to_f16_n(const float *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = aae_f32_to_f16(src[i]);
}
