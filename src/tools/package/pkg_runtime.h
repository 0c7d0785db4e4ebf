/*
 * pkg_runtime.h - the AAE source tree, and libsphere_aae.a built from it for a
 * linux device (the app links it with the model libraries).
 *
 * The runtime is built with the source tree's own CMake (runtime only:
 * AAE_BUILD_TOOLS=OFF, AAE_BUILD_TESTS=OFF), natively for the host's linux device
 * or with a cross compiler for the other one ($SPHERE_AAE_CC_LINUX_AARCH64, default
 * aarch64-linux-gnu-gcc; $SPHERE_AAE_CC_LINUX_X86_64, default x86_64-linux-gnu-gcc;
 * $CC for the host). The result is cached in
 *   $SPHERE_AAE_HOME/runtime_lib/<device>-<key>/libsphere_aae.a
 * where key = md5 of the device, the compiler's identity (`cc --version`), the AAE
 * version and every file of src/runtime, include/, the top CMakeLists.txt and
 * scripts/gen_unicode_tables.py (generated sources), so a
 * changed source or toolchain never reuses a stale library. SPHERE_AAE_JIT_POLICY=REDO
 * rebuilds it too.
 */
#ifndef AAE_PKG_RUNTIME_H
#define AAE_PKG_RUNTIME_H

#include <stddef.h>

#include "base/error.h"
#include "base/md5.h"

/* Checks that dir looks like an AAE source tree; the message names what is missing. */
aae_status aae_pkg_check_source_dir(const char *dir, aae_error *err);

/* Makes sure libsphere_aae.a for device exists in the cache; lib_out gets its path.
 * *built is set when it had to be built in this run. log_dir holds build logs. */
aae_status aae_pkg_runtime_lib(const char *source_dir, const char *device, const char *log_dir, int verbose,
                               char *lib_out, size_t cap, int *built, aae_error *err);

/* Adds every regular file under root/rel (relative names, sorted; names starting
 * with '.' skipped) with its content to m. A missing folder is an error. */
aae_status aae_pkg_hash_tree(aae_md5 *m, const char *root, const char *rel, aae_error *err);

/* The C compiler used for device (for the runtime build). */
const char *aae_pkg_device_cc(const char *device);

#endif
