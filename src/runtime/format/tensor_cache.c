/* tensor_cache.c - reads and validates tensor-cache.json (format: see tensor_cache.h). */
#include "format/tensor_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/md5.h"

typedef struct tc_index {
    uint32_t *slots; /* tensor index + 1; 0 = empty */
    size_t mask;
} tc_index;

typedef struct tc_ctx {
    const char *label;
    aae_error *err;
    char ptr[256]; /* JSON pointer of the value being read */
} tc_ctx;

const char *aae_dtype_name(aae_dtype dt)
{
    switch (dt) {
    case AAE_DTYPE_F32: return "float32";
    case AAE_DTYPE_F16: return "float16";
    case AAE_DTYPE_BF16: return "bfloat16";
    case AAE_DTYPE_U32: return "uint32";
    }
    return "?";
}

size_t aae_dtype_size(aae_dtype dt)
{
    return dt == AAE_DTYPE_F16 || dt == AAE_DTYPE_BF16 ? 2 : 4;
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static aae_status fail(tc_ctx *c, const char *key, const char *fmt, const char *what)
{
    char p[300];
    snprintf(p, sizeof p, "%s", c->ptr);
    if (key)
        aae_json_pointer_push(p, sizeof p, key);
    return aae_error_set(c->err, AAE_ERR_FORMAT, "%s: %s: %s%s", c->label, p[0] ? p : "(root)", fmt, what ? what : "");
}

/* A non-negative integer member. */
static aae_status get_u64(tc_ctx *c, const aae_json *obj, const char *key, uint64_t *out)
{
    const aae_json *v = aae_json_get(obj, key);
    if (!v)
        return fail(c, key, "missing; expected a non-negative integer", NULL);
    if (v->type != AAE_JSON_NUMBER || !v->u.num.is_int || v->u.num.i < 0)
        return fail(c, key, "expected a non-negative integer, got ", aae_json_type_name(v->type));
    *out = (uint64_t)v->u.num.i;
    return AAE_OK;
}

static aae_status get_str(tc_ctx *c, const aae_json *obj, const char *key, const char **out)
{
    const aae_json *v = aae_json_get(obj, key);
    if (!v)
        return fail(c, key, "missing; expected a string", NULL);
    if (v->type != AAE_JSON_STRING)
        return fail(c, key, "expected a string, got ", aae_json_type_name(v->type));
    if (strlen(v->u.str.s) != v->u.str.len)
        return fail(c, key, "contains a NUL character", NULL);
    *out = v->u.str.s;
    return AAE_OK;
}

static int parse_dtype(const char *s, aae_dtype *out)
{
    static const struct {
        const char *name;
        aae_dtype dt;
    } map[] = {{"float32", AAE_DTYPE_F32}, {"float16", AAE_DTYPE_F16}, {"bfloat16", AAE_DTYPE_BF16},
               {"uint32", AAE_DTYPE_U32}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(s, map[i].name)) {
            *out = map[i].dt;
            return 1;
        }
    return 0;
}

static aae_status read_shape(tc_ctx *c, const aae_json *rec, aae_tc_tensor *t)
{
    const aae_json *shape = aae_json_get(rec, "shape");
    if (!shape || shape->type != AAE_JSON_ARRAY)
        return fail(c, "shape", "expected an array of positive integers", NULL);
    if (shape->u.arr.count > AAE_TC_MAX_DIMS)
        return fail(c, "shape", "more than 8 dimensions", NULL);
    t->ndim = (int)shape->u.arr.count;
    uint64_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        const aae_json *d = shape->u.arr.items[i];
        if (d->type != AAE_JSON_NUMBER || !d->u.num.is_int || d->u.num.i <= 0 || d->u.num.i > (int64_t)1 << 40) {
            char key[24];
            snprintf(key, sizeof key, "%d", i);
            aae_json_pointer_push(c->ptr, sizeof c->ptr, "shape");
            return fail(c, key, "expected a positive integer dimension (at most 2^40)", NULL);
        }
        uint64_t dim = (uint64_t)d->u.num.i;
        if (numel > UINT64_MAX / 8 / dim)
            return fail(c, "shape", "the product of the dimensions overflows", NULL);
        numel *= dim;
        t->shape[i] = d->u.num.i;
    }
    t->numel = numel;
    return AAE_OK;
}

