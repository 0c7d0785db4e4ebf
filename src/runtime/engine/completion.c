/*
 * completion.c - one OpenAI-style chat completion on a loaded model:
 *
 *   request JSON -> messages -> conversation template -> prompt text -> ids
 *   -> KV prefix reuse -> chunked prefill -> sample / decode loop
 *   -> streaming detokenizer (whole UTF-8 characters) -> stop strings
 *   -> "chat.completion.chunk" JSON through the callback (or one
 *      "chat.completion" object at the end when not streaming).
 *
 * finish_reason: "stop" (a stop token or stop string), "length" (max_tokens,
 * or the context window is full), "abort" (aae_engine_abort or the callback
 * asked to stop). completion_tokens counts every token the model produced,
 * including a final stop token.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine_internal.h"
#include "engine/request.h"

/* max_tokens when the request has none and the model's window is unbounded */
#define AAE_DEFAULT_MAX_TOKENS_UNBOUNDED 4096

typedef struct run {
    aae_engine *e;
    const aae_chat_request *req;
    aae_chunk_callback cb;
    void *user;
    char id[40];
    long long created;
    const char *model;
    size_t n_prompt, n_reused, n_generated;
    double t_start, t_prefilled, t_end;
    const char *finish;
} run;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------- output --- */

static void deliver(run *r)
{
    aae_buf *b = &r->e->out;
    if (!r->cb || !aae_buf_ok(b))
        return;
    if (r->cb(b->data, b->len, r->user) != 0)
        aae_engine_stop_running(r->e);
}

static void head(run *r, const char *object)
{
    aae_buf *b = &r->e->out;
    aae_buf_reset(b);
    aae_buf_printf(b, "{\"id\":\"%s\",\"object\":\"%s\",\"created\":%lld,\"model\":", r->id, object, r->created);
    aae_buf_json_string(b, r->model, strlen(r->model));
    aae_buf_printf(b, ",\"system_fingerprint\":\"aae-%s\"", aae_version());
}

static void send_delta(run *r, const char *role, const char *text, size_t len, const char *finish)
{
    aae_buf *b = &r->e->out;
    head(r, "chat.completion.chunk");
    aae_buf_puts(b, ",\"choices\":[{\"index\":0,\"delta\":{");
    if (role)
        aae_buf_printf(b, "\"role\":\"%s\"%s", role, text ? "," : "");
    if (text) {
        aae_buf_puts(b, "\"content\":");
        aae_buf_json_string(b, text, len);
    }
    aae_buf_puts(b, "},\"logprobs\":null,\"finish_reason\":");
    if (finish)
        aae_buf_printf(b, "\"%s\"", finish);
    else
        aae_buf_puts(b, "null");
    aae_buf_puts(b, "}]}");
    deliver(r);
}

static void put_usage(run *r)
{
    aae_buf *b = &r->e->out;
    double prefill_s = r->t_prefilled - r->t_start, decode_s = r->t_end - r->t_prefilled;
    size_t prefilled = r->n_prompt - r->n_reused;
    /* the first generated token comes from the prefill's logits; the others each cost one decode */
    size_t decoded = r->n_generated > 1 ? r->n_generated - 1 : 0;
    aae_buf_printf(b, "\"usage\":{\"prompt_tokens\":%zu,\"completion_tokens\":%zu,\"total_tokens\":%zu,", r->n_prompt,
                   r->n_generated, r->n_prompt + r->n_generated);
    aae_buf_printf(b, "\"extra\":{\"prompt_tokens_reused\":%zu,\"prefill_tokens\":%zu,\"prefill_tokens_per_s\":",
                   r->n_reused, prefilled);
    aae_buf_json_number(b, prefill_s > 0 ? (double)prefilled / prefill_s : 0.0);
    aae_buf_puts(b, ",\"decode_tokens_per_s\":");
    aae_buf_json_number(b, decode_s > 0 && decoded ? (double)decoded / decode_s : 0.0);
    aae_buf_puts(b, ",\"time_to_first_token_s\":");
    aae_buf_json_number(b, prefill_s);
    aae_buf_puts(b, ",\"end_to_end_latency_s\":");
    aae_buf_json_number(b, r->t_end - r->t_start);
    aae_buf_puts(b, "}}");
}

