/*
 * convert.c - the convert_weight pipeline: plan (arch_plan.c) -> validate every
 * source tensor -> per output tensor, blocks of rows converted / quantized by
 * worker threads -> streamed into shards (tc_writer.c) -> atomic install (outdir.c).
 */
#if defined(__GNUC__) && !defined(__clang__)
/* the per-row conversion loops are hot; see quant.c */
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#define _DEFAULT_SOURCE /* madvise */
#include "convert.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch_plan.h"
#include "half.h"
#include "hf_config.h"
#include "outdir.h"
#include "quant.h"
#include "safetensors.h"
#include "tc_writer.h"

#define BLOCK_BYTES ((size_t)8 << 20) /* output bytes per block of rows */
#define MAX_THREADS 64

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the shards are written in host byte order, which must be little-endian (docs/format.md)"
#endif

/* What one output tensor is made from, resolved against the checkpoint. */
typedef struct job {
    const aae_tensor_plan *plan;
    const aae_st_tensor *src[AAE_PLAN_MAX_SRC];
    const aae_quant_spec *q;
    int out_f16;   /* stored values are float16 (else float32) */
    int quantize;  /* group-quantized */
    int64_t words, groups; /* per row, when quantized */
    int64_t head_dim;      /* for AAE_XF_NEOX_QKV */
    size_t row_out_bytes;  /* bytes per row of the main output */
    /* per block */
    uint8_t *out;   /* block output (rows * row_out_bytes) */
    float *scales;  /* whole tensor's scales (rows * groups), when quantized */
    int64_t r0, r1;
    /* the first non-finite value found: row, column */
    pthread_mutex_t bad_lock;
    int64_t bad_row, bad_col;
} job;

/* Locates AAE row r in its source: which source tensor and which of its rows. */
static const uint8_t *source_row(const job *j, int64_t r)
{
    const aae_tensor_plan *p = j->plan;
    const aae_st_tensor *t;
    int64_t row = r;
    if (p->xform == AAE_XF_NEOX_QKV) {
        /* AAE rows [3][nh][d] from HF rows [nh][3][d] */
        int64_t per = p->rows / 3; /* nh * d */
        int64_t s = r / per, rest = r % per;
        int64_t d = j->head_dim;
        int64_t h = rest / d, k = rest % d;
        row = h * 3 * d + s * d + k;
        t = j->src[0];
    } else {
        int i = 0;
        while (i + 1 < p->nsrc && row >= p->src_rows[i]) {
            row -= p->src_rows[i];
            i++;
        }
        t = j->src[i];
    }
    return t->data + (size_t)row * (size_t)p->cols * aae_st_dtype_size(t->dtype);
}

static const aae_st_tensor *source_of_row(const job *j, int64_t r)
{
    if (j->plan->xform == AAE_XF_NEOX_QKV)
        return j->src[0];
    int i = 0;
    while (i + 1 < j->plan->nsrc && r >= j->plan->src_rows[i]) {
        r -= j->plan->src_rows[i];
        i++;
    }
    return j->src[i];
}

/* 1 if the row's source bytes are already the stored bytes (no conversion). */
static int row_is_copy(const job *j, const aae_st_tensor *t)
{
    if (j->quantize || j->plan->xform == AAE_XF_PLUS_ONE)
        return 0;
    return j->out_f16 ? t->dtype == AAE_ST_F16 : t->dtype == AAE_ST_F32;
}

/* Index of the first Inf/NaN among n float16 / float32 bit patterns, or -1. */
static inline __attribute__((always_inline)) int64_t first_non_finite_bits(const uint8_t *s, int64_t n, int f16)
{
    uint32_t bad = 0;
    if (f16) {
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            bad |= (h & 0x7c00u) == 0x7c00u;
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            uint32_t b;
            memcpy(&b, s + 4 * i, 4);
            bad |= (b & 0x7f800000u) == 0x7f800000u;
        }
    }
    if (!bad)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        uint32_t b;
        if (f16) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            b = (h & 0x7c00u) == 0x7c00u;
        } else {
            memcpy(&b, s + 4 * i, 4);
            b = (b & 0x7f800000u) == 0x7f800000u;
        }
        if (b)
            return i;
    }
    return -1;
}

/* Row r as model-dtype values in float32; returns the index of the first
 * non-finite value, or -1. */
