/*
 * model_adapter.c - the engine's model operations (engine_model.h) over the
 * runtime core's public aae_model API.
 *
 * Model libraries: model_lib is passed to aae_model_load as is (NULL or "" =
 * the generic built-in code); finding a library by name is the model loader's
 * job, so the engine needs no change when libraries are added.
 *
 * KV truncation: aae_model_truncate keeps any prefix of the cache, so a new
 * prompt that shares only a prefix with what is cached (e.g. the answer did not
 * re-tokenize to the ids generated) prefills only the rest. A sliding-window
 * cache that has already wrapped can only be emptied: that answers
 * AAE_ERR_UNSUPPORTED, and the engine then resets and prefills everything.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_model.h"
#include "sphere_aae.h"

typedef struct adapter {
    aae_model *m;
    int32_t vocab;
    int64_t max_positions;
    int64_t chunk;
} adapter;

static int32_t ad_vocab(void *p)
{
    return ((adapter *)p)->vocab;
}

static int64_t ad_max_positions(void *p)
{
    return ((adapter *)p)->max_positions;
}

static int64_t ad_chunk(void *p)
{
    return ((adapter *)p)->chunk;
}

static int64_t ad_n_cached(void *p)
{
    return aae_model_n_past(((adapter *)p)->m);
}

static aae_status copy_logits(adapter *a, float *out, aae_error *err)
{
    const float *l;
    size_t n;
    aae_status st = aae_model_logits(a->m, &l, &n);
    if (st != AAE_OK)
        return aae_error_set(err, st, "%s", aae_model_errmsg(a->m));
    if (n != (size_t)a->vocab)
        return aae_error_set(err, AAE_ERR_INTERNAL, "the model returned %zu logits, expected %d", n, (int)a->vocab);
    memcpy(out, l, n * sizeof *l);
    return AAE_OK;
}

static aae_status ad_prefill(void *p, const int32_t *ids, size_t n, float *logits, aae_error *err)
{
    adapter *a = p;
    aae_status st = aae_model_prefill(a->m, ids, n);
    if (st != AAE_OK)
        return aae_error_set(err, st, "%s", aae_model_errmsg(a->m));
    return copy_logits(a, logits, err);
}

static aae_status ad_decode(void *p, int32_t id, float *logits, aae_error *err)
{
    adapter *a = p;
    aae_status st = aae_model_decode(a->m, id);
    if (st != AAE_OK)
        return aae_error_set(err, st, "%s", aae_model_errmsg(a->m));
    return copy_logits(a, logits, err);
}

static aae_status ad_truncate(void *p, int64_t n_keep, aae_error *err)
{
    adapter *a = p;
    if (n_keep < 0 || n_keep > INT32_MAX)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "cannot keep %lld tokens of the KV cache",
                             (long long)n_keep);
    aae_status st = aae_model_truncate(a->m, (int32_t)n_keep);
    if (st == AAE_ERR_STATE) /* a wrapped sliding window: only a reset is possible */
        return aae_error_set(err, AAE_ERR_UNSUPPORTED, "%s", aae_model_errmsg(a->m));
    if (st != AAE_OK)
        return aae_error_set(err, st, "%s", aae_model_errmsg(a->m));
    return AAE_OK;
}

static void ad_destroy(void *p)
{
    adapter *a = p;
    if (a)
        aae_model_free(a->m);
    free(a);
}

static aae_status ad_set_threads(void *p, int32_t n_threads, aae_error *err)
{
    adapter *a = p;
    aae_status st = aae_model_set_threads(a->m, n_threads);
    if (st != AAE_OK)
        return aae_error_set(err, st, "%s", aae_model_errmsg(a->m));
    return AAE_OK;
}

static const aae_engine_model_ops k_ops = {
    ad_vocab, ad_max_positions, ad_chunk, ad_n_cached, ad_prefill, ad_decode, ad_truncate, ad_destroy, ad_set_threads,
};

aae_status aae_engine_model_open(const char *model_dir, const char *model_lib, int n_threads,
                                 int64_t context_window, int64_t prefill_chunk, const aae_engine_model_ops **ops,
                                 void **model, aae_error *err)
{
    adapter *a = calloc(1, sizeof *a);
    if (!a)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    aae_model_params p;
    aae_model_default_params(&p);
    p.n_threads = n_threads;
    p.context_window_size = context_window > INT32_MAX ? INT32_MAX : (int32_t)context_window;
    p.prefill_chunk_size = prefill_chunk > INT32_MAX ? INT32_MAX : (int32_t)prefill_chunk;
    p.model_lib = model_lib && model_lib[0] ? model_lib : NULL;
    aae_status st = aae_model_load(model_dir, &p, &a->m);
    if (st != AAE_OK) {
        aae_error_set(err, st, "%s", a->m ? aae_model_errmsg(a->m) : "loading the model failed (out of memory)");
        ad_destroy(a);
        return st;
    }
    aae_model_info info;
    st = aae_model_get_info(a->m, &info);
    if (st != AAE_OK) {
        aae_error_set(err, st, "%s", aae_model_errmsg(a->m));
        ad_destroy(a);
        return st;
    }
    a->vocab = aae_model_n_vocab(a->m);
    /* a sliding-window cache runs on past its capacity */
    a->max_positions = info.context_window_size > 0 ? info.context_window_size : INT32_MAX;
    a->chunk = info.prefill_chunk_size > 0 ? info.prefill_chunk_size : 512;
    *ops = &k_ops;
    *model = a;
    return AAE_OK;
}
