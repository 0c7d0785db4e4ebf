/*
 * chat_config.c - reads and validates a model's chat config (format: chat_config.h).
 *
 * model_config keys: the canonical keys of docs/format.md ("model_config") are
 * read first; MLC-LLM's and Hugging Face's spellings are accepted as fallbacks
 * (first name found wins), with the architecture's defaults:
 *   hidden_size|n_embd, num_hidden_layers|n_layer, num_attention_heads|n_head,
 *   intermediate_size|n_inner (4 * hidden for gpt_neox/phi), num_key_value_heads
 *   (heads; 0 = heads), head_dim (hidden / heads), vocab_size,
 *   rope_theta|position_embedding_base|rotary_emb_base (10000),
 *   norm_type ("rms_norm"; "layer_norm" for gpt_neox/phi),
 *   norm_eps|rms_norm_eps|layer_norm_eps|layer_norm_epsilon (1e-6 gemma/qwen2, else 1e-5),
 *   partial_rotary_factor|rotary_pct (0.5 phi, else 1), rotary_dim,
 *   hidden_act|hidden_activation, tie_word_embeddings (gemma: always),
 *   parallel_residual|use_parallel_residual (gpt_neox, phi), qkv_bias (qwen2,
 *   gpt_neox, phi), mlp_bias and mlp_type "plain" (gpt_neox, phi), lm_head_bias
 *   (phi), embedding_scale (gemma: sqrt(hidden)), rope_scaling (null, or
 *   rope_type "llama3" with factor, low_freq_factor, high_freq_factor,
 *   original_max_position_embeddings).
 */
#include "format/chat_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"

typedef struct cc_ctx {
    const char *label;
    aae_error *err;
    const char *base; /* pointer prefix: "" or "/model_config" */
} cc_ctx;

static const char *const ARCH_NAMES[AAE_ARCH_COUNT] = {"llama", "mistral", "gemma", "gpt_neox", "phi", "qwen2"};
static const char *const QUANT_NAMES[AAE_QUANT_COUNT] = {"q0f32", "q0f16", "q4f16_1", "q4f32_1", "q3f16_1"};

const char *aae_chat_arch_name(aae_arch a) { return (unsigned)a < AAE_ARCH_COUNT ? ARCH_NAMES[a] : "?"; }
const char *aae_chat_quant_name(aae_quant q) { return (unsigned)q < AAE_QUANT_COUNT ? QUANT_NAMES[q] : "?"; }

int aae_chat_arch_from_name(const char *s, aae_arch *out)
{
    for (int i = 0; i < AAE_ARCH_COUNT; i++)
        if (s && !strcmp(s, ARCH_NAMES[i])) {
            *out = (aae_arch)i;
            return 1;
        }
    return 0;
}

int aae_chat_quant_from_name(const char *s, aae_quant *out)
{
    for (int i = 0; i < AAE_QUANT_COUNT; i++)
        if (s && !strcmp(s, QUANT_NAMES[i])) {
            *out = (aae_quant)i;
            return 1;
        }
    return 0;
}

static aae_status bad(cc_ctx *c, const char *key, const char *expected, const aae_json *got)
{
    char p[256];
    snprintf(p, sizeof p, "%s", c->base);
    aae_json_pointer_push(p, sizeof p, key);
    return aae_error_set(c->err, AAE_ERR_FORMAT, "%s: %s: expected %s%s%s", c->label, p, expected,
                         got ? ", got " : "", got ? aae_json_type_name(got->type) : "");
}

/* An integer member, trying each alias in turn; missing -> dflt (or an error
 * when required). Values outside [lo, hi] are errors. */
