/* cpu.c - run-time CPU feature detection (x86_64 via cpuid, aarch64: NEON is baseline). */
#include "loader/cpu.h"

#include "kernels/kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1ul << 20)
#endif
#elif defined(__aarch64__) && defined(__APPLE__)
/* <sys/sysctl.h>'s declaration (libSystem), spelled here so that the file also
 * compiles against other C libraries' headers in the cross checks */
int sysctlbyname(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
#endif

#if defined(__aarch64__)
/* The dot-product extension (sdot/udot, ARMv8.2+): the kernel's HWCAP on Linux
 * and Android, sysctl on Apple platforms. */
static int aarch64_has_dotprod(void)
{
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__APPLE__)
    int v = 0;
    size_t n = sizeof v;
    return sysctlbyname("hw.optional.arm.FEAT_DotProd", &v, &n, NULL, 0) == 0 && v != 0;
#else
    return 0;
#endif
}
#endif

uint32_t aae_cpu_features(void)
{
    uint32_t f = 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("ssse3"))
        f |= AAE_CPU_SSSE3;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        f |= AAE_CPU_AVX2_FMA; /* every AVX2 CPU also has F16C */
    if ((f & AAE_CPU_AVX2_FMA) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        f |= AAE_CPU_AVX512;
    unsigned a = 0, b = 0, c = 0, d = 0; /* leaf 7 subleaf 1, EAX bit 4: AVX-VNNI */
    if ((f & AAE_CPU_AVX2_FMA) && __get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 4) & 1u))
        f |= AAE_CPU_AVX_VNNI;
#elif defined(__aarch64__)
    f |= AAE_CPU_NEON;
    if (aarch64_has_dotprod())
        f |= AAE_CPU_NEON_DOT;
#endif
    return f;
}

const char *aae_cpu_path_name(uint32_t f)
{
    if (f & AAE_CPU_AVX512)
        return "avx512";
    if ((f & AAE_CPU_AVX2_FMA) && (f & AAE_CPU_AVX_VNNI))
        return "avx2-vnni";
    if (f & AAE_CPU_AVX2_FMA)
        return "avx2";
    if (f & AAE_CPU_SSSE3)
        return "ssse3";
    if (f & AAE_CPU_NEON_DOT)
        return "neon-dotprod";
    if (f & AAE_CPU_NEON)
        return "neon";
    return "portable";
}
