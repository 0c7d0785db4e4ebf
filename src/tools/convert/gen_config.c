/*
 * gen_config.c - sphere-aae-chat-config.json writer (docs/format.md).
 */
#include "gen_config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "hf_config.h"
#include "outdir.h"
#include "quant.h"
#include "did_you_mean.h"

const char *const AAE_CONV_TEMPLATES[] = {"llama-2", "llama-3", "mistral_default", "gemma_instruction", "phi-2",
                                          "qwen2", "chatml", "redpajama_chat", "LM", NULL};

static const char *const TOKENIZER_FILES[] = {"tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                                              "vocab.json", "merges.txt", "added_tokens.json",
                                              "special_tokens_map.json", NULL};

void aae_gen_config_default_options(aae_gen_config_options *o)
{
    memset(o, 0, sizeof *o);
    o->context_window_size = o->prefill_chunk_size = AAE_GEN_UNSET;
    o->sliding_window_size = o->attention_sink_size = AAE_GEN_UNSET;
}

typedef struct gen {
    const aae_gen_config_options *opt;
    aae_hf_config cfg;
    aae_json_doc *gen_doc; /* generation_config.json, may be NULL */
    char gen_path[4200];
    int64_t context_window, sliding_window, prefill_chunk, sink;
    aae_buf out;
} gen;

static void note(const gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(const gen *g, const char *fmt, ...)
{
    if (!g->opt->note)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    g->opt->note(g->opt->note_ctx, msg);
}

static aae_status check_template(const char *t, aae_error *err)
{
    if (!t)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--conv-template is required (one of llama-2, llama-3, "
                             "mistral_default, gemma_instruction, phi-2, qwen2, chatml, redpajama_chat, LM)");
    for (int i = 0; AAE_CONV_TEMPLATES[i]; i++)
        if (strcmp(t, AAE_CONV_TEMPLATES[i]) == 0)
            return AAE_OK;
    const char *best = aae_did_you_mean(t, AAE_CONV_TEMPLATES, (size_t)-1);
    char hint[128] = "";
    if (best)
        snprintf(hint, sizeof hint, " Did you mean \"%s\"?", best);
    return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--conv-template %s: unknown template.%s Known: llama-2, "
                         "llama-3, mistral_default, gemma_instruction, phi-2, qwen2, chatml, redpajama_chat, LM", t,
                         hint);
}

/* Sizes: overrides, then config.json (docs/format.md). */
static aae_status derive_sizes(gen *g, aae_error *err)
{
    const aae_gen_config_options *o = g->opt;
    if (o->sliding_window_size != AAE_GEN_UNSET && o->sliding_window_size != -1 && o->sliding_window_size <= 0)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--sliding-window-size %" PRId64 ": expected a positive "
                             "size, or -1 for off", o->sliding_window_size);
    g->sliding_window = o->sliding_window_size != AAE_GEN_UNSET ? o->sliding_window_size : g->cfg.sliding_window;
    if (o->context_window_size != AAE_GEN_UNSET) {
        if (o->context_window_size <= 0 && !(o->context_window_size == -1 && g->sliding_window != -1))
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--context-window-size %" PRId64 ": expected a "
                                 "positive size (-1, unbounded, only with a sliding window)", o->context_window_size);
        g->context_window = o->context_window_size;
    } else if (g->sliding_window != -1) {
        g->context_window = -1;
    } else if (g->cfg.max_position_embeddings > 0) {
        g->context_window = g->cfg.max_position_embeddings;
    } else {
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: no /max_position_embeddings (or n_positions, "
                             "max_sequence_length, seq_length); pass --context-window-size N", g->cfg.path);
    }
    int64_t pc = 8192;
    if (g->sliding_window != -1 && g->sliding_window < pc)
        pc = g->sliding_window;
    if (g->context_window != -1 && g->context_window < pc)
        pc = g->context_window;
    if (o->prefill_chunk_size != AAE_GEN_UNSET) {
        if (o->prefill_chunk_size <= 0)
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--prefill-chunk-size %" PRId64 ": expected a "
                                 "positive size", o->prefill_chunk_size);
        pc = o->prefill_chunk_size;
        if (g->context_window != -1 && pc > g->context_window) {
            note(g, "note: --prefill-chunk-size %" PRId64 " is larger than the context window; using %" PRId64, pc,
                 g->context_window);
            pc = g->context_window;
        }
    }
    g->prefill_chunk = pc;
    if (o->attention_sink_size != AAE_GEN_UNSET) {
        if (g->sliding_window == -1)
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--attention-sink-size needs a sliding window "
                                 "(--sliding-window-size N, or a model whose config.json has one)");
        if (o->attention_sink_size < 0)
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--attention-sink-size %" PRId64 ": expected 0 or "
                                 "more", o->attention_sink_size);
        g->sink = o->attention_sink_size;
    } else {
        g->sink = g->sliding_window != -1 ? 4 : -1;
    }
    return AAE_OK;
}

