/* lib_sources.h - the source files (relative to an AAE source tree) of a model library. */
#ifndef AAE_TOOLS_LIB_SOURCES_H
#define AAE_TOOLS_LIB_SOURCES_H

#include <stddef.h>

#include "base/error.h"

typedef struct aae_lib_sources {
    char **files; /* relative paths, sorted: "src/runtime/kernels/k_basic.c", ... */
    size_t n;
} aae_lib_sources;

/* Lists kernels/ and models/ *.c (and *.h when headers_too) under root. */
aae_status aae_lib_sources_list(const char *root, int headers_too, aae_lib_sources *s, aae_error *err);
void aae_lib_sources_free(aae_lib_sources *s);

#endif
