/* lib_plan.c - overrides, the normalised config, the default prefix and the memory plan. */
#include "compile/lib_plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "compile/digest.h"
#include "compile/lib_desc.h"
#include "format/tensor_cache.h"

/* ------------------------------------------------------------ overrides --- */

static const char *const OVERRIDE_KEYS[] = {"context_window_size", "prefill_chunk_size", "sliding_window_size",
                                            "attention_sink_size", "max_batch_size"};
#define N_OVERRIDE_KEYS 5

static int64_t *override_slot(aae_overrides *o, size_t i)
{
    int64_t *slots[N_OVERRIDE_KEYS] = {&o->context_window_size, &o->prefill_chunk_size, &o->sliding_window_size,
                                       &o->attention_sink_size, &o->max_batch_size};
    return slots[i];
}

static int override_index(const char *key, size_t len)
{
    for (size_t i = 0; i < N_OVERRIDE_KEYS; i++)
        if (strlen(OVERRIDE_KEYS[i]) == len && memcmp(OVERRIDE_KEYS[i], key, len) == 0)
            return (int)i;
    return -1;
}

void aae_overrides_init(aae_overrides *o)
{
    for (size_t i = 0; i < N_OVERRIDE_KEYS; i++)
        *override_slot(o, i) = AAE_OVERRIDE_UNSET;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

aae_status aae_overrides_parse(const char *text, aae_overrides *o, aae_error *err)
{
    const char *p = text ? text : "";
    while (*p) {
        const char *end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        const char *s = p, *e = end;
        trim(&s, &e);
        if (s < e) {
            const char *eq = memchr(s, '=', (size_t)(e - s));
            if (!eq)
                return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                                     "--overrides: '%.*s' is not key=value (example: "
                                     "\"context_window_size=512;prefill_chunk_size=128\")",
                                     (int)(e - s), s);
            const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
            trim(&ks, &ke);
            trim(&vs, &ve);
            int idx = override_index(ks, (size_t)(ke - ks));
            if (idx < 0)
                return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                                     "--overrides: unknown key '%.*s'; valid keys: " AAE_OVERRIDE_KEYS,
                                     (int)(ke - ks), ks);
            char num[32];
            size_t vl = (size_t)(ve - vs);
            char *stop = NULL;
            long long v = 0;
            if (vl > 0 && vl < sizeof num) {
                memcpy(num, vs, vl);
                num[vl] = '\0';
                errno = 0;
                v = strtoll(num, &stop, 10);
            }
            if (vl == 0 || vl >= sizeof num || *stop != '\0' || errno == ERANGE)
                return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--overrides: %s='%.*s' is not an integer",
                                     OVERRIDE_KEYS[idx], (int)vl, vs);
            *override_slot(o, (size_t)idx) = v;
        }
        p = *end ? end + 1 : end;
    }
    return AAE_OK;
}

aae_status aae_overrides_from_json(const aae_json *obj, const char *pointer, aae_overrides *o, aae_error *err)
{
    if (!aae_json_is(obj, AAE_JSON_OBJECT))
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "%s: expected an object of overrides (keys: %s)",
                             pointer, AAE_OVERRIDE_KEYS);
    for (size_t i = 0; i < obj->u.obj.count; i++) {
        const aae_json_member *m = &obj->u.obj.members[i];
        int idx = override_index(m->key, m->key_len);
        if (idx < 0)
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "%s/%s: unknown override; valid keys: %s", pointer,
                                 m->key, AAE_OVERRIDE_KEYS);
        if (!aae_json_is(m->value, AAE_JSON_NUMBER) || !m->value->u.num.is_int)
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "%s/%s: expected an integer", pointer, m->key);
        *override_slot(o, (size_t)idx) = m->value->u.num.i;
    }
    return AAE_OK;
}

void aae_overrides_format(const aae_overrides *o, char *out, size_t cap)
{
    aae_buf b;
    aae_buf_init(&b);
    for (size_t i = 0; i < N_OVERRIDE_KEYS; i++) {
        int64_t v = *override_slot((aae_overrides *)o, i);
        if (v != AAE_OVERRIDE_UNSET)
            aae_buf_printf(&b, "%s%s=%lld", b.len ? ";" : "", OVERRIDE_KEYS[i], (long long)v);
    }
    snprintf(out, cap, "%s", b.data ? b.data : "");
    aae_buf_free(&b);
}

/* --------------------------------------------------------------- prefix --- */