static void send_usage_chunk(run *r)
{
    aae_buf *b = &r->e->out;
    head(r, "chat.completion.chunk");
    aae_buf_puts(b, ",\"choices\":[],");
    put_usage(r);
    aae_buf_putc(b, '}');
    deliver(r);
}

static void send_completion(run *r)
{
    aae_buf *b = &r->e->out;
    aae_buf *c = &r->e->content;
    head(r, "chat.completion");
    aae_buf_puts(b, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    aae_buf_json_string(b, c->data ? c->data : "", c->len);
    aae_buf_printf(b, "},\"logprobs\":null,\"finish_reason\":\"%s\"}],", r->finish);
    put_usage(r);
    aae_buf_putc(b, '}');
    deliver(r);
}

/* Text that is final: streamed at once, or kept for the one object at the end. */
static void emit_text(run *r, const char *text, size_t len)
{
    if (len == 0)
        return;
    if (r->req->stream)
        send_delta(r, NULL, text, len, NULL);
    else
        aae_buf_append(&r->e->content, text, len);
}

/* -------------------------------------------------------------- prompt --- */

static aae_status tokenize_prompt(run *r, int32_t **ids, size_t *n, aae_error *err)
{
    aae_engine *e = r->e;
    aae_buf *text = &e->content;
    aae_buf_reset(text);
    const aae_chat_request *q = r->req;
    aae_status st = e->mlc ? aae_conv_mlc_render(e->mlc, q->messages, q->n_messages, text, err)
                           : aae_conv_render(e->tmpl, q->messages, q->n_messages, e->bos_text, e->eos_text, text, err);
    if (st != AAE_OK)
        return st;
    uint32_t flags = e->tmpl && e->tmpl->tokenizer_adds_special ? AAE_ENCODE_ADD_SPECIAL_TOKENS : 0;
    int32_t *body = NULL;
    size_t nb = 0;
    st = aae_tokenizer_encode_alloc(e->tok, text->data ? text->data : "", text->len, flags, &body, &nb);
    aae_buf_reset(text);
    if (st != AAE_OK)
        return aae_error_set(err, st, "tokenizing the prompt: %s", aae_tokenizer_errmsg(e->tok));
    /* our own copy (freed with free()), after the MLC template's
     * system_prefix_token_ids (e.g. BOS) if any */
    size_t np = e->mlc ? e->mlc->n_prefix : 0;
    *ids = malloc((np + nb + 1) * sizeof **ids);
    if (!*ids) {
        aae_tokenizer_free(body);
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory for the prompt ids");
    }
    if (np)
        memcpy(*ids, e->mlc->prefix_ids, np * sizeof **ids);
    if (nb)
        memcpy(*ids + np, body, nb * sizeof **ids);
    aae_tokenizer_free(body);
    *n = np + nb;
    if (*n == 0) {
        free(*ids);
        *ids = NULL;
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "/messages: the prompt is empty (0 tokens)");
    }
    return AAE_OK;
}

/* Keeps the longest shared prefix of the KV cache, then prefills the rest. */
static aae_status prefill_prompt(run *r, const int32_t *ids, size_t n, aae_error *err)
{
    aae_engine *e = r->e;
    size_t keep = 0;
    if (e->params.reuse_kv_prefix) {
        while (keep < e->n_kv && keep < n && e->kv_ids[keep] == ids[keep])
            keep++;
        if (keep == n) /* at least one token must run to get fresh logits */
            keep = n - 1;
    }
    if (keep < e->n_kv) {
        aae_status st = e->ops->truncate(e->model, (int64_t)keep, err);
        if (st == AAE_ERR_UNSUPPORTED) {
            keep = 0;
            st = e->ops->truncate(e->model, 0, err);
        }
        if (st != AAE_OK)
            return st;
        e->n_kv = keep;
    }
    r->n_reused = keep;
    return aae_engine_feed(e, ids + keep, n - keep, err);
}

