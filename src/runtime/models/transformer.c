/*
 * transformer.c - the decoder forward pass of every supported architecture
 * (see model.h), with Hugging Face transformers semantics:
 *
 *   x = embed[tokens] * emb_scale
 *   per layer:
 *     h = norm1(x)                         RMSNorm or LayerNorm (+ bias)
 *     q, k, v = split(h Wqkv^T + bqkv)     rows q (n_heads), k, v (n_kv)
 *     rotate-half RoPE on the first rot_dim of each q and k head
 *     a = attention(q, k, v) Wo^T + bo     GQA, causal, window + sink
 *     sequential: x += a; x += mlp(norm2(x))
 *     parallel:   x += a + mlp(shared_norm ? h : norm2(x))
 *     mlp: gated: down(act(gate) * up); plain: fc2(act(fc1 + b1)) + b2
 *   logits = final_norm(x[last]) Whead^T (+ bhead)
 */
#include "models/model.h"

#ifdef AAE_SPEC
#define D(f) (AAE_SPEC_##f)
/* The descriptor is still passed (and checked by the runtime) but not read. */
#define USE_DESC(d) (void)(d)
#else
#define USE_DESC(d) (void)(d)
#define D(f) (d->f)
#endif

typedef struct act_layout {
    size_t x, h, qkv, att, tmp, mo, mlp, mlp2, rope, mm, attn, end;
} act_layout;

static size_t al64(size_t n) { return (n + 63) & ~(size_t)63; }

/* The KV cache holds float16 when the model computes in float16 (q4f16_1,
 * q3f16_1, q0f16), as MLC-LLM's does: half the memory and the bytes attention
 * reads per token. float32 otherwise (q0f32, q4f32_1). */