static aae_status get_int(cc_ctx *c, const aae_json *obj, const char *const *keys, int64_t dflt, int required,
                          int64_t lo, int64_t hi, int64_t *out)
{
    for (; *keys; keys++) {
        const aae_json *v = aae_json_get(obj, *keys);
        if (!v || v->type == AAE_JSON_NULL)
            continue;
        if (v->type != AAE_JSON_NUMBER || !v->u.num.is_int || v->u.num.i < lo || v->u.num.i > hi) {
            char what[96];
            snprintf(what, sizeof what, "an integer in [%lld, %lld]", (long long)lo, (long long)hi);
            return bad(c, *keys, what, v->type == AAE_JSON_NUMBER ? NULL : v);
        }
        *out = v->u.num.i;
        return AAE_OK;
    }
    if (required) {
        char p[256];
        snprintf(p, sizeof p, "%s", c->base);
        return aae_error_set(c->err, AAE_ERR_FORMAT, "%s: %s: missing required integer \"%s\"", c->label,
                             p[0] ? p : "(root)", keys[-1]);
    }
    *out = dflt;
    return AAE_OK;
}

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static aae_status get_num(cc_ctx *c, const aae_json *obj, const char *const *keys, double dflt, double lo, double hi,
                          double *out)
{
    for (; *keys; keys++) {
        const aae_json *v = aae_json_get(obj, *keys);
        if (!v || v->type == AAE_JSON_NULL)
            continue;
        if (v->type != AAE_JSON_NUMBER || !(v->u.num.value >= lo && v->u.num.value <= hi)) {
            char what[96];
            snprintf(what, sizeof what, "a number in [%g, %g]", lo, hi);
            return bad(c, *keys, what, v->type == AAE_JSON_NUMBER ? NULL : v);
        }
        *out = v->u.num.value;
        return AAE_OK;
    }
    *out = dflt;
    return AAE_OK;
}

static aae_status get_bool(cc_ctx *c, const aae_json *obj, const char *key, int dflt, int *out)
{
    const aae_json *v = aae_json_get(obj, key);
    if (!v || v->type == AAE_JSON_NULL) {
        *out = dflt;
        return AAE_OK;
    }
    if (v->type != AAE_JSON_BOOL)
        return bad(c, key, "true or false", v);
    *out = v->u.boolean;
    return AAE_OK;
}

#define TRY(x)                                                                                                      \
    do {                                                                                                            \
        aae_status st_ = (x);                                                                                       \
        if (st_ != AAE_OK)                                                                                          \
            return st_;                                                                                             \
    } while (0)

#define DIM_MAX ((int64_t)1 << 24)

