/*
 * pkg_manifest.c - which files make up a converted model, and how much memory it
 * needs (see pkg_manifest.h for the formats read).
 *
 * Memory estimate (documented in docs/package.md):
 *   weights     = the sum of the shards' nbytes (weights are memory-mapped as stored);
 *   KV cache    = 2 (K and V) * layers * kv_heads * head_dim * kv_len * max_batch
 *                 * bytes per element (4 for *f32* quantizations, else 2), where
 *                 kv_len = context_window_size, or sliding_window_size +
 *                 attention_sink_size when the context window is -1;
 *   activations = prefill_chunk * (4 * hidden + q/k/v width + 2 * intermediate
 *                 + heads * kv_len) * 4 bytes + vocab * 4 (logits of one position).
 */
#include "package/pkg_manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/json.h"
#include "format/chat_config.h"
#include "format/tensor_cache.h"
#include "package/pkg_util.h"

#define MAX_FILES 4096

static int64_t clamp_dim(int64_t v) { return v < 0 ? 0 : (v > ((int64_t)1 << 24) ? ((int64_t)1 << 24) : v); }

static void read_info(const aae_chat_config *cc, aae_pkg_model_info *in)
{
    aae_pkg_sfmt(in->model_type, sizeof in->model_type, "%s", cc->model_type ? cc->model_type : "");
    aae_pkg_sfmt(in->quantization, sizeof in->quantization, "%s", cc->quantization ? cc->quantization : "");
    in->vocab_size = clamp_dim(cc->vocab_size);
    in->hidden_size = clamp_dim(cc->dims.hidden_size);
    in->num_layers = clamp_dim(cc->dims.num_layers);
    in->num_heads = clamp_dim(cc->dims.num_heads);
    in->num_kv_heads = clamp_dim(cc->dims.num_kv_heads);
    in->head_dim = clamp_dim(cc->dims.head_dim);
    in->intermediate_size = clamp_dim(cc->dims.intermediate_size);
    in->context_window_size = cc->context_window_size;
    in->prefill_chunk_size = cc->prefill_chunk_size;
    in->sliding_window_size = cc->sliding_window_size;
    in->attention_sink_size = cc->attention_sink_size;
}

static aae_status add_file(aae_pkg_manifest *m, const char *where, const char *name, int64_t size, const char *md5,
                           int is_shard, aae_error *err)
{
    if (!aae_pkg_is_safe_name(name) || strstr(name, ".."))
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: file name \"%.200s\" is not a plain file name inside the "
                                                  "model folder (no '/', \"..\" or leading '.'); refusing it",
                             where, name);
    for (size_t i = 0; i < m->n_files; i++)
        if (strcmp(m->files[i].name, name) == 0)
            return AAE_OK; /* listed twice (e.g. a tokenizer file that is also a config) */
    if (m->n_files == MAX_FILES)
        return aae_error_set(err, AAE_ERR_LIMIT, "%s: more than %d files", where, MAX_FILES);
    aae_pkg_file *f = &m->files[m->n_files++];
    aae_pkg_sfmt(f->name, sizeof f->name, "%s", name);
    f->size = size;
    aae_pkg_sfmt(f->md5, sizeof f->md5, "%s", md5 ? md5 : "");
    f->is_shard = is_shard;
    return AAE_OK;
}

