/*
 * tar.c - ustar writer and untrusted-input reader.
 *
 * A ustar archive is a sequence of 512-byte blocks. Each file: one header block, then
 * its data padded with zeros to a multiple of 512. Two zero blocks end the archive.
 * Header fields (ASCII; numbers in octal, NUL- or space-terminated):
 *   name[100] @0, mode[8] @100, uid[8] @108, gid[8] @116, size[12] @124, mtime[12] @136,
 *   chksum[8] @148 (sum of all 512 header bytes as unsigned, the chksum field counted
 *   as spaces), typeflag @156 ('0' or NUL regular file, '5' folder), linkname[100] @157,
 *   magic[6] @257 ("ustar\0"; GNU tar writes "ustar  "), version[2] @263 ("00"),
 *   uname[32] @265, gname[32] @297, devmajor[8] @329, devminor[8] @337,
 *   prefix[155] @345 (the path is prefix + "/" + name when prefix is not empty).
 */
#include "compile/tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"

#define BLOCK 512
#define MAX_ENTRIES 100000u

static void octal(uint8_t *f, size_t width, uint64_t v)
{
    /* width-1 digits, then NUL */
    for (size_t i = width - 1; i-- > 0;) {
        f[i] = (uint8_t)('0' + (v & 7));
        v >>= 3;
    }
    f[width - 1] = '\0';
}

static unsigned checksum(const uint8_t *h)
{
    unsigned sum = 0;
    for (size_t i = 0; i < BLOCK; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum;
}

static int split_name(const char *path, uint8_t *h)
{
    size_t len = strlen(path);
    if (len <= 100) {
        memcpy(h, path, len);
        return 1;
    }
    for (size_t i = len; i-- > 0;) { /* the last '/' that leaves name <= 100, prefix <= 155 */
        if (path[i] != '/' || len - i - 1 > 100 || len - i - 1 == 0)
            continue;
        if (i > 155)
            continue;
        memcpy(h + 345, path, i);
        memcpy(h, path + i + 1, len - i - 1);
        return 1;
    }
    return 0;
}

aae_status aae_tar_build(const aae_tar_input *files, size_t n, aae_buf *out, aae_error *err)
{
    static const uint8_t zeros[BLOCK];
    for (size_t i = 0; i < n; i++) {
        uint8_t h[BLOCK];
        memset(h, 0, sizeof h);
        if (!aae_tar_path_is_safe(files[i].name) || !split_name(files[i].name, h))
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                                 "tar member '%s': must be a relative path without '..' that fits ustar "
                                 "(name <= 100 bytes, folder <= 155 bytes)",
                                 files[i].name);
        if (files[i].size >= ((uint64_t)1 << 33))
            return aae_error_set(err, AAE_ERR_LIMIT, "tar member '%s': %zu bytes exceeds ustar's 8 GiB limit",
                                 files[i].name, files[i].size);
        octal(h + 100, 8, 0644);
        octal(h + 108, 8, 0);
        octal(h + 116, 8, 0);
        octal(h + 124, 12, files[i].size);
        octal(h + 136, 12, 0);
        h[156] = '0';
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memcpy(h + 265, "root", 4);
        memcpy(h + 297, "root", 4);
        octal(h + 329, 8, 0);
        octal(h + 337, 8, 0);
        unsigned sum = checksum(h);
        octal(h + 148, 7, sum); /* six digits, NUL ... */
        h[155] = ' ';           /* ... and a space, as POSIX tar writes it */
        aae_buf_append(out, h, BLOCK);
        if (files[i].size)
            aae_buf_append(out, files[i].data, files[i].size);
        aae_buf_append(out, zeros, (BLOCK - files[i].size % BLOCK) % BLOCK);
    }
    aae_buf_append(out, zeros, BLOCK);
    aae_buf_append(out, zeros, BLOCK);
    if (!aae_buf_ok(out))
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory building a tar archive");
    return AAE_OK;
}

aae_status aae_tar_write_file(const char *path, const aae_tar_input *files, size_t n, aae_error *err)
{
    aae_buf b;
    aae_buf_init(&b);
    aae_status st = aae_tar_build(files, n, &b, err);
    if (st == AAE_OK)
        st = aae_write_file_atomic(path, b.data, b.len, 0644, err);
    aae_buf_free(&b);
    return st;
}

int aae_tar_path_is_safe(const char *p)
{
    if (!p || !*p || *p == '/')
        return 0;
    const char *s = p;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0 && e) /* "a//b" */
            return 0;
        if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        if (!e)
            return 1;
        s = e + 1;
        if (!*s) /* trailing '/' (a folder entry) */
            return 1;
    }
}

