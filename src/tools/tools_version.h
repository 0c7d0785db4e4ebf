/* tools_version.h - identity of the tool libraries (used in cache keys). */
#ifndef AAE_TOOLS_VERSION_H
#define AAE_TOOLS_VERSION_H
const char *aae_tools_version(void);
#endif
