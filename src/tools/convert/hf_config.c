/*
 * hf_config.c - reads config.json (see hf_config.h and docs/format.md).
 */
#include "hf_config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/fs.h"

#define DIM_MAX ((int64_t)1 << 24) /* no real model dimension comes near */

/* transformers' class name per architecture (the model_type names are the runtime's,
 * aae_chat_arch_name) */
static const char *const ARCH_CLASSES[AAE_ARCH_COUNT] = {
    [AAE_ARCH_LLAMA] = "LlamaForCausalLM", [AAE_ARCH_MISTRAL] = "MistralForCausalLM",
    [AAE_ARCH_GEMMA] = "GemmaForCausalLM", [AAE_ARCH_GPT_NEOX] = "GPTNeoXForCausalLM",
    [AAE_ARCH_PHI] = "PhiForCausalLM",     [AAE_ARCH_QWEN2] = "Qwen2ForCausalLM",
};

static aae_status detect_arch(aae_hf_config *c, const aae_json *root, aae_error *err)
{
    const char *cls = aae_json_str(aae_json_at(aae_json_get(root, "architectures"), 0));
    const char *mt = aae_json_str(aae_json_get(root, "model_type"));
    for (int i = 0; i < AAE_ARCH_COUNT; i++)
        if (cls && strcmp(cls, ARCH_CLASSES[i]) == 0) {
            c->arch = (aae_arch)i;
            return AAE_OK;
        }
    if (aae_chat_arch_from_name(mt, &c->arch))
        return AAE_OK;
    return aae_error_set(err, AAE_ERR_UNSUPPORTED, "%s: unknown architecture (/architectures/0 = %s%s%s, "
                         "/model_type = %s%s%s); supported: LlamaForCausalLM (llama), MistralForCausalLM (mistral), "
                         "GemmaForCausalLM (gemma), GPTNeoXForCausalLM (gpt_neox), PhiForCausalLM (phi), "
                         "Qwen2ForCausalLM (qwen2)", c->path, cls ? "\"" : "", cls ? cls : "absent", cls ? "\"" : "",
                         mt ? "\"" : "", mt ? mt : "absent", mt ? "\"" : "");
}

/* Reads a positive integer member (the first of `keys` present); dflt if none and
 * dflt > 0, else an error. */
static aae_status get_dim(const aae_hf_config *c, const aae_json *root, const char *const *keys, int64_t dflt,
                          int64_t *out, aae_error *err)
{
    for (int i = 0; keys[i]; i++) {
        const aae_json *v = aae_json_get(root, keys[i]);
        if (!v || v->type == AAE_JSON_NULL)
            continue;
        if (v->type != AAE_JSON_NUMBER || !v->u.num.is_int || v->u.num.i <= 0 || v->u.num.i > DIM_MAX)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: /%s (line %u): expected a positive integer up to %lld",
                                 c->path, keys[i], v->line, (long long)DIM_MAX);
        *out = v->u.num.i;
        return AAE_OK;
    }
    if (dflt > 0) {
        *out = dflt;
        return AAE_OK;
    }
    return aae_error_set(err, AAE_ERR_FORMAT, "%s: /%s is missing; a %s config.json must give it", c->path, keys[0],
                         c->model_type);
}

static aae_status get_num(const aae_hf_config *c, const aae_json *root, const char *const *keys, double dflt,
                          double *out, aae_error *err)
{
    for (int i = 0; keys[i]; i++) {
        const aae_json *v = aae_json_get(root, keys[i]);
        if (!v || v->type == AAE_JSON_NULL)
            continue;
        if (v->type != AAE_JSON_NUMBER || !(v->u.num.value >= 0) || !isfinite(v->u.num.value))
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: /%s (line %u): expected a non-negative number", c->path,
                                 keys[i], v->line);
        *out = v->u.num.value;
        return AAE_OK;
    }
    if (dflt >= 0) {
        *out = dflt;
        return AAE_OK;
    }
    return aae_error_set(err, AAE_ERR_FORMAT, "%s: /%s is missing; a %s config.json must give it", c->path, keys[0],
                         c->model_type);
}

