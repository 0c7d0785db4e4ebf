/*
 * model_impl.h - private: the aae_model handle (public API in sphere_aae.h,
 * model section) and the binding of a converted directory's tensors to the
 * forward pass's weight structs.
 */
#ifndef AAE_LOADER_MODEL_IMPL_H
#define AAE_LOADER_MODEL_IMPL_H

#include "base/error.h"
#include "base/fs.h"
#include "format/chat_config.h"
#include "format/tensor_cache.h"
#include "loader/pool.h"
#include "models/model.h"

/* A forward implementation: the generic built-in one, or a model library's. */
typedef struct aae_model_impl {
    void (*plan)(const aae_model_desc *d, int32_t n_threads, aae_mem_plan *out);
    int (*forward)(const aae_model_desc *d, const aae_model_weights *w, aae_model_state *s, const aae_kctx *kc,
                   const int32_t *tokens, int32_t n);
} aae_model_impl;

struct aae_model {
    aae_error err;
    char *dir;
    aae_chat_config *cfg;
    aae_tensor_cache *tc;
    aae_mmap *maps;          /* one per shard */
    size_t n_maps;
    aae_model_desc desc;
    aae_model_weights w;
    aae_layer_weights *layers;
    float *inv_freq;
    aae_model_impl impl;
    const struct aae_model_lib *lib; /* the model library in use, or NULL (generic code) */
    void *lib_handle;                /* its dlopen handle (a .so), or NULL */
    aae_mem_plan plan;
    aae_model_state st;
    void *kv_mem, *act_mem;
    aae_pool *pool;
    aae_threads th;
    aae_kctx kc;
    int32_t n_threads;
    uint32_t cpu;
    int has_logits;
    uint64_t bytes_per_token;
};

/* Binds every tensor the architecture needs (checking name, dtype and shape)
 * into m->w / m->layers, and fills m->desc from m->cfg. */
aae_status aae_model_bind(struct aae_model *m, aae_error *err);
/* inv_freq[rot_dim / 2] as transformers computes it (float32, llama3 scaling). */
void aae_model_inv_freq(const aae_model_dims *d, float *out);

#endif
