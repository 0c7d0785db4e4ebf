/*
 * tc_writer.c - shard files and tensor-cache.json (format in docs/format.md).
 *
 * A shard's MD5 is computed by a hasher thread that reads the closed shard back
 * (from the page cache) while the next shards are being converted, so hashing
 * overlaps with conversion instead of adding to it.
 */
#include "tc_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/md5.h"

#define OUT_BUF_SIZE ((size_t)4 << 20)

typedef struct shard_info {
    uint64_t nbytes;
    char md5[33];
    size_t first_record, nrecords;
} shard_info;

typedef struct record {
    char *name;
    char dtype[16];
    int64_t shape[8];
    int ndim;
    uint64_t nbytes, offset;
} record;

struct aae_tc_writer {
    char dir[4096];
    int fd;          /* current shard, -1 if none open */
    char path[4200]; /* its path */
    uint64_t pos;    /* bytes in the current shard so far */
    /* hasher thread: hashes shards [hashed, closed) */
    pthread_t hasher;
    int hasher_started, stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t closed, hashed;
    int hash_failed;
    char hash_error[512];
    uint8_t *buf;    /* write buffer */
    size_t fill;
    shard_info *shards;
    size_t nshards;
    record *records;
    size_t nrecords, cap_records;
    int in_tensor;
    uint64_t written, total;
};

aae_status aae_tc_writer_open(const char *dir, aae_tc_writer **out, aae_error *err)
{
    *out = NULL;
    aae_tc_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->buf = malloc(OUT_BUF_SIZE))) {
        free(w);
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    }
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    w->fd = -1;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    *out = w;
    return AAE_OK;
}

/* MD5 of one closed shard file, read back in large pieces. */
static int hash_file(const char *path, char hex[33], char *msg, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, cap, "%s: cannot reopen to checksum: %s", path, strerror(errno));
        return 0;
    }
    static const size_t piece = (size_t)4 << 20;
    uint8_t *buf = malloc(piece);
    aae_md5 m;
    aae_md5_init(&m);
    int ok = buf != NULL;
    while (ok) {
        ssize_t n = read(fd, buf, piece);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(msg, cap, "%s: read failed: %s", path, strerror(errno));
            ok = 0;
        }
        if (n <= 0)
            break;
        aae_md5_update(&m, buf, (size_t)n);
    }
    if (!buf)
        snprintf(msg, cap, "out of memory");
    free(buf);
    close(fd);
    uint8_t dig[16];
    aae_md5_final(&m, dig);
    aae_md5_digest_to_hex(dig, hex);
    return ok;
}

static void *hasher_main(void *arg)
{
    aae_tc_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->hashed == w->closed && !w->stop)
            pthread_cond_wait(&w->cond, &w->lock);
        if (w->hashed == w->closed)
            break;
        size_t k = w->hashed;
        char path[4200], hex[33], msg[512] = "";
        snprintf(path, sizeof path, "%s/params_shard_%zu.bin", w->dir, k);
        pthread_mutex_unlock(&w->lock);
        int ok = hash_file(path, hex, msg, sizeof msg);
        pthread_mutex_lock(&w->lock);
        memcpy(w->shards[k].md5, hex, sizeof hex);
        if (!ok && !w->hash_failed) {
            w->hash_failed = 1;
            snprintf(w->hash_error, sizeof w->hash_error, "%s", msg);
        }
        w->hashed++;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Waits for the hasher to finish every closed shard and stops it. */
static void stop_hasher(aae_tc_writer *w)
{
    if (!w->hasher_started)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->hasher, NULL);
    w->hasher_started = 0;
}