static aae_status read_tensor(tc_ctx *c, const aae_json *rec, const aae_tc_shard *shard, aae_tc_tensor *t)
{
    aae_status st;
    const char *s;
    if (rec->type != AAE_JSON_OBJECT)
        return fail(c, NULL, "expected an object", NULL);
    if ((st = get_str(c, rec, "name", &s)) != AAE_OK)
        return st;
    if (!s[0] || strlen(s) > 4096)
        return fail(c, "name", "expected a non-empty name of at most 4096 bytes", NULL);
    if (!(t->name = strdup(s)))
        return aae_error_set(c->err, AAE_ERR_NOMEM, "%s: out of memory", c->label);
    if ((st = read_shape(c, rec, t)) != AAE_OK)
        return st;
    if ((st = get_str(c, rec, "dtype", &s)) != AAE_OK)
        return st;
    if (!parse_dtype(s, &t->dtype))
        return fail(c, "dtype", "expected \"float32\", \"float16\", \"bfloat16\" or \"uint32\", got ", s);
    const aae_json *fmt = aae_json_get(rec, "format");
    t->format = AAE_RECORD_RAW;
    if (fmt) {
        if ((st = get_str(c, rec, "format", &s)) != AAE_OK)
            return st;
        if (!strcmp(s, "f32-to-bf16"))
            t->format = AAE_RECORD_F32_TO_BF16;
        else if (strcmp(s, "raw") != 0)
            return fail(c, "format", "expected \"raw\" or \"f32-to-bf16\", got ", s);
    }
    if (t->format == AAE_RECORD_F32_TO_BF16 && t->dtype != AAE_DTYPE_F32)
        return fail(c, "dtype", "format \"f32-to-bf16\" needs dtype \"float32\", got ", aae_dtype_name(t->dtype));
    if ((st = get_u64(c, rec, "nbytes", &t->nbytes)) != AAE_OK ||
        (st = get_u64(c, rec, "byteOffset", &t->byte_offset)) != AAE_OK)
        return st;
    uint64_t esize = t->format == AAE_RECORD_F32_TO_BF16 ? 2 : aae_dtype_size(t->dtype);
    if (t->nbytes != t->numel * esize) {
        char what[160];
        snprintf(what, sizeof what, "%llu bytes (%llu elements x %llu), got %llu", (unsigned long long)(t->numel * esize),
                 (unsigned long long)t->numel, (unsigned long long)esize, (unsigned long long)t->nbytes);
        return fail(c, "nbytes", "shape and dtype imply ", what);
    }
    if (t->byte_offset > shard->nbytes || t->nbytes > shard->nbytes - t->byte_offset) {
        char what[160];
        snprintf(what, sizeof what, "[%llu, +%llu) does not fit in the shard's %llu bytes",
                 (unsigned long long)t->byte_offset, (unsigned long long)t->nbytes, (unsigned long long)shard->nbytes);
        return fail(c, "byteOffset", "", what);
    }
    return AAE_OK;
}