static aae_status get_flag(const aae_hf_config *c, const aae_json *root, const char *key, int dflt, int *out,
                           aae_error *err)
{
    if (!aae_json_get_bool(root, key, dflt, out))
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: /%s: expected true or false", c->path, key);
    return AAE_OK;
}

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static aae_status read_act(aae_hf_config *c, const aae_json *root, aae_error *err)
{
    const char *act = NULL, *dflt = "silu";
    if (c->arch == AAE_ARCH_GEMMA) {
        act = aae_json_str(aae_json_get(root, "hidden_activation"));
        dflt = "gelu_pytorch_tanh"; /* what transformers uses when hidden_activation is null */
    } else {
        act = aae_json_str(aae_json_get(root, "hidden_act"));
        if (c->arch == AAE_ARCH_GPT_NEOX)
            dflt = "gelu";
        if (c->arch == AAE_ARCH_PHI)
            dflt = "gelu_new";
    }
    if (!act)
        act = dflt;
    static const char *const known[] = {"silu", "swish", "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", NULL};
    for (int i = 0; known[i]; i++)
        if (strcmp(act, known[i]) == 0) {
            snprintf(c->hidden_act, sizeof c->hidden_act, "%s", strcmp(act, "swish") == 0 ? "silu" : act);
            return AAE_OK;
        }
    return aae_error_set(err, AAE_ERR_UNSUPPORTED, "%s: /%s = \"%s\" is not a supported activation (silu, gelu, "
                         "gelu_new, gelu_pytorch_tanh, gelu_fast)", c->path,
                         c->arch == AAE_ARCH_GEMMA ? "hidden_activation" : "hidden_act", act);
}

/* Features of the HF config that the runtime does not implement are refused here,
 * rather than converting a model that would compute something else. */
static aae_status refuse_unsupported(aae_hf_config *c, const aae_json *root, aae_error *err)
{
    int b = 0;
    const char *flag = NULL;
    if ((c->arch == AAE_ARCH_LLAMA || c->arch == AAE_ARCH_MISTRAL || c->arch == AAE_ARCH_GEMMA) &&
        aae_json_get_bool(root, "attention_bias", 0, &b) && b)
        flag = "attention_bias";
    else if ((c->arch == AAE_ARCH_LLAMA || c->arch == AAE_ARCH_MISTRAL) &&
             aae_json_get_bool(root, "mlp_bias", 0, &b) && b)
        flag = "mlp_bias";
    else if (c->arch == AAE_ARCH_PHI && aae_json_get_bool(root, "qk_layernorm", 0, &b) && b)
        flag = "qk_layernorm";
    if (flag)
        return aae_error_set(err, AAE_ERR_UNSUPPORTED, "%s: /%s is true; %s models with it are not supported",
                             c->path, flag, c->model_type);
    const aae_json *rs = aae_json_get(root, "rope_scaling");
    if (rs && rs->type != AAE_JSON_NULL) {
        const char *type = aae_json_str(aae_json_get(rs, "rope_type"));
        if (!type)
            type = aae_json_str(aae_json_get(rs, "type"));
        if (c->arch != AAE_ARCH_LLAMA || !type || strcmp(type, "llama3") != 0)
            return aae_error_set(err, AAE_ERR_UNSUPPORTED, "%s: /rope_scaling: only llama's \"llama3\" rope scaling "
                                 "is supported, found %s%s", c->path, type ? "type " : "an object without a type",
                                 type ? type : "");
        c->rope_scaling = rs;
    }
    return AAE_OK;
}

