/*
 * tensor_cache.h - reader of a converted model's tensor index.
 *
 * A model directory holds tensor-cache.json (MLC-LLM's directories call it
 * ndarray-cache.json; both are read) and the shards it names. Format (version 1,
 * the same as MLC-LLM's ndarray cache):
 *
 *   {
 *     "metadata": {...},                     optional object, not interpreted
 *     "records": [                           one entry per shard file
 *       {
 *         "dataPath": "params_shard_0.bin",  a plain file name in the model dir:
 *                                            no '/', no '\\', no leading '.',
 *                                            no NUL or control character, at most
 *                                            255 bytes (aae_is_plain_file_name)
 *         "format": "raw-shard",
 *         "nbytes": 123,                     exact size of the shard file
 *         "md5sum": "<32 lower-case hex>",   optional
 *         "records": [                       the tensors stored in the shard
 *           {"name": "model.norm.weight", "shape": [2048], "dtype": "float16",
 *            "format": "raw", "nbytes": 4096, "byteOffset": 0}
 *         ]
 *       }
 *     ]
 *   }
 *
 * dtype is one of "float32", "float16", "bfloat16", "uint32". Record format "raw"
 * stores prod(shape) elements of dtype, little-endian; "f32-to-bf16" stores a
 * "float32" tensor as bfloat16 (the upper 16 bits of each float32), so its nbytes
 * is prod(shape) * 2.
 *
 * Every field is untrusted and checked: types, integer ranges, shape dims > 0 and
 * their product without overflow, nbytes equal to what shape and dtype imply,
 * [byteOffset, byteOffset + nbytes) inside the shard's nbytes, tensor names
 * unique and non-empty. Errors name the file and the JSON pointer of the value.
 */
#ifndef AAE_FORMAT_TENSOR_CACHE_H
#define AAE_FORMAT_TENSOR_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define AAE_TC_MAX_DIMS 8
#define AAE_TC_NAME_MAX 255

typedef enum aae_dtype {
    AAE_DTYPE_F32 = 0,
    AAE_DTYPE_F16 = 1,
    AAE_DTYPE_BF16 = 2,
    AAE_DTYPE_U32 = 3
} aae_dtype;

typedef enum aae_record_format {
    AAE_RECORD_RAW = 0,
    AAE_RECORD_F32_TO_BF16 = 1 /* dtype float32, stored as bfloat16 */
} aae_record_format;

typedef struct aae_tc_tensor {
    const char *name;
    int ndim;
    int64_t shape[AAE_TC_MAX_DIMS];
    aae_dtype dtype;           /* the logical dtype ("float32" for f32-to-bf16) */
    aae_record_format format;
    uint64_t nbytes;           /* bytes stored in the shard */
    uint64_t byte_offset;      /* within the shard */
    uint32_t shard;            /* index into shards */
    uint64_t numel;            /* prod(shape) */
} aae_tc_tensor;

typedef struct aae_tc_shard {
    const char *data_path; /* file name inside the model directory */
    uint64_t nbytes;
    char md5[33];          /* lower-case hex, "" when absent */
} aae_tc_shard;

typedef struct aae_tensor_cache {
    const char *path;      /* the JSON file read (or the label given to parse) */
    aae_tc_shard *shards;
    size_t n_shards;
    aae_tc_tensor *tensors; /* in file order */
    size_t n_tensors;
    uint64_t total_bytes;  /* sum of shard nbytes */
    /* private */
    void *priv_;
} aae_tensor_cache;

/* Loads <model_dir>/tensor-cache.json, or ndarray-cache.json when the former is
 * absent. Does not open the shards (see aae_tensor_cache_verify_shards). */
aae_status aae_tensor_cache_load(const char *model_dir, aae_tensor_cache **out, aae_error *err);

/* Parses text (len bytes); label names it in messages. */
aae_status aae_tensor_cache_parse(const char *text, size_t len, const char *label, aae_tensor_cache **out,
                                  aae_error *err);

void aae_tensor_cache_free(aae_tensor_cache *tc);

/* The tensor named name, or NULL. O(1). */
const aae_tc_tensor *aae_tensor_cache_find(const aae_tensor_cache *tc, const char *name);

/* Checks that every shard file in model_dir exists with exactly its nbytes and,
 * when check_md5 is set and an md5sum is recorded, that its MD5 matches. */
aae_status aae_tensor_cache_verify_shards(const aae_tensor_cache *tc, const char *model_dir, int check_md5,
                                          aae_error *err);

/* "float32", ... ; element size in bytes. */
const char *aae_dtype_name(aae_dtype dt);
size_t aae_dtype_size(aae_dtype dt);

#endif