static aae_status read_shard(tc_ctx *c, const aae_json *rec, aae_tc_shard *sh)
{
    aae_status st;
    const char *s;
    if (rec->type != AAE_JSON_OBJECT)
        return fail(c, NULL, "expected an object", NULL);
    if ((st = get_str(c, rec, "dataPath", &s)) != AAE_OK)
        return st;
    if (!aae_is_plain_file_name(s))
        return fail(c, "dataPath",
                    "expected a plain file name inside the model directory (no '/', '\\', control character or "
                    "leading '.'), got ", s);
    if (!(sh->data_path = strdup(s)))
        return aae_error_set(c->err, AAE_ERR_NOMEM, "%s: out of memory", c->label);
    if (aae_json_get(rec, "format")) {
        if ((st = get_str(c, rec, "format", &s)) != AAE_OK)
            return st;
        if (strcmp(s, "raw-shard") != 0)
            return fail(c, "format", "expected \"raw-shard\", got ", s);
    }
    if ((st = get_u64(c, rec, "nbytes", &sh->nbytes)) != AAE_OK)
        return st;
    sh->md5[0] = '\0';
    if (aae_json_get(rec, "md5sum")) {
        if ((st = get_str(c, rec, "md5sum", &s)) != AAE_OK)
            return st;
        if (strlen(s) != 32 || strspn(s, "0123456789abcdefABCDEF") != 32)
            return fail(c, "md5sum", "expected 32 hexadecimal digits, got ", s);
        for (int i = 0; i < 32; i++)
            sh->md5[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
        sh->md5[32] = '\0';
    }
    return AAE_OK;
}

static aae_status build_index(tc_ctx *c, aae_tensor_cache *tc)
{
    tc_index *ix = calloc(1, sizeof *ix);
    size_t cap = 16;
    while (cap < tc->n_tensors * 2)
        cap *= 2;
    if (!ix || !(ix->slots = calloc(cap, sizeof *ix->slots))) {
        free(ix);
        return aae_error_set(c->err, AAE_ERR_NOMEM, "%s: out of memory", c->label);
    }
    ix->mask = cap - 1;
    tc->priv_ = ix;
    for (size_t i = 0; i < tc->n_tensors; i++) {
        size_t h = (size_t)hash_name(tc->tensors[i].name) & ix->mask;
        while (ix->slots[h]) {
            const aae_tc_tensor *o = &tc->tensors[ix->slots[h] - 1];
            if (!strcmp(o->name, tc->tensors[i].name))
                return aae_error_set(c->err, AAE_ERR_FORMAT, "%s: tensor \"%s\" appears twice; names must be unique",
                                     c->label, o->name);
            h = (h + 1) & ix->mask;
        }
        ix->slots[h] = (uint32_t)(i + 1);
    }
    return AAE_OK;
}

const aae_tc_tensor *aae_tensor_cache_find(const aae_tensor_cache *tc, const char *name)
{
    if (!tc || !name || !tc->priv_)
        return NULL;
    const tc_index *ix = tc->priv_;
    size_t h = (size_t)hash_name(name) & ix->mask;
    while (ix->slots[h]) {
        const aae_tc_tensor *t = &tc->tensors[ix->slots[h] - 1];
        if (!strcmp(t->name, name))
            return t;
        h = (h + 1) & ix->mask;
    }
    return NULL;
}

static aae_status count_tensors(tc_ctx *c, const aae_json *shards, size_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < shards->u.arr.count; i++) {
        const aae_json *recs = aae_json_get(shards->u.arr.items[i], "records");
        snprintf(c->ptr, sizeof c->ptr, "/records/%zu", i);
        if (!recs || recs->type != AAE_JSON_ARRAY)
            return fail(c, "records", "expected an array of tensor records", NULL);
        n += recs->u.arr.count;
    }
    if (n >= UINT32_MAX / 4)
        return aae_error_set(c->err, AAE_ERR_LIMIT, "%s: too many tensors (%zu)", c->label, n);
    *out = n;
    return AAE_OK;
}

static aae_status parse_root(tc_ctx *c, const aae_json *root, aae_tensor_cache *tc)
{
    aae_status st;
    if (!root || root->type != AAE_JSON_OBJECT)
        return fail(c, NULL, "expected a JSON object with \"records\"", NULL);
    const aae_json *md = aae_json_get(root, "metadata");
    if (md && md->type != AAE_JSON_OBJECT)
        return fail(c, "metadata", "expected an object", NULL);
    const aae_json *shards = aae_json_get(root, "records");
    if (!shards || shards->type != AAE_JSON_ARRAY)
        return fail(c, "records", "expected an array of shard records", NULL);
    if (shards->u.arr.count >= UINT32_MAX)
        return fail(c, "records", "too many shards", NULL);
    size_t nt = 0;
    if ((st = count_tensors(c, shards, &nt)) != AAE_OK)
        return st;
    tc->shards = calloc(shards->u.arr.count + 1, sizeof *tc->shards);
    tc->tensors = calloc(nt + 1, sizeof *tc->tensors);
    if (!tc->shards || !tc->tensors)
        return aae_error_set(c->err, AAE_ERR_NOMEM, "%s: out of memory", c->label);
    for (size_t i = 0; i < shards->u.arr.count; i++) {
        const aae_json *srec = shards->u.arr.items[i];
        aae_tc_shard *sh = &tc->shards[tc->n_shards++];
        snprintf(c->ptr, sizeof c->ptr, "/records/%zu", i);
        if ((st = read_shard(c, srec, sh)) != AAE_OK)
            return st;
        if (tc->total_bytes + sh->nbytes < tc->total_bytes)
            return fail(c, "nbytes", "total size overflows", NULL);
        tc->total_bytes += sh->nbytes;
        const aae_json *recs = aae_json_get(srec, "records");
        for (size_t j = 0; j < recs->u.arr.count; j++) {
            aae_tc_tensor *t = &tc->tensors[tc->n_tensors++];
            snprintf(c->ptr, sizeof c->ptr, "/records/%zu/records/%zu", i, j);
            t->shard = (uint32_t)i;
            if ((st = read_tensor(c, recs->u.arr.items[j], sh, t)) != AAE_OK)
                return st;
        }
    }
    c->ptr[0] = '\0';
    return build_index(c, tc);
}