static aae_status read_dims(aae_hf_config *c, const aae_json *root, aae_error *err)
{
    aae_status st;
    if ((st = get_dim(c, root, KEYS("hidden_size", "n_embd"), 0, &c->hidden_size, err)) ||
        (st = get_dim(c, root, KEYS("num_hidden_layers", "n_layer"), 0, &c->num_hidden_layers, err)) ||
        (st = get_dim(c, root, KEYS("num_attention_heads", "n_head"), 0, &c->num_attention_heads, err)) ||
        (st = get_dim(c, root, KEYS("vocab_size"), 0, &c->vocab_size, err)) ||
        (st = get_dim(c, root, KEYS("intermediate_size", "n_inner"),
                      c->arch == AAE_ARCH_PHI || c->arch == AAE_ARCH_GPT_NEOX ? 4 * c->hidden_size : 0,
                      &c->intermediate_size, err)))
        return st;
    int64_t nkv_default = c->num_attention_heads;
    if (c->arch == AAE_ARCH_GPT_NEOX)
        c->num_key_value_heads = nkv_default;
    else if ((st = get_dim(c, root, KEYS("num_key_value_heads"), nkv_default, &c->num_key_value_heads, err)))
        return st;
    int64_t hd_default = c->hidden_size % c->num_attention_heads == 0 ? c->hidden_size / c->num_attention_heads : 0;
    if (c->arch == AAE_ARCH_GPT_NEOX || c->arch == AAE_ARCH_PHI)
        c->head_dim = hd_default;
    else if ((st = get_dim(c, root, KEYS("head_dim"), hd_default, &c->head_dim, err)))
        return st;
    if (c->head_dim <= 0)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: /hidden_size (%lld) is not a multiple of "
                             "/num_attention_heads (%lld)", c->path, (long long)c->hidden_size,
                             (long long)c->num_attention_heads);
    if (c->head_dim % 2) /* the runtime (format/chat_config) needs rotary pairs: an odd head_dim cannot load */
        return aae_error_set(err, AAE_ERR_UNSUPPORTED, "%s: head_dim %lld (%s) is odd; AAE runs attention heads "
                             "of even size only", c->path, (long long)c->head_dim,
                             c->arch == AAE_ARCH_GPT_NEOX || c->arch == AAE_ARCH_PHI || !aae_json_get(root, "head_dim")
                                 ? "/hidden_size / /num_attention_heads"
                                 : "/head_dim");
    if (c->num_attention_heads % c->num_key_value_heads != 0)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: /num_attention_heads (%lld) is not a multiple of "
                             "/num_key_value_heads (%lld)", c->path, (long long)c->num_attention_heads,
                             (long long)c->num_key_value_heads);
    /* keep every tensor's element count far from overflow */
    if (c->vocab_size * c->hidden_size > ((int64_t)1 << 40) ||
        c->intermediate_size * c->hidden_size > ((int64_t)1 << 40) ||
        c->num_attention_heads * c->head_dim > DIM_MAX)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: dimensions are implausibly large", c->path);
    return AAE_OK;
}

static aae_status read_rest(aae_hf_config *c, const aae_json *root, aae_error *err)
{
    aae_status st;
    int rms = c->arch != AAE_ARCH_GPT_NEOX && c->arch != AAE_ARCH_PHI;
    c->norm_rms = rms;
    if ((st = get_num(c, root, rms ? KEYS("rms_norm_eps") : KEYS("layer_norm_eps", "layer_norm_epsilon"),
                      rms ? 1e-6 : 1e-5, &c->norm_eps, err)) ||
        (st = get_num(c, root, KEYS("rope_theta", "rotary_emb_base"), 10000.0, &c->rope_theta, err)))
        return st;
    /* The runtime's chat-config reader accepts exactly these ranges. */
    if (c->norm_eps > 1.0)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: the norm epsilon %g must be in [0, 1] (rms_norm_eps / "
                             "layer_norm_eps)", c->path, c->norm_eps);
    if (c->rope_theta > 1e12)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: /rope_theta %g must be at most 1e12", c->path, c->rope_theta);
    c->partial_rotary_factor = 1.0;
    if (c->arch == AAE_ARCH_GPT_NEOX)
        st = get_num(c, root, KEYS("rotary_pct"), 1.0, &c->partial_rotary_factor, err);
    else if (c->arch == AAE_ARCH_PHI)
        st = get_num(c, root, KEYS("partial_rotary_factor"), 0.5, &c->partial_rotary_factor, err);
    if (st)
        return st;
    if (c->partial_rotary_factor <= 0 || c->partial_rotary_factor > 1)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: the rotary fraction %g must be in (0, 1]", c->path,
                             c->partial_rotary_factor);
    c->rotary_dim = (int64_t)(c->partial_rotary_factor * (double)c->head_dim);
    if (c->rotary_dim < 2 || c->rotary_dim % 2)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: rotary dimension %lld (fraction %g of head_dim %lld) must "
                             "be even and at least 2", c->path, (long long)c->rotary_dim, c->partial_rotary_factor,
                             (long long)c->head_dim);
    c->embedding_scale = c->arch == AAE_ARCH_GEMMA ? sqrt((double)c->hidden_size) : 1.0;
    c->max_position_embeddings = -1;
    const aae_json *v = NULL;
    static const char *const ctx_keys[] = {"max_position_embeddings", "n_positions", "max_sequence_length",
                                           "seq_length", NULL};
    for (int i = 0; ctx_keys[i] && !v; i++)
        if ((v = aae_json_get(root, ctx_keys[i])) && v->type == AAE_JSON_NULL)
            v = NULL;
    if (v) {
        if (v->type != AAE_JSON_NUMBER || !v->u.num.is_int || v->u.num.i <= 0 || v->u.num.i > ((int64_t)1 << 31))
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: line %u: the maximum position count must be a positive "
                                 "integer", c->path, v->line);
        c->max_position_embeddings = v->u.num.i;
    }
    c->sliding_window = -1;
    v = aae_json_get(root, "sliding_window");
    if (c->arch == AAE_ARCH_MISTRAL && v && v->type != AAE_JSON_NULL) {
        if (v->type != AAE_JSON_NUMBER || !v->u.num.is_int || v->u.num.i <= 0 || v->u.num.i > ((int64_t)1 << 31))
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: /sliding_window: expected a positive integer or null",
                                 c->path);
        c->sliding_window = v->u.num.i;
    }
    return AAE_OK;
}

