/* lib_sources.c - which files of the AAE source tree a model library is built from. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "compile/digest.h"
#include "compile/lib_build.h"
#include "compile/lib_sources.h"

#ifndef AAE_SOURCE_DIR
#define AAE_SOURCE_DIR ""
#endif

/* Folders (relative to the source root) whose files make a model library. */
static const char *const SOURCE_DIRS[] = {"src/runtime/kernels", "src/runtime/models", NULL};

int aae_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void aae_lib_sources_free(aae_lib_sources *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->files[i]);
    free(s->files);
    memset(s, 0, sizeof *s);
}

static aae_status push(aae_lib_sources *s, size_t *cap, const char *rel, aae_error *err)
{
    if (s->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        char **nf = realloc(s->files, nc * sizeof *nf);
        if (!nf)
            return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
        s->files = nf;
        *cap = nc;
    }
    s->files[s->n] = strdup(rel);
    if (!s->files[s->n])
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    s->n++;
    return AAE_OK;
}

aae_status aae_lib_sources_list(const char *root, int headers_too, aae_lib_sources *s, aae_error *err)
{
    memset(s, 0, sizeof *s);
    size_t cap = 0;
    for (size_t k = 0; SOURCE_DIRS[k]; k++) {
        char dir[4096];
        aae_path_join(dir, sizeof dir, root, SOURCE_DIRS[k]);
        DIR *dp = opendir(dir);
        if (!dp) {
            aae_lib_sources_free(s);
            return aae_error_set(err, AAE_ERR_NOT_FOUND,
                                 "%s: missing; the AAE source tree at %s has no model code. Point "
                                 "SPHERE_AAE_SOURCE_DIR at an AAE source checkout",
                                 dir, root);
        }
        struct dirent *e;
        while ((e = readdir(dp))) {
            if (e->d_name[0] == '.')
                continue;
            if (!aae_ends_with(e->d_name, ".c") && !(headers_too && aae_ends_with(e->d_name, ".h")))
                continue;
            char rel[1024];
            snprintf(rel, sizeof rel, "%s/%s", SOURCE_DIRS[k], e->d_name);
            aae_status st = push(s, &cap, rel, err);
            if (st != AAE_OK) {
                closedir(dp);
                aae_lib_sources_free(s);
                return st;
            }
        }
        closedir(dp);
    }
    if (s->n)
        qsort(s->files, s->n, sizeof *s->files, cmp_str);
    return AAE_OK;
}

aae_status aae_lib_source_root(const char *explicit_dir, char *out, size_t cap, aae_error *err)
{
    const char *env = getenv("SPHERE_AAE_SOURCE_DIR");
    const char *root = explicit_dir && *explicit_dir ? explicit_dir : env && *env ? env : AAE_SOURCE_DIR;
    if (!*root)
        return aae_error_set(err, AAE_ERR_NOT_FOUND,
                             "no AAE source tree: set SPHERE_AAE_SOURCE_DIR to an AAE source checkout");
    char probe[4096];
    aae_path_join(probe, sizeof probe, root, "src/runtime/models/model.h");
    if (!aae_is_file(probe))
        return aae_error_set(err, AAE_ERR_NOT_FOUND,
                             "%s is not an AAE source tree with model code (%s is missing); set "
                             "SPHERE_AAE_SOURCE_DIR to an AAE source checkout",
                             root, probe);
    snprintf(out, cap, "%s", root);
    return AAE_OK;
}

aae_status aae_lib_sources_digest(const char *root, char hex[65], aae_error *err)
{
    aae_lib_sources s;
    aae_status st = aae_lib_sources_list(root, 1, &s, err);
    if (st != AAE_OK)
        return st;
    aae_sha256 *h = aae_sha256_new();
    for (size_t i = 0; i < s.n && st == AAE_OK; i++) {
        char path[4096];
        aae_path_join(path, sizeof path, root, s.files[i]);
        char *text = NULL;
        size_t len = 0;
        st = aae_read_file(path, (size_t)64 << 20, &text, &len, err);
        if (st == AAE_OK) {
            aae_sha256_field(h, "name", s.files[i], strlen(s.files[i]));
            aae_sha256_field(h, "content", text, len);
        }
        free(text);
    }
    aae_sha256_final_hex(h, hex);
    aae_lib_sources_free(&s);
    return st;
}
