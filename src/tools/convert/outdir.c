/*
 * outdir.c - atomic replacement of a converted-model folder (see outdir.h).
 */
#define _GNU_SOURCE /* flock */
#include "outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "common/fsutil.h" /* aae_mkdir_p, aae_swap_into_place */

static const char *const CONFIG_FILES[] = {"sphere-aae-chat-config.json", "mlc-chat-config.json", "tokenizer.json",
                                           "tokenizer.model", "tokenizer_config.json", "vocab.json", "merges.txt",
                                           "added_tokens.json", "special_tokens_map.json", NULL};

static int fmt_to(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* snprintf that reports whether the text fit (1) or was truncated (0). */
static int fmt_to(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

static int is_shard_name(const char *s)
{
    static const char prefix[] = "params_shard_";
    if (strncmp(s, prefix, sizeof prefix - 1) != 0)
        return 0;
    s += sizeof prefix - 1;
    if (*s < '0' || *s > '9')
        return 0;
    while (*s >= '0' && *s <= '9')
        s++;
    return strcmp(s, ".bin") == 0;
}

int aae_outdir_owns(aae_out_owner owner, const char *name)
{
    if (owner == AAE_OUT_WEIGHTS)
        return strcmp(name, "tensor-cache.json") == 0 || strcmp(name, "ndarray-cache.json") == 0 ||
               is_shard_name(name);
    for (int i = 0; CONFIG_FILES[i]; i++)
        if (strcmp(name, CONFIG_FILES[i]) == 0)
            return 1;
    return 0;
}

/* Finds the first entry of dir that is not a regular file owned by one of the
 * writers. 0 if none (or dir absent); 1 and its name in `bad`; -1 on error. */
static int foreign_entry(const char *dir, char *bad, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[8192];
        fmt_to(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        int owned = aae_outdir_owns(AAE_OUT_WEIGHTS, e->d_name) || aae_outdir_owns(AAE_OUT_CONFIG, e->d_name);
        if (!owned || lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            fmt_to(bad, cap, "%s", e->d_name);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

/* Deletes a flat folder we made (regular files only, then the folder). */
static void remove_flat_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[8192];
        fmt_to(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Removes temporary folders of earlier runs that died (their pid is gone). */
static void remove_stale_tmp(const char *parent, const char *base)
{
    DIR *d = opendir(parent);
    if (!d)
        return;
    char prefix[600];
    fmt_to(prefix, sizeof prefix, ".%s.aae-", base);
    size_t plen = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        const char *rest = e->d_name + plen;
        const char *dash = strrchr(rest, '-');
        long pid = dash ? strtol(dash + 1, NULL, 10) : 0;
        if ((strncmp(rest, "tmp-", 4) != 0 && strncmp(rest, "old-", 4) != 0) || pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char path[8192];
        fmt_to(path, sizeof path, "%s/%s", parent, e->d_name);
        remove_flat_dir(path);
    }
    closedir(d);
}

aae_status aae_outdir_begin(aae_outdir *od, const char *out_dir, aae_out_owner owner, aae_error *err)
{
    memset(od, 0, sizeof *od);
    od->owner = owner;
    size_t len = strlen(out_dir);
    while (len > 1 && out_dir[len - 1] == '/')
        len--;
    if (len == 0 || len >= sizeof od->final - 64)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "-o: an output folder path is required");
    memcpy(od->final, out_dir, len);
    od->final[len] = '\0';
    const char *slash = strrchr(od->final, '/');
    const char *base = slash ? slash + 1 : od->final;
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || strcmp(od->final, "/") == 0)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "-o %s: name a folder to create or replace, not "
                             "\"%s\"", out_dir, base);
    if (slash == od->final)
        fmt_to(od->parent, sizeof od->parent, "/");
    else if (slash)
        fmt_to(od->parent, sizeof od->parent, "%.*s", (int)(slash - od->final), od->final);
    else
        fmt_to(od->parent, sizeof od->parent, ".");
    struct stat st;
    if (lstat(od->final, &st) == 0 && !S_ISDIR(st.st_mode))
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "-o %s: exists and is not a folder; choose a new or "
                             "empty folder", od->final);
    char bad[512];
    int f = foreign_entry(od->final, bad, sizeof bad);
    if (f < 0 && errno == ENOTDIR)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "-o %s: a parent of the folder is a file (%s); choose "
                             "an output path inside a folder", od->final, od->parent);
    if (f < 0)
        return aae_error_set(err, AAE_ERR_IO, "-o %s: cannot list the existing folder: %s", od->final,
                             strerror(errno));
    if (f > 0)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "-o %s: the folder holds \"%s\", which is not part of a "
                             "converted model; refusing to replace it (choose a new or empty folder, or remove "
                             "it yourself)", od->final, bad);
    aae_status s = aae_mkdir_p(od->parent, err);
    if (s)
        return s;
    fmt_to(od->base, sizeof od->base, "%s", base);
    remove_stale_tmp(od->parent, base);
    if (!fmt_to(od->tmp, sizeof od->tmp, "%s/.%s.aae-tmp-%ld", od->parent, base, (long)getpid()))
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "-o %s: path too long", od->final);
    remove_flat_dir(od->tmp); /* ours from an earlier call in this process */
    if (mkdir(od->tmp, 0755) != 0)
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot create the temporary folder: %s", od->tmp,
                             strerror(errno));
    od->active = 1;
    return AAE_OK;
}

