/* k_matmul_neon.c - aarch64 NEON path of aae_k_matmul (see matmul_impl.h). */
#include "kernels/matmul_impl.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#endif

#if !(defined(__aarch64__) && defined(__ARM_NEON))
int aae_k_matmul_neon(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1, uint32_t cpu)
{
    (void)j, (void)task, (void)n0, (void)n1, (void)cpu;
    return 0;
}
#else
int aae_k_matmul_neon(const aae_mm_job *j, int32_t task, int32_t n0, int32_t n1, uint32_t cpu)
{
    (void)j, (void)task, (void)n0, (void)n1, (void)cpu;
    return 0;
}
#endif
