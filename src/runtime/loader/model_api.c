/*
 * model_api.c - the public low-level model API (sphere_aae.h, "model"): load a
 * converted directory (config, tensor cache, mapped shards, bound weights), plan
 * and allocate the KV cache and activations, run prefill/decode in chunks,
 * reset or truncate the KV cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader/cpu.h"
#include "loader/model_lib.h"
#include "loader/model_impl.h"

#define MAX_DEFAULT_THREADS 8

void aae_model_default_params(aae_model_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->use_simd = 1;
}

static int32_t default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > MAX_DEFAULT_THREADS ? MAX_DEFAULT_THREADS : (int32_t)n;
}

static aae_status fail(aae_model *m, aae_status st)
{
    aae_log(AAE_LOG_ERROR, "%s", m->err.msg);
    return st;
}

static aae_status map_shards(aae_model *m)
{
    m->maps = calloc(m->tc->n_shards + 1, sizeof *m->maps);
    if (!m->maps)
        return aae_error_set(&m->err, AAE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m->tc->n_shards; i++) {
        char path[4096];
        if (!aae_path_join(path, sizeof path, m->dir, m->tc->shards[i].data_path))
            return aae_error_set(&m->err, AAE_ERR_INVALID_ARGUMENT, "%s: path too long", m->dir);
        aae_status st = aae_mmap_file(path, &m->maps[i], &m->err);
        if (st != AAE_OK)
            return st;
        m->n_maps = i + 1;
        if (m->maps[i].size != m->tc->shards[i].nbytes)
            return aae_error_set(&m->err, AAE_ERR_FORMAT,
                                 "%s: file is %zu bytes but %s records nbytes %llu (at /records/%zu/nbytes); the file "
                                 "is truncated or from another conversion: download or convert it again",
                                 path, m->maps[i].size, m->tc->path, (unsigned long long)m->tc->shards[i].nbytes, i);
    }
    return AAE_OK;
}

/* KV capacity, window, sink and chunk from the config and the overrides. */
static aae_status size_cache(aae_model *m, const aae_model_params *p)
{
    const aae_chat_config *c = m->cfg;
    aae_model_desc *d = &m->desc;
    int64_t ctx = p->context_window_size > 0 ? p->context_window_size : c->context_window_size;
    int64_t chunk = p->prefill_chunk_size > 0 ? p->prefill_chunk_size : c->prefill_chunk_size;
    if (c->sliding_window_size > 0) {
        d->window = (int32_t)c->sliding_window_size;
        d->sink = c->attention_sink_size > 0 ? (int32_t)c->attention_sink_size : 0;
        d->kv_cap = d->window + d->sink;
    } else {
        if (ctx <= 0)
            return aae_error_set(&m->err, AAE_ERR_FORMAT, "%s: no context_window_size; set one", c->path);
        d->window = 0;
        d->sink = 0;
        d->kv_cap = (int32_t)ctx;
        if (chunk > ctx)
            chunk = ctx;
    }
    if (chunk < 1)
        chunk = 1;
    d->chunk = (int32_t)chunk;
    if ((int64_t)d->kv_cap * d->n_layers * d->n_kv * d->head_dim > ((int64_t)1 << 36))
        return aae_error_set(&m->err, AAE_ERR_LIMIT, "a KV cache of %d tokens is too large for this model",
                             d->kv_cap);
    return AAE_OK;
}

static void *alloc64(uint64_t bytes)
{
    void *p = NULL;
    if (bytes > SIZE_MAX / 2 || posix_memalign(&p, 64, (size_t)(bytes ? bytes : 64)) != 0)
        return NULL;
    return p;
}

static aae_status alloc_state(aae_model *m)
{
    m->impl.plan(&m->desc, m->n_threads, &m->plan);
    free(m->kv_mem);
    free(m->act_mem);
    m->kv_mem = alloc64(m->plan.kv_bytes + m->plan.logits_bytes + 64);
    m->act_mem = alloc64(m->plan.act_bytes);
    if (!m->kv_mem || !m->act_mem)
        return aae_error_set(&m->err, AAE_ERR_NOMEM,
                             "out of memory allocating %llu bytes of KV cache and %llu of activations; lower "
                             "context_window_size or prefill_chunk_size",
                             (unsigned long long)m->plan.kv_bytes, (unsigned long long)m->plan.act_bytes);
    /* keys, values (equal halves, float16 or float32: models/model.h), slot positions */
    size_t half = (size_t)((m->plan.kv_bytes - (uint64_t)m->desc.kv_cap * sizeof(int32_t)) / 2);
    m->st.kcache = m->kv_mem;
    m->st.vcache = (uint8_t *)m->kv_mem + half;
    m->st.slot_pos = (int32_t *)((uint8_t *)m->kv_mem + 2 * half);
    m->st.logits = (float *)((uint8_t *)m->kv_mem + ((m->plan.kv_bytes + 63) & ~(uint64_t)63));
    m->st.act = m->act_mem;
    m->st.n_past = 0;
    m->has_logits = 0;
    return AAE_OK;
}