/* The value of `key` from generation_config.json, else config.json (null counts as
 * absent). *from names the file. */
static const aae_json *lookup(const gen *g, const char *key, const char **from)
{
    const aae_json *v = aae_json_get(aae_json_root(g->gen_doc), key);
    if (v && v->type != AAE_JSON_NULL) {
        *from = g->gen_path;
        return v;
    }
    v = aae_json_get(aae_json_root(g->cfg.doc), key);
    *from = g->cfg.path;
    return v && v->type != AAE_JSON_NULL ? v : NULL;
}

/* A sampling default in [0, max]: the ranges the runtime's chat-config reader accepts. */
static aae_status put_number(gen *g, const char *key, double dflt, double max, aae_error *err)
{
    const char *from;
    const aae_json *v = lookup(g, key, &from);
    double x = dflt;
    if (v) {
        if (v->type != AAE_JSON_NUMBER || !isfinite(v->u.num.value) || v->u.num.value < 0 ||
            v->u.num.value > max)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: /%s (line %u): expected a number in [0, %g]", from, key,
                                 v->line, max);
        x = v->u.num.value;
    }
    aae_buf_printf(&g->out, "  \"%s\": ", key);
    aae_buf_json_number(&g->out, x);
    aae_buf_puts(&g->out, ",\n");
    return AAE_OK;
}

static int is_token_id(const aae_json *v)
{
    return v && v->type == AAE_JSON_NUMBER && v->u.num.is_int && v->u.num.i >= 0 && v->u.num.i <= INT32_MAX;
}

/* A token id the runtime will accept: inside the vocabulary (the runtime's chat-config
 * reader refuses an id >= vocab_size, so writing one would make an unloadable model). */
static aae_status check_in_vocab(const gen *g, const char *from, const char *ptr, int64_t id, aae_error *err)
{
    if (id < g->cfg.vocab_size)
        return AAE_OK;
    return aae_error_set(err, AAE_ERR_FORMAT, "%s: %s: token id %" PRId64 " is not below vocab_size %" PRId64
                         " (%s /vocab_size); fix the id or the vocabulary size", from, ptr, id, g->cfg.vocab_size,
                         g->cfg.path);
}

static aae_status put_token_id(gen *g, const char *key, int64_t dflt, int allow_list, const char *end,
                               aae_error *err)
{
    const char *from;
    const aae_json *v = lookup(g, key, &from);
    char ptr[96];
    snprintf(ptr, sizeof ptr, "/%s", key);
    aae_buf_printf(&g->out, "  \"%s\": ", key);
    if (!v) {
        if (dflt < g->cfg.vocab_size)
            aae_buf_printf(&g->out, "%" PRId64, dflt);
        else /* a vocabulary too small for the default id: none (eos: null, bos/pad: -1) */
            aae_buf_puts(&g->out, allow_list ? "null" : "-1");
        aae_buf_puts(&g->out, end);
        return AAE_OK;
    }
    if (is_token_id(v)) {
        aae_status st = check_in_vocab(g, from, ptr, v->u.num.i, err);
        if (st == AAE_OK)
            aae_buf_printf(&g->out, "%" PRId64 "%s", v->u.num.i, end);
        return st;
    }
    if (allow_list && v->type == AAE_JSON_ARRAY && aae_json_count(v) > 0) {
        aae_buf_putc(&g->out, '[');
        for (size_t i = 0; i < aae_json_count(v); i++) {
            const aae_json *e = aae_json_at(v, i);
            if (!is_token_id(e))
                return aae_error_set(err, AAE_ERR_FORMAT, "%s: /%s/%zu: expected a token id (integer >= 0)", from,
                                     key, i);
            snprintf(ptr, sizeof ptr, "/%s/%zu", key, i);
            aae_status st = check_in_vocab(g, from, ptr, e->u.num.i, err);
            if (st != AAE_OK)
                return st;
            aae_buf_printf(&g->out, "%s%" PRId64, i ? ", " : "", e->u.num.i);
        }
        aae_buf_printf(&g->out, "]%s", end);
        return AAE_OK;
    }
    return aae_error_set(err, AAE_ERR_FORMAT, "%s: /%s (line %u): expected a token id%s", from, key, v->line,
                         allow_list ? " or a non-empty list of them" : "");
}

