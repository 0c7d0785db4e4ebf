/* fs.c - file helpers for the runtime. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE */
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

/* Weights are read whole for every token, so the TLB misses of 4 KiB pages cost
 * decode speed (1.1B q4f16_1: 57 -> 62 tok/s at 1 thread with 2 MiB pages). Where
 * the kernel keeps large folios for the file system (Linux 6.x: ext4, xfs, btrfs),
 * a file mapped at a 2 MiB boundary with MADV_HUGEPAGE is read into the page cache
 * in 2 MiB folios and mapped one TLB entry per folio. Parts of the file already
 * cached in small folios stay small; elsewhere the advice is ignored. Falls back
 * to a plain map. */
#define HUGE_ALIGN ((size_t)2 << 20)

static void *map_read_only(int fd, size_t size)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE) && defined(MAP_ANONYMOUS)
    long page = sysconf(_SC_PAGESIZE);
    if (size >= HUGE_ALIGN && size <= SIZE_MAX - 2 * HUGE_ALIGN && page > 0 && HUGE_ALIGN % (size_t)page == 0) {
        size_t span = size + HUGE_ALIGN;
        uint8_t *r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (r != MAP_FAILED) {
            uint8_t *a = r + ((HUGE_ALIGN - (uintptr_t)r % HUGE_ALIGN) % HUGE_ALIGN);
            size_t len = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
            void *p = mmap(a, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
            if (p != MAP_FAILED) {
                if (a > r)
                    munmap(r, (size_t)(a - r));
                if (a + len < r + span)
                    munmap(a + len, (size_t)(r + span - (a + len)));
                madvise(p, size, MADV_HUGEPAGE);
                return p;
            }
            munmap(r, span);
        }
    }
#endif
    return mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
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
    void *p = map_read_only(fd, out->size);
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