aae_status aae_prefix_normalise(const char *name, char *out, size_t cap, aae_error *err)
{
    size_t n = strlen(name);
    if (n == 0 || n > AAE_PREFIX_MAX || n >= cap)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "model library prefix '%s' must be 1-%d bytes", name,
                             AAE_PREFIX_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '-')
            c = '_';
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok)
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                                 "model library prefix '%s': byte %zu ('%c', 0x%02x) is not allowed; use letters, "
                                 "digits, '_' or '-' (which becomes '_')",
                                 name, i, c >= 32 && c < 127 ? c : '?', (unsigned char)c);
        out[i] = c;
    }
    out[n] = '\0';
    if (out[0] >= '0' && out[0] <= '9')
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                             "model library prefix '%s' starts with a digit; a C symbol cannot. Start it with a "
                             "letter or '_'",
                             name);
    return AAE_OK;
}

/* --------------------------------------------------- normalised config --- */

static int is_plan_key(const char *k)
{
    return override_index(k, strlen(k)) >= 0;
}

static int cmp_members(const void *a, const void *b)
{
    const aae_json_member *x = *(const aae_json_member *const *)a, *y = *(const aae_json_member *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static int write_canonical(aae_buf *b, const aae_json *v, int skip_plan_keys)
{
    switch (v->type) {
    case AAE_JSON_NULL: aae_buf_puts(b, "null"); return 1;
    case AAE_JSON_BOOL: aae_buf_puts(b, v->u.boolean ? "true" : "false"); return 1;
    case AAE_JSON_NUMBER:
        if (v->u.num.is_int)
            aae_buf_printf(b, "%lld", (long long)v->u.num.i);
        else
            aae_buf_json_number(b, v->u.num.value);
        return 1;
    case AAE_JSON_STRING: aae_buf_json_string(b, v->u.str.s, v->u.str.len); return 1;
    case AAE_JSON_ARRAY:
        aae_buf_putc(b, '[');
        for (size_t i = 0; i < v->u.arr.count; i++) {
            if (i)
                aae_buf_putc(b, ',');
            if (!write_canonical(b, v->u.arr.items[i], 0))
                return 0;
        }
        aae_buf_putc(b, ']');
        return 1;
    case AAE_JSON_OBJECT: {
        size_t n = v->u.obj.count;
        const aae_json_member **m = malloc((n ? n : 1) * sizeof *m);
        if (!m)
            return 0;
        for (size_t i = 0; i < n; i++)
            m[i] = &v->u.obj.members[i];
        qsort(m, n, sizeof *m, cmp_members);
        aae_buf_putc(b, '{');
        int first = 1, ok = 1;
        for (size_t i = 0; i < n && ok; i++) {
            if (skip_plan_keys && is_plan_key(m[i]->key))
                continue;
            if (i > 0 && cmp_members(&m[i - 1], &m[i]) == 0)
                continue; /* a duplicate key: the reader uses the first one */
            if (!first)
                aae_buf_putc(b, ',');
            first = 0;
            aae_buf_json_string(b, m[i]->key, m[i]->key_len);
            aae_buf_putc(b, ':');
            ok = write_canonical(b, m[i]->value, 0);
        }
        aae_buf_putc(b, '}');
        free(m);
        return ok;
    }
    }
    return 0;
}

static aae_status normalise(const aae_chat_config *cfg, aae_lib_plan *p, aae_error *err)
{
    aae_buf b;
    aae_buf_init(&b);
    aae_buf_printf(&b, "{\"attention_sink_size\":%lld,\"context_window_size\":%lld,\"kv_capacity\":%lld,"
                       "\"max_batch_size\":%lld,\"model_config\":",
                   (long long)p->attention_sink_size, (long long)p->context_window_size,
                   (long long)p->kv_capacity, (long long)p->max_batch_size);
    if (!write_canonical(&b, cfg->model_config, 1)) {
        aae_buf_free(&b);
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory normalising the config");
    }
    aae_buf_puts(&b, ",\"model_type\":");
    aae_buf_json_string(&b, p->model_type, strlen(p->model_type));
    aae_buf_printf(&b, ",\"prefill_chunk_size\":%lld,\"quantization\":", (long long)p->prefill_chunk_size);
    aae_buf_json_string(&b, p->quantization, strlen(p->quantization));
    aae_buf_printf(&b, ",\"sliding_window_size\":%lld,\"vocab_size\":%lld}", (long long)p->sliding_window_size,
                   (long long)p->vocab_size);
    size_t len = 0;
    p->config_json = aae_buf_take(&b, &len);
    if (!p->config_json)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory normalising the config");
    aae_sha256_hex(p->config_json, len, p->config_hash);
    return AAE_OK;
}

/* --------------------------------------------------------------- memory --- */

/* Bytes per parameter of the linear weights when there is no tensor cache to sum. */
static double weight_bytes_per_param(aae_quant q)
{
    switch (q) {
    case AAE_QUANT_Q0F32: return 4.0;
    case AAE_QUANT_Q0F16: return 2.0;
    case AAE_QUANT_Q4F16_1: return 0.5 + 2.0 / 32;
    case AAE_QUANT_Q4F32_1: return 0.5 + 4.0 / 32;
    case AAE_QUANT_Q3F16_1: return 16.0 / 40 + 2.0 / 40;
    default: return 4.0;
    }
}

static uint64_t estimate_params(const aae_model_dims *d, int64_t vocab)
{
    uint64_t H = (uint64_t)d->hidden_size, I = (uint64_t)d->intermediate_size, L = (uint64_t)d->num_layers;
    uint64_t q = (uint64_t)(d->num_heads * d->head_dim), kv = (uint64_t)(d->num_kv_heads * d->head_dim);
    uint64_t attn = H * (q + 2 * kv) + q * H;
    uint64_t mlp = (d->gated_mlp ? 3 : 2) * H * I;
    uint64_t emb = (uint64_t)vocab * H * (d->tie_word_embeddings ? 1 : 2);
    return L * (attn + mlp + 2 * H) + emb + H;
}

/* Weights: the tensor cache's sum when present, else an estimate from the dimensions.
 * KV cache and activations: the runtime's own plan (models/model.h aae_model_plan) for
 * AAE_PLAN_THREADS threads (scratch grows a little with threads), times max_batch_size
 * for the KV cache. */
#define AAE_PLAN_THREADS 4
static void plan_memory(const aae_chat_config *cfg, const char *model_dir, aae_lib_plan *p)
{
    p->memory.weights_bytes = 0;
    p->wtype = aae_lib_wtype_for(p->quant);
    aae_tensor_cache *tc = NULL;
    if (model_dir && aae_tensor_cache_load(model_dir, &tc, NULL) == AAE_OK) {
        int q0 = p->quant == AAE_QUANT_Q0F32 || p->quant == AAE_QUANT_Q0F16;
        for (size_t i = 0; i < tc->n_tensors; i++) {
            const aae_tc_tensor *t = &tc->tensors[i];
            p->memory.weights_bytes += t->nbytes;
            /* MLC's "f32-to-bf16" records (or bf16 tensors): the runtime runs bf16 weights */
            if (q0 && t->ndim == 2 && (t->format == AAE_RECORD_F32_TO_BF16 || t->dtype == AAE_DTYPE_BF16))
                p->wtype = AAE_W_BF16;
        }
        p->weights_from_tensor_cache = 1;
        aae_tensor_cache_free(tc);
    } else {
        p->memory.weights_bytes =
            (uint64_t)((double)estimate_params(&p->dims, cfg->vocab_size) * weight_bytes_per_param(p->quant));
    }
    aae_model_desc d;
    aae_mem_plan mp;
    aae_lib_desc_fill(p, p->wtype, &d);
    aae_model_plan(&d, AAE_PLAN_THREADS, &mp);
    p->memory.kv_cache_bytes = mp.kv_bytes * (uint64_t)p->max_batch_size;
    p->memory.activation_bytes = mp.act_bytes + mp.logits_bytes;
}

/* ----------------------------------------------------------------- plan --- */

static aae_status check_plan(aae_lib_plan *p, aae_error *err)
{
    if (p->max_batch_size < 1 || p->max_batch_size > 1024)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "max_batch_size=%lld: expected 1-1024",
                             (long long)p->max_batch_size);
    if (p->context_window_size == 0 || p->context_window_size < -1)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "context_window_size=%lld: expected a positive number "
                             "(or -1 with a sliding window)", (long long)p->context_window_size);
    if (p->sliding_window_size == 0 || p->sliding_window_size < -1)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "sliding_window_size=%lld: expected a positive number, "
                             "or -1 for off", (long long)p->sliding_window_size);
    if (p->attention_sink_size < -1)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "attention_sink_size=%lld: expected >= 0, or -1 for n/a",
                             (long long)p->attention_sink_size);
    if (p->prefill_chunk_size < 1)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "prefill_chunk_size=%lld: expected a positive number",
                             (long long)p->prefill_chunk_size);
    if (p->sliding_window_size != -1)
        p->kv_capacity = p->sliding_window_size + (p->attention_sink_size > 0 ? p->attention_sink_size : 0);
    else if (p->context_window_size != -1)
        p->kv_capacity = p->context_window_size;
    else
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "context_window_size and sliding_window_size are both -1: "
                             "the KV cache would have no size; set context_window_size");
    if (p->kv_capacity > ((int64_t)1 << 24))
        return aae_error_set(err, AAE_ERR_LIMIT, "KV-cache capacity of %lld positions is above the 16M limit",
                             (long long)p->kv_capacity);
    return AAE_OK;
}

