/* request.c - parsing and validation of a chat-completions request; see request.h. */
#include "engine/request.h"

#include <stdlib.h>
#include <string.h>

#define INVALID AAE_ERR_INVALID_ARGUMENT

static const char *type_of(const aae_json *v)
{
    return v ? aae_json_type_name(v->type) : "nothing";
}

/* A number member in [lo, hi] (lo_open: lo itself excluded). 0 = absent or null. */
static aae_status get_number(const aae_json *root, const char *key, double lo, int lo_open, double hi, int *has,
                             double *out, aae_error *err)
{
    const aae_json *v = aae_json_get(root, key);
    *has = 0;
    if (!v || v->type == AAE_JSON_NULL)
        return AAE_OK;
    if (v->type != AAE_JSON_NUMBER)
        return aae_error_set(err, INVALID, "/%s: expected a number, got %s", key, type_of(v));
    double x = v->u.num.value;
    if (x < lo || (lo_open && x == lo) || x > hi)
        return aae_error_set(err, INVALID, "/%s: %g is out of range; expected a number in %c%g, %g]", key, x,
                             lo_open ? '(' : '[', lo, hi);
    *has = 1;
    *out = x;
    return AAE_OK;
}

static aae_status get_bool(const aae_json *root, const char *key, int dflt, int *out, aae_error *err)
{
    const aae_json *v = aae_json_get(root, key);
    if (!v || v->type == AAE_JSON_NULL) {
        *out = dflt;
        return AAE_OK;
    }
    if (v->type != AAE_JSON_BOOL)
        return aae_error_set(err, INVALID, "/%s: expected true or false, got %s", key, type_of(v));
    *out = v->u.boolean;
    return AAE_OK;
}

/* An integer member >= lo; *out unchanged when absent or null. */
static aae_status get_int(const aae_json *root, const char *key, int64_t lo, int64_t *out, aae_error *err)
{
    const aae_json *v = aae_json_get(root, key);
    if (!v || v->type == AAE_JSON_NULL)
        return AAE_OK;
    if (v->type != AAE_JSON_NUMBER || !v->u.num.is_int)
        return aae_error_set(err, INVALID, "/%s: expected an integer, got %s", key,
                             v->type == AAE_JSON_NUMBER ? "a fraction or an integer beyond 64 bits" : type_of(v));
    if (v->u.num.i < lo)
        return aae_error_set(err, INVALID, "/%s: %lld is out of range; expected an integer >= %lld", key,
                             (long long)v->u.num.i, (long long)lo);
    *out = v->u.num.i;
    return AAE_OK;
}

static aae_status parse_role(const aae_json *v, size_t i, aae_conv_role *role, aae_error *err)
{
    const char *s = aae_json_str(v);
    if (!s)
        return aae_error_set(err, INVALID, "/messages/%zu/role: expected a string (\"system\", \"user\" or "
                             "\"assistant\"), got %s", i, type_of(v));
    if (strcmp(s, "system") == 0 || strcmp(s, "developer") == 0)
        *role = AAE_ROLE_SYSTEM;
    else if (strcmp(s, "user") == 0)
        *role = AAE_ROLE_USER;
    else if (strcmp(s, "assistant") == 0)
        *role = AAE_ROLE_ASSISTANT;
    else if (strcmp(s, "tool") == 0 || strcmp(s, "function") == 0)
        return aae_error_set(err, AAE_ERR_UNSUPPORTED,
                             "/messages/%zu/role: \"%s\" messages (tool calling) are not supported", i, s);
    else
        return aae_error_set(err, INVALID,
                             "/messages/%zu/role: unknown role \"%.64s\"; expected \"system\", \"user\" or "
                             "\"assistant\"", i, s);
    return AAE_OK;
}