static aae_status start_threads(aae_model *m, int32_t n)
{
    aae_pool_free(m->pool);
    m->pool = NULL;
    m->n_threads = n > 0 ? n : default_threads();
    aae_status st = aae_pool_create(m->n_threads, &m->pool, &m->err);
    if (st != AAE_OK)
        return st;
    aae_pool_threads(m->pool, &m->th);
    m->kc.th = &m->th;
    m->kc.cpu = m->cpu;
    return AAE_OK;
}

/* Runs a compiled model library (loader/model_lib.h) instead of the generic code: it
 * must match the weights; its compiled-in plan (KV capacity, window, sink, chunk) is
 * used unless the caller asked for another one. */
static aae_status use_model_lib(aae_model *m, const aae_model_params *p)
{
    const aae_model_lib *lib = NULL;
    aae_status st = aae_model_lib_open(p->model_lib, &lib, &m->lib_handle, &m->err);
    if (st != AAE_OK)
        return st;
    int want_plan = p->context_window_size > 0 || p->prefill_chunk_size > 0;
    if ((st = aae_model_lib_check(lib, &m->desc, want_plan, aae_cpu_features(), m->dir, &m->err)) != AAE_OK)
        return st;
    m->desc.kv_cap = lib->desc->kv_cap;
    m->desc.window = lib->desc->window;
    m->desc.sink = lib->desc->sink;
    m->desc.chunk = lib->desc->chunk;
    m->impl.plan = lib->plan;
    m->impl.forward = lib->forward;
    m->lib = lib;
    return AAE_OK;
}

static aae_status load(aae_model *m, const char *dir, const aae_model_params *p)
{
    aae_status st;
    if (!(m->dir = strdup(dir)))
        return aae_error_set(&m->err, AAE_ERR_NOMEM, "out of memory");
    if (!aae_is_dir(dir))
        return aae_error_set(&m->err, AAE_ERR_NOT_FOUND, "%s: not a directory (expected a converted model directory)",
                             dir);
    if ((st = aae_chat_config_load(dir, &m->cfg, &m->err)) != AAE_OK ||
        (st = aae_tensor_cache_load(dir, &m->tc, &m->err)) != AAE_OK)
        return st;
    if (p->verify_md5 && (st = aae_tensor_cache_verify_shards(m->tc, dir, 1, &m->err)) != AAE_OK)
        return st;
    if ((st = map_shards(m)) != AAE_OK || (st = aae_model_bind(m, &m->err)) != AAE_OK)
        return st;
    m->impl.plan = aae_model_plan;
    m->impl.forward = aae_model_forward;
    if (p->use_simd < 0 || p->use_simd > 4)
        return aae_error_set(&m->err, AAE_ERR_INVALID_ARGUMENT,
                             "use_simd = %d: use 1 (best kernels), 3 (best without AVX-512), 4 (best without "
                             "AVX2), 2 (baseline SIMD only) or 0 (portable C)",
                             (int)p->use_simd);
    m->cpu = p->use_simd == 0   ? 0
             : p->use_simd == 2 ? aae_cpu_features() & (AAE_CPU_AVX2_FMA | AAE_CPU_NEON)
             : p->use_simd == 3 ? aae_cpu_features() & ~(uint32_t)AAE_CPU_AVX512
             : p->use_simd == 4 ? aae_cpu_features() & ~(uint32_t)(AAE_CPU_AVX512 | AAE_CPU_AVX2_FMA | AAE_CPU_AVX_VNNI)
                                : aae_cpu_features();
    if ((st = size_cache(m, p)) != AAE_OK)
        return st;
    if (p->model_lib && p->model_lib[0] && (st = use_model_lib(m, p)) != AAE_OK)
        return st;
    if ((st = start_threads(m, p->n_threads)) != AAE_OK)
        return st;
    return alloc_state(m);
}

