/*
 * pkg_proc.h - running a child process (cmake, a compiler) with its output kept
 * in a log file; on failure the error shows the end of that output, never swallows it.
 */
#ifndef AAE_PKG_PROC_H
#define AAE_PKG_PROC_H

#include <stddef.h>

#include "base/error.h"

/* Runs argv (argv[0] looked up in PATH) with stdout+stderr to log_path. When
 * verbose, the output also goes to our stderr as it comes. */
aae_status aae_pkg_run(const char *const *argv, const char *log_path, int verbose, aae_error *err);

/* Runs argv and captures up to cap-1 bytes of its stdout (NUL-terminated). */
aae_status aae_pkg_capture(const char *const *argv, char *out, size_t cap, aae_error *err);

#endif