/* content as an array of {type:"text", text} parts: joined into r->joined. */
static aae_status parse_parts(aae_chat_request *r, const aae_json *c, size_t i, size_t *off, size_t *len,
                              aae_error *err)
{
    *off = r->joined.len;
    for (size_t k = 0; k < aae_json_count(c); k++) {
        const aae_json *part = aae_json_at(c, k);
        if (!aae_json_is(part, AAE_JSON_OBJECT))
            return aae_error_set(err, INVALID, "/messages/%zu/content/%zu: expected an object {\"type\": \"text\", "
                                 "\"text\": ...}, got %s", i, k, type_of(part));
        const char *type = aae_json_str(aae_json_get(part, "type"));
        if (!type)
            return aae_error_set(err, INVALID, "/messages/%zu/content/%zu/type: expected a string", i, k);
        if (strcmp(type, "text") != 0)
            return aae_error_set(err, AAE_ERR_UNSUPPORTED,
                                 "/messages/%zu/content/%zu/type: \"%.64s\" parts are not supported; only \"text\"",
                                 i, k, type);
        const aae_json *t = aae_json_get(part, "text");
        if (!aae_json_is(t, AAE_JSON_STRING))
            return aae_error_set(err, INVALID, "/messages/%zu/content/%zu/text: expected a string, got %s", i, k,
                                 type_of(t));
        aae_buf_append(&r->joined, t->u.str.s, t->u.str.len);
    }
    *len = r->joined.len - *off;
    if (!aae_buf_ok(&r->joined))
        return aae_error_set(err, AAE_ERR_NOMEM, "/messages/%zu/content: out of memory", i);
    return AAE_OK;
}

static aae_status parse_messages(aae_chat_request *r, const aae_json *root, aae_error *err)
{
    const aae_json *ms = aae_json_get(root, "messages");
    if (!ms)
        return aae_error_set(err, INVALID, "/messages: missing; expected an array of {\"role\", \"content\"}");
    if (ms->type != AAE_JSON_ARRAY)
        return aae_error_set(err, INVALID, "/messages: expected an array, got %s", type_of(ms));
    size_t n = aae_json_count(ms);
    if (n == 0)
        return aae_error_set(err, INVALID, "/messages: the array is empty; add a \"user\" message");
    r->messages = calloc(n, sizeof *r->messages);
    size_t *offs = calloc(n, sizeof *offs); /* offset + 1 into joined, 0 = points into the doc */
    if (!r->messages || !offs) {
        free(offs);
        return aae_error_set(err, AAE_ERR_NOMEM, "/messages: out of memory");
    }
    aae_status st = AAE_OK;
    size_t total = 0;
    for (size_t i = 0; i < n && st == AAE_OK; i++) {
        const aae_json *m = aae_json_at(ms, i);
        aae_conv_message *cm = &r->messages[i];
        if (!aae_json_is(m, AAE_JSON_OBJECT)) {
            st = aae_error_set(err, INVALID, "/messages/%zu: expected an object {\"role\", \"content\"}, got %s", i,
                               type_of(m));
            break;
        }
        if (aae_json_find_duplicate(m)) {
            st = aae_error_set(err, INVALID, "/messages/%zu/%s: the member appears twice", i,
                               aae_json_find_duplicate(m)->key);
            break;
        }
        st = parse_role(aae_json_get(m, "role"), i, &cm->role, err);
        if (st != AAE_OK)
            break;
        const aae_json *c = aae_json_get(m, "content");
        if (aae_json_is(c, AAE_JSON_STRING)) {
            cm->content = c->u.str.s;
            cm->len = c->u.str.len;
        } else if (aae_json_is(c, AAE_JSON_ARRAY)) {
            size_t off;
            st = parse_parts(r, c, i, &off, &cm->len, err);
            offs[i] = off + 1;
        } else {
            st = aae_error_set(err, INVALID, "/messages/%zu/content: expected a string or an array of "
                               "{\"type\": \"text\", \"text\": ...} parts, got %s", i, type_of(c));
        }
        total += cm->len;
        if (st == AAE_OK && total > AAE_REQ_MAX_TEXT)
            st = aae_error_set(err, AAE_ERR_LIMIT, "/messages/%zu/content: the messages hold more than %u bytes "
                               "of text", i, AAE_REQ_MAX_TEXT);
    }
    for (size_t i = 0; i < n && st == AAE_OK; i++)
        if (offs[i])
            r->messages[i].content = r->joined.data ? r->joined.data + offs[i] - 1 : "";
    free(offs);
    r->n_messages = n;
    if (st == AAE_OK)
        st = aae_conv_check_messages(r->messages, n, err);
    return st;
}

