/*
 * safetensors.c - validating reader for safetensors files and sharded checkpoints.
 * The format and every check are described in safetensors.h.
 */
#include "safetensors.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

struct aae_st_file {
    aae_mmap map;         /* when opened from a path */
    int mapped;
    char *path;
    aae_json_doc *doc;    /* owns the tensor names */
    aae_st_tensor *tensors;
    size_t count;
    const aae_st_tensor **by_name; /* sorted by name */
};

static const struct {
    const char *name;
    size_t size;
} DTYPES[AAE_ST_DTYPE_COUNT] = {
    [AAE_ST_F32] = {"F32", 4},       [AAE_ST_F16] = {"F16", 2},      [AAE_ST_BF16] = {"BF16", 2},
    [AAE_ST_F64] = {"F64", 8},       [AAE_ST_I64] = {"I64", 8},      [AAE_ST_I32] = {"I32", 4},
    [AAE_ST_I16] = {"I16", 2},       [AAE_ST_I8] = {"I8", 1},        [AAE_ST_U64] = {"U64", 8},
    [AAE_ST_U32] = {"U32", 4},       [AAE_ST_U16] = {"U16", 2},      [AAE_ST_U8] = {"U8", 1},
    [AAE_ST_BOOL] = {"BOOL", 1},     [AAE_ST_F8_E4M3] = {"F8_E4M3", 1}, [AAE_ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *aae_st_dtype_name(aae_st_dtype dt)
{
    return (unsigned)dt < AAE_ST_DTYPE_COUNT ? DTYPES[dt].name : "?";
}

size_t aae_st_dtype_size(aae_st_dtype dt)
{
    return (unsigned)dt < AAE_ST_DTYPE_COUNT ? DTYPES[dt].size : 0;
}

static int dtype_from_name(const char *s, aae_st_dtype *out)
{
    for (int i = 0; i < AAE_ST_DTYPE_COUNT; i++)
        if (strcmp(s, DTYPES[i].name) == 0) {
            *out = (aae_st_dtype)i;
            return 1;
        }
    return 0;
}

static int cmp_by_name(const void *a, const void *b)
{
    const aae_st_tensor *x = *(const aae_st_tensor *const *)a, *y = *(const aae_st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int cmp_by_begin(const void *a, const void *b)
{
    const aae_st_tensor *x = *(const aae_st_tensor *const *)a, *y = *(const aae_st_tensor *const *)b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* Reads one header entry into t. `base` is the absolute offset of the data buffer. */
static aae_status parse_entry(const aae_json_member *m, const uint8_t *data, uint64_t base, uint64_t data_size,
                              const char *path, aae_st_tensor *t, aae_error *err)
{
    const char *name = m->key;
    if (strlen(name) != m->key_len || m->key_len == 0)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: header has an empty tensor name or one with a NUL byte",
                             path);
    const aae_json *v = m->value;
    if (!aae_json_is(v, AAE_JSON_OBJECT))
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: header entry \"%s\" (line %u): expected an object with "
                             "dtype, shape and data_offsets, found %s", path, name, v->line,
                             aae_json_type_name(v->type));
    const char *dt = aae_json_str(aae_json_get(v, "dtype"));
    if (!dt)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: tensor \"%s\": \"dtype\" is missing or not a string", path,
                             name);
    if (!dtype_from_name(dt, &t->dtype))
        return aae_error_set(err, AAE_ERR_UNSUPPORTED, "%s: tensor \"%s\": unknown dtype \"%s\" (safetensors "
                             "dtypes: F32, F16, BF16, F64, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E4M3, "
                             "F8_E5M2)", path, name, dt);
    const aae_json *shape = aae_json_get(v, "shape");
    if (!aae_json_is(shape, AAE_JSON_ARRAY) || aae_json_count(shape) > AAE_ST_MAX_DIMS)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: tensor \"%s\": \"shape\" must be an array of at most %d "
                             "integers", path, name, AAE_ST_MAX_DIMS);
    t->ndim = (int)aae_json_count(shape);
    uint64_t numel = 1;
    int overflow = 0;
    for (int d = 0; d < t->ndim; d++) {
        const aae_json *e = aae_json_at(shape, (size_t)d);
        if (!aae_json_is(e, AAE_JSON_NUMBER) || !e->u.num.is_int || e->u.num.i < 0)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: tensor \"%s\": shape[%d] must be a non-negative "
                                 "integer", path, name, d);
        t->shape[d] = e->u.num.i;
        uint64_t dim = (uint64_t)e->u.num.i;
        if (dim && numel > UINT64_MAX / dim)
            overflow = 1;
        else
            numel *= dim;
    }
    const aae_json *offs = aae_json_get(v, "data_offsets");
    const aae_json *b = aae_json_at(offs, 0), *e = aae_json_at(offs, 1);
    if (!aae_json_is(offs, AAE_JSON_ARRAY) || aae_json_count(offs) != 2 || !aae_json_is(b, AAE_JSON_NUMBER) ||
        !aae_json_is(e, AAE_JSON_NUMBER) || !b->u.num.is_int || !e->u.num.is_int || b->u.num.i < 0 ||
        e->u.num.i < 0)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: tensor \"%s\": \"data_offsets\" must be [begin, end], two "
                             "non-negative integers", path, name);
    uint64_t begin = (uint64_t)b->u.num.i, end = (uint64_t)e->u.num.i;
    if (begin > end)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64
                             "] end before begin", path, name, begin, end);
    if (end > data_size)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64
                             "] run past the end of the data (%" PRIu64 " bytes from file offset %" PRIu64
                             "); the file is truncated or its header is wrong", path, name, begin, end, data_size,
                             base);
    size_t esize = DTYPES[t->dtype].size;
    if (overflow || numel > UINT64_MAX / esize || numel * esize != end - begin)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: tensor \"%s\": shape and dtype %s make %s bytes but "
                             "data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64, path, name, dt,
                             overflow || numel > UINT64_MAX / esize ? "more than 2^64" : "a different number of",
                             begin, end, end - begin);
    t->name = name;
    t->numel = numel;
    t->nbytes = end - begin;
    t->offset = base + begin;
    t->data = data + base + begin;
    return AAE_OK;
}