/* Writes any JSON value (for rope_scaling). */
static void put_json(aae_buf *b, const aae_json *v)
{
    switch (v->type) {
    case AAE_JSON_NULL: aae_buf_puts(b, "null"); break;
    case AAE_JSON_BOOL: aae_buf_puts(b, v->u.boolean ? "true" : "false"); break;
    case AAE_JSON_NUMBER:
        if (v->u.num.is_int)
            aae_buf_printf(b, "%" PRId64, v->u.num.i);
        else
            aae_buf_json_number(b, v->u.num.value);
        break;
    case AAE_JSON_STRING: aae_buf_json_string(b, v->u.str.s, v->u.str.len); break;
    case AAE_JSON_ARRAY:
        aae_buf_putc(b, '[');
        for (size_t i = 0; i < v->u.arr.count; i++) {
            if (i)
                aae_buf_puts(b, ", ");
            put_json(b, v->u.arr.items[i]);
        }
        aae_buf_putc(b, ']');
        break;
    case AAE_JSON_OBJECT:
        aae_buf_putc(b, '{');
        for (size_t i = 0; i < v->u.obj.count; i++) {
            if (i)
                aae_buf_puts(b, ", ");
            aae_buf_json_string(b, v->u.obj.members[i].key, v->u.obj.members[i].key_len);
            aae_buf_puts(b, ": ");
            put_json(b, v->u.obj.members[i].value);
        }
        aae_buf_putc(b, '}');
        break;
    }
}

static void kv_int(aae_buf *b, const char *k, int64_t v)
{
    aae_buf_printf(b, "    \"%s\": %" PRId64 ",\n", k, v);
}

static void kv_num(aae_buf *b, const char *k, double v)
{
    aae_buf_printf(b, "    \"%s\": ", k);
    aae_buf_json_number(b, v);
    aae_buf_puts(b, ",\n");
}

static void kv_str(aae_buf *b, const char *k, const char *v)
{
    aae_buf_printf(b, "    \"%s\": ", k);
    aae_buf_json_string(b, v, strlen(v));
    aae_buf_puts(b, ",\n");
}

static void kv_bool(aae_buf *b, const char *k, int v)
{
    aae_buf_printf(b, "    \"%s\": %s,\n", k, v ? "true" : "false");
}

static void put_mlc_keys(gen *g)
{
    const aae_hf_config *c = &g->cfg;
    aae_buf *b = &g->out;
    if (c->norm_rms)
        kv_num(b, "rms_norm_eps", c->norm_eps);
    else
        kv_num(b, "layer_norm_eps", c->norm_eps);
    kv_num(b, "position_embedding_base", c->rope_theta);
    if (c->arch == AAE_ARCH_GEMMA) {
        kv_str(b, "hidden_activation", c->hidden_act);
        kv_bool(b, "attention_bias", 0);
    }
    if (c->arch == AAE_ARCH_GPT_NEOX) {
        kv_bool(b, "use_parallel_residual", c->parallel_residual);
        kv_num(b, "rotary_pct", c->partial_rotary_factor);
        kv_str(b, "ffn_out_dtype", "float32");
    }
    kv_int(b, "pipeline_parallel_stages", 1);
    aae_buf_puts(b, "    \"tensor_parallel_shards\": 1\n");
}

