/*
 * safetensors.h - reader for Hugging Face safetensors checkpoints (untrusted input).
 *
 * File format (https://huggingface.co/docs/safetensors), byte by byte:
 *   bytes 0..7      N, the header length, unsigned 64-bit little-endian
 *   bytes 8..8+N    the header: a JSON object, UTF-8, possibly padded with spaces
 *                   { "<tensor name>": {"dtype": "F32", "shape": [d0, d1, ...],
 *                                        "data_offsets": [begin, end]},
 *                     ...,
 *                     "__metadata__": {"<key>": "<string>", ...} (optional) }
 *   bytes 8+N..     the data buffer; a tensor's bytes are [begin, end) relative to
 *                   its start, row-major, little-endian.
 * What we check (any failure refuses the file, naming it and the tensor):
 *   N >= 2, N <= AAE_ST_HEADER_MAX and 8 + N <= file size; the header parses as a
 *   JSON object without duplicate keys; each entry has a known dtype string, a shape
 *   of non-negative integers (at most AAE_ST_MAX_DIMS), and 0 <= begin <= end <= data
 *   size; end - begin == product(shape) * dtype size (computed without overflow); no
 *   two tensors' byte ranges overlap. Unused bytes between tensors are allowed.
 * Known dtypes are parsed (so checkpoints carrying e.g. BOOL buffers load), but only
 * F32, F16 and BF16 are "supported": aae_st_tensor_check_float() refuses the others.
 *
 * Sharded checkpoints: model.safetensors.index.json {"weight_map": {name: file}};
 * every file named there is opened (plain file names in HF_DIR only), each name
 * must be in the file the map names, and no name may appear in two files.
 */
#ifndef AAE_CONVERT_SAFETENSORS_H
#define AAE_CONVERT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/fs.h"

#define AAE_ST_MAX_DIMS 8
#define AAE_ST_HEADER_MAX ((uint64_t)100 << 20) /* the limit the reference library uses */

typedef enum aae_st_dtype {
    AAE_ST_F32 = 0,
    AAE_ST_F16,
    AAE_ST_BF16,
    AAE_ST_F64,
    AAE_ST_I64,
    AAE_ST_I32,
    AAE_ST_I16,
    AAE_ST_I8,
    AAE_ST_U64,
    AAE_ST_U32,
    AAE_ST_U16,
    AAE_ST_U8,
    AAE_ST_BOOL,
    AAE_ST_F8_E4M3,
    AAE_ST_F8_E5M2,
    AAE_ST_DTYPE_COUNT
} aae_st_dtype;

typedef struct aae_st_tensor {
    const char *name;    /* NUL-terminated, owned by the file */
    aae_st_dtype dtype;
    int ndim;
    int64_t shape[AAE_ST_MAX_DIMS];
    uint64_t numel;
    const uint8_t *data; /* into the mapping */
    uint64_t nbytes;
    uint64_t offset;     /* absolute byte offset in the file, for messages */
    const char *path;    /* the file it is in */
} aae_st_tensor;

typedef struct aae_st_file aae_st_file;

const char *aae_st_dtype_name(aae_st_dtype dt);
size_t aae_st_dtype_size(aae_st_dtype dt);

/* Parses and validates a whole safetensors image held in memory (data, size).
 * `path` is only used in messages. The result borrows `data` (it must outlive it). */
aae_status aae_st_parse(const uint8_t *data, size_t size, const char *path, aae_st_file **out, aae_error *err);
/* Maps and parses a file. */
aae_status aae_st_open(const char *path, aae_st_file **out, aae_error *err);
void aae_st_close(aae_st_file *f);
size_t aae_st_count(const aae_st_file *f);
const aae_st_tensor *aae_st_at(const aae_st_file *f, size_t i);
const aae_st_tensor *aae_st_get(const aae_st_file *f, const char *name);

/* A whole checkpoint folder: model.safetensors, or the files listed by
 * model.safetensors.index.json. */
typedef struct aae_st_model aae_st_model;
aae_status aae_st_model_open(const char *hf_dir, aae_st_model **out, aae_error *err);
void aae_st_model_close(aae_st_model *m);
const aae_st_tensor *aae_st_model_get(const aae_st_model *m, const char *name);
size_t aae_st_model_count(const aae_st_model *m);
const aae_st_tensor *aae_st_model_at(const aae_st_model *m, size_t i);
/* Total size of the checkpoint's tensor data in bytes. */
uint64_t aae_st_model_bytes(const aae_st_model *m);

/* AAE_OK if t is F32, F16 or BF16; else AAE_ERR_UNSUPPORTED naming it. */
aae_status aae_st_tensor_check_float(const aae_st_tensor *t, aae_error *err);

#endif