static aae_status parse_stop(aae_chat_request *r, const aae_json *root, aae_error *err)
{
    const aae_json *v = aae_json_get(root, "stop");
    if (!v || v->type == AAE_JSON_NULL)
        return AAE_OK;
    if (v->type == AAE_JSON_STRING) {
        if (v->u.str.len == 0)
            return aae_error_set(err, INVALID, "/stop: the stop string is empty");
        r->stop[0] = v->u.str.s;
        r->stop_len[0] = v->u.str.len;
        r->n_stop = 1;
        return AAE_OK;
    }
    if (v->type != AAE_JSON_ARRAY)
        return aae_error_set(err, INVALID, "/stop: expected a string or an array of strings, got %s", type_of(v));
    if (aae_json_count(v) > AAE_REQ_MAX_STOP)
        return aae_error_set(err, AAE_ERR_LIMIT, "/stop: %zu stop strings; at most %d are allowed",
                             aae_json_count(v), AAE_REQ_MAX_STOP);
    for (size_t i = 0; i < aae_json_count(v); i++) {
        const aae_json *s = aae_json_at(v, i);
        if (!aae_json_is(s, AAE_JSON_STRING))
            return aae_error_set(err, INVALID, "/stop/%zu: expected a string, got %s", i, type_of(s));
        if (s->u.str.len == 0)
            return aae_error_set(err, INVALID, "/stop/%zu: the stop string is empty", i);
        if (s->u.str.len > 1024)
            return aae_error_set(err, AAE_ERR_LIMIT, "/stop/%zu: longer than 1024 bytes", i);
        r->stop[r->n_stop] = s->u.str.s;
        r->stop_len[r->n_stop] = s->u.str.len;
        r->n_stop++;
    }
    return AAE_OK;
}

/* A token id key of logit_bias: decimal digits only, within int32. */
static int parse_token_id(const char *s, size_t len, int32_t *out)
{
    if (len == 0 || len > 10)
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (v > INT32_MAX)
        return 0;
    *out = (int32_t)v;
    return 1;
}

static aae_status parse_logit_bias(aae_chat_request *r, const aae_json *root, aae_error *err)
{
    const aae_json *v = aae_json_get(root, "logit_bias");
    if (!v || v->type == AAE_JSON_NULL)
        return AAE_OK;
    if (v->type != AAE_JSON_OBJECT)
        return aae_error_set(err, INVALID, "/logit_bias: expected an object {\"<token id>\": bias}, got %s",
                             type_of(v));
    if (v->u.obj.count > AAE_SAMPLER_MAX_BIAS)
        return aae_error_set(err, AAE_ERR_LIMIT, "/logit_bias: %zu entries; at most %d are allowed",
                             v->u.obj.count, AAE_SAMPLER_MAX_BIAS);
    for (size_t i = 0; i < v->u.obj.count; i++) {
        const aae_json_member *m = &v->u.obj.members[i];
        char ptr[96] = "/logit_bias";
        aae_json_pointer_push(ptr, sizeof ptr, m->key);
        if (!parse_token_id(m->key, m->key_len, &r->bias_id[i]))
            return aae_error_set(err, INVALID, "%s: the key must be a token id (decimal digits, at most %d)", ptr,
                                 INT32_MAX);
        if (!aae_json_is(m->value, AAE_JSON_NUMBER))
            return aae_error_set(err, INVALID, "%s: expected a number in [-100, 100], got %s", ptr,
                                 type_of(m->value));
        double b = m->value->u.num.value;
        if (b < -100.0 || b > 100.0)
            return aae_error_set(err, INVALID, "%s: %g is out of range [-100, 100]", ptr, b);
        r->bias[i] = (float)b;
    }
    r->n_bias = v->u.obj.count;
    return AAE_OK;
}

