/*
 * engine.c - the public engine handle: create, load a model, low-level calls,
 * abort, errors. One chat completion is completion.c.
 */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format/chat_config.h"

void aae_engine_default_params(aae_engine_params *params)
{
    if (!params)
        return;
    memset(params, 0, sizeof *params);
    params->reuse_kv_prefix = 1;
}

aae_status aae_engine_create(const aae_engine_params *params, aae_engine **out)
{
    if (!out)
        return AAE_ERR_INVALID_ARGUMENT;
    aae_engine_params p;
    aae_engine_default_params(&p);
    if (params)
        p = *params;
    if (p.n_threads < 0 || p.context_window_size < 0 || p.prefill_chunk_size < 0)
        return AAE_ERR_INVALID_ARGUMENT;
    aae_engine *e = calloc(1, sizeof *e);
    if (!e)
        return AAE_ERR_NOMEM;
    e->params = p;
    atomic_init(&e->busy, 0);
    atomic_init(&e->running, 0u);
    atomic_init(&e->abort_call, 0u);
    aae_buf_init(&e->out);
    aae_buf_init(&e->content);
    aae_stop_init(&e->stop);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    aae_rng_seed(&e->id_rng, (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)e);
    *out = e;
    return AAE_OK;
}

void aae_engine_unload(aae_engine *e)
{
    if (!e)
        return;
    if (e->ops && e->ops->destroy)
        e->ops->destroy(e->model);
    e->ops = NULL;
    e->model = NULL;
    aae_detokenizer_destroy(e->detok);
    e->detok = NULL;
    aae_tokenizer_destroy(e->tok);
    e->tok = NULL;
    aae_sampler_destroy(e->sampler);
    e->sampler = NULL;
    free(e->logits);
    free(e->work);
    free(e->kv_ids);
    free(e->bos_text);
    free(e->eos_text);
    e->logits = e->work = NULL;
    e->kv_ids = NULL;
    e->bos_text = e->eos_text = NULL;
    e->n_kv = e->cap_kv = 0;
    e->n_stop_ids = 0;
    e->have_logits = 0;
    e->tmpl = NULL;
    aae_conv_mlc_free(e->mlc);
    e->mlc = NULL;
    e->model_name[0] = '\0';
}

void aae_engine_destroy(aae_engine *e)
{
    if (!e)
        return;
    aae_engine_unload(e);
    aae_buf_free(&e->out);
    aae_buf_free(&e->content);
    aae_stop_free(&e->stop);
    free(e);
}

const char *aae_engine_errmsg(const aae_engine *e)
{
    return e ? e->err.msg : "no engine (NULL handle)";
}

void aae_engine_abort(aae_engine *e)
{
    /* names the call running now, so that it cannot stop a later one */
    if (e)
        aae_engine_stop_running(e);
}

/* ------------------------------------------------------------- loading --- */

/* The token's text for id (NULL if none); malloc'd. */
static char *token_text(const aae_tokenizer *tok, int64_t id)
{
    const char *s;
    size_t len;
    if (id < 0 || id > INT32_MAX || aae_tokenizer_id_to_token(tok, (int32_t)id, &s, &len) != AAE_OK)
        return NULL;
    char *t = malloc(len + 1);
    if (t) {
        memcpy(t, s, len);
        t[len] = '\0';
    }
    return t;
}

static void add_stop_id(aae_engine *e, int64_t id)
{
    if (id < 0 || id >= e->vocab)
        return;
    for (size_t i = 0; i < e->n_stop_ids; i++)
        if (e->stop_ids[i] == id)
            return;
    if (e->n_stop_ids < AAE_ENGINE_MAX_STOP_IDS)
        e->stop_ids[e->n_stop_ids++] = (int32_t)id;
}

