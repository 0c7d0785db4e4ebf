/*
 * tar.h - ustar (POSIX.1-1988) archives: the container of a model library (OUT.tar).
 *
 * A model-library tar holds the object files and one metadata JSON member (see
 * docs/model_libraries.md). The writer makes deterministic archives (mtime 0, uid 0,
 * root/root, mode 0644, regular files only). The reader treats its input as untrusted:
 * checksums verified, sizes checked against the buffer, only regular files and
 * folders accepted, and every path must be relative, without "..", empty or "."
 * components, so that extracting can never escape the destination.
 */
#ifndef AAE_TOOLS_TAR_H
#define AAE_TOOLS_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

typedef struct aae_tar_input {
    const char *name; /* relative path, at most 255 bytes (split into prefix/name) */
    const uint8_t *data;
    size_t size;
} aae_tar_input;

aae_status aae_tar_build(const aae_tar_input *files, size_t n, aae_buf *out, aae_error *err);
aae_status aae_tar_write_file(const char *path, const aae_tar_input *files, size_t n, aae_error *err);

typedef struct aae_tar_entry {
    char name[257];      /* full path (prefix + "/" + name), NUL-terminated */
    const uint8_t *data; /* points into the buffer given to aae_tar_read */
    size_t size;
} aae_tar_entry;

typedef struct aae_tar {
    aae_tar_entry *entries; /* regular files only, in archive order */
    size_t n;
} aae_tar;

/* Parses an in-memory tar. Entries point into data, which must outlive the result. */
aae_status aae_tar_read(const uint8_t *data, size_t size, const char *name, aae_tar *out, aae_error *err);
void aae_tar_free(aae_tar *t);
const aae_tar_entry *aae_tar_find(const aae_tar *t, const char *name);
/* 1 if p is a safe relative path: no leading '/', no "..", "." or empty components. */
int aae_tar_path_is_safe(const char *p);

#endif