static int kv_f16(const aae_model_desc *d)
{
    USE_DESC(d);
    return D(wtype) == AAE_W_Q4F16 || D(wtype) == AAE_W_Q3F16 || D(wtype) == AAE_W_F16;
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

static void layout(const aae_model_desc *d, int32_t n_threads, act_layout *l)
{
    USE_DESC(d);
    size_t c = (size_t)D(chunk), f = sizeof(float);
    size_t qkv_w = (size_t)(D(n_heads) + 2 * D(n_kv)) * D(head_dim);
    size_t att_w = (size_t)D(n_heads) * D(head_dim);
    size_t up_w = (size_t)D(inter) * (D(gated) ? 2 : 1);
    size_t o = 0;
    l->x = o, o += al64(c * D(hidden) * f);
    l->h = o, o += al64(c * D(hidden) * f);
    l->qkv = o, o += al64(c * qkv_w * f);
    l->att = o, o += al64(c * att_w * f);
    l->tmp = o, o += al64(c * D(hidden) * f);
    l->mo = o, o += al64(c * D(hidden) * f);
    l->mlp = o, o += al64(c * up_w * f);
    l->mlp2 = o, o += al64(c * D(inter) * f);
    l->rope = o, o += al64(c * D(rot_dim) * f);
    size_t mm = aae_k_matmul_scratch(D(chunk), D(hidden), n_threads);
    mm = max_sz(mm, aae_k_matmul_scratch(D(chunk), (int32_t)att_w, n_threads));
    mm = max_sz(mm, aae_k_matmul_scratch(D(chunk), D(inter), n_threads));
    l->mm = o, o += al64(mm);
    l->attn = o, o += al64(aae_k_attention_scratch(D(kv_cap) + D(chunk), D(n_heads), D(head_dim), n_threads));
    l->end = o;
}

void aae_model_plan(const aae_model_desc *d, int32_t n_threads, aae_mem_plan *out)
{
    USE_DESC(d);
    act_layout l;
    layout(d, n_threads, &l);
    size_t row = (size_t)D(n_kv) * D(head_dim) * (kv_f16(d) ? 2 : 4);
    out->kv_bytes = 2 * (uint64_t)D(n_layers) * (uint64_t)D(kv_cap) * row + (uint64_t)D(kv_cap) * sizeof(int32_t);
    out->act_bytes = l.end;
    out->logits_bytes = (uint64_t)D(vocab) * sizeof(float);
}

static int32_t slot_of(const aae_model_desc *d, int32_t p)
{
    USE_DESC(d);
    if (D(window) <= 0 || p < D(sink))
        return p;
    return D(sink) + (p - D(sink)) % D(window);
}

static void norm(const aae_model_desc *d, float *y, const float *x, const aae_vec *w, const aae_vec *b, int32_t m)
{
    USE_DESC(d);
    if (D(norm) == AAE_MODEL_NORM_LAYER)
        aae_k_layernorm(y, x, w, b, m, D(hidden), D(eps));
    else
        aae_k_rmsnorm(y, x, w, m, D(hidden), D(eps));
}

typedef struct fwd {
    const aae_model_desc *d;
    const aae_model_weights *w;
    aae_model_state *s;
    const aae_kctx *kc;
    act_layout l;
    uint8_t *a;
    int32_t n;
} fwd;

#define BUF(f, name) ((float *)((f)->a + (f)->l.name))

static void mlp(fwd *f, const aae_layer_weights *lw, const float *in, float *out)
{
    const aae_model_desc *d = f->d;
    USE_DESC(d);
    int32_t n = f->n;
    float *mid = BUF(f, mlp), *h = BUF(f, mlp2);
    void *mm = f->a + f->l.mm;
    if (D(gated)) {
        aae_k_matmul(f->kc, mid, 2 * D(inter), in, D(hidden), n, &lw->up, &lw->up_b, mm);
        aae_k_glu(f->kc, h, mid, n, D(inter), D(act));
    } else {
        aae_k_matmul(f->kc, h, D(inter), in, D(hidden), n, &lw->up, &lw->up_b, mm);
        aae_k_act(f->kc, h, n * D(inter), D(act));
    }
    aae_k_matmul(f->kc, out, D(hidden), h, D(inter), n, &lw->down, &lw->down_b, mm);
}

static void attention(fwd *f, int32_t layer, const aae_layer_weights *lw, const float *in, float *out)
{
    const aae_model_desc *d = f->d;
    USE_DESC(d);
    aae_model_state *s = f->s;
    int32_t n = f->n, hd = D(head_dim);
    int32_t qkv_w = (D(n_heads) + 2 * D(n_kv)) * hd, kvw = D(n_kv) * hd;
    float *qkv = BUF(f, qkv), *att = BUF(f, att), *rope = BUF(f, rope);
    aae_k_matmul(f->kc, qkv, qkv_w, in, D(hidden), n, &lw->qkv, &lw->qkv_b, f->a + f->l.mm);
    for (int32_t i = 0; i < n; i++) {
        float *row = qkv + (size_t)i * qkv_w;
        const float *cs = rope + (size_t)i * D(rot_dim);
        aae_k_rope(row, D(n_heads), hd, D(rot_dim), cs);
        aae_k_rope(row + (size_t)D(n_heads) * hd, D(n_kv), hd, D(rot_dim), cs);
    }
    int f16 = kv_f16(d);
    if (f16) /* the chunk's own keys and values as the cache will hold them */
        for (int32_t i = 0; i < n; i++) {
            float *kv = qkv + (size_t)i * qkv_w + (size_t)D(n_heads) * hd;
            aae_k_f16_row(f->kc, NULL, kv, kv, 2 * kvw);
        }
    size_t esz = f16 ? 2 : 4, layer_off = (size_t)layer * D(kv_cap) * kvw * esz;
    int32_t n_cached = s->n_past < D(kv_cap) ? s->n_past : D(kv_cap);
    aae_attn_args a = {
        .out = att,
        .ldo = D(n_heads) * hd,
        .q = qkv,
        .ldq = qkv_w,
        .m = n,
        .qpos0 = s->n_past,
        .kcache = (const uint8_t *)s->kcache + layer_off,
        .vcache = (const uint8_t *)s->vcache + layer_off,
        .kv_f16 = f16,
        .cpos = s->slot_pos,
        .n_cached = n_cached,
        .kc = qkv + (size_t)D(n_heads) * hd,
        .vc = qkv + (size_t)(D(n_heads) + D(n_kv)) * hd,
        .ldkv = qkv_w,
        .n_heads = D(n_heads),
        .n_kv = D(n_kv),
        .head_dim = hd,
        .window = D(window),
        .sink = D(sink),
        .scale = 1.0f / __builtin_sqrtf((float)hd),
    };
    aae_k_attention(f->kc, &a, f->a + f->l.attn);
    /* Append this chunk's keys and values (after attention: the cache still held
     * the positions before the chunk while it ran, see model.h). */
    for (int32_t i = 0; i < n; i++) {
        int32_t slot = slot_of(d, s->n_past + i);
        uint8_t *kd = (uint8_t *)s->kcache + layer_off + (size_t)slot * kvw * esz;
        uint8_t *vd = (uint8_t *)s->vcache + layer_off + (size_t)slot * kvw * esz;
        const float *ks = qkv + (size_t)i * qkv_w + (size_t)D(n_heads) * hd, *vs = ks + kvw;
        if (f16) {
            aae_k_f16_row(f->kc, (uint16_t *)kd, NULL, ks, kvw);
            aae_k_f16_row(f->kc, (uint16_t *)vd, NULL, vs, kvw);
        } else {
            for (int32_t t = 0; t < kvw; t++) {
                ((float *)kd)[t] = ks[t];
                ((float *)vd)[t] = vs[t];
            }
        }
    }
    aae_k_matmul(f->kc, out, D(hidden), att, D(n_heads) * hd, n, &lw->o, &lw->o_b, f->a + f->l.mm);
}

static void layer(fwd *f, int32_t li)
{
    const aae_model_desc *d = f->d;
    USE_DESC(d);
    const aae_layer_weights *lw = &f->w->layers[li];
    int32_t n = f->n, hid = D(hidden);
    float *x = BUF(f, x), *h = BUF(f, h), *tmp = BUF(f, tmp);
    norm(d, h, x, &lw->ln1_w, &lw->ln1_b, n);
    attention(f, li, lw, h, tmp);
    if (D(parallel)) {
        /* x = x + attn + mlp; the attention output is kept in tmp meanwhile */
        if (!D(shared_norm))
            norm(d, h, x, &lw->ln2_w, &lw->ln2_b, n);
        float *m = BUF(f, mo);
        mlp(f, lw, h, m);
        for (size_t i = 0; i < (size_t)n * hid; i++)
            x[i] = x[i] + (tmp[i] + m[i]);
    } else {
        aae_k_add(x, tmp, n * hid);
        norm(d, h, x, &lw->ln2_w, &lw->ln2_b, n);
        mlp(f, lw, h, tmp);
        aae_k_add(x, tmp, n * hid);
    }
}

int aae_model_forward(const aae_model_desc *d, const aae_model_weights *w, aae_model_state *s, const aae_kctx *kc,
                      const int32_t *tokens, int32_t n)
{
    USE_DESC(d);
    fwd f = {.d = d, .w = w, .s = s, .kc = kc, .a = s->act, .n = n};
    int32_t nt = kc->th && kc->th->n_threads > 0 ? kc->th->n_threads : 1;
    layout(d, nt, &f.l);
    float *x = BUF(&f, x), *h = BUF(&f, h);
    for (int32_t i = 0; i < n; i++) {
        aae_k_get_row(&w->embed, tokens[i], x + (size_t)i * D(hidden));
        if (D(emb_scale) != 1.0f)
            aae_k_scale(x + (size_t)i * D(hidden), D(emb_scale), D(hidden));
        aae_k_rope_table(BUF(&f, rope) + (size_t)i * D(rot_dim), s->n_past + i, w->inv_freq, D(rot_dim) / 2);
    }
    for (int32_t li = 0; li < D(n_layers); li++)
        layer(&f, li);
    const float *last = x + (size_t)(n - 1) * D(hidden);
    norm(d, h, last, &w->lnf_w, &w->lnf_b, 1);
    aae_k_matmul(kc, s->logits, D(vocab), h, D(hidden), 1, &w->head, &w->head_b, f.a + f.l.mm);
    for (int32_t i = 0; i < n; i++) {
        int32_t p = s->n_past + i;
        s->slot_pos[slot_of(d, p)] = p;
    }
    s->n_past += n;
    return 0;
}
