/* fs.h - file helpers for the runtime (POSIX only). */
#ifndef AAE_BASE_FS_H
#define AAE_BASE_FS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* The largest JSON file we read into memory (tokenizer.json files reach ~35 MB). */
#define AAE_JSON_FILE_MAX ((size_t)512 << 20)

/* Reads a whole file into a malloc'd, NUL-terminated buffer. Files larger than
 * max_size are refused with a message naming the file and the limit. */
aae_status aae_read_file(const char *path, size_t max_size, char **out, size_t *out_len, aae_error *err);

/* A read-only memory map of a whole file. */
typedef struct aae_mmap {
    const uint8_t *data;
    size_t size;
} aae_mmap;
aae_status aae_mmap_file(const char *path, aae_mmap *out, aae_error *err);
void aae_munmap(aae_mmap *m);

/* Joins dir and name with one '/' into out (capacity cap). 0 if it did not fit. */
int aae_path_join(char *out, size_t cap, const char *dir, const char *name);

/* 1 if name, read from an outside file, is a plain file name that stays inside the
 * folder it is joined to: 1..255 bytes, no '/' or '\\', no control character, not
 * starting with '.' (so not ".", ".." nor a hidden file). The one check every reader
 * of file names from model files uses (tensor-cache dataPath, tokenizer_files,
 * safetensors index shards). */
int aae_is_plain_file_name(const char *name);

/* The path of dir/name, or of dir/alt when only that exists (our file names and
 * MLC-LLM's: "tensor-cache.json" / "ndarray-cache.json"), into out (capacity cap).
 * Returns 1 if one of them is a regular file, 0 if neither is (out then holds
 * dir/name), -1 if the path does not fit. */
int aae_find_file_or_alt(char *out, size_t cap, const char *dir, const char *name, const char *alt);

/* 1 if path exists and is a regular file / a directory. */
int aae_is_file(const char *path);
int aae_is_dir(const char *path);

#endif