aae_status aae_model_load(const char *model_dir, const aae_model_params *params, aae_model **out)
{
    if (!out)
        return AAE_ERR_INVALID_ARGUMENT;
    *out = NULL;
    aae_model *m = calloc(1, sizeof *m);
    if (!m)
        return AAE_ERR_NOMEM;
    *out = m;
    if (!model_dir)
        return fail(m, aae_error_set(&m->err, AAE_ERR_INVALID_ARGUMENT, "model_dir is NULL"));
    aae_model_params def;
    aae_model_default_params(&def);
    aae_status st = load(m, model_dir, params ? params : &def);
    if (st != AAE_OK)
        return fail(m, st);
    aae_log(AAE_LOG_INFO, "%s: %s %s, %d layers, KV cache %d tokens, %d threads, kernels %s", model_dir,
            m->cfg->model_type, m->cfg->quantization, m->desc.n_layers, m->desc.kv_cap, m->n_threads,
            aae_cpu_path_name(m->cpu));
    return AAE_OK;
}

static int ready(aae_model *m) { return m && m->impl.forward && m->st.act; }

static aae_status run(aae_model *m, const int32_t *tokens, size_t n)
{
    if (!ready(m))
        return m ? aae_error_set(&m->err, AAE_ERR_STATE, "the model is not loaded") : AAE_ERR_INVALID_ARGUMENT;
    if (!tokens || n == 0)
        return aae_error_set(&m->err, AAE_ERR_INVALID_ARGUMENT, "no tokens given");
    /* Sizes first, written as subtractions so that no count can wrap. */
    if (m->desc.window <= 0 && n > (size_t)(m->desc.kv_cap - m->st.n_past))
        return aae_error_set(&m->err, AAE_ERR_LIMIT,
                             "%zu more tokens after %d would pass the context window of %d tokens; reset, or load with "
                             "a larger context_window_size",
                             n, (int)m->st.n_past, (int)m->desc.kv_cap);
    if (n > (size_t)(INT32_MAX / 2 - m->st.n_past))
        return aae_error_set(&m->err, AAE_ERR_LIMIT, "too many positions");
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= m->desc.vocab)
            return aae_error_set(&m->err, AAE_ERR_INVALID_ARGUMENT, "token %zu is %d, outside the vocabulary [0, %d)",
                                 i, (int)tokens[i], (int)m->desc.vocab);
    for (size_t i = 0; i < n; i += (size_t)m->desc.chunk) {
        size_t c = n - i < (size_t)m->desc.chunk ? n - i : (size_t)m->desc.chunk;
        m->impl.forward(&m->desc, &m->w, &m->st, &m->kc, tokens + i, (int32_t)c);
    }
    m->has_logits = 1;
    return AAE_OK;
}

aae_status aae_model_prefill(aae_model *m, const int32_t *tokens, size_t n) { return run(m, tokens, n); }

aae_status aae_model_decode(aae_model *m, int32_t token) { return run(m, &token, 1); }

aae_status aae_model_logits(aae_model *m, const float **logits, size_t *n_vocab)
{
    if (!m || !logits || !n_vocab)
        return AAE_ERR_INVALID_ARGUMENT;
    if (!m->has_logits)
        return aae_error_set(&m->err, AAE_ERR_STATE, "no logits yet: run aae_model_prefill or aae_model_decode first");
    *logits = m->st.logits;
    *n_vocab = (size_t)m->desc.vocab;
    return AAE_OK;
}

aae_status aae_model_reset(aae_model *m)
{
    if (!ready(m))
        return m ? aae_error_set(&m->err, AAE_ERR_STATE, "the model is not loaded") : AAE_ERR_INVALID_ARGUMENT;
    m->st.n_past = 0;
    m->has_logits = 0;
    return AAE_OK;
}

/* Position p < n_past lives in slot p for a linear cache, and for a ring cache
 * that has not wrapped yet (n_past <= sink + window = kv_cap); then dropping the
 * tail is only moving n_past back: the slots past it are overwritten before any
 * attention reads them (it reads slots [0, min(n_past, kv_cap))). Once a ring
 * has wrapped, the positions just before n_keep may have been overwritten. */
