/*
 * arch_plan.c - per-architecture tensor tables (docs/format.md, "Tensor tables").
 */
#include "arch_plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct plan_builder {
    aae_tensor_plan *items;
    size_t count, cap;
    int oom;
} plan_builder;

static aae_tensor_plan *push(plan_builder *b, aae_store store, aae_xform xf, int64_t rows, int64_t cols,
                             const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static aae_tensor_plan *push(plan_builder *b, aae_store store, aae_xform xf, int64_t rows, int64_t cols,
                             const char *fmt, ...)
{
    static aae_tensor_plan dummy;
    if (b->count == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        aae_tensor_plan *n = realloc(b->items, cap * sizeof *n);
        if (!n) {
            b->oom = 1;
            return &dummy;
        }
        b->items = n;
        b->cap = cap;
    }
    aae_tensor_plan *p = &b->items[b->count++];
    memset(p, 0, sizeof *p);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
    p->store = store;
    p->xform = xf;
    p->rows = rows;
    p->cols = cols > 0 ? cols : 1;
    p->ndim = cols > 0 ? 2 : 1;
    return p;
}

static void src(aae_tensor_plan *p, int64_t rows, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void src(aae_tensor_plan *p, int64_t rows, const char *fmt, ...)
{
    if (p->nsrc >= AAE_PLAN_MAX_SRC)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->src[p->nsrc], sizeof p->src[p->nsrc], fmt, ap);
    va_end(ap);
    p->src_rows[p->nsrc++] = rows;
}

static void fmt_name(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formats a name into out (AAE_PLAN_NAME_MAX bytes), truncating safely. */
static void fmt_name(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, AAE_PLAN_NAME_MAX, fmt, ap);
    va_end(ap);
}

/* A tensor taken from one HF tensor of the same name. */
static void same(plan_builder *b, aae_store store, int64_t rows, int64_t cols, const char *name)
{
    aae_tensor_plan *p = push(b, store, AAE_XF_CAST, rows, cols, "%s", name);
    src(p, rows, "%s", name);
}

/* A tensor from one HF tensor of another name. */
static void renamed(plan_builder *b, aae_store store, int64_t rows, int64_t cols, const char *name,
                    const char *hf_name)
{
    aae_tensor_plan *p = push(b, store, AAE_XF_CAST, rows, cols, "%s", name);
    src(p, rows, "%s", hf_name);
}

/* q, k, v fused along the output axis. `suffix` is "weight" or "bias". */
static void fused_qkv(plan_builder *b, const aae_hf_config *c, const char *name, const char *hf_attn,
                      const char *suffix)
{
    int64_t q = c->num_attention_heads * c->head_dim, kv = c->num_key_value_heads * c->head_dim;
    int w = strcmp(suffix, "weight") == 0;
    aae_tensor_plan *p = push(b, w ? AAE_STORE_QUANT : AAE_STORE_MODEL, AAE_XF_CONCAT, q + 2 * kv,
                              w ? c->hidden_size : 0, "%s.%s", name, suffix);
    src(p, q, "%s.q_proj.%s", hf_attn, suffix);
    src(p, kv, "%s.k_proj.%s", hf_attn, suffix);
    src(p, kv, "%s.v_proj.%s", hf_attn, suffix);
}

static void llama_like(plan_builder *b, const aae_hf_config *c)
{
    int64_t H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    int64_t qd = c->num_attention_heads * c->head_dim;
    int gemma = c->arch == AAE_ARCH_GEMMA, qwen = c->arch == AAE_ARCH_QWEN2;
    aae_xform norm_xf = gemma ? AAE_XF_PLUS_ONE : AAE_XF_CAST;
    same(b, AAE_STORE_QUANT, V, H, "model.embed_tokens.weight");
    for (int64_t i = 0; i < c->num_hidden_layers; i++) {
        char attn[AAE_PLAN_NAME_MAX], mlp[AAE_PLAN_NAME_MAX], nm[AAE_PLAN_NAME_MAX];
        fmt_name(attn, "model.layers.%lld.self_attn", (long long)i);
        fmt_name(mlp, "model.layers.%lld.mlp", (long long)i);
        fmt_name(nm, "%s.%s", attn, qwen ? "c_attn" : "qkv_proj");
        fused_qkv(b, c, nm, attn, "weight");
        if (qwen)
            fused_qkv(b, c, nm, attn, "bias");
        fmt_name(nm, "%s.o_proj.weight", attn);
        same(b, AAE_STORE_QUANT, H, qd, nm);
        aae_tensor_plan *p = push(b, AAE_STORE_QUANT, AAE_XF_CONCAT, 2 * I, H, "%s.gate_up_proj.weight", mlp);
        src(p, I, "%s.gate_proj.weight", mlp);
        src(p, I, "%s.up_proj.weight", mlp);
        fmt_name(nm, "%s.down_proj.weight", mlp);
        same(b, AAE_STORE_QUANT, H, I, nm);
        static const char *const norms[] = {"input_layernorm", "post_attention_layernorm"};
        for (int k = 0; k < 2; k++) {
            p = push(b, AAE_STORE_MODEL, norm_xf, H, 0, "model.layers.%lld.%s.weight", (long long)i, norms[k]);
            src(p, H, "%s", p->name);
        }
    }
    aae_tensor_plan *p = push(b, AAE_STORE_MODEL, norm_xf, H, 0, "model.norm.weight");
    src(p, H, "model.norm.weight");
    if (!c->tie_word_embeddings)
        same(b, AAE_STORE_QUANT, V, H, "lm_head.weight");
}

static void gpt_neox(plan_builder *b, const aae_hf_config *c)
{
    int64_t H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    char n[AAE_PLAN_NAME_MAX];
    same(b, AAE_STORE_QUANT, V, H, "gpt_neox.embed_in.weight");
    for (int64_t i = 0; i < c->num_hidden_layers; i++) {
        static const char *const ln[] = {"input_layernorm.weight", "input_layernorm.bias",
                                         "post_attention_layernorm.weight", "post_attention_layernorm.bias"};
        for (int k = 0; k < 4; k++) {
            fmt_name(n, "gpt_neox.layers.%lld.%s", (long long)i, ln[k]);
            same(b, AAE_STORE_MODEL, H, 0, n);
        }
        aae_tensor_plan *p = push(b, AAE_STORE_QUANT, AAE_XF_NEOX_QKV, 3 * H, H,
                                  "gpt_neox.layers.%lld.attention.query_key_value.weight", (long long)i);
        src(p, 3 * H, "%s", p->name);
        p = push(b, AAE_STORE_MODEL, AAE_XF_NEOX_QKV, 3 * H, 0, "gpt_neox.layers.%lld.attention.query_key_value.bias",
                 (long long)i);
        src(p, 3 * H, "%s", p->name);
        fmt_name(n, "gpt_neox.layers.%lld.attention.dense.weight", (long long)i);
        same(b, AAE_STORE_QUANT, H, H, n);
        fmt_name(n, "gpt_neox.layers.%lld.attention.dense.bias", (long long)i);
        same(b, AAE_STORE_MODEL, H, 0, n);
        fmt_name(n, "gpt_neox.layers.%lld.mlp.dense_h_to_4h.weight", (long long)i);
        same(b, AAE_STORE_QUANT, I, H, n);
        fmt_name(n, "gpt_neox.layers.%lld.mlp.dense_h_to_4h.bias", (long long)i);
        same(b, AAE_STORE_F32, I, 0, n);
        fmt_name(n, "gpt_neox.layers.%lld.mlp.dense_4h_to_h.weight", (long long)i);
        same(b, AAE_STORE_QUANT, H, I, n);
        fmt_name(n, "gpt_neox.layers.%lld.mlp.dense_4h_to_h.bias", (long long)i);
        same(b, AAE_STORE_F32, H, 0, n);
    }
    same(b, AAE_STORE_MODEL, H, 0, "gpt_neox.final_layer_norm.weight");
    same(b, AAE_STORE_MODEL, H, 0, "gpt_neox.final_layer_norm.bias");
    same(b, AAE_STORE_QUANT, V, H, "embed_out.weight");
}

static void phi(plan_builder *b, const aae_hf_config *c)
{
    int64_t H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    int64_t qd = c->num_attention_heads * c->head_dim;
    char a[AAE_PLAN_NAME_MAX], h[AAE_PLAN_NAME_MAX], x[AAE_PLAN_NAME_MAX], y[AAE_PLAN_NAME_MAX];
    renamed(b, AAE_STORE_QUANT, V, H, "transformer.embd.weight", "model.embed_tokens.weight");
    for (int64_t i = 0; i < c->num_hidden_layers; i++) {
        fmt_name(a, "transformer.h.%lld", (long long)i);
        fmt_name(h, "model.layers.%lld", (long long)i);
        static const char *const wb[] = {"weight", "bias"};
        for (int k = 0; k < 2; k++) {
            fmt_name(x, "%s.ln.%s", a, wb[k]);
            fmt_name(y, "%s.input_layernorm.%s", h, wb[k]);
            renamed(b, AAE_STORE_MODEL, H, 0, x, y);
        }
        fmt_name(x, "%s.mixer.Wqkv", a);
        fmt_name(y, "%s.self_attn", h);
        fused_qkv(b, c, x, y, "weight");
        fused_qkv(b, c, x, y, "bias");
        fmt_name(x, "%s.mixer.out_proj.weight", a);
        fmt_name(y, "%s.self_attn.dense.weight", h);
        renamed(b, AAE_STORE_QUANT, H, qd, x, y);
        fmt_name(x, "%s.mixer.out_proj.bias", a);
        fmt_name(y, "%s.self_attn.dense.bias", h);
        renamed(b, AAE_STORE_MODEL, H, 0, x, y);
        static const char *const fc[] = {"fc1", "fc2"};
        for (int k = 0; k < 2; k++) {
            int64_t rows = k == 0 ? I : H, cols = k == 0 ? H : I;
            fmt_name(x, "%s.mlp.%s.weight", a, fc[k]);
            fmt_name(y, "%s.mlp.%s.weight", h, fc[k]);
            renamed(b, AAE_STORE_QUANT, rows, cols, x, y);
            fmt_name(x, "%s.mlp.%s.bias", a, fc[k]);
            fmt_name(y, "%s.mlp.%s.bias", h, fc[k]);
            renamed(b, AAE_STORE_MODEL, rows, 0, x, y);
        }
    }
    renamed(b, AAE_STORE_MODEL, H, 0, "lm_head.ln.weight", "model.final_layernorm.weight");
    renamed(b, AAE_STORE_MODEL, H, 0, "lm_head.ln.bias", "model.final_layernorm.bias");
    renamed(b, AAE_STORE_QUANT, V, H, "lm_head.linear.weight", "lm_head.weight");
    renamed(b, AAE_STORE_MODEL, V, 0, "lm_head.linear.bias", "lm_head.bias");
}

aae_status aae_arch_plan(const aae_hf_config *cfg, aae_tensor_plan **out, size_t *count, aae_error *err)
{
    plan_builder b = {0};
    switch (cfg->arch) {
    case AAE_ARCH_GPT_NEOX: gpt_neox(&b, cfg); break;
    case AAE_ARCH_PHI: phi(&b, cfg); break;
    default: llama_like(&b, cfg); break;
    }
    if (b.oom) {
        free(b.items);
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory building the tensor plan");
    }
    *out = b.items;
    *count = b.count;
    return AAE_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int aae_arch_ignorable(const aae_hf_config *cfg, const char *hf_name)
{
    if (ends_with(hf_name, ".rotary_emb.inv_freq"))
        return 1;
    if (cfg->arch == AAE_ARCH_GPT_NEOX && (ends_with(hf_name, ".attention.bias") ||
                                           ends_with(hf_name, ".attention.masked_bias")))
        return 1;
    if (cfg->tie_word_embeddings && strcmp(hf_name, "lm_head.weight") == 0)
        return 1;
    return 0;
}
