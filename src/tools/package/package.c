/*
 * package.c - `sphere_aae package` end to end (steps and output layout in package.h;
 * user documentation in docs/package.md).
 */
#define _GNU_SOURCE
#include "package/package.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/md5.h"
#include "package/pkg_bindings.h"
#include "package/pkg_config.h"
#include "package/pkg_copy.h"
#include "package/pkg_dist.h"
#include "package/pkg_hub.h"
#include "package/pkg_libs.h"
#include "package/pkg_manifest.h"
#include "package/pkg_runtime.h"
#include "common/fsutil.h"
#include "package/pkg_util.h"

#define APP_CONFIG_NAME "sphere-aae-app-config.json"

typedef struct model_state {
    const aae_pkg_model *m;
    char weights_dir[AAE_PKG_PATH_MAX];
    aae_pkg_manifest man;
    aae_pkg_memory mem;
    int downloaded;
    aae_pkg_lib lib;
    aae_pkg_lib sim_lib; /* "ios_simulator": the same model_lib for iphone-simulator */
    char model_url[AAE_PKG_PATH_MAX];
} model_state;

typedef struct run {
    const aae_package_opts *opts;
    aae_pkg_ui *ui;
    aae_pkg_config *cfg;
    aae_pkg_dist dist;              /* the output folder and its staging folder */
    char off_root[AAE_PKG_PATH_MAX];/* downloads with SPHERE_AAE_DOWNLOAD_CACHE_POLICY=OFF */
    char source_dir[AAE_PKG_PATH_MAX];
    aae_hub hub;
    model_state *models;
    aae_pkg_copy_stats copy;
    int libs_compiled, runtime_built;
    char copy_label[AAE_PKG_NAME_MAX + 16];
    int64_t copy_done, copy_total;
    aae_package_failure failure;
} run;

/* ----------------------------------------------------------------- weights --- */

static void on_download(void *user, const char *label, int64_t done, int64_t total)
{
    run *r = user;
    char l[AAE_PKG_NAME_MAX + 16];
    aae_pkg_sfmt(l, sizeof l, "download %s", label);
    aae_pkg_ui_bar(r->ui, l, done, total);
}

static aae_status get_weights(run *r, model_state *s, aae_error *err)
{
    const aae_pkg_model *m = s->m;
    aae_status st;
    if (m->source == AAE_PKG_SOURCE_LOCAL) {
        aae_pkg_sfmt(s->weights_dir, sizeof s->weights_dir, "%s", m->local_dir);
        st = aae_pkg_manifest_load(m->local_dir, &s->man, err);
        if (st == AAE_OK)
            st = aae_pkg_manifest_check(m->local_dir, &s->man, 0, err);
        if (st != AAE_OK) {
            r->failure = AAE_PKG_FAIL_INPUT;
            return aae_error_prefix(err, "%s: %s/model (\"%s\")", r->cfg->path, m->pointer, m->model);
        }
        return AAE_OK;
    }
    aae_hub_model_url(m->hub_user, m->hub_repo, s->model_url, sizeof s->model_url);
    st = aae_hub_get_model(&r->hub, m->hub_user, m->hub_repo, s->weights_dir, sizeof s->weights_dir, &s->man,
                           &s->downloaded, err);
    aae_pkg_ui_bar_end(r->ui);
    if (st != AAE_OK) {
        r->failure = st == AAE_ERR_IO ? AAE_PKG_FAIL_NETWORK : AAE_PKG_FAIL_INPUT;
        return aae_error_prefix(err, "%s: %s/model (\"%s\")", r->cfg->path, m->pointer, m->model);
    }
    aae_pkg_ui_note(r->ui, 0, "%s: weights in %s%s", m->model_id, s->weights_dir,
                    s->downloaded ? " (downloaded)" : " (cached)");
    return AAE_OK;
}