/* Template, special-token texts, stop ids and sampling defaults. */
static aae_status setup_chat(aae_engine *e, const aae_chat_config *cfg, aae_error *err)
{
    const char *name = cfg && cfg->conv_template && cfg->conv_template[0] ? cfg->conv_template : "LM";
    e->tmpl = aae_conv_template_find(name);
    const aae_json *obj = cfg && cfg->doc ? aae_json_get(aae_json_root(cfg->doc), "conv_template") : NULL;
    if (!e->tmpl && aae_json_is(obj, AAE_JSON_OBJECT)) {
        aae_status st = aae_conv_mlc_parse(obj, cfg->path ? cfg->path : "chat config", &e->mlc, err);
        if (st != AAE_OK)
            return st;
        aae_log(AAE_LOG_INFO, "engine: conversation template \"%s\" taken from the chat config (MLC-LLM rules)",
                name);
    }
    if (!e->tmpl && !e->mlc)
        return aae_error_set(err, AAE_ERR_NOT_FOUND,
                             "%s: /conv_template: unknown conversation template \"%.64s\"; use one of: %s",
                             cfg && cfg->path ? cfg->path : "chat config", name, aae_conv_template_names_joined());
    int64_t bos = cfg && cfg->bos_token_id >= 0 ? cfg->bos_token_id : aae_tokenizer_bos_id(e->tok);
    int64_t eos = cfg && cfg->n_eos_token_ids ? cfg->eos_token_ids[0] : aae_tokenizer_eos_id(e->tok);
    e->bos_text = token_text(e->tok, bos);
    e->eos_text = token_text(e->tok, eos);
    if (cfg)
        for (size_t i = 0; i < cfg->n_eos_token_ids; i++)
            add_stop_id(e, cfg->eos_token_ids[i]);
    add_stop_id(e, aae_tokenizer_eos_id(e->tok));
    for (size_t i = 0; e->mlc && i < e->mlc->n_stop_ids; i++)
        add_stop_id(e, e->mlc->stop_ids[i]);
    for (int i = 0; e->tmpl && e->tmpl->stop_token_str[i]; i++) {
        int32_t id;
        const char *s = e->tmpl->stop_token_str[i];
        if (aae_tokenizer_token_to_id(e->tok, s, strlen(s), &id) == AAE_OK)
            add_stop_id(e, id);
    }
    aae_engine_defaults d = {1.0, 1.0, 1.0, 0.0, 0.0, 0};
    if (cfg) {
        d.temperature = cfg->temperature;
        d.top_p = cfg->top_p;
        d.repetition_penalty = cfg->repetition_penalty;
        d.presence_penalty = cfg->presence_penalty;
        d.frequency_penalty = cfg->frequency_penalty;
        d.top_k = cfg->top_k;
    }
    e->defaults = d;
    return AAE_OK;
}

aae_status aae_engine_attach(aae_engine *e, const aae_engine_model_ops *ops, void *model, aae_tokenizer *tok,
                             const aae_chat_config *cfg, const char *model_name, aae_error *err)
{
    aae_engine_unload(e);
    e->ops = ops;
    e->model = model;
    e->tok = tok;
    e->vocab = ops->vocab_size(model);
    aae_status st = AAE_OK;
    int32_t tv = aae_tokenizer_vocab_size(tok);
    if (e->vocab <= 0 || tv > e->vocab)
        st = aae_error_set(err, AAE_ERR_MISMATCH,
                           "the tokenizer has %d tokens but the model's vocabulary is %d: they do not belong "
                           "together", (int)tv, (int)e->vocab);
    if (st == AAE_OK)
        st = aae_sampler_create(e->vocab, &e->sampler, err);
    if (st == AAE_OK) { /* requests without a seed draw from a stream seeded by the clock */
        aae_sampling d;
        aae_sampling_defaults(&d);
        st = aae_sampler_reset(e->sampler, &d, 1, aae_rng_next(&e->id_rng), err);
    }
    if (st == AAE_OK) {
        e->logits = calloc((size_t)e->vocab, sizeof *e->logits);
        e->work = calloc((size_t)e->vocab, sizeof *e->work);
        if (!e->logits || !e->work)
            st = aae_error_set(err, AAE_ERR_NOMEM, "out of memory for the logits (%d floats)", (int)e->vocab);
    }
    if (st == AAE_OK && aae_detokenizer_create(tok, AAE_DECODE_SKIP_SPECIAL_TOKENS, &e->detok) != AAE_OK)
        st = aae_error_set(err, AAE_ERR_NOMEM, "cannot create the streaming detokenizer: %s",
                           aae_tokenizer_errmsg(tok));
    if (st == AAE_OK)
        st = setup_chat(e, cfg, err);
    if (st != AAE_OK) {
        aae_engine_unload(e);
        return st;
    }
    snprintf(e->model_name, sizeof e->model_name, "%s", model_name ? model_name : "model");
    aae_log(AAE_LOG_INFO, "engine: %s loaded: vocabulary %d, context window %lld, template %s, %zu stop token ids",
            e->model_name, (int)e->vocab, (long long)ops->max_positions(model), e->tmpl ? e->tmpl->name : e->mlc->name, e->n_stop_ids);
    return AAE_OK;
}

/* The last path component of path (without trailing slashes) into name. */
static void base_name(const char *path, char *name, size_t cap)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/')
        b--;
    snprintf(name, cap, "%.*s", (int)(n - b), path + b);
}

