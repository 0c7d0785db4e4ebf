/* fs.c - file helpers for the runtime. */
#include "base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens path for reading if it is a regular file. O_NONBLOCK so that a FIFO or a
 * device named by an outside file fails at once instead of blocking the open. */
static aae_status open_regular(const char *path, int *fd_out, struct stat *st, aae_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return aae_error_set(err, errno == ENOENT ? AAE_ERR_NOT_FOUND : AAE_ERR_IO, "%s: cannot open: %s", path,
                             strerror(errno));
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return aae_error_set(err, AAE_ERR_IO, "%s: not a regular file", path);
    }
    *fd_out = fd;
    return AAE_OK;
}

aae_status aae_read_file(const char *path, size_t max_size, char **out, size_t *out_len, aae_error *err)
{
    int fd = -1;
    struct stat st;
    aae_status rc = open_regular(path, &fd, &st, err);
    if (rc != AAE_OK)
        return rc;
    if ((uint64_t)st.st_size > max_size) {
        close(fd);
        return aae_error_set(err, AAE_ERR_LIMIT, "%s: file is %lld bytes, more than the %zu bytes allowed for it",
                             path, (long long)st.st_size, max_size);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return aae_error_set(err, AAE_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            free(buf);
            close(fd);
            return aae_error_set(err, AAE_ERR_IO, "%s: read failed after %zu of %zu bytes: %s", path, got, size,
                                 n == 0 ? "file shrank while reading" : strerror(e));
        }
        got += (size_t)n;
    }
    close(fd);
    buf[size] = '\0';
    *out = buf;
    *out_len = size;
    return AAE_OK;
}

aae_status aae_mmap_file(const char *path, aae_mmap *out, aae_error *err)
{
    int fd = -1;
    struct stat st;
    aae_status rc = open_regular(path, &fd, &st, err);
    if (rc != AAE_OK)
        return rc;
    out->size = (size_t)st.st_size;
    out->data = NULL;
    if (out->size == 0) {
        close(fd);
        return AAE_OK;
    }
    void *p = mmap(NULL, out->size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot map %zu bytes: %s", path, out->size, strerror(e));
    out->data = p;
    return AAE_OK;
}

void aae_munmap(aae_mmap *m)
{
    if (m && m->data && m->size)
        munmap((void *)m->data, m->size);
    if (m) {
        m->data = NULL;
        m->size = 0;
    }
}

int aae_path_join(char *out, size_t cap, const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    int n = snprintf(out, cap, "%.*s/%s", (int)dl, dir, name);
    return n >= 0 && (size_t)n < cap;
}

int aae_is_plain_file_name(const char *name)
{
    if (!name || !name[0] || name[0] == '.' || strlen(name) > 255)
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

int aae_find_file_or_alt(char *out, size_t cap, const char *dir, const char *name, const char *alt)
{
    if (!aae_path_join(out, cap, dir, alt) || !aae_path_join(out, cap, dir, name))
        return -1;
    if (aae_is_file(out))
        return 1;
    aae_path_join(out, cap, dir, alt);
    if (aae_is_file(out))
        return 1;
    aae_path_join(out, cap, dir, name);
    return 0;
}

int aae_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int aae_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
