/*
 * outdir.h - atomic writes of a converted-model folder shared by two writers.
 *
 * convert_weight owns tensor-cache.json (and an old ndarray-cache.json) and
 * params_shard_*.bin; gen_config owns sphere-aae-chat-config.json (and an old
 * mlc-chat-config.json) and the tokenizer files. Each builds its files in a temporary
 * folder beside OUT_DIR (".<name>.aae-tmp-<pid>"), then, holding a lock on the parent
 * folder: hard-links the other writer's files from the current OUT_DIR into it, and
 * swaps it with OUT_DIR in one rename (renameat2 RENAME_EXCHANGE where available;
 * else two renames). So a reader sees the old folder or the new one, never a mix,
 * and a failed run leaves OUT_DIR as it was.
 *
 * An OUT_DIR that holds anything else (a file or folder that neither writer makes)
 * is refused untouched: we never delete a user's data.
 */
#ifndef AAE_CONVERT_OUTDIR_H
#define AAE_CONVERT_OUTDIR_H

#include "base/error.h"

typedef enum aae_out_owner { AAE_OUT_WEIGHTS = 0, AAE_OUT_CONFIG = 1 } aae_out_owner;

typedef struct aae_outdir {
    char final[4096];
    char tmp[4096];
    char parent[4096];
    char base[1024];
    aae_out_owner owner;
    int active;
} aae_outdir;

/* Checks OUT_DIR (absent, empty, or only converted-model files) and creates the
 * temporary folder. */
aae_status aae_outdir_begin(aae_outdir *od, const char *out_dir, aae_out_owner owner, aae_error *err);
/* Installs the temporary folder as OUT_DIR (see above). */
aae_status aae_outdir_commit(aae_outdir *od, aae_error *err);
/* Removes the temporary folder and what is in it (no-op after commit). */
void aae_outdir_abort(aae_outdir *od);

/* The "quantization" recorded by the other writer in OUT_DIR (the chat config's
 * top-level field, or tensor-cache.json's metadata), into out; 0 if none. */
int aae_outdir_other_quantization(const char *out_dir, aae_out_owner owner, char *out, size_t cap);

/* 1 if `name` is a file that `owner` writes. */
int aae_outdir_owns(aae_out_owner owner, const char *name);

#endif
