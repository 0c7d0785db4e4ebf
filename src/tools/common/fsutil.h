/* fsutil.h - the file-system helpers of the CLI-side tools (convert, compile, package):
 * whole-file writes that readers never see half done, mkdir -p, path formatting, and
 * swapping a staged folder into place. */
#ifndef AAE_TOOLS_FSUTIL_H
#define AAE_TOOLS_FSUTIL_H

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

/* Puts the folder staging where final is, as one step where the system allows it:
 * - final does not exist (lstat): staging is renamed to final;
 * - else, on Linux, renameat2(RENAME_EXCHANGE) swaps the two, so the old folder is
 *   then at staging;
 * - else final is renamed to old_aside (required; a path in the same folder), staging
 *   to final, and if that last rename fails the old folder is renamed back.
 * On success *old_left (if old_left is not NULL) is where the old folder now is
 * (staging or old_aside), for the caller to remove the way it likes, or NULL when
 * nothing was replaced. On failure final is as it was (the rollback above) and staging
 * is not removed. */
aae_status aae_swap_into_place(const char *staging, const char *final, const char *old_aside,
                               const char **old_left, aae_error *err);

#endif
