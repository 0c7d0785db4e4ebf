/*
 * model_bind.c - finds each tensor of an architecture in the tensor cache
 * (names and shapes: docs/format.md "Tensor tables"), checks dtype and shape,
 * and points the forward pass's weight structs into the mapped shards.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/model_impl.h"

typedef struct arch_names {
    const char *embed, *final_norm, *head, *layer_fmt;
    const char *qkv, *o, *up, *down, *ln1, *ln2;
} arch_names;

static const arch_names NAMES_LLAMA = {"model.embed_tokens", "model.norm", "lm_head", "model.layers.",
                                       "self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj",
                                       "mlp.down_proj", "input_layernorm", "post_attention_layernorm"};
static const arch_names NAMES_QWEN2 = {"model.embed_tokens", "model.norm", "lm_head", "model.layers.",
                                       "self_attn.c_attn", "self_attn.o_proj", "mlp.gate_up_proj",
                                       "mlp.down_proj", "input_layernorm", "post_attention_layernorm"};
static const arch_names NAMES_NEOX = {"gpt_neox.embed_in", "gpt_neox.final_layer_norm", "embed_out",
                                      "gpt_neox.layers.", "attention.query_key_value", "attention.dense",
                                      "mlp.dense_h_to_4h", "mlp.dense_4h_to_h", "input_layernorm",
                                      "post_attention_layernorm"};
static const arch_names NAMES_PHI = {"transformer.embd", "lm_head.ln", "lm_head.linear", "transformer.h.",
                                     "mixer.Wqkv", "mixer.out_proj", "mlp.fc1", "mlp.fc2", "ln", NULL};

static const arch_names *names_for(aae_arch a)
{
    switch (a) {
    case AAE_ARCH_QWEN2: return &NAMES_QWEN2;
    case AAE_ARCH_GPT_NEOX: return &NAMES_NEOX;
    case AAE_ARCH_PHI: return &NAMES_PHI;
    default: return &NAMES_LLAMA;
    }
}

typedef struct binder {
    struct aae_model *m;
    aae_error *err;
    uint64_t bytes;   /* weight bytes bound so far (matrices) */
} binder;

static void shape_str(char *buf, size_t cap, const int64_t *shape, int ndim)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

/* The tensor name, checked against dtype (one of two allowed) and shape. */
static aae_status find(binder *b, const char *name, const aae_dtype *dts, int n_dts, const int64_t *shape, int ndim,
                       const void **out)
{
    struct aae_model *m = b->m;
    const aae_tc_tensor *t = aae_tensor_cache_find(m->tc, name);
    if (!t)
        return aae_error_set(b->err, AAE_ERR_NOT_FOUND,
                             "%s: tensor \"%s\" is missing; this %s %s model needs it (is the directory from another "
                             "architecture or quantization? convert it again)",
                             m->tc->path, name, m->cfg->model_type, m->cfg->quantization);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char want[128], got[128];
        shape_str(want, sizeof want, shape, ndim);
        shape_str(got, sizeof got, t->shape, t->ndim);
        return aae_error_set(b->err, AAE_ERR_MISMATCH,
                             "%s: tensor \"%s\" has shape %s but the chat config (%s) implies %s; the weights and "
                             "the config are from different models",
                             m->tc->path, name, got, m->cfg->path, want);
    }
    int ok = 0;
    for (int i = 0; i < n_dts; i++)
        ok |= t->dtype == dts[i];
    if (!ok)
        return aae_error_set(b->err, AAE_ERR_MISMATCH, "%s: tensor \"%s\" has dtype %s, expected %s%s%s for %s",
                             m->tc->path, name, aae_dtype_name(t->dtype), aae_dtype_name(dts[0]),
                             n_dts > 1 ? " or " : "", n_dts > 1 ? aae_dtype_name(dts[1]) : "",
                             m->cfg->quantization);
    size_t esize = t->format == AAE_RECORD_F32_TO_BF16 ? 2 : aae_dtype_size(t->dtype);
    if (t->byte_offset % esize)
        return aae_error_set(b->err, AAE_ERR_UNSUPPORTED,
                             "%s: tensor \"%s\" starts at byte %llu, not a multiple of its element size %zu",
                             m->tc->path, name, (unsigned long long)t->byte_offset, esize);
    const aae_mmap *map = &m->maps[t->shard];
    *out = map->data + t->byte_offset;
    return AAE_OK;
}

static int32_t float_type(const aae_tc_tensor *t)
{
    if (t->format == AAE_RECORD_F32_TO_BF16 || t->dtype == AAE_DTYPE_BF16)
        return AAE_W_BF16;
    return t->dtype == AAE_DTYPE_F16 ? AAE_W_F16 : AAE_W_F32;
}

static const aae_dtype FLOATS[2] = {AAE_DTYPE_F32, AAE_DTYPE_F16};

