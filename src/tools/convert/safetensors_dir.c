/*
 * safetensors_dir.c - a checkpoint folder: model.safetensors, or the shards listed in
 * model.safetensors.index.json (format in safetensors.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/json.h"
#include "safetensors.h"

struct aae_st_model {
    aae_st_file **files;
    char **names; /* file name of files[i] inside the folder */
    size_t nfiles;
    const aae_st_tensor **by_name; /* all tensors of all files, sorted by name */
    size_t count;
    uint64_t bytes;
};

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const aae_st_tensor *const *)a)->name, (*(const aae_st_tensor *const *)b)->name);
}

static const aae_st_file *file_named(const aae_st_model *m, const char *name)
{
    for (size_t i = 0; i < m->nfiles; i++)
        if (strcmp(m->names[i], name) == 0)
            return m->files[i];
    return NULL;
}

static aae_status add_file(aae_st_model *m, const char *dir, const char *name, aae_error *err)
{
    if (file_named(m, name))
        return AAE_OK;
    char path[4096];
    if (!aae_path_join(path, sizeof path, dir, name))
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "%s/%s: path too long", dir, name);
    aae_st_file **nf = realloc(m->files, (m->nfiles + 1) * sizeof *nf);
    if (nf)
        m->files = nf;
    char **nn = realloc(m->names, (m->nfiles + 1) * sizeof *nn);
    if (nn)
        m->names = nn;
    if (!nf || !nn || !(m->names[m->nfiles] = strdup(name)))
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    aae_status st = aae_st_open(path, &m->files[m->nfiles], err);
    if (st) {
        free(m->names[m->nfiles]);
        return st;
    }
    m->nfiles++;
    return AAE_OK;
}

static aae_status open_index(aae_st_model *m, const char *dir, const char *index_path, aae_error *err)
{
    aae_json_doc *doc = NULL;
    aae_status st = aae_json_parse_file(index_path, &doc, err);
    if (st)
        return st;
    const aae_json *map = aae_json_get(aae_json_root(doc), "weight_map");
    if (!aae_json_is(map, AAE_JSON_OBJECT) || aae_json_count(map) == 0) {
        aae_json_free(doc);
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: /weight_map must be a non-empty object {tensor: file}",
                             index_path);
    }
    for (size_t i = 0; i < map->u.obj.count && !st; i++) {
        const aae_json_member *mb = &map->u.obj.members[i];
        const char *file = aae_json_str(mb->value);
        if (!file || !aae_is_plain_file_name(file)) {
            st = aae_error_set(err, AAE_ERR_FORMAT, "%s: /weight_map/%s: expected a plain file name inside the folder "
                               "(no '/', '\\' or leading '.'), found %s", index_path, mb->key, file ? file : aae_json_type_name(mb->value->type));
            break;
        }
        st = add_file(m, dir, file, err);
    }
    /* every tensor must be in the file the map names */
    for (size_t i = 0; i < map->u.obj.count && !st; i++) {
        const aae_json_member *mb = &map->u.obj.members[i];
        const aae_st_file *f = file_named(m, aae_json_str(mb->value));
        if (!f || !aae_st_get(f, mb->key))
            st = aae_error_set(err, AAE_ERR_FORMAT, "%s: /weight_map/%s names %s, but that file has no such tensor",
                               index_path, mb->key, aae_json_str(mb->value));
    }
    aae_json_free(doc);
    return st;
}

static aae_status build_table(aae_st_model *m, aae_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < m->nfiles; i++)
        total += aae_st_count(m->files[i]);
    m->by_name = malloc((total ? total : 1) * sizeof *m->by_name);
    if (!m->by_name)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m->nfiles; i++)
        for (size_t j = 0; j < aae_st_count(m->files[i]); j++) {
            const aae_st_tensor *t = aae_st_at(m->files[i], j);
            m->by_name[m->count++] = t;
            m->bytes += t->nbytes;
        }
    qsort(m->by_name, m->count, sizeof *m->by_name, cmp_name);
    for (size_t i = 1; i < m->count; i++)
        if (strcmp(m->by_name[i - 1]->name, m->by_name[i]->name) == 0)
            return aae_error_set(err, AAE_ERR_FORMAT, "tensor \"%s\" is in both %s and %s; the checkpoint is "
                                 "inconsistent", m->by_name[i]->name, m->by_name[i - 1]->path, m->by_name[i]->path);
    return AAE_OK;
}

aae_status aae_st_model_open(const char *hf_dir, aae_st_model **out, aae_error *err)
{
    *out = NULL;
    aae_st_model *m = calloc(1, sizeof *m);
    if (!m)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    char single[4096], index[4096];
    if (!aae_path_join(single, sizeof single, hf_dir, "model.safetensors") ||
        !aae_path_join(index, sizeof index, hf_dir, "model.safetensors.index.json")) {
        free(m);
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "%s: path too long", hf_dir);
    }
    aae_status st;
    if (aae_is_file(index))
        st = open_index(m, hf_dir, index, err);
    else if (aae_is_file(single))
        st = add_file(m, hf_dir, "model.safetensors", err);
    else
        st = aae_error_set(err, AAE_ERR_NOT_FOUND, "%s: no model.safetensors or model.safetensors.index.json; "
                           "convert_weight reads safetensors checkpoints (re-save a PyTorch .bin checkpoint with "
                           "save_pretrained(..., safe_serialization=True))", hf_dir);
    if (!st)
        st = build_table(m, err);
    if (st) {
        aae_st_model_close(m);
        return st;
    }
    *out = m;
    return AAE_OK;
}

void aae_st_model_close(aae_st_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfiles; i++) {
        aae_st_close(m->files[i]);
        free(m->names[i]);
    }
    free(m->files);
    free(m->names);
    free(m->by_name);
    free(m);
}

const aae_st_tensor *aae_st_model_get(const aae_st_model *m, const char *name)
{
    size_t lo = 0, hi = m ? m->count : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->by_name[mid]->name, name);
        if (c == 0)
            return m->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t aae_st_model_count(const aae_st_model *m)
{
    return m ? m->count : 0;
}

const aae_st_tensor *aae_st_model_at(const aae_st_model *m, size_t i)
{
    return m && i < m->count ? m->by_name[i] : NULL;
}

uint64_t aae_st_model_bytes(const aae_st_model *m)
{
    return m ? m->bytes : 0;
}
