/*
 * model.h - the model seam: one forward pass, written once against the kernel
 * interface (kernels/kernels.h), compiled two ways (kernels/spec.h).
 *
 * FREESTANDING like kernels/: no libc, no allocation, no I/O. The runtime (or a
 * program linking a model library) fills three things and calls
 * aae_model_forward:
 *   aae_model_desc     the dimensions and architecture switches (below);
 *   aae_model_weights  pointers into the mmapped shards (read in place) and an
 *                      inv_freq table the runtime computes (RoPE);
 *   aae_model_state    the KV cache, the activation arena and the logits
 *                      buffer, sized by aae_model_plan (the memory plan).
 *
 * One decoder covers the six architectures (llama, mistral, gemma, gpt_neox,
 * phi, qwen2): they differ only in the switches of aae_model_desc (norm kind,
 * biases, gated or plain MLP, activation, parallel residual, shared norm, tied
 * head, embedding scale, partial rotary). In a specialised build every switch
 * and dimension is a compile-time constant, so the compiler removes the other
 * architectures' branches and the result is that architecture's own forward.
 *
 * Specialised build: -DAAE_SPEC and, for every field f of aae_model_desc, a
 * macro AAE_SPEC_f with its value (e.g. -DAAE_SPEC_hidden=2048), plus
 * AAE_SPEC_PREFIX. D(f) below then reads the constant instead of d->f; the
 * descriptor passed at run time must still hold the same values (the runtime
 * compares the library's descriptor with the weights before use).
 *
 * KV cache: kv_cap slots per layer of n_kv * head_dim values for keys and as
 * many for values: float16 (rounded to nearest even) for models with float16
 * activations (weight types AAE_W_Q4F16, AAE_W_Q3F16, AAE_W_F16), float32
 * otherwise; the chunk being run sees its own keys and values rounded the same
 * way, so chunking does not change results. The runtime places vcache and
 * slot_pos from plan.kv_bytes alone (kcache and vcache are halves of
 * kv_bytes - kv_cap * 4). Without a sliding window, position p lives in slot p (so
 * kv_cap is the context window). With a window W and a sink S, positions
 * p < S live in slot p and the others in slot S + (p - S) % W (kv_cap = S + W);
 * a query at q sees keys p <= q with q - p < W or p < S (Hugging Face Mistral
 * semantics, plus the sink).
 */
#ifndef AAE_MODELS_MODEL_H
#define AAE_MODELS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

#define AAE_MODEL_ABI_VERSION 2 /* 2: float16 KV cache for float16 models */

enum { AAE_MODEL_NORM_RMS = 0, AAE_MODEL_NORM_LAYER = 1 };

typedef struct aae_model_desc {
    int32_t abi_version; /* AAE_MODEL_ABI_VERSION */
    int32_t arch;        /* aae_arch of format/chat_config.h (informational) */
    int32_t wtype;       /* aae_wtype of the linear weights */
    int32_t hidden, inter, n_layers, n_heads, n_kv, head_dim, rot_dim, vocab;
    int32_t kv_cap;      /* KV slots per layer */
    int32_t window;      /* sliding window W, 0 = off */
    int32_t sink;        /* attention sink S (with a window), else 0 */
    int32_t chunk;       /* most tokens per aae_model_forward call (prefill chunk) */
    int32_t norm;        /* AAE_MODEL_NORM_* */
    int32_t parallel;    /* parallel residual: x + attn(.) + mlp(.) */
    int32_t shared_norm; /* phi: both branches read one norm */
    int32_t gated;       /* down(act(gate) * up) vs fc2(act(fc1)) */
    int32_t act;         /* AAE_ACT_KIND_* */
    int32_t tied;        /* logits use the embedding matrix */
    float eps;
    float emb_scale;     /* 1, or gemma's sqrt(hidden) */
} aae_model_desc;

typedef struct aae_layer_weights {
    aae_wmat qkv;          /* [(n_heads + 2 n_kv) head_dim, hidden], rows q, k, v */
    aae_wmat o;            /* [hidden, n_heads head_dim] */
    aae_wmat up;           /* gated: [2 inter, hidden] rows gate, up; plain: fc1 [inter, hidden] */
    aae_wmat down;         /* [hidden, inter] */
    aae_vec ln1_w, ln1_b;  /* input norm (b: layer norm only) */
    aae_vec ln2_w, ln2_b;  /* post-attention norm (unused with shared_norm) */
    aae_vec qkv_b, o_b, up_b, down_b; /* biases, p == NULL when absent */
} aae_layer_weights;

typedef struct aae_model_weights {
    aae_wmat embed;        /* [vocab, hidden] */
    aae_wmat head;         /* [vocab, hidden]; == embed when tied */
    aae_vec lnf_w, lnf_b;  /* final norm */
    aae_vec head_b;        /* phi */
    const aae_layer_weights *layers; /* [n_layers] */
    const float *inv_freq; /* [rot_dim / 2] */
} aae_model_weights;

typedef struct aae_model_state {
    void *kcache, *vcache;  /* [n_layers][kv_cap][n_kv * head_dim], float16 or float32 (KV cache above) */
    int32_t *slot_pos;      /* [kv_cap]: the position held by each slot */
    int32_t n_past;         /* positions already in the cache */
    void *act;              /* activation arena: plan.act_bytes, 64-byte aligned */
    float *logits;          /* [vocab]: logits of the last token of the last call */
} aae_model_state;

typedef struct aae_mem_plan {
    uint64_t kv_bytes;      /* kcache + vcache + slot_pos */
    uint64_t act_bytes;     /* activation arena (scratch included) */
    uint64_t logits_bytes;
} aae_mem_plan;

/* The memory a model needs besides its weights, for n_threads threads. */
void aae_model_plan(const aae_model_desc *d, int32_t n_threads, aae_mem_plan *out);

/* Runs n tokens (1 <= n <= chunk) at positions n_past .. n_past + n - 1, appends
 * them to the KV cache, advances n_past, and writes the last token's logits.
 * The caller has checked: token ids < vocab; without a window,
 * n_past + n <= kv_cap. Returns 0. */
int aae_model_forward(const aae_model_desc *d, const aae_model_weights *w, aae_model_state *s, const aae_kctx *kc,
                      const int32_t *tokens, int32_t n);

#endif