aae_status aae_pkg_manifest_from_text(const char *where, const char *chat_name, const char *chat_text,
                                      size_t chat_len, const char *tc_name, const char *tc_text, size_t tc_len,
                                      aae_pkg_manifest *out, aae_error *err)
{
    memset(out, 0, sizeof *out);
    char label[AAE_PKG_PATH_MAX];
    aae_chat_config *cc = NULL;
    aae_tensor_cache *tc = NULL;
    aae_pkg_sfmt(label, sizeof label, "%s/%s", where, chat_name);
    aae_status st = aae_chat_config_parse(chat_text, chat_len, label, &cc, err);
    if (st != AAE_OK)
        return st;
    aae_pkg_sfmt(label, sizeof label, "%s/%s", where, tc_name);
    if ((st = aae_tensor_cache_parse(tc_text, tc_len, label, &tc, err)) != AAE_OK)
        goto out;
    if (cc->n_tokenizer_files + tc->n_shards > MAX_FILES - 2) {
        st = aae_error_set(err, AAE_ERR_LIMIT, "%s: more than %d files", where, MAX_FILES);
        goto out;
    }
    out->files = calloc(2 + cc->n_tokenizer_files + tc->n_shards, sizeof *out->files);
    if (!out->files) {
        st = aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
        goto out;
    }
    aae_pkg_sfmt(out->chat_config, sizeof out->chat_config, "%s", chat_name);
    aae_pkg_sfmt(out->tensor_cache, sizeof out->tensor_cache, "%s", tc_name);
    read_info(cc, &out->info);
    add_file(out, where, chat_name, (int64_t)chat_len, NULL, 0, NULL);
    add_file(out, where, tc_name, (int64_t)tc_len, NULL, 0, NULL);
    for (size_t i = 0; i < cc->n_tokenizer_files; i++) {
        char w[512];
        aae_pkg_sfmt(w, sizeof w, "%s/%s: /tokenizer_files/%zu", where, chat_name, i);
        if ((st = add_file(out, w, cc->tokenizer_files[i], -1, NULL, 0, err)) != AAE_OK)
            goto out;
    }
    for (size_t i = 0; i < tc->n_shards; i++) {
        char w[512];
        aae_pkg_sfmt(w, sizeof w, "%s/%s: /records/%zu/dataPath", where, tc_name, i);
        if ((st = add_file(out, w, tc->shards[i].data_path, (int64_t)tc->shards[i].nbytes, tc->shards[i].md5, 1,
                           err)) != AAE_OK)
            goto out;
        out->weight_bytes += (int64_t)tc->shards[i].nbytes;
    }
out:
    aae_chat_config_free(cc);
    aae_tensor_cache_free(tc);
    if (st != AAE_OK)
        aae_pkg_manifest_free(out);
    return st;
}

static aae_status read_either(const char *dir, const char *a, const char *b, const char **used, char **text,
                              size_t *len, aae_error *err)
{
    char p[AAE_PKG_PATH_MAX];
    aae_path_join(p, sizeof p, dir, a);
    *used = a;
    if (!aae_is_file(p)) {
        aae_path_join(p, sizeof p, dir, b);
        *used = b;
        if (!aae_is_file(p))
            return aae_error_set(err, AAE_ERR_NOT_FOUND, "%s: has neither %s nor %s; is this a converted AAE/MLC "
                                                         "model folder (sphere_aae convert_weight + gen_config)?",
                                 dir, a, b);
    }
    return aae_read_file(p, AAE_JSON_FILE_MAX, text, len, err);
}

aae_status aae_pkg_manifest_load(const char *dir, aae_pkg_manifest *out, aae_error *err)
{
    memset(out, 0, sizeof *out);
    const char *cn, *tn;
    char *ct = NULL, *tt = NULL;
    size_t cl = 0, tl = 0;
    aae_status st = read_either(dir, AAE_PKG_CHAT_CONFIG, AAE_PKG_CHAT_CONFIG_MLC, &cn, &ct, &cl, err);
    if (st == AAE_OK)
        st = read_either(dir, AAE_PKG_TENSOR_CACHE, AAE_PKG_TENSOR_CACHE_MLC, &tn, &tt, &tl, err);
    if (st == AAE_OK)
        st = aae_pkg_manifest_from_text(dir, cn, ct, cl, tn, tt, tl, out, err);
    free(ct);
    free(tt);
    return st;
}

void aae_pkg_manifest_free(aae_pkg_manifest *m)
{
    free(m->files);
    m->files = NULL;
    m->n_files = 0;
}

