/* cpu.h - the CPU features the kernels may use (AAE_CPU_* of kernels.h). */
#ifndef AAE_LOADER_CPU_H
#define AAE_LOADER_CPU_H

#include <stdint.h>

uint32_t aae_cpu_features(void);
/* "avx512", "avx2", "neon" or "portable": the matmul path these features select. */
const char *aae_cpu_path_name(uint32_t features);

#endif
