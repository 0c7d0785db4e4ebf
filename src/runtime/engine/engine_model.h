/*
 * engine_model.h - what the engine needs from a loaded model, as a small
 * table of functions, and the engine's internal entry points.
 *
 * The engine drives a model through these operations only; model_adapter.c
 * implements them over the runtime core's aae_model API. Keeping the seam this
 * narrow lets unit tests drive the engine with a scripted test double.
 *
 * KV cache contract: the model holds the keys and values of the first
 * n_cached() tokens it was fed. prefill(ids, n) appends n tokens (n at most
 * prefill_chunk()) and writes the logits of the last one; decode(id) appends
 * one. truncate(n_keep) forgets every token after the first n_keep (0 = all);
 * it may answer AAE_ERR_UNSUPPORTED (e.g. a sliding window that already wrapped)
 * and the engine then resets to 0 and prefills again.
 */
#ifndef AAE_ENGINE_ENGINE_MODEL_H
#define AAE_ENGINE_ENGINE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "format/chat_config.h"

typedef struct aae_engine_model_ops {
    int32_t (*vocab_size)(void *m);
    int64_t (*max_positions)(void *m); /* tokens the KV cache can hold */
    int64_t (*prefill_chunk)(void *m); /* most tokens per prefill call */
    int64_t (*n_cached)(void *m);
    aae_status (*prefill)(void *m, const int32_t *ids, size_t n, float *logits, aae_error *err);
    aae_status (*decode)(void *m, int32_t id, float *logits, aae_error *err);
    aae_status (*truncate)(void *m, int64_t n_keep, aae_error *err);
    void (*destroy)(void *m);
    aae_status (*set_threads)(void *m, int32_t n_threads, aae_error *err); /* may be NULL */
} aae_engine_model_ops;

/* Opens model_dir (with model_lib: NULL or "" = the generic code) through the
 * runtime core; implemented in model_adapter.c. */
aae_status aae_engine_model_open(const char *model_dir, const char *model_lib, int n_threads,
                                 int64_t context_window, int64_t prefill_chunk, const aae_engine_model_ops **ops,
                                 void **model, aae_error *err);

#endif