static aae_status check_overlaps(aae_st_file *f, aae_error *err)
{
    const aae_st_tensor **order = malloc((f->count ? f->count : 1) * sizeof *order);
    if (!order)
        return aae_error_set(err, AAE_ERR_NOMEM, "%s: out of memory", f->path);
    for (size_t i = 0; i < f->count; i++)
        order[i] = &f->tensors[i];
    qsort(order, f->count, sizeof *order, cmp_by_begin);
    aae_status st = AAE_OK;
    for (size_t i = 1; i < f->count; i++) {
        const aae_st_tensor *a = order[i - 1], *b = order[i];
        if (a->nbytes && b->nbytes && a->offset + a->nbytes > b->offset) {
            st = aae_error_set(err, AAE_ERR_FORMAT, "%s: tensors \"%s\" (bytes %" PRIu64 "..%" PRIu64 ") and \"%s\" "
                               "(bytes %" PRIu64 "..%" PRIu64 ") overlap; the header is corrupt", f->path, a->name,
                               a->offset, a->offset + a->nbytes, b->name, b->offset, b->offset + b->nbytes);
            break;
        }
    }
    free(order);
    return st;
}

static aae_status parse_header(aae_st_file *f, const uint8_t *data, size_t size, aae_error *err)
{
    if (size < 8)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: %zu bytes is too short for a safetensors file (8-byte "
                             "header length missing); the file is truncated", f->path, size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | data[i];
    if (n < 2 || n > AAE_ST_HEADER_MAX)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: header length %" PRIu64 " (bytes 0..7) is absurd (expected "
                             "2..%" PRIu64 "); not a safetensors file, or a corrupt one", f->path, n,
                             AAE_ST_HEADER_MAX);
    if (n > size - 8)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: header length %" PRIu64 " runs past the end of the "
                             "%zu-byte file; the file is truncated", f->path, n, size);
    if (data[8] != '{')
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: the header (byte 8) does not start with '{'; not a "
                             "safetensors file", f->path);
    /* the header may be padded with trailing spaces, which JSON allows */
    aae_status st = aae_json_parse((const char *)data + 8, (size_t)n, &f->doc, err);
    if (st)
        return aae_error_prefix(err, "%s: header JSON", f->path);
    const aae_json *root = aae_json_root(f->doc);
    if (!aae_json_is(root, AAE_JSON_OBJECT))
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: the header must be a JSON object", f->path);
    const aae_json_member *dup = aae_json_find_duplicate(root);
    if (dup)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: tensor \"%s\" appears twice in the header", f->path,
                             dup->key);
    size_t count = aae_json_count(root);
    f->tensors = calloc(count ? count : 1, sizeof *f->tensors);
    f->by_name = calloc(count ? count : 1, sizeof *f->by_name);
    if (!f->tensors || !f->by_name)
        return aae_error_set(err, AAE_ERR_NOMEM, "%s: out of memory for %zu tensors", f->path, count);
    uint64_t base = 8 + n, data_size = (uint64_t)size - base;
    for (size_t i = 0; i < count; i++) {
        const aae_json_member *m = &root->u.obj.members[i];
        if (strcmp(m->key, "__metadata__") == 0) {
            if (!aae_json_is(m->value, AAE_JSON_OBJECT))
                return aae_error_set(err, AAE_ERR_FORMAT, "%s: \"__metadata__\" must be an object", f->path);
            continue;
        }
        aae_st_tensor *t = &f->tensors[f->count];
        st = parse_entry(m, data, base, data_size, f->path, t, err);
        if (st)
            return st;
        t->path = f->path;
        f->by_name[f->count] = t;
        f->count++;
    }
    qsort(f->by_name, f->count, sizeof *f->by_name, cmp_by_name);
    return check_overlaps(f, err);
}