static aae_status reload(aae_engine *e, const char *model_dir, const char *model_lib, aae_error *err)
{
    aae_chat_config *cfg = NULL;
    aae_tokenizer *tok = NULL;
    const aae_engine_model_ops *ops = NULL;
    void *model = NULL;
    char tmsg[AAE_ERROR_MSG_MAX];
    aae_status st = aae_chat_config_load(model_dir, &cfg, err);
    if (st != AAE_OK)
        return st;
    st = aae_tokenizer_load_dir(model_dir, &tok, tmsg, sizeof tmsg);
    if (st != AAE_OK) {
        aae_chat_config_free(cfg);
        return aae_error_set(err, st, "%s", tmsg);
    }
    st = aae_engine_model_open(model_dir, model_lib, e->params.n_threads, e->params.context_window_size,
                               e->params.prefill_chunk_size, &ops, &model, err);
    if (st != AAE_OK) {
        aae_tokenizer_destroy(tok);
        aae_chat_config_free(cfg);
        return st;
    }
    char name[256];
    base_name(model_dir, name, sizeof name);
    st = aae_engine_attach(e, ops, model, tok, cfg, name, err);
    aae_chat_config_free(cfg);
    return st;
}

/* Marks the engine busy for one public call; AAE_ERR_STATE if it already is. */
static aae_status enter(aae_engine *e)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&e->busy, &expected, 1))
        return AAE_ERR_STATE; /* the running call owns e->err: leave it alone */
    if (++e->last_call == 0)
        e->last_call = 1;
    atomic_store(&e->running, e->last_call);
    aae_error_clear(&e->err);
    return AAE_OK;
}

static void leave(aae_engine *e)
{
    atomic_store(&e->running, 0u);
    atomic_store(&e->busy, 0);
}

aae_status aae_engine_reload(aae_engine *e, const char *model_dir, const char *model_lib)
{
    if (!e)
        return AAE_ERR_INVALID_ARGUMENT;
    if (!model_dir || !model_dir[0])
        return aae_error_set(&e->err, AAE_ERR_INVALID_ARGUMENT, "reload: model_dir is NULL or empty");
    aae_status st = enter(e);
    if (st != AAE_OK)
        return st;
    aae_engine_unload(e);
    st = reload(e, model_dir, model_lib, &e->err);
    leave(e);
    return st;
}

aae_status aae_engine_chat_completion(aae_engine *e, const char *request_json, aae_chunk_callback cb, void *user)
{
    if (!e)
        return AAE_ERR_INVALID_ARGUMENT;
    if (!request_json)
        return aae_error_set(&e->err, AAE_ERR_INVALID_ARGUMENT, "chat_completion: request_json is NULL");
    aae_status st = enter(e);
    if (st != AAE_OK)
        return st;
    if (!e->ops)
        st = aae_error_set(&e->err, AAE_ERR_STATE, "no model loaded: call aae_engine_reload first");
    else
        st = aae_engine_run_completion(e, request_json, cb, user);
    leave(e);
    return st;
}

/* ------------------------------------------------------------ low level --- */

static aae_status ensure_kv_cap(aae_engine *e, size_t n, aae_error *err)
{
    if (n <= e->cap_kv)
        return AAE_OK;
    size_t cap = e->cap_kv ? e->cap_kv : 256;
    while (cap < n)
        cap *= 2;
    int32_t *p = realloc(e->kv_ids, cap * sizeof *p);
    if (!p)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory for the token history");
    e->kv_ids = p;
    e->cap_kv = cap;
    return AAE_OK;
}

aae_status aae_engine_feed(aae_engine *e, const int32_t *ids, size_t n, aae_error *err)
{
    int64_t max = e->ops->max_positions(e->model);
    if (max < 0 || (int64_t)e->n_kv > max || n > (uint64_t)(max - (int64_t)e->n_kv)) /* no wrap-around */
        return aae_error_set(err, AAE_ERR_LIMIT,
                             "%zu tokens do not fit the context window: %zu are cached, the window holds %lld",
                             n, e->n_kv, (long long)max);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= e->vocab)
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "token id %d (at %zu) is outside [0, %d)",
                                 (int)ids[i], i, (int)e->vocab);
    aae_status st = ensure_kv_cap(e, e->n_kv + n, err);
    if (st != AAE_OK)
        return st;
    int64_t chunk = e->ops->prefill_chunk(e->model);
    if (chunk <= 0)
        chunk = 1;
    for (size_t done = 0; done < n;) {
        if (aae_engine_aborted(e))
            return aae_error_set(err, AAE_ERR_ABORTED, "aborted during prefill (%zu of %zu tokens done)", done, n);
        size_t k = n - done < (size_t)chunk ? n - done : (size_t)chunk;
        st = e->ops->prefill(e->model, ids + done, k, e->logits, err);
        if (st != AAE_OK) {
            e->have_logits = 0;
            e->n_kv = (size_t)e->ops->n_cached(e->model);
            return st;
        }
        memcpy(e->kv_ids + e->n_kv, ids + done, k * sizeof *ids);
        e->n_kv += k;
        e->have_logits = 1;
        done += k;
    }
    return AAE_OK;
}

