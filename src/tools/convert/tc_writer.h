/*
 * tc_writer.h - writes params_shard_<k>.bin files and tensor-cache.json
 * (docs/format.md, "tensor-cache.json" and "Shards and the 32 MiB rule").
 *
 * Streaming: a tensor is begun with its name, dtype, shape and size, its bytes are
 * appended in any number of pieces, then it is ended. The MD5 of each shard is
 * computed as it is written.
 */
#ifndef AAE_CONVERT_TC_WRITER_H
#define AAE_CONVERT_TC_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define AAE_SHARD_MAX_BYTES ((uint64_t)32 << 20)
#define AAE_SHARD_ALIGN 64

typedef struct aae_tc_writer aae_tc_writer;

aae_status aae_tc_writer_open(const char *dir, aae_tc_writer **out, aae_error *err);
aae_status aae_tc_begin(aae_tc_writer *w, const char *name, const char *dtype, const int64_t *shape, int ndim,
                        uint64_t nbytes, aae_error *err);
aae_status aae_tc_write(aae_tc_writer *w, const void *data, size_t len, aae_error *err);
aae_status aae_tc_end(aae_tc_writer *w, aae_error *err);
/* Closes the last shard and writes tensor-cache.json with the metadata object
 * `metadata_json` (members only, without braces, e.g. "\"ParamSize\": 3"). */
aae_status aae_tc_finish(aae_tc_writer *w, const char *metadata_json, aae_error *err);
/* Counts so far. */
uint64_t aae_tc_total_bytes(const aae_tc_writer *w);
size_t aae_tc_tensor_count(const aae_tc_writer *w);
size_t aae_tc_shard_count(const aae_tc_writer *w);
void aae_tc_writer_free(aae_tc_writer *w);

#endif