/* A weight matrix [n, k] named base + ".weight" (q0) or ".q_weight" + ".q_scale". */
static aae_status bind_mat(binder *b, const char *base, int64_t n, int64_t k, aae_wmat *w)
{
    char name[512];
    aae_quant q = b->m->cfg->quant;
    aae_status st;
    w->n = (int32_t)n;
    w->k = (int32_t)k;
    if (q == AAE_QUANT_Q0F32 || q == AAE_QUANT_Q0F16) {
        snprintf(name, sizeof name, "%s.weight", base);
        int64_t shape[2] = {n, k};
        aae_dtype want[2] = {q == AAE_QUANT_Q0F32 ? AAE_DTYPE_F32 : AAE_DTYPE_F16, AAE_DTYPE_BF16};
        if ((st = find(b, name, want, 2, shape, 2, &w->q)) != AAE_OK)
            return st;
        const aae_tc_tensor *t = aae_tensor_cache_find(b->m->tc, name);
        w->type = float_type(t);
        w->scale = NULL;
        b->bytes += t->nbytes;
        return AAE_OK;
    }
    int32_t group = q == AAE_QUANT_Q3F16_1 ? 40 : 32;
    int64_t ng = (k + group - 1) / group;
    int64_t qshape[2] = {n, 4 * ng}, sshape[2] = {n, ng};
    aae_dtype u32 = AAE_DTYPE_U32;
    aae_dtype sdt[1] = {q == AAE_QUANT_Q4F32_1 ? AAE_DTYPE_F32 : AAE_DTYPE_F16};
    snprintf(name, sizeof name, "%s.q_weight", base);
    if ((st = find(b, name, &u32, 1, qshape, 2, &w->q)) != AAE_OK)
        return st;
    b->bytes += aae_tensor_cache_find(b->m->tc, name)->nbytes;
    snprintf(name, sizeof name, "%s.q_scale", base);
    if ((st = find(b, name, sdt, 1, sshape, 2, &w->scale)) != AAE_OK)
        return st;
    const aae_tc_tensor *t = aae_tensor_cache_find(b->m->tc, name);
    b->bytes += t->nbytes;
    if (t->format == AAE_RECORD_F32_TO_BF16)
        return aae_error_set(b->err, AAE_ERR_UNSUPPORTED,
                             "%s: tensor \"%s\": bfloat16-stored quantization scales are not supported", b->m->tc->path,
                             name);
    w->type = q == AAE_QUANT_Q3F16_1 ? AAE_W_Q3F16 : q == AAE_QUANT_Q4F32_1 ? AAE_W_Q4F32 : AAE_W_Q4F16;
    return AAE_OK;
}

/* A 1-D parameter base + "." + suffix of length n (any float dtype). */
static aae_status bind_vec(binder *b, const char *base, const char *suffix, int64_t n, aae_vec *v)
{
    char name[512];
    snprintf(name, sizeof name, "%s.%s", base, suffix);
    int64_t shape[1] = {n};
    aae_status st = find(b, name, FLOATS, 2, shape, 1, &v->p);
    if (st != AAE_OK) {
        /* bfloat16 is accepted too */
        const aae_tc_tensor *t = aae_tensor_cache_find(b->m->tc, name);
        if (!t || t->dtype != AAE_DTYPE_BF16)
            return st;
        aae_dtype bf = AAE_DTYPE_BF16;
        if ((st = find(b, name, &bf, 1, shape, 1, &v->p)) != AAE_OK)
            return st;
    }
    v->type = float_type(aae_tensor_cache_find(b->m->tc, name));
    v->n = (int32_t)n;
    return AAE_OK;
}

static aae_status bind_norm(binder *b, const char *base, int64_t n, aae_vec *w, aae_vec *bias)
{
    aae_status st = bind_vec(b, base, "weight", n, w);
    if (st == AAE_OK && b->m->cfg->dims.layer_norm)
        st = bind_vec(b, base, "bias", n, bias);
    return st;
}

#define TRY(x)                                                                                                      \
    do {                                                                                                            \
        aae_status st_ = (x);                                                                                       \
        if (st_ != AAE_OK)                                                                                          \
            return st_;                                                                                             \
    } while (0)

static aae_status bind_layer(binder *b, const arch_names *nm, int32_t li, aae_layer_weights *lw)
{
    const aae_model_dims *d = &b->m->cfg->dims;
    char pre[128], base[256];
    snprintf(pre, sizeof pre, "%s%d.", nm->layer_fmt, (int)li);
    int64_t H = d->hidden_size, hd = d->head_dim, qkv = (d->num_heads + 2 * d->num_kv_heads) * hd;
    int64_t up = d->gated_mlp ? 2 * d->intermediate_size : d->intermediate_size;
    snprintf(base, sizeof base, "%s%s", pre, nm->qkv);
    TRY(bind_mat(b, base, qkv, H, &lw->qkv));
    if (d->qkv_bias)
        TRY(bind_vec(b, base, "bias", qkv, &lw->qkv_b));
    snprintf(base, sizeof base, "%s%s", pre, nm->o);
    TRY(bind_mat(b, base, H, d->num_heads * hd, &lw->o));
    if (d->mlp_bias)
        TRY(bind_vec(b, base, "bias", H, &lw->o_b));
    snprintf(base, sizeof base, "%s%s", pre, nm->up);
    TRY(bind_mat(b, base, up, H, &lw->up));
    if (d->mlp_bias)
        TRY(bind_vec(b, base, "bias", up, &lw->up_b));
    snprintf(base, sizeof base, "%s%s", pre, nm->down);
    TRY(bind_mat(b, base, H, d->intermediate_size, &lw->down));
    if (d->mlp_bias)
        TRY(bind_vec(b, base, "bias", H, &lw->down_b));
    snprintf(base, sizeof base, "%s%s", pre, nm->ln1);
    TRY(bind_norm(b, base, H, &lw->ln1_w, &lw->ln1_b));
    if (nm->ln2) {
        snprintf(base, sizeof base, "%s%s", pre, nm->ln2);
        TRY(bind_norm(b, base, H, &lw->ln2_w, &lw->ln2_b));
    }
    return AAE_OK;
}