static aae_status flush_buf(aae_tc_writer *w, aae_error *err)
{
    size_t done = 0;
    while (done < w->fill) {
        ssize_t n = write(w->fd, w->buf + done, w->fill - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return aae_error_set(err, AAE_ERR_IO, "%s: write failed: %s", w->path, n < 0 ? strerror(errno) : "no "
                                 "progress (disk full?)");
        done += (size_t)n;
    }
    w->fill = 0;
    return AAE_OK;
}

static aae_status put(aae_tc_writer *w, const void *data, size_t len, aae_error *err)
{
    const uint8_t *p = data;
    w->pos += len;
    while (len) {
        if (w->fill == 0 && len >= OUT_BUF_SIZE) { /* large piece: write it straight */
            size_t done = 0;
            while (done < len) {
                ssize_t n = write(w->fd, p + done, len - done);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    return aae_error_set(err, AAE_ERR_IO, "%s: write failed: %s", w->path,
                                         n < 0 ? strerror(errno) : "no progress (disk full?)");
                done += (size_t)n;
            }
            return AAE_OK;
        }
        size_t take = OUT_BUF_SIZE - w->fill < len ? OUT_BUF_SIZE - w->fill : len;
        memcpy(w->buf + w->fill, p, take);
        w->fill += take;
        p += take;
        len -= take;
        if (w->fill == OUT_BUF_SIZE) {
            aae_status st = flush_buf(w, err);
            if (st)
                return st;
        }
    }
    return AAE_OK;
}

static aae_status close_shard(aae_tc_writer *w, aae_error *err)
{
    if (w->fd < 0)
        return AAE_OK;
    aae_status st = flush_buf(w, err);
    if (!st && close(w->fd) != 0)
        st = aae_error_set(err, AAE_ERR_IO, "%s: close failed: %s", w->path, strerror(errno));
    else if (st)
        close(w->fd);
    w->fd = -1;
    if (st)
        return st;
    pthread_mutex_lock(&w->lock);
    w->shards[w->nshards - 1].nbytes = w->pos;
    w->closed = w->nshards;
    if (!w->hasher_started)
        w->hasher_started = pthread_create(&w->hasher, NULL, hasher_main, w) == 0;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (!w->hasher_started) { /* no thread: hash here */
        shard_info *s = &w->shards[w->nshards - 1];
        char msg[512];
        if (!hash_file(w->path, s->md5, msg, sizeof msg))
            return aae_error_set(err, AAE_ERR_IO, "%s", msg);
        w->hashed = w->closed;
    }
    return AAE_OK;
}

static aae_status open_shard(aae_tc_writer *w, aae_error *err)
{
    pthread_mutex_lock(&w->lock); /* the hasher writes into w->shards */
    shard_info *ns = realloc(w->shards, (w->nshards + 1) * sizeof *ns);
    if (ns)
        w->shards = ns;
    pthread_mutex_unlock(&w->lock);
    if (!ns)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    memset(&w->shards[w->nshards], 0, sizeof *ns);
    w->shards[w->nshards].first_record = w->nrecords;
    snprintf(w->path, sizeof w->path, "%s/params_shard_%zu.bin", w->dir, w->nshards);
    w->nshards++;
    w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0)
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot create: %s", w->path, strerror(errno));
    w->pos = 0;
    w->fill = 0;
    return AAE_OK;
}

aae_status aae_tc_begin(aae_tc_writer *w, const char *name, const char *dtype, const int64_t *shape, int ndim,
                        uint64_t nbytes, aae_error *err)
{
    if (w->in_tensor || ndim < 0 || ndim > 8)
        return aae_error_set(err, AAE_ERR_INTERNAL, "tensor-cache writer misuse at %s", name);
    uint64_t aligned = (w->pos + AAE_SHARD_ALIGN - 1) / AAE_SHARD_ALIGN * AAE_SHARD_ALIGN;
    aae_status st;
    if (w->fd >= 0 && w->pos > 0 && aligned + nbytes > AAE_SHARD_MAX_BYTES) {
        if ((st = close_shard(w, err)))
            return st;
    }
    if (w->fd < 0) {
        if ((st = open_shard(w, err)))
            return st;
        aligned = 0;
    }
    static const uint8_t zeros[AAE_SHARD_ALIGN];
    if ((st = put(w, zeros, (size_t)(aligned - w->pos), err)))
        return st;
    if (w->nrecords == w->cap_records) {
        size_t cap = w->cap_records ? w->cap_records * 2 : 256;
        record *nr = realloc(w->records, cap * sizeof *nr);
        if (!nr)
            return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
        w->records = nr;
        w->cap_records = cap;
    }
    record *r = &w->records[w->nrecords];
    memset(r, 0, sizeof *r);
    if (!(r->name = strdup(name)))
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    snprintf(r->dtype, sizeof r->dtype, "%s", dtype);
    memcpy(r->shape, shape, (size_t)ndim * sizeof *shape);
    r->ndim = ndim;
    r->nbytes = nbytes;
    r->offset = aligned;
    w->nrecords++;
    w->shards[w->nshards - 1].nrecords++;
    w->in_tensor = 1;
    w->written = 0;
    return AAE_OK;
}