static inline __attribute__((always_inline)) int64_t load_row(const job *j, int64_t r, float *dst)
{
    const aae_st_tensor *t = source_of_row(j, r);
    const uint8_t *s = source_row(j, r);
    int64_t n = j->plan->cols;
    int exact = 0; /* the source values are already model-dtype values */
    switch (t->dtype) {
    case AAE_ST_F32:
        memcpy(dst, s, (size_t)n * 4);
        exact = !j->out_f16;
        break;
    case AAE_ST_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = aae_f16_to_f32_fast(h);
        }
        exact = 1;
        break;
    default: /* BF16 */
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = aae_bf16_to_f32(h);
        }
        exact = !j->out_f16;
        break;
    }
    if (j->plan->xform == AAE_XF_PLUS_ONE) {
        for (int64_t i = 0; i < n; i++)
            dst[i] = dst[i] + 1.0f;
        exact = !j->out_f16;
    }
    if (j->out_f16 && !exact)
        for (int64_t i = 0; i < n; i++)
            dst[i] = aae_round_f16(dst[i]);
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad |= (aae_f32_bits(dst[i]) & 0x7f800000u) == 0x7f800000u;
    if (!bad)
        return -1;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(dst[i]))
            return i;
    return -1;
}

static inline __attribute__((always_inline)) void store_row(const job *j, int64_t r, const float *v, uint8_t *out)
{
    int64_t n = j->plan->cols;
    if (j->quantize) {
        uint32_t *qw = (uint32_t *)(void *)out;
        aae_quant_row(j->q, v, n, qw, j->scales + r * j->groups);
    } else if (j->out_f16) {
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = aae_f16_bits_exact(v[i]);
            memcpy(out + 2 * i, &h, 2);
        }
    } else {
        memcpy(out, v, (size_t)n * 4);
    }
}

/* Converts row r into out; -1 or the column of a non-finite value. */
static inline __attribute__((always_inline)) int64_t convert_row(const job *j, int64_t r, float *scratch,
                                                                 uint8_t *out)
{
    const aae_st_tensor *t = source_of_row(j, r);
    if (row_is_copy(j, t)) {
        const uint8_t *s = source_row(j, r);
        int64_t bad = first_non_finite_bits(s, j->plan->cols, j->out_f16);
        if (bad < 0)
            memcpy(out, s, j->row_out_bytes);
        return bad;
    }
    int64_t bad = load_row(j, r, scratch);
    if (bad < 0)
        store_row(j, r, scratch, out);
    return bad;
}

typedef struct worker_arg {
    job *j;
    int64_t r0, r1;
    float *row;
} worker_arg;