aae_status aae_pkg_manifest_check(const char *dir, const aae_pkg_manifest *m, int check_md5, aae_error *err)
{
    for (size_t i = 0; i < m->n_files; i++) {
        const aae_pkg_file *f = &m->files[i];
        char p[AAE_PKG_PATH_MAX];
        aae_path_join(p, sizeof p, dir, f->name);
        int64_t sz = aae_pkg_file_size(p);
        if (sz < 0)
            return aae_error_set(err, AAE_ERR_NOT_FOUND, "%s: missing", p);
        if (f->size >= 0 && sz != f->size)
            return aae_error_set(err, AAE_ERR_MISMATCH, "%s: %lld bytes, but %s says %lld", p, (long long)sz,
                                 m->tensor_cache, (long long)f->size);
        if (check_md5 && f->md5[0]) {
            char hex[33];
            aae_status st = aae_pkg_md5_file(p, hex, err);
            if (st != AAE_OK)
                return st;
            if (strcmp(hex, f->md5) != 0)
                return aae_error_set(err, AAE_ERR_MISMATCH, "%s: md5 %s, but %s says %s", p, hex,
                                     m->tensor_cache, f->md5);
        }
    }
    return AAE_OK;
}

static int64_t pick(int64_t over, int64_t base) { return over != AAE_PKG_UNSET ? over : base; }

void aae_pkg_memory_estimate(const aae_pkg_manifest *m, const aae_pkg_overrides *ov, aae_pkg_memory *out)
{
    const aae_pkg_model_info *in = &m->info;
    memset(out, 0, sizeof *out);
    out->weights = m->weight_bytes;
    int64_t ctx = pick(ov->context_window_size, in->context_window_size);
    int64_t sw = pick(ov->sliding_window_size, in->sliding_window_size);
    int64_t sink = pick(ov->attention_sink_size, in->attention_sink_size);
    int64_t kv_len = ctx > 0 ? ctx : (sw > 0 ? sw + (sink > 0 ? sink : 0) : 0);
    if (ctx > 0 && sw > 0 && sw + (sink > 0 ? sink : 0) < ctx)
        kv_len = sw + (sink > 0 ? sink : 0);
    int64_t chunk = pick(ov->prefill_chunk_size, in->prefill_chunk_size);
    if (chunk <= 0 || (kv_len > 0 && chunk > kv_len))
        chunk = kv_len > 0 ? kv_len : 1;
    int64_t batch = ov->max_batch_size > 0 ? ov->max_batch_size : 1;
    int64_t elem = strstr(in->quantization, "f32") ? 4 : 2;
    out->context_window = ctx;
    out->prefill_chunk = chunk;
    out->kv_len = kv_len;
    if (kv_len > ((int64_t)1 << 26))
        kv_len = (int64_t)1 << 26;
    if (chunk > kv_len && kv_len > 0)
        chunk = kv_len;
    /* in double: the dimensions are untrusted and their product may not fit */
    double kv = 2.0 * (double)in->num_layers * (double)in->num_kv_heads * (double)in->head_dim * (double)kv_len *
                (double)batch * (double)elem;
    double qkv = (double)(in->num_heads + 2 * in->num_kv_heads) * (double)in->head_dim;
    double act = (double)chunk * (4.0 * (double)in->hidden_size + qkv + 2.0 * (double)in->intermediate_size +
                                  (double)in->num_heads * (double)kv_len) * 4.0 + (double)in->vocab_size * 4.0;
    out->kv_cache = kv > 1e18 ? (int64_t)1e18 : (int64_t)kv;
    out->activations = act > 1e18 ? (int64_t)1e18 : (int64_t)act;
    if (out->kv_cache < 0)
        out->kv_cache = 0;
    if (out->activations < 0)
        out->activations = 0;
    out->total = out->weights + out->kv_cache + out->activations;
}