/* Members that are valid OpenAI but whose non-default values we do not support. */
static aae_status check_unsupported(const aae_json *root, aae_error *err)
{
    int64_t n = 1;
    aae_status st = get_int(root, "n", 1, &n, err);
    if (st != AAE_OK)
        return st;
    if (n != 1)
        return aae_error_set(err, AAE_ERR_UNSUPPORTED, "/n: %lld choices asked; only n = 1 is supported",
                             (long long)n);
    const aae_json *rf = aae_json_get(root, "response_format");
    if (rf && rf->type != AAE_JSON_NULL) {
        const char *t = aae_json_str(aae_json_get(rf, "type"));
        if (!aae_json_is(rf, AAE_JSON_OBJECT) || !t)
            return aae_error_set(err, INVALID, "/response_format: expected an object {\"type\": \"text\"}");
        if (strcmp(t, "text") != 0)
            return aae_error_set(err, AAE_ERR_UNSUPPORTED,
                                 "/response_format/type: \"%.64s\" is not supported; only \"text\"", t);
    }
    int lp = 0;
    if ((st = get_bool(root, "logprobs", 0, &lp, err)) != AAE_OK)
        return st;
    if (lp)
        return aae_error_set(err, AAE_ERR_UNSUPPORTED, "/logprobs: log probabilities are not supported");
    int64_t tlp = 0;
    if ((st = get_int(root, "top_logprobs", 0, &tlp, err)) != AAE_OK)
        return st;
    if (tlp != 0)
        return aae_error_set(err, AAE_ERR_UNSUPPORTED, "/top_logprobs: log probabilities are not supported");
    const aae_json *tools = aae_json_get(root, "tools");
    if (tools && tools->type != AAE_JSON_NULL && !(tools->type == AAE_JSON_ARRAY && aae_json_count(tools) == 0))
        return aae_error_set(err, AAE_ERR_UNSUPPORTED, "/tools: tool calling is not supported");
    const aae_json *user = aae_json_get(root, "user");
    if (user && user->type != AAE_JSON_NULL && user->type != AAE_JSON_STRING)
        return aae_error_set(err, INVALID, "/user: expected a string, got %s", type_of(user));
    return AAE_OK;
}

static aae_status parse_sampling(aae_chat_request *r, const aae_json *root, aae_error *err)
{
    aae_status st;
    if ((st = get_number(root, "temperature", 0, 0, 2, &r->has_temperature, &r->temperature, err)) != AAE_OK ||
        (st = get_number(root, "top_p", 0, 1, 1, &r->has_top_p, &r->top_p, err)) != AAE_OK ||
        (st = get_number(root, "frequency_penalty", -2, 0, 2, &r->has_frequency_penalty, &r->frequency_penalty,
                         err)) != AAE_OK ||
        (st = get_number(root, "presence_penalty", -2, 0, 2, &r->has_presence_penalty, &r->presence_penalty,
                         err)) != AAE_OK ||
        (st = get_number(root, "repetition_penalty", 0, 1, 100, &r->has_repetition_penalty,
                         &r->repetition_penalty, err)) != AAE_OK)
        return st;
    int64_t k = -1;
    if ((st = get_int(root, "top_k", 0, &k, err)) != AAE_OK)
        return st;
    if (k >= 0) {
        r->has_top_k = 1;
        r->top_k = k > INT32_MAX ? INT32_MAX : k;
    }
    const aae_json *seed = aae_json_get(root, "seed");
    if (seed && seed->type != AAE_JSON_NULL) {
        if (seed->type != AAE_JSON_NUMBER || !seed->u.num.is_int)
            return aae_error_set(err, INVALID, "/seed: expected an integer, got %s",
                                 seed->type == AAE_JSON_NUMBER ? "a fraction or an integer beyond 64 bits"
                                                               : type_of(seed));
        r->has_seed = 1;
        r->seed = (uint64_t)seed->u.num.i;
    }
    return parse_logit_bias(r, root, err);
}

