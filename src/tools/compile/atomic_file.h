/* atomic_file.h - whole-file writes that readers never see half done. */
#ifndef AAE_TOOLS_ATOMIC_FILE_H
#define AAE_TOOLS_ATOMIC_FILE_H

#include <stddef.h>

#include "base/error.h"

/* Writes len bytes to a new temporary file beside path (same folder, unique name),
 * fsyncs it, and renames it over path. On failure the temporary is removed and path
 * is unchanged. mode is the file mode (e.g. 0644), subject to the umask. */
aae_status aae_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode, aae_error *err);

/* Makes a unique temporary path "<path>.tmp.<pid>.<n>" into out (capacity cap). */
int aae_temp_path_beside(char *out, size_t cap, const char *path);

/* snprintf into a path buffer; 0 (and out truncated) if it did not fit. */
int aae_pathf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* mkdir -p (mode 0755). */
aae_status aae_mkdir_p(const char *dir, aae_error *err);

#endif