static void show_memory(run *r, model_state *s)
{
    aae_error perr;
    if (aae_pkg_lib_memory(s->weights_dir, &s->m->overrides, &s->mem, &perr) != AAE_OK) {
        aae_pkg_ui_note(r->ui, 0, "%s: no library plan (%s); memory estimated from the config", s->m->model_id,
                        perr.msg);
        aae_pkg_memory_estimate(&s->man, &s->m->overrides, &s->mem);
    }
    char w[32], k[32], a[32], t[32], e[32];
    aae_pkg_ui_bytes(s->mem.weights, w, sizeof w);
    aae_pkg_ui_bytes(s->mem.kv_cache, k, sizeof k);
    aae_pkg_ui_bytes(s->mem.activations, a, sizeof a);
    aae_pkg_ui_bytes(s->mem.total, t, sizeof t);
    aae_pkg_ui_bytes(s->m->estimated_vram_bytes, e, sizeof e);
    aae_pkg_ui_note(r->ui, 1, "%s: memory %s = weights %s + KV cache %s (%lld tokens) + activations %s (prefill "
                              "chunk %lld)", s->m->model_id, t, w, k, (long long)s->mem.kv_len, a,
                    (long long)s->mem.prefill_chunk);
    if (s->m->estimated_vram_bytes < s->mem.total)
        aae_pkg_ui_warn(r->ui, "%s: %s/estimated_vram_bytes: %s (%lld) is below the %s (%lld) the model needs "
                               "(weights %s + KV cache %s + activations %s); raise it to at least %lld, or lower "
                               "overrides.context_window_size / prefill_chunk_size",
                        r->cfg->path, s->m->pointer, e, (long long)s->m->estimated_vram_bytes, t,
                        (long long)s->mem.total, w, k, a, (long long)s->mem.total);
}

/* --------------------------------------------------------------- libraries --- */

/* "ios_simulator": the model's library for iphone-simulator (arm64 + x86_64), with the
 * device library's model_lib so the app uses one name on both. Always through the JIT
 * cache: a prepared library is for one device, so its simulator twin is compiled. */
static aae_status get_sim_lib(run *r, model_state *s, aae_error *err)
{
    for (model_state *o = r->models; o < s; o++)
        if (strcmp(o->lib.model_lib, s->lib.model_lib) == 0) {
            s->sim_lib = o->sim_lib; /* entries sharing a model_lib share the library */
            s->sim_lib.compiled = 0;
            return AAE_OK;
        }
    aae_status st = aae_pkg_lib_jit("iphone-simulator", s->weights_dir, &s->m->overrides, s->lib.model_lib,
                                    r->source_dir, r->ui->verbose, &s->sim_lib, err);
    aae_pkg_ui_bar_end(r->ui);
    if (st != AAE_OK) {
        r->failure = AAE_PKG_FAIL_OTHER;
        return aae_error_prefix(err, "%s: %s: model library for the iOS Simulator (\"ios_simulator\": true)",
                                r->cfg->path, s->m->pointer);
    }
    r->libs_compiled += s->sim_lib.compiled;
    aae_pkg_ui_note(r->ui, 0, "%s: simulator model library %s (%s)%s", s->m->model_id, s->sim_lib.model_lib,
                    s->sim_lib.path, s->lib.prepared ? " (compiled: the prepared library is for devices only)" : "");
    return AAE_OK;
}

static aae_status get_libs(run *r, aae_error *err)
{
    const char *device = r->cfg->device;
    for (size_t i = 0; i < r->cfg->n_models; i++) {
        model_state *s = &r->models[i];
        const aae_pkg_model *m = s->m;
        const char *prepared = m->model_lib[0] ? aae_pkg_config_prepared(r->cfg, m->model_lib) : NULL;
        aae_status st;
        if (prepared) {
            st = aae_pkg_lib_check_prepared(prepared, device, m->model_lib, err);
            if (st != AAE_OK) {
                r->failure = AAE_PKG_FAIL_INPUT;
                return aae_error_prefix(err, "%s: /model_lib_path_for_prepare_libs/%s", r->cfg->path, m->model_lib);
            }
            aae_pkg_sfmt(s->lib.model_lib, sizeof s->lib.model_lib, "%s", m->model_lib);
            aae_pkg_sfmt(s->lib.path, sizeof s->lib.path, "%s", prepared);
            s->lib.prepared = 1;
        } else {
            aae_pkg_ui_count(r->ui, "compile model libraries", (int64_t)i, (int64_t)r->cfg->n_models);
            st = aae_pkg_lib_jit(device, s->weights_dir, &m->overrides, m->model_lib[0] ? m->model_lib : NULL,
                                 r->source_dir, r->ui->verbose, &s->lib, err);
            aae_pkg_ui_bar_end(r->ui);
            if (st != AAE_OK) {
                r->failure = AAE_PKG_FAIL_OTHER;
                return aae_error_prefix(err, "%s: %s: model library", r->cfg->path, m->pointer);
            }
            r->libs_compiled += s->lib.compiled;
        }
        /* entries with the same model_lib must be the same library */
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->models[j].lib.model_lib, s->lib.model_lib) == 0 &&
                strcmp(r->models[j].lib.path, s->lib.path) != 0) {
                r->failure = AAE_PKG_FAIL_INPUT;
                return aae_error_set(err, AAE_ERR_MISMATCH,
                                     "%s: %s/model_lib: \"%s\" is also the model_lib of %s, but the two models need "
                                     "different libraries (architecture, quantization or overrides differ); give "
                                     "each its own model_lib or remove it to use the default",
                                     r->cfg->path, m->pointer, s->lib.model_lib, r->models[j].m->pointer);
            }
        aae_pkg_ui_note(r->ui, 0, "%s: model library %s (%s)", m->model_id, s->lib.model_lib, s->lib.path);
        if (r->cfg->ios_simulator && (st = get_sim_lib(r, s, err)) != AAE_OK)
            return st;
    }
    return AAE_OK;
}