static aae_status parse_root(aae_chat_request *r, const aae_json *root, aae_error *err)
{
    if (!aae_json_is(root, AAE_JSON_OBJECT))
        return aae_error_set(err, INVALID, ": the request must be a JSON object, got %s", type_of(root));
    const aae_json_member *dup = aae_json_find_duplicate(root);
    if (dup)
        return aae_error_set(err, INVALID, "/%s: the member appears twice", dup->key);
    const aae_json *model = aae_json_get(root, "model");
    if (model && model->type != AAE_JSON_NULL && model->type != AAE_JSON_STRING)
        return aae_error_set(err, INVALID, "/model: expected a string, got %s", type_of(model));
    r->model = aae_json_str(model);
    aae_status st;
    if ((st = parse_messages(r, root, err)) != AAE_OK || (st = check_unsupported(root, err)) != AAE_OK ||
        (st = get_bool(root, "stream", 0, &r->stream, err)) != AAE_OK || (st = parse_stop(r, root, err)) != AAE_OK ||
        (st = get_bool(root, "ignore_eos", 0, &r->ignore_eos, err)) != AAE_OK ||
        (st = parse_sampling(r, root, err)) != AAE_OK)
        return st;
    const aae_json *so = aae_json_get(root, "stream_options");
    r->include_usage = 1;
    if (so && so->type != AAE_JSON_NULL) {
        if (so->type != AAE_JSON_OBJECT)
            return aae_error_set(err, INVALID, "/stream_options: expected an object, got %s", type_of(so));
        if (aae_json_is(aae_json_get(so, "include_usage"), AAE_JSON_BOOL))
            r->include_usage = aae_json_get(so, "include_usage")->u.boolean;
        else if (aae_json_get(so, "include_usage") && !aae_json_is(aae_json_get(so, "include_usage"), AAE_JSON_NULL))
            return aae_error_set(err, INVALID, "/stream_options/include_usage: expected true or false");
    }
    r->max_tokens = -1;
    if ((st = get_int(root, "max_tokens", 1, &r->max_tokens, err)) != AAE_OK ||
        (st = get_int(root, "max_completion_tokens", 1, &r->max_tokens, err)) != AAE_OK)
        return st;
    return AAE_OK;
}

aae_status aae_chat_request_parse(const char *json, size_t len, aae_chat_request **out, aae_error *err)
{
    if (!json || !out)
        return aae_error_set(err, INVALID, "request: NULL argument");
    aae_chat_request *r = calloc(1, sizeof *r);
    if (!r)
        return aae_error_set(err, AAE_ERR_NOMEM, "request: out of memory");
    aae_buf_init(&r->joined);
    aae_status st = aae_json_parse(json, len, &r->doc, err);
    if (st != AAE_OK) {
        aae_error_prefix(err, "request JSON");
        if (err)
            err->status = INVALID;
        aae_chat_request_free(r);
        return INVALID;
    }
    st = parse_root(r, aae_json_root(r->doc), err);
    if (st != AAE_OK) {
        aae_error_prefix(err, "request JSON");
        aae_chat_request_free(r);
        return st;
    }
    *out = r;
    return AAE_OK;
}

void aae_chat_request_free(aae_chat_request *r)
{
    if (!r)
        return;
    aae_json_free(r->doc);
    aae_buf_free(&r->joined);
    free(r->messages);
    free(r);
}