static void put_model_config(gen *g)
{
    const aae_hf_config *c = &g->cfg;
    aae_buf *b = &g->out;
    aae_buf_puts(b, "  \"model_config\": {\n");
    kv_int(b, "hidden_size", c->hidden_size);
    kv_int(b, "intermediate_size", c->intermediate_size);
    kv_int(b, "num_hidden_layers", c->num_hidden_layers);
    kv_int(b, "num_attention_heads", c->num_attention_heads);
    kv_int(b, "num_key_value_heads", c->num_key_value_heads);
    kv_int(b, "head_dim", c->head_dim);
    kv_int(b, "vocab_size", c->vocab_size);
    kv_str(b, "norm_type", c->norm_rms ? "rms_norm" : "layer_norm");
    kv_num(b, "norm_eps", c->norm_eps);
    kv_num(b, "rope_theta", c->rope_theta);
    aae_buf_puts(b, "    \"rope_scaling\": ");
    if (c->rope_scaling)
        put_json(b, c->rope_scaling);
    else
        aae_buf_puts(b, "null");
    aae_buf_puts(b, ",\n");
    kv_num(b, "partial_rotary_factor", c->partial_rotary_factor);
    kv_int(b, "rotary_dim", c->rotary_dim);
    kv_str(b, "hidden_act", c->hidden_act);
    kv_bool(b, "tie_word_embeddings", c->tie_word_embeddings);
    kv_bool(b, "parallel_residual", c->parallel_residual);
    kv_bool(b, "qkv_bias", c->qkv_bias);
    kv_str(b, "mlp_type", c->gated_mlp ? "gated" : "plain");
    kv_bool(b, "mlp_bias", c->mlp_bias);
    kv_num(b, "embedding_scale", c->embedding_scale);
    kv_bool(b, "lm_head_bias", c->lm_head_bias);
    kv_int(b, "sliding_window_size", g->sliding_window);
    kv_int(b, "context_window_size", g->context_window);
    kv_int(b, "prefill_chunk_size", g->prefill_chunk);
    kv_int(b, "attention_sink_size", g->sink);
    kv_int(b, "max_position_embeddings", c->max_position_embeddings);
    put_mlc_keys(g);
    aae_buf_puts(b, "  },\n");
}

static aae_status copy_file(const char *from, const char *to, aae_error *err)
{
    char *data = NULL;
    size_t n = 0;
    aae_status st = aae_read_file(from, (size_t)1 << 32, &data, &n, err);
    if (st)
        return st;
    FILE *f = fopen(to, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        int e = errno;
        free(data);
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot write: %s", to, strerror(e));
    }
    free(data);
    return AAE_OK;
}

/* Copies the tokenizer files present and lists them in tokenizer_files. */
static aae_status put_tokenizer_files(gen *g, const char *tmp, aae_error *err)
{
    aae_buf_puts(&g->out, "  \"tokenizer_files\": [");
    int n = 0;
    for (int i = 0; TOKENIZER_FILES[i]; i++) {
        char from[4200], to[4200];
        if (!aae_path_join(from, sizeof from, g->opt->hf_dir, TOKENIZER_FILES[i]) || !aae_is_file(from))
            continue;
        aae_path_join(to, sizeof to, tmp, TOKENIZER_FILES[i]);
        aae_status st = copy_file(from, to, err);
        if (st)
            return st;
        aae_buf_printf(&g->out, "%s\"%s\"", n++ ? ", " : "", TOKENIZER_FILES[i]);
    }
    aae_buf_puts(&g->out, "],\n");
    if (n == 0)
        note(g, "warning: %s has no tokenizer files (tokenizer.json, tokenizer.model, ...); the model will only "
             "take token ids", g->opt->hf_dir);
    return AAE_OK;
}