/* ---------------------------------------------------------- generation --- */

static aae_status setup_sampling(run *r, aae_error *err)
{
    aae_engine *e = r->e;
    const aae_chat_request *q = r->req;
    const aae_engine_defaults *d = &e->defaults;
    aae_sampling p;
    aae_sampling_defaults(&p);
    p.temperature = (float)(q->has_temperature ? q->temperature : d->temperature);
    p.top_p = (float)(q->has_top_p ? q->top_p : d->top_p);
    p.top_k = (int32_t)(q->has_top_k ? q->top_k : d->top_k);
    p.repetition_penalty = (float)(q->has_repetition_penalty ? q->repetition_penalty : d->repetition_penalty);
    p.presence_penalty = (float)(q->has_presence_penalty ? q->presence_penalty : d->presence_penalty);
    p.frequency_penalty = (float)(q->has_frequency_penalty ? q->frequency_penalty : d->frequency_penalty);
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
        p.top_p = 1.0f;
    if (!(p.repetition_penalty > 0.0f))
        p.repetition_penalty = 1.0f;
    p.n_bias = q->n_bias;
    memcpy(p.bias_id, q->bias_id, q->n_bias * sizeof *p.bias_id);
    memcpy(p.bias, q->bias, q->n_bias * sizeof *p.bias);
    return aae_sampler_reset(e->sampler, &p, q->has_seed, q->seed, err);
}

static aae_status setup_stops(run *r, aae_error *err)
{
    aae_engine *e = r->e;
    aae_stop_reset(&e->stop);
    aae_status st = AAE_OK;
    for (int i = 0; st == AAE_OK && e->tmpl && e->tmpl->stop_str[i]; i++)
        st = aae_stop_add(&e->stop, e->tmpl->stop_str[i], strlen(e->tmpl->stop_str[i]), err);
    for (size_t i = 0; st == AAE_OK && e->mlc && i < e->mlc->n_stop_str; i++)
        st = aae_stop_add(&e->stop, e->mlc->stop_str[i], strlen(e->mlc->stop_str[i]), err);
    for (size_t i = 0; st == AAE_OK && i < r->req->n_stop; i++)
        st = aae_stop_add(&e->stop, r->req->stop[i], r->req->stop_len[i], err);
    return st;
}

static int is_stop_id(const run *r, int32_t id)
{
    if (r->req->ignore_eos)
        return 0;
    for (size_t i = 0; i < r->e->n_stop_ids; i++)
        if (r->e->stop_ids[i] == id)
            return 1;
    return 0;
}

/* Detokenizer text -> stop matcher -> output. Returns 1 when a stop string hit. */
static int push_text(run *r, const char *text, size_t len)
{
    const char *out;
    size_t out_len;
    int hit = aae_stop_push(&r->e->stop, text, len, &out, &out_len);
    emit_text(r, out, out_len);
    return hit;
}

/* The end without a stop string: release what the detokenizer and matcher hold. */
static void flush_text(run *r)
{
    const char *t;
    size_t len;
    if (aae_detokenizer_finish(r->e->detok, &t, &len) == AAE_OK && len && push_text(r, t, len))
        return;
    aae_stop_flush(&r->e->stop, &t, &len);
    emit_text(r, t, len);
}

