/*
 * pkg_copy.h - copying model files into dist/ as cheaply as the filesystem allows.
 *
 * Order of preference for one file:
 *   1. the previous dist/ already holds the same file (same size and mtime; we give
 *      every copy its source's mtime): hard-link it into the new tree (no bytes move);
 *   2. a reflink (ioctl FICLONE: btrfs, XFS, bcachefs share the blocks);
 *   3. copy_file_range (in-kernel copy; server-side on NFS);
 *   4. read/write.
 * The copy lands under a temporary name and is renamed into place.
 */
#ifndef AAE_PKG_COPY_H
#define AAE_PKG_COPY_H

#include <stdint.h>

#include "base/error.h"

typedef struct aae_pkg_copy_stats {
    int64_t bytes_copied; /* bytes that moved (reflinks count 0) */
    int files_copied;
    int files_reflinked;
    int files_kept;       /* hard-linked from the previous output */
} aae_pkg_copy_stats;

typedef void (*aae_pkg_copy_progress)(void *user, int64_t bytes);

/* Copies src to dst (which must not exist). prev: the same file in the previous
 * output, or NULL. */
aae_status aae_pkg_copy_file(const char *src, const char *dst, const char *prev, aae_pkg_copy_stats *stats,
                             aae_pkg_copy_progress progress, void *user, aae_error *err);

#endif