static inline __attribute__((always_inline)) void work_rows(worker_arg *a)
{
    job *j = a->j;
    for (int64_t r = a->r0; r < a->r1; r++) {
        int64_t bad = convert_row(j, r, a->row, j->out + (size_t)(r - j->r0) * j->row_out_bytes);
        if (bad >= 0) {
            pthread_mutex_lock(&j->bad_lock);
            if (j->bad_row < 0 || r < j->bad_row) {
                j->bad_row = r;
                j->bad_col = bad;
            }
            pthread_mutex_unlock(&j->bad_lock);
            break;
        }
    }
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
/* the row conversions compiled for AVX2 too, chosen at run time (as in quant.c) */
__attribute__((target("avx2"))) static void work_rows_avx2(worker_arg *a)
{
    work_rows(a);
}

static void *work(void *arg)
{
    if (aae_convert_use_avx2())
        work_rows_avx2(arg);
    else
        work_rows(arg);
    return NULL;
}
#else
static void *work(void *arg)
{
    work_rows(arg);
    return NULL;
}
#endif

typedef struct ctx {
    const aae_convert_options *opt;
    const aae_quant_spec *q;
    aae_hf_config cfg;
    aae_st_model *model;
    aae_tensor_plan *plan;
    size_t nplan;
    aae_tc_writer *w;
    int threads;
    float *rows[MAX_THREADS]; /* per-thread row scratch */
    uint8_t *block;
    size_t block_cap;
    aae_convert_stats stats;
    uint64_t done_bytes; /* input bytes converted so far */
} ctx;

static void note(const ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(const ctx *c, const char *fmt, ...)
{
    if (!c->opt->note)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->opt->note(c->opt->note_ctx, msg);
}

static void shape_text(const aae_st_tensor *t, char *buf, size_t cap)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int d = 0; d < t->ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, d ? ", " : "", t->shape[d]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

/* Every source of every planned tensor: present, a float dtype, the right shape. */
static aae_status validate_sources(ctx *c, aae_error *err)
{
    for (size_t i = 0; i < c->nplan; i++) {
        const aae_tensor_plan *p = &c->plan[i];
        for (int s = 0; s < p->nsrc; s++) {
            const aae_st_tensor *t = aae_st_model_get(c->model, p->src[s]);
            if (!t)
                return aae_error_set(err, AAE_ERR_NOT_FOUND, "%s: tensor \"%s\" is missing from the checkpoint (a %s "
                                     "model needs it for %s); the checkpoint is incomplete or config.json does not "
                                     "match it", c->opt->hf_dir, p->src[s], c->cfg.model_type, p->name);
            aae_status st = aae_st_tensor_check_float(t, err);
            if (st)
                return st;
            int ok = p->ndim == 2 ? t->ndim == 2 && t->shape[0] == p->src_rows[s] && t->shape[1] == p->cols
                                  : t->ndim == 1 && t->shape[0] == p->src_rows[s];
            if (!ok) {
                char have[128];
                shape_text(t, have, sizeof have);
                char want[64];
                if (p->ndim == 2)
                    snprintf(want, sizeof want, "[%" PRId64 ", %" PRId64 "]", p->src_rows[s], p->cols);
                else
                    snprintf(want, sizeof want, "[%" PRId64 "]", p->src_rows[s]);
                return aae_error_set(err, AAE_ERR_MISMATCH, "%s: tensor \"%s\" has shape %s but config.json "
                                     "(hidden_size %" PRId64 ", intermediate_size %" PRId64 ", heads %" PRId64 "/%"
                                     PRId64 ", head_dim %" PRId64 ", vocab_size %" PRId64 ") implies %s; the "
                                     "checkpoint and config.json disagree", t->path, t->name, have,
                                     c->cfg.hidden_size, c->cfg.intermediate_size, c->cfg.num_attention_heads,
                                     c->cfg.num_key_value_heads, c->cfg.head_dim, c->cfg.vocab_size, want);
            }
            c->stats.input_bytes += t->nbytes;
            c->stats.params += t->numel;
        }
    }
    return AAE_OK;
}

static int used_by_plan(const ctx *c, const char *name)
{
    for (size_t i = 0; i < c->nplan; i++)
        for (int s = 0; s < c->plan[i].nsrc; s++)
            if (strcmp(c->plan[i].src[s], name) == 0)
                return 1;
    return 0;
}

static void report_unused(const ctx *c)
{
    size_t shown = 0, total = 0;
    for (size_t i = 0; i < aae_st_model_count(c->model); i++) {
        const char *name = aae_st_model_at(c->model, i)->name;
        if (aae_arch_ignorable(&c->cfg, name) || used_by_plan(c, name))
            continue;
        total++;
        if (shown++ < 5)
            note(c, "note: checkpoint tensor \"%s\" is not used by a %s model; ignored", name, c->cfg.model_type);
    }
    if (total > shown)
        note(c, "note: ... and %zu more unused tensors", total - shown);
}

static aae_status run_blocks(ctx *c, job *j, aae_error *err)
{
    int64_t rows = j->plan->rows;
    int64_t per_block = (int64_t)(BLOCK_BYTES / (j->row_out_bytes ? j->row_out_bytes : 1));
    if (per_block < 1)
        per_block = 1;
    size_t need = (size_t)(per_block < rows ? per_block : rows) * j->row_out_bytes;
    if (need > c->block_cap) {
        uint8_t *b = realloc(c->block, need);
        if (!b)
            return aae_error_set(err, AAE_ERR_NOMEM, "out of memory (%zu bytes) for %s", need, j->plan->name);
        c->block = b;
        c->block_cap = need;
    }
    j->out = c->block;
    for (int64_t r0 = 0; r0 < rows; r0 += per_block) {
        int64_t r1 = r0 + per_block < rows ? r0 + per_block : rows;
        j->r0 = r0;
        j->r1 = r1;
        int nt = c->threads;
        if (r1 - r0 < nt * 4 || (r1 - r0) * j->plan->cols < 65536)
            nt = 1;
        worker_arg args[MAX_THREADS];
        pthread_t tid[MAX_THREADS];
        int started[MAX_THREADS] = {0};
        for (int t = 0; t < nt; t++) {
            args[t] = (worker_arg){j, r0 + (r1 - r0) * t / nt, r0 + (r1 - r0) * (t + 1) / nt, c->rows[t]};
            if (t > 0)
                started[t] = pthread_create(&tid[t], NULL, work, &args[t]) == 0;
            if (t > 0 && !started[t])
                work(&args[t]); /* could not start a thread: do it here */
        }
        work(&args[0]);
        for (int t = 1; t < nt; t++)
            if (started[t])
                pthread_join(tid[t], NULL);
        if (j->bad_row >= 0) {
            const aae_st_tensor *t = source_of_row(j, j->bad_row);
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: tensor \"%s\" (for %s): row %" PRId64 ", column %" PRId64
                                 " is not finite%s; the checkpoint is corrupt or its values do not fit %s", t->path,
                                 t->name, j->plan->name, j->bad_row, j->bad_col,
                                 j->out_f16 ? " after rounding to float16" : "", c->q->name);
        }
        aae_status st = aae_tc_write(c->w, j->out, (size_t)(r1 - r0) * j->row_out_bytes, err);
        if (st)
            return st;
    }
    return AAE_OK;
}

/* Asks the kernel to start reading a source tensor now (asynchronously), so that
 * a cold checkpoint is read ahead of the conversion instead of fault by fault. */
static void prefetch_source(const aae_st_tensor *t)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || t->nbytes == 0)
        return;
    uintptr_t begin = (uintptr_t)t->data & ~((uintptr_t)page - 1);
    madvise((void *)begin, (uintptr_t)t->data + (uintptr_t)t->nbytes - begin, MADV_WILLNEED);
}