/* Links (or copies) the other writer's files from final into tmp. */
static aae_status carry_over(aae_outdir *od, aae_error *err)
{
    DIR *d = opendir(od->final);
    if (!d)
        return errno == ENOENT ? AAE_OK : aae_error_set(err, AAE_ERR_IO, "%s: %s", od->final, strerror(errno));
    aae_status st = AAE_OK;
    struct dirent *e;
    aae_out_owner other = od->owner == AAE_OUT_WEIGHTS ? AAE_OUT_CONFIG : AAE_OUT_WEIGHTS;
    while (!st && (e = readdir(d))) {
        if (!aae_outdir_owns(other, e->d_name))
            continue;
        char from[8192], to[8192];
        fmt_to(from, sizeof from, "%s/%s", od->final, e->d_name);
        fmt_to(to, sizeof to, "%s/%s", od->tmp, e->d_name);
        if (link(from, to) == 0)
            continue;
        /* no hard links here (some file systems): copy */
        char *data = NULL;
        size_t n = 0;
        st = aae_read_file(from, (size_t)1 << 40, &data, &n, err);
        if (st)
            break;
        FILE *f = fopen(to, "wb");
        if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
            st = aae_error_set(err, AAE_ERR_IO, "%s: cannot write: %s", to, strerror(errno));
        free(data);
    }
    closedir(d);
    return st;
}

static aae_status install(aae_outdir *od, aae_error *err)
{
    char old[4200];
    fmt_to(old, sizeof old, "%s/.%s.aae-old-%ld", od->parent, od->base, (long)getpid());
    const char *old_left = NULL;
    aae_status st = aae_swap_into_place(od->tmp, od->final, old, &old_left, err);
    if (st == AAE_OK && old_left)
        remove_flat_dir(old_left);
    return st;
}

aae_status aae_outdir_commit(aae_outdir *od, aae_error *err)
{
    if (!od->active)
        return aae_error_set(err, AAE_ERR_INTERNAL, "output folder not begun");
    int lock = open(od->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock >= 0)
        while (flock(lock, LOCK_EX) != 0 && errno == EINTR) {
        }
    char bad[512];
    aae_status st = AAE_OK;
    if (foreign_entry(od->final, bad, sizeof bad) > 0)
        st = aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "-o %s: \"%s\" appeared in the folder while converting; "
                           "left untouched", od->final, bad);
    if (!st)
        st = carry_over(od, err);
    if (!st)
        st = install(od, err);
    if (lock >= 0)
        close(lock); /* releases the lock */
    if (st) {
        aae_outdir_abort(od);
        return st;
    }
    od->active = 0;
    return AAE_OK;
}

void aae_outdir_abort(aae_outdir *od)
{
    if (!od || !od->active)
        return;
    remove_flat_dir(od->tmp);
    od->active = 0;
}

int aae_outdir_other_quantization(const char *out_dir, aae_out_owner owner, char *out, size_t cap)
{
    char path[4200];
    const char *file = owner == AAE_OUT_WEIGHTS ? "sphere-aae-chat-config.json" : "tensor-cache.json";
    if (!aae_path_join(path, sizeof path, out_dir, file) || !aae_is_file(path))
        return 0;
    aae_json_doc *doc = NULL;
    if (aae_json_parse_file(path, &doc, NULL) != AAE_OK)
        return 0;
    const aae_json *root = aae_json_root(doc);
    const char *q = aae_json_str(aae_json_get(owner == AAE_OUT_WEIGHTS ? root : aae_json_get(root, "metadata"),
                                              "quantization"));
    int found = q != NULL && fmt_to(out, cap, "%s", q);
    aae_json_free(doc);
    return found;
}
