/*
 * engine_internal.h - the engine handle's insides, shared by engine.c (public
 * API, loading), completion.c (one chat completion) and the unit tests.
 */
#ifndef AAE_ENGINE_ENGINE_INTERNAL_H
#define AAE_ENGINE_ENGINE_INTERNAL_H

#include <stdatomic.h>

#include "base/buf.h"
#include "base/error.h"
#include "engine/conv_mlc.h"
#include "engine/conv_template.h"
#include "engine/engine_model.h"
#include "engine/sampler.h"
#include "engine/stop.h"
#include "sphere_aae.h"

#define AAE_ENGINE_MAX_STOP_IDS 16

/* Sampling defaults of the loaded model (chat config; request members win). */
typedef struct aae_engine_defaults {
    double temperature, top_p, repetition_penalty, presence_penalty, frequency_penalty;
    int64_t top_k;
} aae_engine_defaults;

struct aae_engine {
    aae_engine_params params;
    aae_error err;
    atomic_int busy;         /* 1 while a public call runs */
    atomic_uint running;     /* the number of the running call, 0 when idle */
    atomic_uint abort_call;  /* the number of the call asked to stop */
    unsigned last_call;      /* numbers calls (only touched while busy) */
    /* the loaded model (ops == NULL: none) */
    const aae_engine_model_ops *ops;
    void *model;
    aae_tokenizer *tok;
    aae_detokenizer *detok;
    const aae_conv_template *tmpl; /* ours, or NULL when mlc is set */
    aae_conv_mlc *mlc;             /* a template object from mlc-chat-config.json */
    aae_sampler *sampler;
    aae_engine_defaults defaults;
    int32_t vocab;
    float *logits; /* [vocab] last logits from the model */
    float *work;   /* [vocab] scratch the sampler may overwrite */
    int have_logits;
    int32_t *kv_ids; /* the tokens in the KV cache, in order */
    size_t n_kv, cap_kv;
    int32_t stop_ids[AAE_ENGINE_MAX_STOP_IDS];
    size_t n_stop_ids;
    char *bos_text, *eos_text;
    char model_name[256];
    aae_rng id_rng;
    /* per-call scratch, kept to avoid allocations */
    aae_buf out, content;
    aae_stop_matcher stop;
};

/* 1 if the running call was asked to stop (aae_engine_abort or the callback). */
static inline int aae_engine_aborted(aae_engine *e)
{
    unsigned id = atomic_load(&e->running);
    return id != 0 && atomic_load(&e->abort_call) == id;
}

/* Asks the running call to stop. */
static inline void aae_engine_stop_running(aae_engine *e)
{
    unsigned id = atomic_load(&e->running);
    if (id != 0)
        atomic_store(&e->abort_call, id);
}

/* Installs a model (the engine takes ownership of model, tok and the
 * template choice). For reload and the unit tests' test double. */
aae_status aae_engine_attach(aae_engine *e, const aae_engine_model_ops *ops, void *model, aae_tokenizer *tok,
                             const aae_chat_config *cfg, const char *model_name, aae_error *err);

/* completion.c */
aae_status aae_engine_run_completion(aae_engine *e, const char *request_json, aae_chunk_callback cb, void *user);

/* Feeds ids (prefill in chunks) and keeps kv_ids in step; checks the abort flag
 * between chunks. */
aae_status aae_engine_feed(aae_engine *e, const int32_t *ids, size_t n, aae_error *err);
aae_status aae_engine_feed_one(aae_engine *e, int32_t id, aae_error *err);

#endif
