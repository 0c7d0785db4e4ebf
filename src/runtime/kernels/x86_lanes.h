/*
 * x86_lanes.h - private: the mask of a vector's first n float32 lanes for the
 * AVX2 kernels' masked loads and stores (vmaskmovps). x86_64 only.
 */
#ifndef AAE_KERNELS_X86_LANES_H
#define AAE_KERNELS_X86_LANES_H

#include <immintrin.h>

/* All ones in lanes 0 .. n - 1 (n from 0 to 8). */
__attribute__((target("avx2"))) static inline __m256i aae_lanes_below256(int32_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#endif