aae_status aae_model_truncate(aae_model *m, int32_t n_keep)
{
    if (!ready(m))
        return m ? aae_error_set(&m->err, AAE_ERR_STATE, "the model is not loaded") : AAE_ERR_INVALID_ARGUMENT;
    int32_t n_past = m->st.n_past;
    if (n_keep < 0 || n_keep > n_past)
        return aae_error_set(&m->err, AAE_ERR_INVALID_ARGUMENT,
                             "cannot keep %d positions of the KV cache: it holds %d (n_keep must be in [0, %d])",
                             (int)n_keep, (int)n_past, (int)n_past);
    if (n_keep == n_past)
        return AAE_OK;
    if (m->desc.window > 0 && n_keep > 0 && n_past > m->desc.kv_cap)
        return aae_error_set(&m->err, AAE_ERR_STATE,
                             "cannot keep %d of %d positions: the sliding-window cache holds %d (sink %d + window "
                             "%d) and has already overwritten older positions with newer ones, so it can only be cut "
                             "to 0; reset and prefill the prompt again",
                             (int)n_keep, (int)n_past, (int)m->desc.kv_cap, (int)m->desc.sink, (int)m->desc.window);
    m->st.n_past = n_keep;
    m->has_logits = 0;
    return AAE_OK;
}

int32_t aae_model_n_vocab(const aae_model *m) { return m && m->cfg ? m->desc.vocab : 0; }

int32_t aae_model_n_past(const aae_model *m) { return m ? m->st.n_past : 0; }

aae_status aae_model_set_threads(aae_model *m, int32_t n)
{
    if (!ready(m))
        return m ? aae_error_set(&m->err, AAE_ERR_STATE, "the model is not loaded") : AAE_ERR_INVALID_ARGUMENT;
    if (n < 0 || n > 256)
        return aae_error_set(&m->err, AAE_ERR_INVALID_ARGUMENT, "thread count %d outside [0, 256]", (int)n);
    int32_t keep = m->st.n_past;
    aae_status st = start_threads(m, n);
    if (st != AAE_OK)
        return st;
    /* the activation plan depends on the thread count; the KV cache is kept */
    aae_mem_plan plan;
    m->impl.plan(&m->desc, m->n_threads, &plan);
    void *act = alloc64(plan.act_bytes);
    if (!act)
        return aae_error_set(&m->err, AAE_ERR_NOMEM, "out of memory");
    free(m->act_mem);
    m->act_mem = act;
    m->st.act = act;
    m->plan.act_bytes = plan.act_bytes;
    m->st.n_past = keep;
    return AAE_OK;
}

aae_status aae_model_get_info(const aae_model *m, aae_model_info *out)
{
    if (!m || !out || !m->cfg)
        return AAE_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    out->model_type = m->cfg->model_type;
    out->quantization = m->cfg->quantization;
    out->n_vocab = m->desc.vocab;
    out->n_layers = m->desc.n_layers;
    out->hidden_size = m->desc.hidden;
    out->context_window_size = m->desc.window > 0 ? -1 : m->desc.kv_cap;
    out->sliding_window_size = m->desc.window > 0 ? m->desc.window : -1;
    out->attention_sink_size = m->desc.sink;
    out->prefill_chunk_size = m->desc.chunk;
    out->n_threads = m->n_threads;
    out->weight_bytes = m->tc ? m->tc->total_bytes : 0;
    out->weight_bytes_per_token = m->bytes_per_token;
    out->kv_cache_bytes = m->plan.kv_bytes;
    out->activation_bytes = m->plan.act_bytes;
    out->kernel_path = aae_cpu_path_name(m->cpu);
    /* kv_bytes = kcache + vcache + the slot table (kv_cap int32) */
    if (m->desc.kv_cap > 0)
        out->kv_bytes_per_position =
            (m->plan.kv_bytes - (uint64_t)m->desc.kv_cap * sizeof(int32_t)) / (uint64_t)m->desc.kv_cap;
    return AAE_OK;
}

const char *aae_model_errmsg(const aae_model *m)
{
    if (!m)
        return "out of memory";
    return m->err.msg;
}

void aae_model_free(aae_model *m)
{
    if (!m)
        return;
    aae_pool_free(m->pool);
    for (size_t i = 0; i < m->n_maps; i++)
        aae_munmap(&m->maps[i]);
    free(m->maps);
    free(m->layers);
    free(m->inv_freq);
    free(m->kv_mem);
    free(m->act_mem);
    aae_tensor_cache_free(m->tc);
    aae_chat_config_free(m->cfg);
    aae_model_lib_close(m->lib_handle);
    free(m->dir);
    free(m);
}
