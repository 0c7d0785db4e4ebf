/*
 * pkg_manifest.h - the files that make up a converted model, and what the
 * packager needs to know about it (memory, dimensions).
 *
 * Read from a model folder (or from its two metadata files as text, before the
 * shards are downloaded):
 *   - the chat config: sphere-aae-chat-config.json, else mlc-chat-config.json;
 *   - the tensor cache: tensor-cache.json, else ndarray-cache.json; its
 *     records[].dataPath / nbytes / md5sum list the shards;
 *   - the chat config's tokenizer_files.
 * Every file name from these files must be a plain file name (no '/', no "..",
 * no leading '.'): a remote file can never make us write outside the model folder.
 */
#ifndef AAE_PKG_MANIFEST_H
#define AAE_PKG_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "package/pkg_config.h"

#define AAE_PKG_CHAT_CONFIG "sphere-aae-chat-config.json"
#define AAE_PKG_CHAT_CONFIG_MLC "mlc-chat-config.json"
#define AAE_PKG_TENSOR_CACHE "tensor-cache.json"
#define AAE_PKG_TENSOR_CACHE_MLC "ndarray-cache.json"

typedef struct aae_pkg_file {
    char name[AAE_PKG_NAME_MAX];
    int64_t size; /* -1 when not known in advance */
    char md5[33]; /* "" when not known */
    int is_shard;
} aae_pkg_file;

typedef struct aae_pkg_model_info {
    char model_type[64];
    char quantization[64];
    int64_t vocab_size, hidden_size, num_layers, num_heads, num_kv_heads, head_dim, intermediate_size;
    int64_t context_window_size, prefill_chunk_size, sliding_window_size, attention_sink_size;
} aae_pkg_model_info;

typedef struct aae_pkg_manifest {
    char chat_config[64];   /* the file name present */
    char tensor_cache[64];
    aae_pkg_file *files;    /* chat config, tensor cache, tokenizer files, shards */
    size_t n_files;
    int64_t weight_bytes;   /* sum of shard nbytes */
    aae_pkg_model_info info;
} aae_pkg_manifest;

/* Builds the manifest from the two metadata texts. `where` names them in messages. */
aae_status aae_pkg_manifest_from_text(const char *where, const char *chat_name, const char *chat_text,
                                      size_t chat_len, const char *tc_name, const char *tc_text, size_t tc_len,
                                      aae_pkg_manifest *out, aae_error *err);
/* Reads the metadata of a model folder. */
aae_status aae_pkg_manifest_load(const char *dir, aae_pkg_manifest *out, aae_error *err);
void aae_pkg_manifest_free(aae_pkg_manifest *m);

/* Checks that every file is present in dir with its size (and md5 when
 * check_md5 and known). On failure err names the first bad file. */
aae_status aae_pkg_manifest_check(const char *dir, const aae_pkg_manifest *m, int check_md5, aae_error *err);

/* Memory a model needs at run time (bytes), after the config's overrides. */
typedef struct aae_pkg_memory {
    int64_t weights, kv_cache, activations, total;
    int64_t context_window, prefill_chunk, kv_len;
} aae_pkg_memory;
void aae_pkg_memory_estimate(const aae_pkg_manifest *m, const aae_pkg_overrides *ov, aae_pkg_memory *out);

#endif