aae_status aae_st_parse(const uint8_t *data, size_t size, const char *path, aae_st_file **out, aae_error *err)
{
    *out = NULL;
    aae_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path ? path : "(memory)"))) {
        free(f);
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    }
    aae_status st = parse_header(f, data, size, err);
    if (st) {
        aae_st_close(f);
        return st;
    }
    *out = f;
    return AAE_OK;
}

aae_status aae_st_open(const char *path, aae_st_file **out, aae_error *err)
{
    *out = NULL;
    aae_mmap map = {0};
    aae_status st = aae_mmap_file(path, &map, err);
    if (st)
        return st;
    st = aae_st_parse(map.data, map.size, path, out, err);
    if (st) {
        aae_munmap(&map);
        return st;
    }
    (*out)->map = map;
    (*out)->mapped = 1;
    return AAE_OK;
}

void aae_st_close(aae_st_file *f)
{
    if (!f)
        return;
    if (f->mapped)
        aae_munmap(&f->map);
    aae_json_free(f->doc);
    free(f->tensors);
    free(f->by_name);
    free(f->path);
    free(f);
}

size_t aae_st_count(const aae_st_file *f)
{
    return f ? f->count : 0;
}

const aae_st_tensor *aae_st_at(const aae_st_file *f, size_t i)
{
    return f && i < f->count ? f->by_name[i] : NULL;
}

static const aae_st_tensor *find_sorted(const aae_st_tensor *const *arr, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(arr[mid]->name, name);
        if (c == 0)
            return arr[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const aae_st_tensor *aae_st_get(const aae_st_file *f, const char *name)
{
    return f ? find_sorted(f->by_name, f->count, name) : NULL;
}

aae_status aae_st_tensor_check_float(const aae_st_tensor *t, aae_error *err)
{
    if (t->dtype == AAE_ST_F32 || t->dtype == AAE_ST_F16 || t->dtype == AAE_ST_BF16)
        return AAE_OK;
    return aae_error_set(err, AAE_ERR_UNSUPPORTED, "%s: tensor \"%s\" has dtype %s; convert_weight reads F32, F16 "
                         "and BF16 weights only (re-save the checkpoint in one of them)", t->path, t->name,
                         aae_st_dtype_name(t->dtype));
}