/* Parses an octal field (leading spaces, digits, then NUL/space to the end). */
static int parse_octal(const uint8_t *f, size_t width, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < width && f[i] == ' ')
        i++;
    size_t start = i;
    for (; i < width && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v >> 60)
            return 0;
        v = v * 8 + (uint64_t)(f[i] - '0');
    }
    if (i == start)
        return 0;
    for (; i < width; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return 0;
    *out = v;
    return 1;
}

static int is_zero_block(const uint8_t *b)
{
    for (size_t i = 0; i < BLOCK; i++)
        if (b[i])
            return 0;
    return 1;
}

void aae_tar_free(aae_tar *t)
{
    if (!t)
        return;
    free(t->entries);
    t->entries = NULL;
    t->n = 0;
}

static aae_status header_path(const uint8_t *h, const char *an, size_t off, char *out, aae_error *err)
{
    size_t nlen = strnlen((const char *)h, 100), plen = strnlen((const char *)h + 345, 155);
    if (plen) {
        memcpy(out, h + 345, plen);
        out[plen] = '/';
        memcpy(out + plen + 1, h, nlen);
        out[plen + 1 + nlen] = '\0';
    } else {
        memcpy(out, h, nlen);
        out[nlen] = '\0';
    }
    if (!aae_tar_path_is_safe(out))
        return aae_error_set(err, AAE_ERR_FORMAT,
                             "%s: entry at byte %zu has the unsafe path '%s' (absolute, empty, or with '.' or "
                             "'..' components); refusing the archive",
                             an, off, out);
    return AAE_OK;
}

aae_status aae_tar_read(const uint8_t *d, size_t size, const char *an, aae_tar *out, aae_error *err)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0, cap = 0;
    aae_status st = AAE_OK;
    while (1) {
        if (size - pos < BLOCK) {
            st = aae_error_set(err, AAE_ERR_FORMAT, "%s: truncated at byte %zu (no end-of-archive blocks)", an, pos);
            break;
        }
        const uint8_t *h = d + pos;
        if (is_zero_block(h))
            break; /* end of archive */
        uint64_t sum, fsize;
        if (!parse_octal(h + 148, 8, &sum) || sum != checksum(h)) {
            st = aae_error_set(err, AAE_ERR_FORMAT, "%s: header at byte %zu: bad checksum (not a tar file, or "
                               "damaged)", an, pos);
            break;
        }
        if (memcmp(h + 257, "ustar", 5) != 0) {
            st = aae_error_set(err, AAE_ERR_FORMAT, "%s: header at byte %zu: not a ustar header (magic '%.6s')", an,
                               pos, (const char *)h + 257);
            break;
        }
        if (!parse_octal(h + 124, 12, &fsize) || fsize > size - pos - BLOCK) {
            st = aae_error_set(err, AAE_ERR_FORMAT, "%s: header at byte %zu: size field '%.12s' is not an octal "
                               "number within the %zu bytes that remain", an, pos, (const char *)h + 124,
                               size - pos - BLOCK);
            break;
        }
        char path[257];
        if ((st = header_path(h, an, pos, path, err)) != AAE_OK)
            break;
        char type = (char)h[156];
        if (type == '0' || type == '\0') {
            if (out->n == cap) {
                size_t nc = cap ? cap * 2 : 16;
                aae_tar_entry *ne = nc <= MAX_ENTRIES ? realloc(out->entries, nc * sizeof *ne) : NULL;
                if (!ne) {
                    st = aae_error_set(err, nc > MAX_ENTRIES ? AAE_ERR_LIMIT : AAE_ERR_NOMEM,
                                       "%s: too many entries (or out of memory)", an);
                    break;
                }
                out->entries = ne;
                cap = nc;
            }
            aae_tar_entry *e = &out->entries[out->n++];
            memcpy(e->name, path, sizeof e->name);
            e->data = d + pos + BLOCK;
            e->size = (size_t)fsize;
        } else if (type != '5') {
            st = aae_error_set(err, AAE_ERR_UNSUPPORTED,
                               "%s: entry '%s' at byte %zu has type '%c'; only regular files and folders are "
                               "accepted (no links or devices)", an, path, pos, type >= 32 && type < 127 ? type : '?');
            break;
        }
        size_t padded = (size_t)fsize + (BLOCK - (size_t)fsize % BLOCK) % BLOCK;
        if (padded > size - pos - BLOCK) /* cut padding: reported as truncation on the next turn */
            padded = size - pos - BLOCK;
        pos += BLOCK + padded;
    }
    if (st != AAE_OK)
        aae_tar_free(out);
    return st;
}

const aae_tar_entry *aae_tar_find(const aae_tar *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->entries[i].name, name) == 0)
            return &t->entries[i];
    return NULL;
}