/* Drops a converted source tensor's pages from this process's mapping, so that the
 * resident size stays near one tensor instead of growing to the whole checkpoint
 * (the pages stay in the page cache; nothing is read twice). */
static void release_source(const aae_st_tensor *t)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || t->nbytes == 0)
        return;
    uintptr_t begin = ((uintptr_t)t->data + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t end = ((uintptr_t)t->data + (uintptr_t)t->nbytes) & ~((uintptr_t)page - 1);
    if (end > begin)
        madvise((void *)begin, end - begin, MADV_DONTNEED);
}

/* Replaces the trailing ".weight" of name with suffix. */
static void quant_name(const char *name, const char *suffix, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (n > 7 && strcmp(name + n - 7, ".weight") == 0)
        n -= 7;
    snprintf(out, cap, "%.*s.%s", (int)n, name, suffix);
}

static aae_status convert_one(ctx *c, const aae_tensor_plan *p, aae_error *err)
{
    job j;
    memset(&j, 0, sizeof j);
    j.plan = p;
    j.q = c->q;
    j.bad_row = -1;
    j.head_dim = c->cfg.head_dim;
    pthread_mutex_init(&j.bad_lock, NULL);
    for (int s = 0; s < p->nsrc; s++)
        j.src[s] = aae_st_model_get(c->model, p->src[s]);
    j.out_f16 = p->store != AAE_STORE_F32 && c->q->model_f16;
    j.quantize = p->store == AAE_STORE_QUANT && c->q->quantized;
    aae_status st;
    int64_t shape[2] = {p->rows, p->cols};
    if (j.quantize) {
        j.words = aae_quant_words(c->q, p->cols);
        j.groups = aae_quant_groups(c->q, p->cols);
        j.row_out_bytes = (size_t)j.words * 4;
        j.scales = malloc((size_t)(p->rows * j.groups) * sizeof(float));
        if (!j.scales) {
            pthread_mutex_destroy(&j.bad_lock);
            return aae_error_set(err, AAE_ERR_NOMEM, "out of memory for the scales of %s", p->name);
        }
        char name[AAE_PLAN_NAME_MAX + 16];
        quant_name(p->name, "q_weight", name, sizeof name);
        int64_t qshape[2] = {p->rows, j.words};
        st = aae_tc_begin(c->w, name, "uint32", qshape, 2, (uint64_t)p->rows * j.row_out_bytes, err);
    } else {
        j.row_out_bytes = (size_t)p->cols * (j.out_f16 ? 2 : 4);
        st = aae_tc_begin(c->w, p->name, j.out_f16 ? "float16" : "float32", shape, p->ndim,
                          (uint64_t)p->rows * j.row_out_bytes, err);
    }
    if (!st)
        st = run_blocks(c, &j, err);
    if (!st)
        st = aae_tc_end(c->w, err);
    if (!st && j.quantize) {
        char name[AAE_PLAN_NAME_MAX + 16];
        quant_name(p->name, "q_scale", name, sizeof name);
        int64_t sshape[2] = {p->rows, j.groups};
        size_t n = (size_t)(p->rows * j.groups);
        if (c->q->model_f16) {
            uint16_t *h = (uint16_t *)(void *)j.scales; /* in place: 2-byte outputs trail 4-byte inputs */
            for (size_t i = 0; i < n; i++)
                h[i] = aae_f32_to_f16(j.scales[i]);
        }
        size_t bytes = n * (c->q->model_f16 ? 2 : 4);
        st = aae_tc_begin(c->w, name, c->q->model_f16 ? "float16" : "float32", sshape, 2, bytes, err);
        if (!st)
            st = aae_tc_write(c->w, j.scales, bytes, err);
        if (!st)
            st = aae_tc_end(c->w, err);
    }
    for (int k = 0; k < p->nsrc; k++)
        if (j.src[k])
            release_source(j.src[k]);
    free(j.scales);
    pthread_mutex_destroy(&j.bad_lock);
    return st;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

static aae_status convert_all(ctx *c, const char *dir, aae_error *err)
{
    aae_status st = aae_tc_writer_open(dir, &c->w, err);
    int64_t max_cols = 1;
    for (size_t i = 0; i < c->nplan; i++)
        max_cols = c->plan[i].cols > max_cols ? c->plan[i].cols : max_cols;
    for (int t = 0; !st && t < c->threads; t++)
        if (!(c->rows[t] = malloc((size_t)max_cols * sizeof(float))))
            st = aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < c->nplan; i++) {
        /* read this tensor and the next one ahead while converting */
        for (size_t n = i; n < c->nplan && n <= i + 1; n++)
            for (int k = 0; k < c->plan[n].nsrc; k++)
                if (n > i || i == 0)
                    prefetch_source(aae_st_model_get(c->model, c->plan[n].src[k]));
        st = convert_one(c, &c->plan[i], err);
        for (int k = 0; !st && k < c->plan[i].nsrc; k++)
            c->done_bytes += aae_st_model_get(c->model, c->plan[i].src[k])->nbytes;
        if (!st && c->opt->progress)
            c->opt->progress(c->opt->progress_ctx, c->done_bytes, c->stats.input_bytes);
    }
    if (!st) {
        uint64_t bytes = aae_tc_total_bytes(c->w);
        char meta[512];
        snprintf(meta, sizeof meta, "\"ParamSize\": %zu, \"ParamBytes\": %" PRIu64 ", \"BitsPerParam\": %.6f, "
                 "\"model_type\": \"%s\", \"quantization\": \"%s\", \"format_version\": 1, \"generator\": "
                 "\"sphere_aae convert_weight\"", aae_tc_tensor_count(c->w), bytes,
                 c->stats.params ? (double)bytes * 8.0 / (double)c->stats.params : 0.0, c->cfg.model_type,
                 c->q->name);
        st = aae_tc_finish(c->w, meta, err);
        c->stats.output_bytes = bytes;
        c->stats.tensors = aae_tc_tensor_count(c->w);
        c->stats.shards = aae_tc_shard_count(c->w);
    }
    return st;
}