static aae_status write_config(gen *g, const char *tmp, aae_error *err)
{
    aae_buf *b = &g->out;
    aae_buf_puts(b, "{\n  \"version\": \"0.1.0\",\n");
    aae_buf_printf(b, "  \"model_type\": \"%s\",\n", g->cfg.model_type);
    aae_buf_printf(b, "  \"quantization\": \"%s\",\n", g->opt->quantization);
    put_model_config(g);
    aae_buf_printf(b, "  \"vocab_size\": %" PRId64 ",\n", g->cfg.vocab_size);
    aae_buf_printf(b, "  \"context_window_size\": %" PRId64 ",\n", g->context_window);
    aae_buf_printf(b, "  \"sliding_window_size\": %" PRId64 ",\n", g->sliding_window);
    aae_buf_printf(b, "  \"prefill_chunk_size\": %" PRId64 ",\n", g->prefill_chunk);
    aae_buf_printf(b, "  \"attention_sink_size\": %" PRId64 ",\n", g->sink);
    aae_status st;
    if ((st = put_number(g, "temperature", 1.0, 100.0, err)) || (st = put_number(g, "top_p", 1.0, 1.0, err)) ||
        (st = put_number(g, "repetition_penalty", 1.0, 100.0, err)) ||
        (st = put_number(g, "presence_penalty", 0.0, 100.0, err)) ||
        (st = put_number(g, "frequency_penalty", 0.0, 100.0, err)))
        return st;
    if ((st = put_tokenizer_files(g, tmp, err)))
        return st;
    aae_buf_puts(b, "  \"conv_template\": ");
    aae_buf_json_string(b, g->opt->conv_template, strlen(g->opt->conv_template));
    aae_buf_puts(b, ",\n");
    if ((st = put_token_id(g, "bos_token_id", 1, 0, ",\n", err)) ||
        (st = put_token_id(g, "eos_token_id", 2, 1, ",\n", err)) ||
        (st = put_token_id(g, "pad_token_id", 0, 0, "\n", err)))
        return st;
    aae_buf_puts(b, "}\n");
    if (!aae_buf_ok(b))
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    char path[4200];
    aae_path_join(path, sizeof path, tmp, "sphere-aae-chat-config.json");
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0)
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return AAE_OK;
}

static aae_status load_generation_config(gen *g, aae_error *err)
{
    if (!aae_path_join(g->gen_path, sizeof g->gen_path, g->opt->hf_dir, "generation_config.json") ||
        !aae_is_file(g->gen_path))
        return AAE_OK;
    aae_status st = aae_json_parse_file(g->gen_path, &g->gen_doc, err);
    if (!st && !aae_json_is(aae_json_root(g->gen_doc), AAE_JSON_OBJECT))
        st = aae_error_set(err, AAE_ERR_FORMAT, "%s: expected a JSON object", g->gen_path);
    return st;
}

aae_status aae_gen_config(const aae_gen_config_options *opt, aae_error *err)
{
    if (!aae_quant_find(opt->quantization))
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--quantization %s: unknown; choose one of %s",
                             opt->quantization ? opt->quantization : "(missing)", aae_quant_names());
    aae_status st = check_template(opt->conv_template, err);
    if (st)
        return st;
    gen g;
    memset(&g, 0, sizeof g);
    g.opt = opt;
    aae_buf_init(&g.out);
    aae_outdir od = {0};
    st = aae_hf_config_load(opt->hf_dir, &g.cfg, err);
    if (!st)
        st = load_generation_config(&g, err);
    if (!st)
        st = derive_sizes(&g, err);
    if (!st)
        st = aae_outdir_begin(&od, opt->out_dir, AAE_OUT_CONFIG, err);
    char other_q[32];
    if (!st && aae_outdir_other_quantization(opt->out_dir, AAE_OUT_CONFIG, other_q, sizeof other_q) &&
        strcmp(other_q, opt->quantization) != 0)
        note(&g, "note: the weights in %s are %s (tensor-cache.json), not %s; convert them again with "
             "--quantization %s, or pass --quantization %s here", opt->out_dir, other_q, opt->quantization,
             opt->quantization, other_q);
    if (!st)
        st = write_config(&g, od.tmp, err);
    if (!st)
        st = aae_outdir_commit(&od, err);
    else
        aae_outdir_abort(&od);
    aae_buf_free(&g.out);
    aae_json_free(g.gen_doc);
    aae_hf_config_free(&g.cfg);
    return st;
}