/* What libmodel_<device>.a is built from: each library's path, size and mtime (JIT
 * cache files are named by their key, so this changes whenever a library does). */
static void libmodel_inputs(const char *device, const aae_pkg_lib *libs, size_t n, aae_buf *b)
{
    aae_buf_printf(b, "libmodel v2 %s %s\n", AAE_VERSION_STRING, device);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        int ok = stat(libs[i].path, &st) == 0;
        aae_buf_printf(b, "%s %s %lld %lld.%09ld\n", libs[i].model_lib, libs[i].path,
                       ok ? (long long)st.st_size : -1LL, ok ? (long long)st.st_mtim.tv_sec : 0LL,
                       ok ? st.st_mtim.tv_nsec : 0L);
    }
}

/* Builds the archive, or hard-links the previous output's when its inputs are the
 * same (building it compiles the registry: the slow part of a no-change re-run). */
static aae_status write_or_keep_libmodel(run *r, const char *device, const char *path, const aae_pkg_lib *libs,
                                         size_t n, aae_error *err)
{
    char stamp[AAE_PKG_PATH_MAX], prev[AAE_PKG_PATH_MAX], prev_stamp[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(stamp, sizeof stamp, "%s/lib/.libmodel_%s.inputs", r->dist.staging, device);
    aae_pkg_sfmt(prev, sizeof prev, "%s/lib/libmodel_%s.a", r->dist.out, device);
    aae_pkg_sfmt(prev_stamp, sizeof prev_stamp, "%s/lib/.libmodel_%s.inputs", r->dist.out, device);
    aae_buf want;
    aae_buf_init(&want);
    libmodel_inputs(device, libs, n, &want);
    char *have = NULL;
    size_t have_len = 0;
    aae_error ignore;
    aae_status st;
    if (aae_buf_ok(&want) && aae_read_file(prev_stamp, (size_t)1 << 20, &have, &have_len, &ignore) == AAE_OK &&
        have_len == want.len && memcmp(have, want.data, want.len) == 0 && link(prev, path) == 0) {
        r->copy.files_kept++;
        st = AAE_OK;
    } else {
        aae_pkg_ui_bar(r->ui, "archive libmodel", 0, 0);
        st = aae_pkg_libmodel_write(path, device, libs, n, err);
        aae_pkg_ui_bar_end(r->ui);
    }
    free(have);
    if (st == AAE_OK)
        st = aae_buf_ok(&want) ? aae_write_file_atomic(stamp, want.data, want.len, 0644, err)
                               : aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    aae_buf_free(&want);
    return st;
}

/* lib/libmodel_<device>.a; sim: lib/libmodel_iphone-simulator.a (a universal file). */
static aae_status write_libmodel(run *r, int sim, aae_error *err)
{
    const char *device = sim ? "iphone-simulator" : r->cfg->device;
    char path[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(path, sizeof path, "%s/lib/libmodel_%s.a", r->dist.staging, device);
    aae_pkg_lib *uniq = calloc(r->cfg->n_models, sizeof *uniq);
    const char **names = calloc(r->cfg->n_models, sizeof *names);
    if (!uniq || !names) {
        free(uniq);
        free(names);
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < r->cfg->n_models; i++) {
        const aae_pkg_lib *l = sim ? &r->models[i].sim_lib : &r->models[i].lib;
        int seen = 0;
        for (size_t j = 0; j < n; j++)
            seen |= strcmp(uniq[j].model_lib, l->model_lib) == 0;
        if (!seen) {
            names[n] = l->model_lib;
            uniq[n++] = *l;
        }
    }
    /* Writing reads the archive back too; either check failing is a ValidationError. */
    aae_status st = write_or_keep_libmodel(r, device, path, uniq, n, err);
    if (st == AAE_OK)
        st = aae_pkg_libmodel_validate(path, device, names, n, err);
    if (st == AAE_ERR_MISMATCH) {
        r->failure = AAE_PKG_FAIL_VALIDATION;
        aae_error_prefix(err, "ValidationError");
    }
    free(uniq);
    free(names);
    return st;
}

static aae_status write_linux_runtime(run *r, aae_error *err)
{
    char lib[AAE_PKG_PATH_MAX], logs[AAE_PKG_PATH_MAX], dst[AAE_PKG_PATH_MAX], src[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(logs, sizeof logs, "%s/logs", r->dist.staging);
    aae_status st = aae_mkdir_p(logs, err);
    if (st != AAE_OK)
        return st;
    aae_pkg_ui_bar(r->ui, "build libsphere_aae.a", 0, 0);
    st = aae_pkg_runtime_lib(r->source_dir, r->cfg->device, logs, r->ui->verbose, lib, sizeof lib,
                             &r->runtime_built, err);
    aae_pkg_ui_bar_end(r->ui);
    if (st != AAE_OK) {
        r->failure = AAE_PKG_FAIL_OTHER;
        return st;
    }
    aae_error ignore;
    aae_pkg_rmtree(logs, &ignore); /* kept only when the build failed */
    char prev[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(dst, sizeof dst, "%s/lib/libsphere_aae.a", r->dist.staging);
    aae_pkg_sfmt(prev, sizeof prev, "%s/lib/libsphere_aae.a", r->dist.out);
    if ((st = aae_pkg_copy_file(lib, dst, prev, &r->copy, NULL, NULL, err)) != AAE_OK)
        return st;
    aae_pkg_sfmt(dst, sizeof dst, "%s/lib/include", r->dist.staging);
    if ((st = aae_mkdir_p(dst, err)) != AAE_OK)
        return st;
    aae_pkg_sfmt(src, sizeof src, "%s/include/sphere_aae.h", r->source_dir);
    aae_pkg_sfmt(dst, sizeof dst, "%s/lib/include/sphere_aae.h", r->dist.staging);
    aae_pkg_sfmt(prev, sizeof prev, "%s/lib/include/sphere_aae.h", r->dist.out);
    if ((st = aae_pkg_copy_file(src, dst, prev, &r->copy, NULL, NULL, err)) != AAE_OK)
        return st;
    aae_pkg_sfmt(dst, sizeof dst, "%s/lib/pkgconfig", r->dist.staging);
    if ((st = aae_mkdir_p(dst, err)) != AAE_OK)
        return st;
    aae_buf pc;
    aae_buf_init(&pc);
    /* The runtime refers to the registry weakly (an app without model libraries still
     * links), so -u makes the linker take the registry out of libmodel_<device>.a; the
     * registry then pulls in every library it lists. No --whole-archive is needed. */
    aae_buf_printf(&pc,
                   "# Written by sphere_aae package for device %s.\n"
                   "prefix=${pcfiledir}/../..\n"
                   "libdir=${prefix}/lib\n"
                   "includedir=${prefix}/lib/include\n"
                   "bundledir=${prefix}/bundle\n\n"
                   "Name: sphere_aae\n"
                   "Description: Astro Agent Edge runtime with the packaged model libraries\n"
                   "Version: %s\n"
                   "Cflags: -I${includedir}\n"
                   "Libs: -L${libdir} -Wl,-u,aae_model_lib_registry -lmodel_%s -lsphere_aae -lpthread -lm\n",
                   r->cfg->device, AAE_VERSION_STRING, r->cfg->device);
    aae_pkg_sfmt(dst, sizeof dst, "%s/lib/pkgconfig/sphere_aae.pc", r->dist.staging);
    st = aae_buf_ok(&pc) ? aae_write_file_atomic(dst, pc.data, pc.len, 0644, err)
                         : aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    aae_buf_free(&pc);
    return st;
}

/* ---------------------------------------------------------------- bindings --- */

/* What the app-build outputs are made from: the runtime sources, the binding
 * templates, the Unicode table generator and its data, and the app config. */
static aae_status bindings_inputs(run *r, const char *app_config, char key[33], aae_error *err)
{
    aae_md5 m;
    aae_md5_init(&m);
    aae_md5_update(&m, "bindings v1 " AAE_VERSION_STRING, sizeof "bindings v1 " AAE_VERSION_STRING);
    aae_md5_update(&m, r->cfg->device, strlen(r->cfg->device) + 1);
    aae_status st = AAE_OK;
    static const char *const trees[] = {"src/runtime", "include", "bindings"};
    for (size_t i = 0; st == AAE_OK && i < sizeof trees / sizeof trees[0]; i++) {
        char p[AAE_PKG_PATH_MAX];
        aae_pkg_sfmt(p, sizeof p, "%s/%s", r->source_dir, trees[i]);
        if (aae_is_dir(p))
            st = aae_pkg_hash_tree(&m, r->source_dir, trees[i], err);
    }
    const char *ucd = aae_pkg_getenv("AAE_UCD_DIR");
    char files[3][AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(files[0], sizeof files[0], "%s", app_config);
    aae_pkg_sfmt(files[1], sizeof files[1], "%s/scripts/gen_unicode_tables.py", r->source_dir);
    aae_pkg_sfmt(files[2], sizeof files[2], "%s/UnicodeData.txt", ucd ? ucd : "/usr/share/unicode");
    for (int i = 0; st == AAE_OK && i < 3; i++) {
        struct stat sb;
        char *text = NULL;
        size_t len = 0;
        if (i == 2) { /* the Unicode data: its path, size and time are enough */
            int ok = stat(files[i], &sb) == 0;
            aae_md5_update(&m, files[i], strlen(files[i]) + 1);
            int64_t v[2] = {ok ? (int64_t)sb.st_size : -1, ok ? (int64_t)sb.st_mtim.tv_sec : 0};
            aae_md5_update(&m, v, sizeof v);
        } else if (aae_is_file(files[i]) && (st = aae_read_file(files[i], (size_t)64 << 20, &text, &len, err)) == AAE_OK) {
            aae_md5_update(&m, text, len);
        }
        free(text);
    }
    uint8_t d[16];
    aae_md5_final(&m, d);
    aae_md5_digest_to_hex(d, key);
    return st;
}

/* android: lib/aae4j (the Gradle module), iphone: lib/SphereAAE (the Swift package),
 * written by pkg_bindings.c; reused from the previous output (hard links) when made
 * from the same inputs, since writing them generates the Unicode tables again. */
static aae_status write_bindings(run *r, aae_error *err)
{
    const char *name = !strcmp(r->cfg->device, "android") ? "aae4j"
                       : !strcmp(r->cfg->device, "iphone") ? "SphereAAE" : NULL;
    char lib[AAE_PKG_PATH_MAX], app_config[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(lib, sizeof lib, "%s/lib", r->dist.staging);
    aae_pkg_sfmt(app_config, sizeof app_config, "%s/bundle/%s", r->dist.staging, APP_CONFIG_NAME);
    if (!name)
        return aae_pkg_bindings_write(r->source_dir, r->cfg->device, lib, app_config, err);
    char key[33], stamp[AAE_PKG_PATH_MAX], prev_stamp[AAE_PKG_PATH_MAX], prev[AAE_PKG_PATH_MAX],
        dst[AAE_PKG_PATH_MAX];
    aae_status st = bindings_inputs(r, app_config, key, err);
    if (st != AAE_OK)
        return st;
    aae_pkg_sfmt(stamp, sizeof stamp, "%s/.%s.inputs", lib, name);
    aae_pkg_sfmt(prev_stamp, sizeof prev_stamp, "%s/lib/.%s.inputs", r->dist.out, name);
    aae_pkg_sfmt(prev, sizeof prev, "%s/lib/%s", r->dist.out, name);
    aae_pkg_sfmt(dst, sizeof dst, "%s/%s", lib, name);
    char *have = NULL;
    size_t have_len = 0;
    aae_error ignore;
    int files = 0;
    int same = aae_read_file(prev_stamp, 1024, &have, &have_len, &ignore) == AAE_OK && have_len == 32 &&
               memcmp(have, key, 32) == 0;
    free(have);
    if (same && aae_pkg_link_tree(prev, dst, &files)) {
        r->copy.files_kept += files;
    } else {
        aae_pkg_rmtree(dst, &ignore);
        aae_pkg_ui_bar(r->ui, "write app bindings", 0, 0);
        st = aae_pkg_bindings_write(r->source_dir, r->cfg->device, lib, app_config, err);
        aae_pkg_ui_bar_end(r->ui);
        if (st != AAE_OK)
            return st;
    }
    return aae_write_file_atomic(stamp, key, 32, 0644, err);
}

/* ------------------------------------------------------------------ bundle --- */

static void on_copy(void *user, int64_t bytes)
{
    run *r = user;
    r->copy_done += bytes;
    aae_pkg_ui_bar(r->ui, r->copy_label, r->copy_done, r->copy_total);
}

static aae_status bundle_model(run *r, model_state *s, aae_error *err)
{
    char dir[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(dir, sizeof dir, "%s/bundle/%s", r->dist.staging, s->m->model_id);
    aae_status st = aae_mkdir_p(dir, err);
    if (st != AAE_OK)
        return st;
    aae_pkg_sfmt(r->copy_label, sizeof r->copy_label, "copy %s", s->m->model_id);
    r->copy_done = 0;
    r->copy_total = 0;
    for (size_t i = 0; i < s->man.n_files; i++)
        r->copy_total += s->man.files[i].size > 0 ? s->man.files[i].size : 0;
    for (size_t i = 0; i < s->man.n_files && st == AAE_OK; i++) {
        const char *name = s->man.files[i].name;
        char src[AAE_PKG_PATH_MAX], dst[AAE_PKG_PATH_MAX], prev[AAE_PKG_PATH_MAX];
        aae_pkg_sfmt(src, sizeof src, "%s/%s", s->weights_dir, name);
        aae_pkg_sfmt(dst, sizeof dst, "%s/%s", dir, name);
        aae_pkg_sfmt(prev, sizeof prev, "%s/bundle/%s/%s", r->dist.out, s->m->model_id, name);
        st = aae_pkg_copy_file(src, dst, prev, &r->copy, on_copy, r, err);
    }
    aae_pkg_ui_bar_end(r->ui);
    return st;
}

static aae_status write_app_config(run *r, aae_error *err)
{
    aae_buf b;
    aae_buf_init(&b);
    aae_buf_puts(&b, "{\n  \"model_list\": [");
    for (size_t i = 0; i < r->cfg->n_models; i++) {
        const model_state *s = &r->models[i];
        aae_buf_puts(&b, i ? ",\n    {\n" : "\n    {\n");
        aae_buf_puts(&b, "      \"model_id\": ");
        aae_buf_json_string(&b, s->m->model_id, strlen(s->m->model_id));
        aae_buf_puts(&b, ",\n      \"model_lib\": ");
        aae_buf_json_string(&b, s->lib.model_lib, strlen(s->lib.model_lib));
        if (s->m->bundle_weight) {
            aae_buf_puts(&b, ",\n      \"model_path\": ");
            aae_buf_json_string(&b, s->m->model_id, strlen(s->m->model_id));
        } else {
            aae_buf_puts(&b, ",\n      \"model_url\": ");
            aae_buf_json_string(&b, s->model_url, strlen(s->model_url));
        }
        aae_buf_printf(&b, ",\n      \"estimated_vram_bytes\": %lld\n    }", (long long)s->m->estimated_vram_bytes);
    }
    aae_buf_puts(&b, "\n  ]\n}\n");
    char path[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(path, sizeof path, "%s/bundle/%s", r->dist.staging, APP_CONFIG_NAME);
    aae_status st = aae_buf_ok(&b) ? aae_write_file_atomic(path, b.data, b.len, 0644, err)
                                   : aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    aae_buf_free(&b);
    return st;
}

static aae_status write_stamp(run *r, aae_error *err)
{
    aae_buf b;
    aae_buf_init(&b);
    aae_buf_puts(&b, "{\"generator\": \"sphere_aae package\", \"version\": \"" AAE_VERSION_STRING "\", \"device\": ");
    aae_buf_json_string(&b, r->cfg->device, strlen(r->cfg->device));
    aae_buf_puts(&b, ", \"config\": ");
    aae_buf_json_string(&b, r->cfg->path, strlen(r->cfg->path));
    aae_buf_puts(&b, "}\n");
    char path[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(path, sizeof path, "%s/%s", r->dist.staging, AAE_PKG_DIST_STAMP);
    aae_status st = aae_write_file_atomic(path, b.data, b.len, 0644, err);
    aae_buf_free(&b);
    return st;
}

/* ------------------------------------------------------------------ summary --- */

static void summary_json(run *r, double seconds, aae_buf *j)
{
    aae_buf_puts(j, "{\"ok\": true, \"device\": ");
    aae_buf_json_string(j, r->cfg->device, strlen(r->cfg->device));
    aae_buf_printf(j, ", \"ios_simulator\": %s", r->cfg->ios_simulator ? "true" : "false");
    aae_buf_puts(j, ", \"output\": ");
    aae_buf_json_string(j, r->dist.out, strlen(r->dist.out));
    aae_buf_puts(j, ", \"app_config\": ");
    char p[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(p, sizeof p, "%s/bundle/%s", r->dist.out, APP_CONFIG_NAME);
    aae_buf_json_string(j, p, strlen(p));
    aae_buf_puts(j, ", \"models\": [");
    for (size_t i = 0; i < r->cfg->n_models; i++) {
        const model_state *s = &r->models[i];
        aae_buf_puts(j, i ? ", {\"model_id\": " : "{\"model_id\": ");
        aae_buf_json_string(j, s->m->model_id, strlen(s->m->model_id));
        aae_buf_puts(j, ", \"model\": ");
        aae_buf_json_string(j, s->m->model, strlen(s->m->model));
        aae_buf_puts(j, ", \"model_lib\": ");
        aae_buf_json_string(j, s->lib.model_lib, strlen(s->lib.model_lib));
        aae_buf_puts(j, ", \"library\": ");
        aae_buf_json_string(j, s->lib.path, strlen(s->lib.path));
        if (r->cfg->ios_simulator) {
            aae_buf_puts(j, ", \"simulator_library\": ");
            aae_buf_json_string(j, s->sim_lib.path, strlen(s->sim_lib.path));
        }
        aae_buf_puts(j, ", \"weights_dir\": ");
        aae_buf_json_string(j, s->weights_dir, strlen(s->weights_dir));
        aae_buf_printf(j, ", \"bundled\": %s, \"downloaded\": %s, \"estimated_vram_bytes\": %lld, "
                          "\"memory\": {\"weights\": %lld, \"kv_cache\": %lld, \"activations\": %lld, "
                          "\"total\": %lld, \"kv_tokens\": %lld, \"prefill_chunk\": %lld}, \"vram_warning\": %s}",
                       s->m->bundle_weight ? "true" : "false", s->downloaded ? "true" : "false",
                       (long long)s->m->estimated_vram_bytes, (long long)s->mem.weights,
                       (long long)s->mem.kv_cache, (long long)s->mem.activations, (long long)s->mem.total,
                       (long long)s->mem.kv_len, (long long)s->mem.prefill_chunk,
                       s->m->estimated_vram_bytes < s->mem.total ? "true" : "false");
    }
    aae_buf_printf(j, "], \"downloaded_files\": %d, \"downloaded_bytes\": %lld, \"retries\": %d, "
                      "\"compiled_libraries\": %d, \"runtime_built\": %s, \"copied_files\": %d, \"copied_bytes\": "
                      "%lld, \"reflinked_files\": %d, \"kept_files\": %d, \"download_cache_policy\": \"%s\", "
                      "\"seconds\": %.3f}\n",
                   r->hub.files_downloaded, (long long)r->hub.bytes_downloaded, r->hub.retries, r->libs_compiled,
                   r->runtime_built ? "true" : "false", r->copy.files_copied, (long long)r->copy.bytes_copied,
                   r->copy.files_reflinked, r->copy.files_kept, aae_dl_policy_name(r->hub.policy), seconds);
}

/* --------------------------------------------------------------------- run --- */

/* Replaces every `from` in msg (capacity cap) by `to`, truncating safely. */
static void replace_all(char *msg, size_t cap, const char *from, const char *to)
{
    aae_buf b;
    aae_buf_init(&b);
    size_t fl = strlen(from);
    const char *p = msg, *hit;
    while (fl && (hit = strstr(p, from)) != NULL) {
        aae_buf_append(&b, p, (size_t)(hit - p));
        aae_buf_puts(&b, to);
        p = hit + fl;
    }
    aae_buf_puts(&b, p);
    if (aae_buf_ok(&b))
        aae_pkg_sfmt(msg, cap, "%s", b.data);
    aae_buf_free(&b);
}

static aae_status build_output(run *r, aae_error *err)
{
    char p[AAE_PKG_PATH_MAX];
    aae_status st;
    aae_pkg_sfmt(p, sizeof p, "%s/bundle", r->dist.staging);
    if ((st = aae_mkdir_p(p, err)) != AAE_OK)
        return st;
    aae_pkg_sfmt(p, sizeof p, "%s/lib", r->dist.staging);
    if ((st = aae_mkdir_p(p, err)) != AAE_OK)
        return st;
    for (size_t i = 0; i < r->cfg->n_models; i++)
        if (r->models[i].m->bundle_weight && (st = bundle_model(r, &r->models[i], err)) != AAE_OK)
            return st;
    if ((st = write_app_config(r, err)) != AAE_OK)
        return st;
    if ((st = write_libmodel(r, 0, err)) != AAE_OK)
        return st;
    if (r->cfg->ios_simulator && (st = write_libmodel(r, 1, err)) != AAE_OK)
        return st;
    if ((st = write_bindings(r, err)) != AAE_OK)
        return st;
    if (aae_pkg_device_is_linux(r->cfg->device) && (st = write_linux_runtime(r, err)) != AAE_OK)
        return st;
    return write_stamp(r, err);
}

static aae_status run_all(run *r, aae_buf *json, aae_error *err)
{
    const aae_package_opts *o = r->opts;
    aae_status st = aae_pkg_config_load(o->config_path ? o->config_path : "sphere-aae-package-config.json",
                                        &r->cfg, err);
    if (st != AAE_OK) {
        r->failure = AAE_PKG_FAIL_INPUT;
        return st;
    }
    if (!o->source_dir) {
        r->failure = AAE_PKG_FAIL_INPUT;
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "no AAE source tree given: pass --sphere-aae-source-dir "
                                                            "DIR or set SPHERE_AAE_SOURCE_DIR=/path/to/sphere-aae "
                                                            "(the runtime the app builds comes from it)");
    }
    if ((st = aae_pkg_check_source_dir(o->source_dir, err)) != AAE_OK) {
        r->failure = AAE_PKG_FAIL_INPUT;
        return st;
    }
    if (!realpath(o->source_dir, r->source_dir))
        return aae_error_set(err, AAE_ERR_IO, "%s: %s", o->source_dir, strerror(errno));
    if ((st = aae_pkg_dist_open(&r->dist, o->output_dir, err)) != AAE_OK) {
        r->failure = AAE_PKG_FAIL_INPUT;
        return st;
    }
    aae_pkg_sfmt(r->off_root, sizeof r->off_root, "%s/.%s.weights-%ld", r->dist.parent, r->dist.base, (long)getpid());
    if ((st = aae_hub_init(&r->hub, r->off_root, err)) != AAE_OK) {
        r->failure = AAE_PKG_FAIL_INPUT;
        return st;
    }
    r->hub.progress = on_download;
    r->hub.progress_user = r;
    r->models = calloc(r->cfg->n_models, sizeof *r->models);
    if (!r->models)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->cfg->n_models; i++) {
        r->models[i].m = &r->cfg->models[i];
        if ((st = get_weights(r, &r->models[i], err)) != AAE_OK)
            return st;
        show_memory(r, &r->models[i]);
    }
    if ((st = get_libs(r, err)) != AAE_OK)
        return st;
    aae_error ignore;
    aae_pkg_rmtree(r->dist.staging, &ignore);
    st = build_output(r, err);
    if (st == AAE_OK)
        st = aae_pkg_dist_install(&r->dist, err);
    if (st != AAE_OK) {
        if (!r->failure)
            r->failure = AAE_PKG_FAIL_OTHER;
        aae_pkg_rmtree(r->dist.staging, &ignore);
        if (err) { /* name the output, not the temporary folder that is gone */
            replace_all(err->msg, sizeof err->msg, r->dist.staging, r->dist.out);
            aae_buf note;
            aae_buf_init(&note);
            if (aae_is_dir(r->dist.out))
                aae_buf_printf(&note, "%s (nothing was installed: %s is as it was)", err->msg, r->dist.out);
            else
                aae_buf_printf(&note, "%s (nothing was installed)", err->msg);
            if (aae_buf_ok(&note))
                aae_pkg_sfmt(err->msg, sizeof err->msg, "%s", note.data);
            aae_buf_free(&note);
        }
        return st;
    }
    double secs = aae_pkg_now() - r->ui->started;
    aae_pkg_ui_note(r->ui, 1, "packaged %zu model%s for %s into %s (%.2f s): %d file%s downloaded, %d librar%s "
                              "compiled, %d file%s copied, %d unchanged",
                    r->cfg->n_models, r->cfg->n_models == 1 ? "" : "s", r->cfg->device, r->dist.out, secs,
                    r->hub.files_downloaded, r->hub.files_downloaded == 1 ? "" : "s", r->libs_compiled,
                    r->libs_compiled == 1 ? "y" : "ies", r->copy.files_copied + r->copy.files_reflinked,
                    r->copy.files_copied + r->copy.files_reflinked == 1 ? "" : "s", r->copy.files_kept);
    if (json)
        summary_json(r, secs, json);
    return AAE_OK;
}

aae_status aae_package_run(const aae_package_opts *opts, aae_pkg_ui *ui, aae_buf *json, aae_package_failure *why,
                           aae_error *err)
{
    run *r = calloc(1, sizeof *r);
    if (!r)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    r->opts = opts;
    r->ui = ui;
    aae_status st = run_all(r, json, err);
    if (r->off_root[0]) {
        aae_error ignore;
        aae_pkg_rmtree(r->off_root, &ignore);
    }
    if (st != AAE_OK && err)
        aae_pkg_scrub(err->msg, r->hub.token);
    *why = st == AAE_OK ? AAE_PKG_FAIL_NONE : (r->failure ? r->failure : AAE_PKG_FAIL_OTHER);
    for (size_t i = 0; r->cfg && r->models && i < r->cfg->n_models; i++)
        aae_pkg_manifest_free(&r->models[i].man);
    free(r->models);
    aae_pkg_config_free(r->cfg);
    memset(r->hub.token, 0, sizeof r->hub.token);
    free(r);
    return st;
}
