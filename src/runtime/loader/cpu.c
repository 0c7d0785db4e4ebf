/* cpu.c - run-time CPU feature detection (x86_64 via cpuid, aarch64: NEON is baseline). */
#include "loader/cpu.h"

#include "kernels/kernels.h"

uint32_t aae_cpu_features(void)
{
    uint32_t f = 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        f |= AAE_CPU_AVX2_FMA; /* every AVX2 CPU also has F16C */
    if ((f & AAE_CPU_AVX2_FMA) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        f |= AAE_CPU_AVX512;
#elif defined(__aarch64__)
    f |= AAE_CPU_NEON;
#endif
    return f;
}

const char *aae_cpu_path_name(uint32_t f)
{
    if (f & AAE_CPU_AVX512)
        return "avx512";
    if (f & AAE_CPU_AVX2_FMA)
        return "avx2";
    if (f & AAE_CPU_NEON)
        return "neon";
    return "portable";
}