void aae_model_inv_freq(const aae_model_dims *d, float *out)
{
    int32_t dim = (int32_t)d->rotary_dim;
    float base = (float)d->rope_theta;
    for (int32_t j = 0; j < dim / 2; j++) {
        float e = (float)(2 * j) / (float)dim;
        float inv = 1.0f / powf(base, e);
        if (d->rope_llama3) {
            double factor = d->rope_factor, lo = d->rope_low_freq_factor, hi = d->rope_high_freq_factor;
            double old = (double)d->rope_original_max_pos;
            double low_wl = old / lo, high_wl = old / hi;
            double wl = 2.0 * 3.14159265358979323846 / inv;
            double v = wl > low_wl ? inv / factor : inv;
            if (!(wl < high_wl) && !(wl > low_wl)) {
                double smooth = (old / wl - lo) / (hi - lo);
                v = (1.0 - smooth) * v / factor + smooth * v;
            }
            inv = (float)v;
        }
        out[j] = inv;
    }
}

static void fill_desc(struct aae_model *m)
{
    const aae_model_dims *d = &m->cfg->dims;
    aae_model_desc *x = &m->desc;
    x->abi_version = AAE_MODEL_ABI_VERSION;
    x->arch = (int32_t)m->cfg->arch;
    x->hidden = (int32_t)d->hidden_size;
    x->inter = (int32_t)d->intermediate_size;
    x->n_layers = (int32_t)d->num_layers;
    x->n_heads = (int32_t)d->num_heads;
    x->n_kv = (int32_t)d->num_kv_heads;
    x->head_dim = (int32_t)d->head_dim;
    x->rot_dim = (int32_t)d->rotary_dim;
    x->vocab = (int32_t)m->cfg->vocab_size;
    x->norm = d->layer_norm ? AAE_MODEL_NORM_LAYER : AAE_MODEL_NORM_RMS;
    x->parallel = d->use_parallel_residual;
    x->shared_norm = m->cfg->arch == AAE_ARCH_PHI;
    x->gated = d->gated_mlp;
    x->act = d->act == AAE_ACT_SILU ? AAE_ACT_KIND_SILU
             : d->act == AAE_ACT_GELU_TANH ? AAE_ACT_KIND_GELU_TANH
                                           : AAE_ACT_KIND_GELU_ERF;
    x->tied = d->tie_word_embeddings;
    x->eps = (float)d->norm_eps;
    x->emb_scale = (float)d->embedding_scale;
}

aae_status aae_model_bind(struct aae_model *m, aae_error *err)
{
    const aae_model_dims *d = &m->cfg->dims;
    const arch_names *nm = names_for(m->cfg->arch);
    binder b = {.m = m, .err = err};
    fill_desc(m);
    int64_t V = m->cfg->vocab_size, H = d->hidden_size;
    if (d->vocab_size != V)
        return aae_error_set(err, AAE_ERR_MISMATCH, "%s: /vocab_size %lld differs from /model_config/vocab_size %lld",
                             m->cfg->path, (long long)V, (long long)d->vocab_size);
    TRY(bind_mat(&b, nm->embed, V, H, &m->w.embed));
    uint64_t embed_bytes = b.bytes;
    m->layers = calloc((size_t)d->num_layers, sizeof *m->layers);
    if (!m->layers)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < d->num_layers; i++)
        TRY(bind_layer(&b, nm, i, &m->layers[i]));
    TRY(bind_norm(&b, nm->final_norm, H, &m->w.lnf_w, &m->w.lnf_b));
    if (d->tie_word_embeddings) {
        m->w.head = m->w.embed;
        b.bytes += embed_bytes;
    } else {
        TRY(bind_mat(&b, nm->head, V, H, &m->w.head));
    }
    if (d->lm_head_bias)
        TRY(bind_vec(&b, nm->head, "bias", V, &m->w.head_b));
    m->desc.wtype = m->w.head.type;
    m->w.layers = m->layers;
    m->bytes_per_token = b.bytes - embed_bytes; /* one embedding row is read, not the whole table */
    m->inv_freq = calloc((size_t)(d->rotary_dim / 2 + 1), sizeof(float));
    if (!m->inv_freq)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    aae_model_inv_freq(d, m->inv_freq);
    m->w.inv_freq = m->inv_freq;
    return AAE_OK;
}
