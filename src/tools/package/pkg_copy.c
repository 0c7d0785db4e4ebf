/* pkg_copy.c - reflink / copy_file_range / read-write copies (see pkg_copy.h). */
#define _GNU_SOURCE
#include "package/pkg_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "package/pkg_config.h"
#include "package/pkg_util.h"

static int same_file_stamp(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static aae_status copy_fd(int in, int out, int64_t size, const char *src, aae_pkg_copy_stats *stats,
                          aae_pkg_copy_progress progress, void *user, aae_error *err)
{
#ifdef FICLONE
    if (ioctl(out, FICLONE, in) == 0) {
        stats->files_reflinked++;
        return AAE_OK;
    }
#endif
    int64_t done = 0;
    int use_cfr = 1;
    static __thread char buf[1 << 20];
    while (done < size) {
        ssize_t n;
        if (use_cfr) {
            n = copy_file_range(in, NULL, out, NULL, (size_t)(size - done < (1 << 30) ? size - done : (1 << 30)), 0);
            if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
                use_cfr = 0;
                continue;
            }
        } else {
            n = read(in, buf, sizeof buf);
            if (n > 0) {
                ssize_t w = 0;
                while (w < n) {
                    ssize_t k = write(out, buf + w, (size_t)(n - w));
                    if (k < 0 && errno == EINTR)
                        continue;
                    if (k <= 0)
                        return aae_error_set(err, AAE_ERR_IO, "write failed copying %s: %s", src, strerror(errno));
                    w += k;
                }
            }
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return aae_error_set(err, AAE_ERR_IO, "copying %s: %s", src, strerror(errno));
        if (n == 0)
            return aae_error_set(err, AAE_ERR_IO, "%s shrank while it was being copied", src);
        done += n;
        if (progress)
            progress(user, n);
    }
    stats->bytes_copied += done;
    stats->files_copied++;
    return AAE_OK;
}

aae_status aae_pkg_copy_file(const char *src, const char *dst, const char *prev, aae_pkg_copy_stats *stats,
                             aae_pkg_copy_progress progress, void *user, aae_error *err)
{
    struct stat ss, ps;
    if (stat(src, &ss) != 0 || !S_ISREG(ss.st_mode))
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot read: %s", src, strerror(errno ? errno : EINVAL));
    if (prev && lstat(prev, &ps) == 0 && S_ISREG(ps.st_mode) && same_file_stamp(&ss, &ps) && link(prev, dst) == 0) {
        stats->files_kept++;
        return AAE_OK;
    }
    char tmp[AAE_PKG_PATH_MAX + 32];
    aae_pkg_sfmt(tmp, sizeof tmp, "%s.tmp-%ld", dst, (long)getpid());
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot open: %s", src, strerror(errno));
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        int e = errno;
        close(in);
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot create: %s", tmp, strerror(e));
    }
    aae_status st = copy_fd(in, out, (int64_t)ss.st_size, src, stats, progress, user, err);
    struct timespec times[2] = {ss.st_atim, ss.st_mtim};
    if (st == AAE_OK && futimens(out, times) != 0)
        st = aae_error_set(err, AAE_ERR_IO, "%s: cannot set its time: %s", tmp, strerror(errno));
    close(in);
    if (close(out) != 0 && st == AAE_OK)
        st = aae_error_set(err, AAE_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    if (st == AAE_OK && rename(tmp, dst) != 0)
        st = aae_error_set(err, AAE_ERR_IO, "%s: cannot rename into place: %s", dst, strerror(errno));
    if (st != AAE_OK)
        unlink(tmp);
    return st;
}
