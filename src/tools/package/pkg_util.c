/* pkg_util.c - small helpers shared by the packager (see pkg_util.h). */
#define _GNU_SOURCE
#include "package/pkg_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/md5.h"

/* Stricter than the runtime's aae_is_plain_file_name, so kept: the same rules, and no
 * ':' either (the packager has always refused it; tests/package/test_pkg_util.c). */
int aae_pkg_is_safe_name(const char *s) { return aae_is_plain_file_name(s) && !strchr(s, ':'); }

aae_status aae_pkg_rmtree(const char *path, aae_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? AAE_OK : aae_error_set(err, AAE_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) != 0 && errno != ENOENT)
            return aae_error_set(err, AAE_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
        return AAE_OK;
    }
    DIR *d = opendir(path);
    if (!d)
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot open folder: %s", path, strerror(errno));
    struct dirent *e;
    aae_status st2 = AAE_OK;
    while (st2 == AAE_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[PATH_MAX];
        if (snprintf(child, sizeof child, "%s/%s", path, e->d_name) >= (int)sizeof child)
            st2 = aae_error_set(err, AAE_ERR_LIMIT, "%s/%s: path too long", path, e->d_name);
        else
            st2 = aae_pkg_rmtree(child, err);
    }
    closedir(d);
    if (st2 == AAE_OK && rmdir(path) != 0 && errno != ENOENT)
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot remove folder: %s", path, strerror(errno));
    return st2;
}

void aae_pkg_scrub(char *s, const char *secret)
{
    if (!s || !secret || !*secret)
        return;
    size_t sl = strlen(secret);
    char *hit;
    while ((hit = strstr(s, secret)) != NULL) {
        size_t rest = strlen(hit + sl);
        memcpy(hit, "***", 3);
        memmove(hit + 3, hit + sl, rest + 1);
        if (sl < 3)
            break; /* "***" could itself contain a very short secret */
    }
}

double aae_pkg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int64_t aae_pkg_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    return (int64_t)st.st_size;
}

aae_status aae_pkg_md5_file(const char *path, char hex[33], aae_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    static __thread unsigned char buf[1 << 16];
    aae_md5 m;
    aae_md5_init(&m);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return aae_error_set(err, AAE_ERR_IO, "%s: read failed: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        aae_md5_update(&m, buf, (size_t)n);
    }
    close(fd);
    uint8_t d[16];
    aae_md5_final(&m, d);
    aae_md5_digest_to_hex(d, hex);
    return AAE_OK;
}

const char *aae_pkg_getenv(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

aae_status aae_pkg_home(char *out, size_t cap, aae_error *err)
{
    const char *v;
    int n;
    if ((v = aae_pkg_getenv("SPHERE_AAE_HOME")) != NULL)
        n = snprintf(out, cap, "%s", v);
    else if ((v = aae_pkg_getenv("XDG_CACHE_HOME")) != NULL)
        n = snprintf(out, cap, "%s/sphere_aae", v);
    else if ((v = aae_pkg_getenv("HOME")) != NULL)
        n = snprintf(out, cap, "%s/.cache/sphere_aae", v);
    else
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                             "no cache folder: set SPHERE_AAE_HOME (or XDG_CACHE_HOME or HOME)");
    if (n < 0 || (size_t)n >= cap)
        return aae_error_set(err, AAE_ERR_LIMIT, "cache folder path too long");
    return AAE_OK;
}

void aae_pkg_sfmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}