aae_status aae_lib_plan_make(const aae_chat_config *cfg, const char *model_dir, const aae_overrides *ov,
                             const char *prefix, FILE *notice, aae_lib_plan *p, aae_error *err)
{
    memset(p, 0, sizeof *p);
    snprintf(p->model_type, sizeof p->model_type, "%s", cfg->model_type);
    snprintf(p->quantization, sizeof p->quantization, "%s", cfg->quantization);
    p->arch = cfg->arch;
    p->quant = cfg->quant;
    p->dims = cfg->dims;
    p->vocab_size = cfg->vocab_size;
    p->context_window_size = cfg->context_window_size;
    p->prefill_chunk_size = cfg->prefill_chunk_size;
    p->sliding_window_size = cfg->sliding_window_size;
    p->attention_sink_size = cfg->attention_sink_size;
    p->max_batch_size = 1;
    if (ov) {
        if (ov->context_window_size != AAE_OVERRIDE_UNSET)
            p->context_window_size = ov->context_window_size;
        if (ov->prefill_chunk_size != AAE_OVERRIDE_UNSET)
            p->prefill_chunk_size = ov->prefill_chunk_size;
        if (ov->sliding_window_size != AAE_OVERRIDE_UNSET)
            p->sliding_window_size = ov->sliding_window_size;
        if (ov->attention_sink_size != AAE_OVERRIDE_UNSET)
            p->attention_sink_size = ov->attention_sink_size;
        if (ov->max_batch_size != AAE_OVERRIDE_UNSET)
            p->max_batch_size = ov->max_batch_size;
    }
    aae_status st = check_plan(p, err);
    if (st != AAE_OK)
        return st;
    if (p->context_window_size != -1 && p->prefill_chunk_size > p->context_window_size) {
        if (notice)
            fprintf(notice, "note: prefill_chunk_size %lld is larger than context_window_size %lld; using %lld\n",
                    (long long)p->prefill_chunk_size, (long long)p->context_window_size,
                    (long long)p->context_window_size);
        p->prefill_chunk_size = p->context_window_size;
    }
    if ((st = normalise(cfg, p, err)) != AAE_OK)
        return st;
    plan_memory(cfg, model_dir, p);
    if (prefix && *prefix)
        st = aae_prefix_normalise(prefix, p->prefix, sizeof p->prefix, err);
    else {
        char def[128];
        snprintf(def, sizeof def, "%s_%s_%.8s", p->model_type, p->quantization, p->config_hash);
        st = aae_prefix_normalise(def, p->prefix, sizeof p->prefix, err);
    }
    if (st != AAE_OK)
        aae_lib_plan_free(p);
    return st;
}

void aae_lib_plan_free(aae_lib_plan *p)
{
    if (p) {
        free(p->config_json);
        p->config_json = NULL;
    }
}

aae_status aae_lib_load_config(const char *path, aae_chat_config **cfg, char *dir_out, size_t cap, aae_error *err)
{
    if (aae_is_dir(path)) {
        snprintf(dir_out, cap, "%s", path);
        return aae_chat_config_load(path, cfg, err);
    }
    if (!aae_is_file(path))
        return aae_error_set(err, AAE_ERR_NOT_FOUND,
                             "%s: no such model folder or chat config file (expected a converted model folder, or "
                             "its sphere-aae-chat-config.json)",
                             path);
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(dir_out, cap, "%.*s", (int)(slash - path), path);
    else
        snprintf(dir_out, cap, ".");
    if (dir_out[0] == '\0')
        snprintf(dir_out, cap, "/");
    char *text = NULL;
    size_t len = 0;
    aae_status st = aae_read_file(path, (size_t)16 << 20, &text, &len, err);
    if (st != AAE_OK)
        return st;
    st = aae_chat_config_parse(text, len, path, cfg, err);
    free(text);
    return st;
}