static void arch_traits(aae_hf_config *c)
{
    aae_arch a = c->arch;
    c->gated_mlp = a != AAE_ARCH_GPT_NEOX && a != AAE_ARCH_PHI;
    c->qkv_bias = a == AAE_ARCH_GPT_NEOX || a == AAE_ARCH_PHI || a == AAE_ARCH_QWEN2;
    c->mlp_bias = a == AAE_ARCH_GPT_NEOX || a == AAE_ARCH_PHI;
    c->lm_head_bias = a == AAE_ARCH_PHI;
    c->parallel_residual = a == AAE_ARCH_PHI;
}

aae_status aae_hf_config_load(const char *hf_dir, aae_hf_config *c, aae_error *err)
{
    memset(c, 0, sizeof *c);
    if (!aae_is_dir(hf_dir))
        return aae_error_set(err, AAE_ERR_NOT_FOUND, "%s: no such folder (HF_DIR must be a Hugging Face model "
                             "folder holding config.json and *.safetensors)", hf_dir);
    if (!aae_path_join(c->path, sizeof c->path, hf_dir, "config.json"))
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "%s: path too long", hf_dir);
    if (!aae_is_file(c->path))
        return aae_error_set(err, AAE_ERR_NOT_FOUND, "%s: missing; HF_DIR must be a Hugging Face model folder "
                             "(config.json, model.safetensors, tokenizer files)", c->path);
    aae_status st = aae_json_parse_file(c->path, &c->doc, err);
    if (st)
        return st;
    const aae_json *root = aae_json_root(c->doc);
    if (!aae_json_is(root, AAE_JSON_OBJECT))
        st = aae_error_set(err, AAE_ERR_FORMAT, "%s: expected a JSON object", c->path);
    if (!st)
        st = detect_arch(c, root, err);
    if (!st) {
        c->model_type = aae_chat_arch_name(c->arch);
        arch_traits(c);
        if (c->arch == AAE_ARCH_GEMMA)
            c->tie_word_embeddings = 1;
        else if (c->arch == AAE_ARCH_LLAMA || c->arch == AAE_ARCH_QWEN2)
            st = get_flag(c, root, "tie_word_embeddings", 0, &c->tie_word_embeddings, err);
        if (!st && c->arch == AAE_ARCH_GPT_NEOX)
            st = get_flag(c, root, "use_parallel_residual", 1, &c->parallel_residual, err);
    }
    if (!st)
        st = refuse_unsupported(c, root, err);
    if (!st)
        st = read_dims(c, root, err);
    if (!st)
        st = read_rest(c, root, err);
    if (!st)
        st = read_act(c, root, err);
    if (st) {
        aae_hf_config_free(c);
        return st;
    }
    return AAE_OK;
}

void aae_hf_config_free(aae_hf_config *c)
{
    if (!c)
        return;
    aae_json_free(c->doc);
    c->doc = NULL;
    c->rope_scaling = NULL;
}
