/*
 * pkg_util.h - small helpers shared by the packager (did-you-mean is
 * src/tools/did_you_mean.h, file writes and mkdir -p src/tools/common/fsutil.h): safe
 * names, path building, removing trees, and scrubbing secrets out of text.
 */
#ifndef AAE_PKG_UTIL_H
#define AAE_PKG_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* 1 if s is usable as one folder or file name inside a model folder: a plain file
 * name (aae_is_plain_file_name: non-empty, at most 255 bytes, no '/', '\\', no
 * control characters, no leading '.') that also has no ':'. Remote files (dataPath,
 * tokenizer_files) must pass. */
int aae_pkg_is_safe_name(const char *s);

/* Removes a file or a whole tree (does not follow symlinks). Missing is fine. */
aae_status aae_pkg_rmtree(const char *path, aae_error *err);

/* Replaces every occurrence of secret (if non-empty) in s by "***", in place. */
void aae_pkg_scrub(char *s, const char *secret);

/* Monotonic seconds. */
double aae_pkg_now(void);

/* Size of a regular file, or -1. */
int64_t aae_pkg_file_size(const char *path);

/* MD5 of a whole file as lower-case hex. */
aae_status aae_pkg_md5_file(const char *path, char hex[33], aae_error *err);

/* getenv that treats "" as unset. */
const char *aae_pkg_getenv(const char *name);

/* The cache root: $SPHERE_AAE_HOME, else $XDG_CACHE_HOME/sphere_aae, else
 * $HOME/.cache/sphere_aae. */
aae_status aae_pkg_home(char *out, size_t cap, aae_error *err);



/* snprintf for messages and paths whose truncation is acceptable (always NUL-terminates). */
void aae_pkg_sfmt(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