static aae_status read_act(cc_ctx *c, const aae_json *mc, aae_arch arch, aae_act *out)
{
    *out = arch == AAE_ARCH_GEMMA || arch == AAE_ARCH_PHI ? AAE_ACT_GELU_TANH
           : arch == AAE_ARCH_GPT_NEOX                   ? AAE_ACT_GELU_ERF
                                                         : AAE_ACT_SILU;
    const char *key = aae_json_get(mc, "hidden_activation") ? "hidden_activation" : "hidden_act";
    const aae_json *v = aae_json_get(mc, key);
    if (!v || v->type == AAE_JSON_NULL)
        return AAE_OK;
    const char *s = aae_json_str(v);
    if (!s)
        return bad(c, key, "an activation name", v);
    if (!strcmp(s, "silu") || !strcmp(s, "swish"))
        *out = AAE_ACT_SILU;
    else if (!strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_new") || !strcmp(s, "gelu_fast"))
        *out = AAE_ACT_GELU_TANH;
    else if (!strcmp(s, "gelu"))
        *out = arch == AAE_ARCH_GEMMA ? AAE_ACT_GELU_TANH : AAE_ACT_GELU_ERF; /* HF gemma maps "gelu" to tanh */
    else
        return aae_error_set(c->err, AAE_ERR_UNSUPPORTED, "%s: %s/%s: activation \"%s\" is not supported", c->label,
                             c->base, key, s);
    return AAE_OK;
}

static aae_status read_rope_scaling(cc_ctx *c, const aae_json *mc, aae_model_dims *d)
{
    const aae_json *rs = aae_json_get(mc, "rope_scaling");
    if (!rs || rs->type == AAE_JSON_NULL)
        return AAE_OK;
    const char *type = aae_json_str(aae_json_get(rs, "rope_type"));
    if (!type)
        type = aae_json_str(aae_json_get(rs, "type"));
    if (rs->type != AAE_JSON_OBJECT || !type || strcmp(type, "llama3") != 0)
        return aae_error_set(c->err, AAE_ERR_UNSUPPORTED,
                             "%s: /model_config/rope_scaling: only rope_type \"llama3\" is supported; use a model "
                             "without other RoPE scaling",
                             c->label);
    c->base = "/model_config/rope_scaling";
    d->rope_llama3 = 1;
    TRY(get_num(c, rs, KEYS("factor"), 8.0, 1e-6, 1e6, &d->rope_factor));
    TRY(get_num(c, rs, KEYS("low_freq_factor"), 1.0, 1e-6, 1e6, &d->rope_low_freq_factor));
    TRY(get_num(c, rs, KEYS("high_freq_factor"), 4.0, 1e-6, 1e6, &d->rope_high_freq_factor));
    TRY(get_int(c, rs, KEYS("original_max_position_embeddings"), 8192, 0, 1, (int64_t)1 << 30,
                &d->rope_original_max_pos));
    if (d->rope_high_freq_factor <= d->rope_low_freq_factor)
        return bad(c, "high_freq_factor", "a number above low_freq_factor", NULL);
    c->base = "/model_config";
    return AAE_OK;
}

static aae_status read_dims(cc_ctx *c, const aae_json *mc, aae_arch arch, aae_model_dims *d)
{
    int64_t v;
    c->base = "/model_config";
    TRY(get_int(c, mc, KEYS("hidden_size", "n_embd", "d_model"), 0, 1, 1, DIM_MAX, &d->hidden_size));
    TRY(get_int(c, mc, KEYS("num_hidden_layers", "n_layer"), 0, 1, 1, 4096, &d->num_layers));
    TRY(get_int(c, mc, KEYS("num_attention_heads", "n_head"), 0, 1, 1, 4096, &d->num_heads));
    int wide = arch == AAE_ARCH_GPT_NEOX || arch == AAE_ARCH_PHI;
    TRY(get_int(c, mc, KEYS("intermediate_size", "n_inner"), wide ? 4 * d->hidden_size : 0, !wide, 1, DIM_MAX,
                &d->intermediate_size));
    TRY(get_int(c, mc, KEYS("num_key_value_heads"), d->num_heads, 0, 0, 4096, &d->num_kv_heads));
    if (d->num_kv_heads == 0) /* MLC writes 0 for "same as heads" */
        d->num_kv_heads = d->num_heads;
    TRY(get_int(c, mc, KEYS("head_dim"), d->hidden_size / d->num_heads, 0, 0, 65536, &d->head_dim));
    if (d->head_dim == 0)
        d->head_dim = d->hidden_size / d->num_heads;
    if (d->head_dim <= 0 || d->head_dim % 2 || d->num_heads % d->num_kv_heads)
        return aae_error_set(c->err, AAE_ERR_FORMAT,
                             "%s: /model_config: head_dim %lld must be even and positive, and num_attention_heads %lld "
                             "a multiple of num_key_value_heads %lld",
                             c->label, (long long)d->head_dim, (long long)d->num_heads, (long long)d->num_kv_heads);
    TRY(get_int(c, mc, KEYS("vocab_size"), 0, 0, 0, DIM_MAX, &d->vocab_size));
    TRY(get_num(c, mc, KEYS("rope_theta", "position_embedding_base", "rotary_emb_base"), 10000.0, 0.0, 1e12,
                &d->rope_theta));
    if (d->rope_theta <= 0) /* MLC writes 0 for "the architecture's default" */
        d->rope_theta = 10000.0;
    int wide_norm = wide;
    const aae_json *nt = aae_json_get(mc, "norm_type");
    if (nt && aae_json_str(nt)) {
        if (strcmp(aae_json_str(nt), "layer_norm") && strcmp(aae_json_str(nt), "rms_norm"))
            return bad(c, "norm_type", "\"rms_norm\" or \"layer_norm\"", NULL);
        wide_norm = !strcmp(aae_json_str(nt), "layer_norm");
    }
    d->layer_norm = wide_norm;
    double eps_default = arch == AAE_ARCH_GEMMA || arch == AAE_ARCH_QWEN2 ? 1e-6 : 1e-5;
    TRY(get_num(c, mc, KEYS("norm_eps", "rms_norm_eps", "layer_norm_eps", "layer_norm_epsilon"), eps_default, 0.0,
                1.0, &d->norm_eps));
    d->rotary_dim = d->head_dim;
    double pct;
    TRY(get_num(c, mc, KEYS("partial_rotary_factor", "rotary_pct"), arch == AAE_ARCH_PHI ? 0.5 : 1.0, 0.0, 1.0, &pct));
    TRY(get_int(c, mc, KEYS("rotary_dim"), (int64_t)((double)d->head_dim * pct), 0, 0, d->head_dim, &v));
    d->rotary_dim = v & ~(int64_t)1;
    TRY(get_bool(c, mc, "tie_word_embeddings", arch == AAE_ARCH_GEMMA, &d->tie_word_embeddings));
    if (arch == AAE_ARCH_GEMMA)
        d->tie_word_embeddings = 1;
    int pr_default = arch == AAE_ARCH_GPT_NEOX || arch == AAE_ARCH_PHI;
    TRY(get_bool(c, mc, aae_json_get(mc, "parallel_residual") ? "parallel_residual" : "use_parallel_residual",
                 pr_default, &d->use_parallel_residual));
    if (arch == AAE_ARCH_PHI)
        d->use_parallel_residual = 1;
    TRY(get_bool(c, mc, "qkv_bias", arch == AAE_ARCH_QWEN2 || wide, &d->qkv_bias));
    TRY(get_bool(c, mc, "mlp_bias", wide, &d->mlp_bias));
    TRY(get_bool(c, mc, "lm_head_bias", arch == AAE_ARCH_PHI, &d->lm_head_bias));
    d->gated_mlp = !wide;
    const aae_json *mt = aae_json_get(mc, "mlp_type");
    if (mt && aae_json_str(mt))
        d->gated_mlp = strcmp(aae_json_str(mt), "plain") != 0;
    double emb_default = arch == AAE_ARCH_GEMMA ? __builtin_sqrt((double)d->hidden_size) : 1.0;
    TRY(get_num(c, mc, KEYS("embedding_scale"), emb_default, 0.0, 1e6, &d->embedding_scale));
    if (d->embedding_scale <= 0) /* 0 = "the architecture's default", as MLC's 0 for rope bases */
        d->embedding_scale = emb_default;
    TRY(read_rope_scaling(c, mc, d));
    TRY(read_act(c, mc, arch, &d->act));
    c->base = "";
    return AAE_OK;
}

static aae_status read_strings(cc_ctx *c, const aae_json *root, aae_chat_config *cfg)
{
    const aae_json *tf = aae_json_get(root, "tokenizer_files");
    if (tf && tf->type != AAE_JSON_NULL) {
        if (tf->type != AAE_JSON_ARRAY)
            return bad(c, "tokenizer_files", "an array of file names", tf);
        cfg->tokenizer_files = calloc(tf->u.arr.count + 1, sizeof *cfg->tokenizer_files);
        if (!cfg->tokenizer_files)
            return aae_error_set(c->err, AAE_ERR_NOMEM, "%s: out of memory", c->label);
        for (size_t i = 0; i < tf->u.arr.count; i++) {
            const char *s = aae_json_str(tf->u.arr.items[i]);
            if (!s || !aae_is_plain_file_name(s) || strlen(s) != tf->u.arr.items[i]->u.str.len)
                return aae_error_set(c->err, AAE_ERR_FORMAT,
                                     "%s: /tokenizer_files/%zu: expected a plain file name in the model directory "
                                     "(no '/', '\\', control character or leading '.'), such as \"tokenizer.json\"",
                                     c->label, i);
            cfg->tokenizer_files[cfg->n_tokenizer_files++] = s;
        }
    }
    const aae_json *ct = aae_json_get(root, "conv_template");
    cfg->conv_template = "";
    if (ct && ct->type == AAE_JSON_OBJECT)
        ct = aae_json_get(ct, "name");
    if (ct && ct->type != AAE_JSON_NULL) {
        if (!aae_json_str(ct))
            return bad(c, "conv_template", "a template name or an object with \"name\"", ct);
        cfg->conv_template = aae_json_str(ct);
    }
    return AAE_OK;
}

static aae_status read_token_ids(cc_ctx *c, const aae_json *root, aae_chat_config *cfg)
{
    int64_t hi = cfg->vocab_size > 0 ? cfg->vocab_size - 1 : INT32_MAX;
    TRY(get_int(c, root, KEYS("bos_token_id"), -1, 0, -1, hi, &cfg->bos_token_id));
    TRY(get_int(c, root, KEYS("pad_token_id"), -1, 0, -1, hi, &cfg->pad_token_id));
    const aae_json *eos = aae_json_get(root, "eos_token_id");
    size_t n = eos && eos->type == AAE_JSON_ARRAY ? eos->u.arr.count : 1;
    int64_t *ids = calloc(n + 1, sizeof *ids);
    if (!ids)
        return aae_error_set(c->err, AAE_ERR_NOMEM, "%s: out of memory", c->label);
    cfg->eos_token_ids = ids;
    if (!eos || eos->type == AAE_JSON_NULL)
        return AAE_OK;
    if (eos->type == AAE_JSON_NUMBER)
        return get_int(c, root, KEYS("eos_token_id"), -1, 1, 0, hi, &ids[cfg->n_eos_token_ids++]);
    if (eos->type != AAE_JSON_ARRAY)
        return bad(c, "eos_token_id", "an integer or an array of integers", eos);
    for (size_t i = 0; i < n; i++) {
        const aae_json *v = eos->u.arr.items[i];
        if (v->type != AAE_JSON_NUMBER || !v->u.num.is_int || v->u.num.i < 0 || v->u.num.i > hi)
            return aae_error_set(c->err, AAE_ERR_FORMAT, "%s: /eos_token_id/%zu: expected a token id in [0, %lld]",
                                 c->label, i, (long long)hi);
        ids[cfg->n_eos_token_ids++] = v->u.num.i;
    }
    return AAE_OK;
}

static aae_status read_sizes(cc_ctx *c, const aae_json *root, const aae_json *mc, aae_chat_config *cfg)
{
    int64_t v;
    TRY(get_int(c, root, KEYS("vocab_size"), cfg->dims.vocab_size, cfg->dims.vocab_size == 0, 1, DIM_MAX,
                &cfg->vocab_size));
    if (cfg->dims.vocab_size == 0)
        cfg->dims.vocab_size = cfg->vocab_size;
    TRY(get_int(c, root, KEYS("context_window_size"), -1, 0, -1, (int64_t)1 << 24, &cfg->context_window_size));
    c->base = "/model_config";
    if (cfg->context_window_size <= 0)
        TRY(get_int(c, mc, KEYS("context_window_size", "max_position_embeddings", "n_positions"), -1, 0, -1,
                    (int64_t)1 << 24, &cfg->context_window_size));
    c->base = "";
    TRY(get_int(c, root, KEYS("sliding_window_size"), -1, 0, -1, (int64_t)1 << 24, &cfg->sliding_window_size));
    if (cfg->sliding_window_size == 0)
        cfg->sliding_window_size = -1;
    TRY(get_int(c, root, KEYS("attention_sink_size"), -1, 0, -1, (int64_t)1 << 20, &cfg->attention_sink_size));
    if (cfg->context_window_size <= 0 && cfg->sliding_window_size <= 0)
        return aae_error_set(c->err, AAE_ERR_FORMAT,
                             "%s: /context_window_size: missing or -1 and no sliding window; set a positive context "
                             "window (gen_config --context-window-size N)",
                             c->label);
    int64_t dflt = cfg->context_window_size > 0 ? cfg->context_window_size : cfg->sliding_window_size;
    if (dflt > 2048)
        dflt = 2048;
    TRY(get_int(c, root, KEYS("prefill_chunk_size"), -1, 0, -1, (int64_t)1 << 20, &v));
    if (v <= 0) {
        c->base = "/model_config";
        TRY(get_int(c, mc, KEYS("prefill_chunk_size"), dflt, 0, -1, (int64_t)1 << 20, &v));
        c->base = "";
    }
    cfg->prefill_chunk_size = v > 0 ? v : dflt;
    return AAE_OK;
}

static aae_status read_sampling(cc_ctx *c, const aae_json *root, aae_chat_config *cfg)
{
    TRY(get_num(c, root, KEYS("temperature"), 1.0, 0.0, 100.0, &cfg->temperature));
    TRY(get_num(c, root, KEYS("top_p"), 1.0, 0.0, 1.0, &cfg->top_p));
    TRY(get_num(c, root, KEYS("repetition_penalty"), 1.0, 0.0, 100.0, &cfg->repetition_penalty));
    TRY(get_num(c, root, KEYS("presence_penalty"), 0.0, -100.0, 100.0, &cfg->presence_penalty));
    TRY(get_num(c, root, KEYS("frequency_penalty"), 0.0, -100.0, 100.0, &cfg->frequency_penalty));
    TRY(get_int(c, root, KEYS("top_k"), 0, 0, 0, INT32_MAX, &cfg->top_k));
    return AAE_OK;
}

static aae_status parse_root(cc_ctx *c, const aae_json *root, aae_chat_config *cfg)
{
    if (!root || root->type != AAE_JSON_OBJECT)
        return aae_error_set(c->err, AAE_ERR_FORMAT, "%s: expected a JSON object", c->label);
    const aae_json *mt = aae_json_get(root, "model_type");
    if (!aae_json_str(mt))
        return bad(c, "model_type", "a string", mt);
    cfg->model_type = aae_json_str(mt);
    if (!aae_chat_arch_from_name(cfg->model_type, &cfg->arch) && strcmp(cfg->model_type, "phi-msft") != 0)
        return aae_error_set(c->err, AAE_ERR_UNSUPPORTED,
                             "%s: /model_type: \"%s\" is not supported; expected llama, mistral, gemma, gpt_neox, "
                             "phi or qwen2",
                             c->label, cfg->model_type);
    if (!strcmp(cfg->model_type, "phi-msft"))
        cfg->arch = AAE_ARCH_PHI;
    const aae_json *q = aae_json_get(root, "quantization");
    if (!aae_json_str(q))
        return bad(c, "quantization", "a string", q);
    cfg->quantization = aae_json_str(q);
    if (!aae_chat_quant_from_name(cfg->quantization, &cfg->quant))
        return aae_error_set(c->err, AAE_ERR_UNSUPPORTED,
                             "%s: /quantization: \"%s\" is not supported; expected q0f32, q0f16, q4f16_1, q4f32_1 "
                             "or q3f16_1",
                             c->label, cfg->quantization);
    const aae_json *mc = aae_json_get(root, "model_config");
    if (!mc || mc->type != AAE_JSON_OBJECT)
        return bad(c, "model_config", "an object", mc);
    cfg->model_config = mc;
    TRY(read_dims(c, mc, cfg->arch, &cfg->dims));
    TRY(read_sizes(c, root, mc, cfg));
    TRY(read_sampling(c, root, cfg));
    TRY(read_strings(c, root, cfg));
    TRY(read_token_ids(c, root, cfg));
    return AAE_OK;
}

aae_status aae_chat_config_parse(const char *text, size_t len, const char *label, aae_chat_config **out,
                                 aae_error *err)
{
    aae_json_doc *doc = NULL;
    if (aae_json_parse(text, len, &doc, err) != AAE_OK)
        return aae_error_prefix(err, "%s", label);
    aae_chat_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg || !(cfg->path = strdup(label))) {
        free(cfg);
        aae_json_free(doc);
        return aae_error_set(err, AAE_ERR_NOMEM, "%s: out of memory", label);
    }
    cfg->doc = doc;
    cc_ctx c = {.label = label, .err = err, .base = ""};
    aae_status st = parse_root(&c, aae_json_root(doc), cfg);
    if (st != AAE_OK) {
        aae_chat_config_free(cfg);
        return st;
    }
    *out = cfg;
    return AAE_OK;
}

aae_status aae_chat_config_load(const char *model_dir, aae_chat_config **out, aae_error *err)
{
    char path[4096];
    int found = aae_find_file_or_alt(path, sizeof path, model_dir, "sphere-aae-chat-config.json",
                                     "mlc-chat-config.json");
    if (found < 0)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "%s: path too long", model_dir);
    if (!found)
        return aae_error_set(err, AAE_ERR_NOT_FOUND,
                             "%s: neither sphere-aae-chat-config.json nor mlc-chat-config.json exists; run "
                             "sphere_aae gen_config to write one",
                             model_dir);
    char *text = NULL;
    size_t len = 0;
    aae_status st = aae_read_file(path, (size_t)16 << 20, &text, &len, err);
    if (st != AAE_OK)
        return st;
    st = aae_chat_config_parse(text, len, path, out, err);
    free(text);
    return st;
}

void aae_chat_config_free(aae_chat_config *cfg)
{
    if (!cfg)
        return;
    free((void *)cfg->tokenizer_files);
    free((void *)cfg->eos_token_ids);
    aae_json_free(cfg->doc);
    free((char *)cfg->path);
    free(cfg);
}
