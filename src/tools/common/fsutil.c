/* fsutil.c - temporary file + fsync + rename, mkdir -p, staged-folder swap (see fsutil.h). */
#define _GNU_SOURCE /* SYS_renameat2 */
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int aae_temp_path_beside(char *out, size_t cap, const char *path)
{
    static atomic_uint counter;
    unsigned n = atomic_fetch_add(&counter, 1u);
    int w = snprintf(out, cap, "%s.tmp.%ld.%u", path, (long)getpid(), n);
    return w > 0 && (size_t)w < cap;
}

int aae_pathf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return w >= 0 && (size_t)w < cap;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        p += w;
        len -= (size_t)w;
    }
    return 1;
}

aae_status aae_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode, aae_error *err)
{
    char tmp[4096];
    if (!aae_temp_path_beside(tmp, sizeof tmp, path))
        return aae_error_set(err, AAE_ERR_LIMIT, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    int ok = write_all(fd, data, len) && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot write %zu bytes: %s", path, len, strerror(e));
    }
    return AAE_OK;
}

aae_status aae_mkdir_p(const char *dir, aae_error *err)
{
    char p[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "cannot create folder '%s': empty or too long", dir);
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return aae_error_set(err, AAE_ERR_IO, "%s: cannot create folder: %s", p, strerror(errno));
        p[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return aae_error_set(err, AAE_ERR_IO, "%s: exists and is not a folder", dir);
    return AAE_OK;
}

/* renameat2(RENAME_EXCHANGE) through the system call, so that it works with C libraries
 * that lack the wrapper; -1 with errno ENOSYS where there is none. */
static int exchange(const char *a, const char *b)
{
#if defined(__linux__) && defined(SYS_renameat2)
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
#else
    (void)a;
    (void)b;
    errno = ENOSYS;
    return -1;
#endif
}

aae_status aae_swap_into_place(const char *staging, const char *final, const char *old_aside,
                               const char **old_left, aae_error *err)
{
    if (old_left)
        *old_left = NULL;
    struct stat st;
    if (lstat(final, &st) != 0) {
        if (rename(staging, final) != 0)
            return aae_error_set(err, AAE_ERR_IO, "cannot move %s to %s: %s", staging, final, strerror(errno));
        return AAE_OK;
    }
    if (exchange(staging, final) == 0) {
        if (old_left)
            *old_left = staging; /* now the old folder */
        return AAE_OK;
    }
    if (rename(final, old_aside) != 0)
        return aae_error_set(err, AAE_ERR_IO, "cannot move the old %s aside: %s", final, strerror(errno));
    if (rename(staging, final) != 0) {
        int e = errno;
        rename(old_aside, final);
        return aae_error_set(err, AAE_ERR_IO, "cannot move %s to %s: %s", staging, final, strerror(e));
    }
    if (old_left)
        *old_left = old_aside;
    return AAE_OK;
}