static aae_status generate(run *r, int64_t max_tokens, aae_error *err)
{
    aae_engine *e = r->e;
    aae_detokenizer_reset(e->detok);
    int64_t window = e->ops->max_positions(e->model);
    for (;;) {
        if (aae_engine_aborted(e)) {
            r->finish = "abort";
            break;
        }
        memcpy(e->work, e->logits, (size_t)e->vocab * sizeof *e->work);
        int32_t id = aae_sampler_sample(e->sampler, e->work);
        aae_sampler_accept(e->sampler, id);
        r->n_generated++;
        if (is_stop_id(r, id)) {
            r->finish = "stop";
            return AAE_OK;
        }
        const char *t;
        size_t len;
        aae_status st = aae_detokenizer_push(e->detok, id, &t, &len);
        if (st != AAE_OK)
            return aae_error_set(err, st, "detokenizing token %d: %s", (int)id, aae_tokenizer_errmsg(e->tok));
        if (push_text(r, t, len)) {
            r->finish = "stop";
            return AAE_OK;
        }
        if ((int64_t)r->n_generated >= max_tokens || (int64_t)e->n_kv + 1 > window) {
            r->finish = "length";
            break;
        }
        st = aae_engine_feed_one(e, id, err);
        if (st != AAE_OK)
            return st;
    }
    return AAE_OK;
}

/* ----------------------------------------------------------------- run --- */

static void make_id(run *r)
{
    uint64_t a = aae_rng_next(&r->e->id_rng);
    snprintf(r->id, sizeof r->id, "chatcmpl-%016llx", (unsigned long long)a);
    r->created = (long long)time(NULL);
}

static aae_status run_request(run *r, aae_error *err)
{
    aae_engine *e = r->e;
    int32_t *ids = NULL;
    size_t n = 0;
    aae_status st = tokenize_prompt(r, &ids, &n, err);
    if (st != AAE_OK)
        return st;
    int64_t window = e->ops->max_positions(e->model);
    r->n_prompt = n;
    if ((int64_t)n >= window) {
        free(ids);
        return aae_error_set(err, AAE_ERR_LIMIT,
                             "/messages: the prompt is %zu tokens and the context window holds %lld; shorten the "
                             "conversation (drop early turns) or load the model with a larger context window",
                             n, (long long)window);
    }
    if ((st = setup_sampling(r, err)) != AAE_OK || (st = setup_stops(r, err)) != AAE_OK) {
        free(ids);
        return st;
    }
    aae_sampler_add_prompt(e->sampler, ids, n);
    /* default: the room left in the window; a sliding window never fills, so 4096 */
    int64_t room = window >= INT32_MAX ? AAE_DEFAULT_MAX_TOKENS_UNBOUNDED : window - (int64_t)n;
    int64_t max_tokens = r->req->max_tokens > 0 ? r->req->max_tokens : room;
    aae_buf_reset(&e->content);
    r->t_start = now_s();
    st = prefill_prompt(r, ids, n, err);
    free(ids);
    r->t_prefilled = now_s();
    if (st == AAE_ERR_ABORTED) {
        r->finish = "abort";
        st = AAE_OK;
    } else if (st != AAE_OK) {
        return st;
    }
    if (r->req->stream)
        send_delta(r, "assistant", "", 0, NULL);
    if (!r->finish)
        st = generate(r, max_tokens, err);
    if (st != AAE_OK)
        return st;
    if (strcmp(r->finish, "stop") != 0 || !e->stop.stopped)
        flush_text(r);
    r->t_end = now_s();
    if (r->req->stream) {
        send_delta(r, NULL, NULL, 0, r->finish);
        if (r->req->include_usage)
            send_usage_chunk(r);
    } else {
        send_completion(r);
    }
    if (strcmp(r->finish, "abort") == 0)
        return aae_error_set(err, AAE_ERR_ABORTED, "the completion was aborted after %zu tokens", r->n_generated);
    return AAE_OK;
}

aae_status aae_engine_run_completion(aae_engine *e, const char *request_json, aae_chunk_callback cb, void *user)
{
    aae_chat_request *req = NULL;
    aae_status st = aae_chat_request_parse(request_json, strlen(request_json), &req, &e->err);
    if (st != AAE_OK)
        return st;
    run r;
    memset(&r, 0, sizeof r);
    r.e = e;
    r.req = req;
    r.cb = cb;
    r.user = user;
    r.model = req->model ? req->model : e->model_name;
    make_id(&r);
    st = run_request(&r, &e->err);
    aae_chat_request_free(req);
    return st;
}
