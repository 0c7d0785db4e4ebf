/* tools_version.c - identity of the tool libraries (used in cache keys). */
#include "tools_version.h"

#include "sphere_aae.h"

const char *aae_tools_version(void) { return aae_version(); }
