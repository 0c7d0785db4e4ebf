/*
 * lib_plan.h - what a model library is specialised to: config, overrides, prefix, memory.
 *
 * A plan is made from a converted model's chat config plus overrides. It holds the
 * normalised config (the JSON string compiled into the descriptor, hashed into the
 * default prefix and the JIT key), the KV-cache capacity and the memory plan.
 *
 * Normalised config: one JSON object, keys sorted bytewise at every level, no
 * whitespace, integers written exactly, other numbers in their shortest exact form:
 *   {"attention_sink_size", "context_window_size", "kv_capacity", "max_batch_size",
 *    "model_config": (the chat config's model_config without the plan keys below),
 *    "model_type", "prefill_chunk_size", "quantization", "sliding_window_size",
 *    "vocab_size"}
 * The plan keys (context_window_size, prefill_chunk_size, sliding_window_size,
 * attention_sink_size, max_batch_size) appear at the top level only, after overrides.
 */
#ifndef AAE_TOOLS_LIB_PLAN_H
#define AAE_TOOLS_LIB_PLAN_H

#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "base/json.h"
#include "format/chat_config.h"
#include "models/model_lib_abi.h"

#define AAE_OVERRIDE_UNSET INT64_MIN
#define AAE_PREFIX_MAX 96

/* The override keys, in the order they are listed in messages. */
#define AAE_OVERRIDE_KEYS "context_window_size, prefill_chunk_size, sliding_window_size, attention_sink_size, max_batch_size"

typedef struct aae_overrides {
    int64_t context_window_size;
    int64_t prefill_chunk_size;
    int64_t sliding_window_size;
    int64_t attention_sink_size;
    int64_t max_batch_size;
} aae_overrides;

void aae_overrides_init(aae_overrides *o);
/* Parses "k=v;k=v" (spaces around items allowed; empty items ignored). Unknown keys
 * are errors that list the valid ones; values must be integers. */
aae_status aae_overrides_parse(const char *text, aae_overrides *o, aae_error *err);
/* Reads a JSON object such as a package config's "overrides"; pointer names it in
 * messages (e.g. "/model_list/0/overrides"). */
aae_status aae_overrides_from_json(const aae_json *obj, const char *pointer, aae_overrides *o, aae_error *err);
/* The canonical text form "k=v;k=v" of the set keys, in AAE_OVERRIDE_KEYS order. */
void aae_overrides_format(const aae_overrides *o, char *out, size_t cap);

typedef struct aae_lib_plan {
    char model_type[32];
    char quantization[32];
    aae_arch arch;
    aae_quant quant;
    aae_model_dims dims;
    int64_t vocab_size;
    int64_t context_window_size;
    int64_t prefill_chunk_size;
    int64_t sliding_window_size;
    int64_t attention_sink_size;
    int64_t max_batch_size;
    int64_t kv_capacity;
    aae_model_lib_memory memory;
    int weights_from_tensor_cache; /* 1: weights_bytes is the tensor-cache sum; 0: estimated */
    int32_t wtype;                 /* kernels.h aae_wtype of the linear weights (bf16 records seen in q0 modes) */
    char *config_json;             /* normalised (owned) */
    char config_hash[65];
    char prefix[AAE_PREFIX_MAX + 1];
} aae_lib_plan;

/* Makes a plan. model_dir (may be NULL) is where tensor-cache.json is looked for.
 * prefix NULL or "" = the default "<model_type>_<quantization>_<first 8 hex of the
 * config hash>". Notices (e.g. a clamped prefill chunk) go to notice when not NULL. */
aae_status aae_lib_plan_make(const aae_chat_config *cfg, const char *model_dir, const aae_overrides *ov,
                             const char *prefix, FILE *notice, aae_lib_plan *out, aae_error *err);
void aae_lib_plan_free(aae_lib_plan *p);

/* Normalises a model_lib name into a C-identifier prefix: '-' becomes '_'; any other
 * byte outside [A-Za-z0-9_] is an error naming it; it must not start with a digit and
 * must be at most AAE_PREFIX_MAX bytes. */
aae_status aae_prefix_normalise(const char *name, char *out, size_t cap, aae_error *err);

/* Loads the chat config from a model folder or from a chat-config file path; the
 * folder that holds it goes to dir_out (capacity cap). */
aae_status aae_lib_load_config(const char *model_dir_or_file, aae_chat_config **cfg, char *dir_out, size_t cap,
                               aae_error *err);

#endif