aae_status aae_convert_weight(const aae_convert_options *opt, aae_convert_stats *stats, aae_error *err)
{
    ctx c;
    memset(&c, 0, sizeof c);
    c.opt = opt;
    c.q = aae_quant_find(opt->quantization);
    if (!c.q)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--quantization %s: unknown; choose one of %s",
                             opt->quantization ? opt->quantization : "(missing)", aae_quant_names());
    c.threads = opt->threads > 0 ? (opt->threads < MAX_THREADS ? opt->threads : MAX_THREADS) : online_cpus();
    aae_status st = aae_hf_config_load(opt->hf_dir, &c.cfg, err);
    if (st)
        return st;
    aae_outdir od = {0};
    st = aae_st_model_open(opt->hf_dir, &c.model, err);
    if (!st)
        st = aae_arch_plan(&c.cfg, &c.plan, &c.nplan, err);
    if (!st)
        st = validate_sources(&c, err);
    if (!st) {
        report_unused(&c);
        st = aae_outdir_begin(&od, opt->out_dir, AAE_OUT_WEIGHTS, err);
    }
    char other_q[32];
    if (!st && aae_outdir_other_quantization(opt->out_dir, AAE_OUT_WEIGHTS, other_q, sizeof other_q) &&
        strcmp(other_q, c.q->name) != 0)
        note(&c, "note: %s/sphere-aae-chat-config.json says quantization %s; run gen_config with --quantization %s "
             "so that they agree", opt->out_dir, other_q, c.q->name);
    if (!st)
        st = convert_all(&c, od.tmp, err);
    aae_tc_writer_free(c.w);
    if (!st)
        st = aae_outdir_commit(&od, err);
    else
        aae_outdir_abort(&od);
    for (int t = 0; t < c.threads; t++)
        free(c.rows[t]);
    free(c.block);
    free(c.plan);
    aae_st_model_close(c.model);
    aae_hf_config_free(&c.cfg);
    if (!st && stats)
        *stats = c.stats;
    return st;
}