aae_status aae_tensor_cache_parse(const char *text, size_t len, const char *label, aae_tensor_cache **out,
                                  aae_error *err)
{
    aae_json_doc *doc = NULL;
    aae_status st = aae_json_parse(text, len, &doc, err);
    if (st != AAE_OK)
        return aae_error_prefix(err, "%s", label);
    aae_tensor_cache *tc = calloc(1, sizeof *tc);
    tc_ctx c = {.label = label, .err = err};
    if (!tc || !(tc->path = strdup(label))) {
        free(tc);
        aae_json_free(doc);
        return aae_error_set(err, AAE_ERR_NOMEM, "%s: out of memory", label);
    }
    st = parse_root(&c, aae_json_root(doc), tc);
    aae_json_free(doc);
    if (st != AAE_OK) {
        aae_tensor_cache_free(tc);
        return st;
    }
    *out = tc;
    return AAE_OK;
}

aae_status aae_tensor_cache_load(const char *model_dir, aae_tensor_cache **out, aae_error *err)
{
    char path[4096];
    int found = aae_find_file_or_alt(path, sizeof path, model_dir, "tensor-cache.json", "ndarray-cache.json");
    if (found < 0)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "%s: path too long", model_dir);
    if (!found)
        return aae_error_set(err, AAE_ERR_NOT_FOUND,
                             "%s: neither tensor-cache.json nor ndarray-cache.json exists; is this a converted "
                             "model directory (sphere_aae convert_weight writes one)?",
                             model_dir);
    char *text = NULL;
    size_t len = 0;
    aae_status st = aae_read_file(path, AAE_JSON_FILE_MAX, &text, &len, err);
    if (st != AAE_OK)
        return st;
    st = aae_tensor_cache_parse(text, len, path, out, err);
    free(text);
    return st;
}

void aae_tensor_cache_free(aae_tensor_cache *tc)
{
    if (!tc)
        return;
    for (size_t i = 0; i < tc->n_shards; i++)
        free((char *)tc->shards[i].data_path);
    for (size_t i = 0; i < tc->n_tensors; i++)
        free((char *)tc->tensors[i].name);
    tc_index *ix = tc->priv_;
    if (ix)
        free(ix->slots);
    free(ix);
    free(tc->shards);
    free(tc->tensors);
    free((char *)tc->path);
    free(tc);
}

static aae_status verify_md5(const char *path, const aae_mmap *m, const char *want, aae_error *err)
{
    char hex[33];
    aae_md5_hex(m->data, m->size, hex);
    if (strcmp(hex, want) != 0)
        return aae_error_set(err, AAE_ERR_FORMAT,
                             "%s: MD5 is %s but tensor-cache.json records %s; the file is corrupt or from another "
                             "conversion: download or convert it again",
                             path, hex, want);
    return AAE_OK;
}

aae_status aae_tensor_cache_verify_shards(const aae_tensor_cache *tc, const char *model_dir, int check_md5,
                                          aae_error *err)
{
    for (size_t i = 0; i < tc->n_shards; i++) {
        const aae_tc_shard *sh = &tc->shards[i];
        char path[4096];
        if (!aae_path_join(path, sizeof path, model_dir, sh->data_path))
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "%s: path too long", model_dir);
        aae_mmap m = {0};
        aae_status st = aae_mmap_file(path, &m, err);
        if (st != AAE_OK)
            return st;
        if (m.size != sh->nbytes) {
            aae_munmap(&m);
            return aae_error_set(err, AAE_ERR_FORMAT,
                                 "%s: file is %zu bytes but %s records nbytes %llu (at /records/%zu/nbytes); the file "
                                 "is truncated or from another conversion",
                                 path, m.size, tc->path, (unsigned long long)sh->nbytes, i);
        }
        if (check_md5 && sh->md5[0])
            st = verify_md5(path, &m, sh->md5, err);
        aae_munmap(&m);
        if (st != AAE_OK)
            return st;
    }
    return AAE_OK;
}