aae_status aae_tc_write(aae_tc_writer *w, const void *data, size_t len, aae_error *err)
{
    record *r = &w->records[w->nrecords - 1];
    if (!w->in_tensor || w->written + len > r->nbytes)
        return aae_error_set(err, AAE_ERR_INTERNAL, "tensor %s: more bytes than declared", r->name);
    w->written += len;
    return put(w, data, len, err);
}

aae_status aae_tc_end(aae_tc_writer *w, aae_error *err)
{
    record *r = &w->records[w->nrecords - 1];
    if (!w->in_tensor || w->written != r->nbytes)
        return aae_error_set(err, AAE_ERR_INTERNAL, "tensor %s: %" PRIu64 " bytes written, %" PRIu64 " declared",
                             r->name, w->written, r->nbytes);
    w->in_tensor = 0;
    w->total += r->nbytes;
    return AAE_OK;
}

static void json_record(aae_buf *b, const record *r)
{
    aae_buf_puts(b, "        {\"name\": ");
    aae_buf_json_string(b, r->name, strlen(r->name));
    aae_buf_puts(b, ", \"shape\": [");
    for (int d = 0; d < r->ndim; d++)
        aae_buf_printf(b, "%s%" PRId64, d ? ", " : "", r->shape[d]);
    aae_buf_printf(b, "], \"dtype\": \"%s\", \"format\": \"raw\", \"nbytes\": %" PRIu64 ", \"byteOffset\": %" PRIu64
                   "}", r->dtype, r->nbytes, r->offset);
}

aae_status aae_tc_finish(aae_tc_writer *w, const char *metadata_json, aae_error *err)
{
    aae_status st = close_shard(w, err);
    stop_hasher(w);
    if (st)
        return st;
    if (w->hash_failed)
        return aae_error_set(err, AAE_ERR_IO, "%s", w->hash_error);
    aae_buf b;
    aae_buf_init(&b);
    aae_buf_printf(&b, "{\n  \"metadata\": {%s},\n  \"records\": [\n", metadata_json);
    for (size_t s = 0; s < w->nshards; s++) {
        const shard_info *si = &w->shards[s];
        aae_buf_printf(&b, "    {\"dataPath\": \"params_shard_%zu.bin\", \"format\": \"raw-shard\", \"nbytes\": %"
                       PRIu64 ", \"md5sum\": \"%s\",\n      \"records\": [\n", s, si->nbytes, si->md5);
        for (size_t i = 0; i < si->nrecords; i++) {
            json_record(&b, &w->records[si->first_record + i]);
            aae_buf_puts(&b, i + 1 < si->nrecords ? ",\n" : "\n");
        }
        aae_buf_printf(&b, "      ]}%s\n", s + 1 < w->nshards ? "," : "");
    }
    aae_buf_puts(&b, "  ]\n}\n");
    if (!aae_buf_ok(&b)) {
        aae_buf_free(&b);
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory writing tensor-cache.json");
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/tensor-cache.json", w->dir);
    FILE *f = fopen(path, "wb");
    if (!f) {
        aae_buf_free(&b);
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    }
    size_t n = fwrite(b.data, 1, b.len, f);
    int bad = n != b.len || fclose(f) != 0;
    aae_buf_free(&b);
    if (bad)
        return aae_error_set(err, AAE_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return AAE_OK;
}

uint64_t aae_tc_total_bytes(const aae_tc_writer *w)
{
    return w->total;
}

size_t aae_tc_tensor_count(const aae_tc_writer *w)
{
    return w->nrecords;
}

size_t aae_tc_shard_count(const aae_tc_writer *w)
{
    return w->nshards;
}

void aae_tc_writer_free(aae_tc_writer *w)
{
    if (!w)
        return;
    stop_hasher(w);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    if (w->fd >= 0)
        close(w->fd);
    for (size_t i = 0; i < w->nrecords; i++)
        free(w->records[i].name);
    free(w->records);
    free(w->shards);
    free(w->buf);
    free(w);
}