aae_status aae_engine_feed_one(aae_engine *e, int32_t id, aae_error *err)
{
    if ((int64_t)e->n_kv + 1 > e->ops->max_positions(e->model))
        return aae_error_set(err, AAE_ERR_LIMIT, "the context window (%lld tokens) is full",
                             (long long)e->ops->max_positions(e->model));
    if (id < 0 || id >= e->vocab)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "token id %d is outside [0, %d)", (int)id,
                             (int)e->vocab);
    aae_status st = ensure_kv_cap(e, e->n_kv + 1, err);
    if (st == AAE_OK)
        st = e->ops->decode(e->model, id, e->logits, err);
    if (st != AAE_OK) {
        e->have_logits = 0;
        e->n_kv = (size_t)e->ops->n_cached(e->model);
        return st;
    }
    e->kv_ids[e->n_kv++] = id;
    e->have_logits = 1;
    return AAE_OK;
}

static aae_status need_model(aae_engine *e)
{
    if (!e->ops)
        return aae_error_set(&e->err, AAE_ERR_STATE, "no model loaded: call aae_engine_reload first");
    return AAE_OK;
}

const aae_tokenizer *aae_engine_tokenizer(const aae_engine *e)
{
    return e ? e->tok : NULL;
}

aae_status aae_engine_prefill(aae_engine *e, const int32_t *ids, size_t n)
{
    if (!e || (!ids && n))
        return AAE_ERR_INVALID_ARGUMENT;
    aae_status st = enter(e);
    if (st != AAE_OK)
        return st;
    if ((st = need_model(e)) == AAE_OK)
        st = n ? aae_engine_feed(e, ids, n, &e->err) : AAE_OK;
    leave(e);
    return st;
}

aae_status aae_engine_decode(aae_engine *e, int32_t id)
{
    if (!e)
        return AAE_ERR_INVALID_ARGUMENT;
    aae_status st = enter(e);
    if (st != AAE_OK)
        return st;
    if ((st = need_model(e)) == AAE_OK)
        st = aae_engine_feed_one(e, id, &e->err);
    leave(e);
    return st;
}

aae_status aae_engine_logits(aae_engine *e, const float **logits, int32_t *vocab_size)
{
    if (!e || !logits)
        return AAE_ERR_INVALID_ARGUMENT;
    aae_status st = need_model(e);
    if (st != AAE_OK)
        return st;
    if (!e->have_logits)
        return aae_error_set(&e->err, AAE_ERR_STATE, "no logits yet: prefill or decode a token first");
    *logits = e->logits;
    if (vocab_size)
        *vocab_size = e->vocab;
    return AAE_OK;
}

int64_t aae_engine_kv_length(const aae_engine *e)
{
    return e && e->ops ? (int64_t)e->n_kv : 0;
}

int64_t aae_engine_context_window(const aae_engine *e)
{
    return e && e->ops ? e->ops->max_positions(e->model) : 0;
}

aae_status aae_engine_truncate(aae_engine *e, int64_t n_keep)
{
    if (!e || n_keep < 0)
        return AAE_ERR_INVALID_ARGUMENT;
    aae_status st = need_model(e);
    if (st != AAE_OK)
        return st;
    if ((size_t)n_keep >= e->n_kv)
        return AAE_OK;
    st = e->ops->truncate(e->model, n_keep, &e->err);
    if (st != AAE_OK)
        return st;
    e->n_kv = (size_t)n_keep;
    e->have_logits = 0;
    return AAE_OK;
}

void aae_engine_reset_chat(aae_engine *e)
{
    if (e && e->ops && !atomic_load(&e->busy))
        aae_engine_truncate(e, 0);
}

aae_status aae_engine_set_threads(aae_engine *e, int32_t n_threads)
{
    if (!e || n_threads < 0)
        return AAE_ERR_INVALID_ARGUMENT;
    aae_status st = enter(e);
    if (st != AAE_OK)
        return st;
    e->params.n_threads = n_threads;
    if (e->ops && e->ops->set_threads)
        st = e->ops->set_threads(e->model, n_threads, &e->err);
    leave(e);
    return st;
}
