/* jit.c - the model-library JIT cache (see jit.h). */
#include "compile/jit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "common/fsutil.h"
#include "compile/digest.h"
#include "compile/lib_build.h"
#include "compile/objfile.h"
#include "compile/tar.h"
#include "compile/toolchain.h"

static const char *const POLICY_NAMES[] = {"ON", "OFF", "REDO", "READONLY"};

const char *aae_jit_policy_name(aae_jit_policy p) { return (unsigned)p < 4 ? POLICY_NAMES[p] : "?"; }

aae_status aae_jit_policy_from_env(aae_jit_policy *out, aae_error *err)
{
    const char *v = getenv("SPHERE_AAE_JIT_POLICY");
    *out = AAE_JIT_ON;
    if (!v || !*v)
        return AAE_OK;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(v, POLICY_NAMES[i]) == 0) {
            *out = (aae_jit_policy)i;
            return AAE_OK;
        }
    return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                         "SPHERE_AAE_JIT_POLICY='%s' is not a policy; use ON (default), OFF, REDO or READONLY", v);
}

aae_status aae_jit_home(char *out, size_t cap, aae_error *err)
{
    const char *home = getenv("SPHERE_AAE_HOME");
    int w;
    if (home && *home)
        w = snprintf(out, cap, "%s", home);
    else if ((home = getenv("XDG_CACHE_HOME")) && *home)
        w = snprintf(out, cap, "%s/sphere_aae", home);
    else if ((home = getenv("HOME")) && *home)
        w = snprintf(out, cap, "%s/.cache/sphere_aae", home);
    else
        return aae_error_set(err, AAE_ERR_NOT_FOUND,
                             "no cache folder: set SPHERE_AAE_HOME (or XDG_CACHE_HOME, or HOME)");
    if (w < 0 || (size_t)w >= cap)
        return aae_error_set(err, AAE_ERR_LIMIT, "cache folder path too long");
    return AAE_OK;
}

static void compute_key(const aae_lib_plan *p, const char *device, int opt, const char *ext,
                        const aae_compiler *cc, const char *sources, char key[65])
{
    char abi[16], o[16];
    snprintf(abi, sizeof abi, "%u", AAE_MODEL_LIB_ABI_VERSION);
    snprintf(o, sizeof o, "O%d", opt);
    aae_sha256 *h = aae_sha256_new();
    aae_sha256_field(h, "aae_version", AAE_VERSION_STRING, strlen(AAE_VERSION_STRING));
    aae_sha256_field(h, "abi_version", abi, strlen(abi));
    aae_sha256_field(h, "config", p->config_json, strlen(p->config_json));
    aae_sha256_field(h, "prefix", p->prefix, strlen(p->prefix));
    aae_sha256_field(h, "device", device, strlen(device));
    aae_sha256_field(h, "opt", o, strlen(o));
    aae_sha256_field(h, "ext", ext, strlen(ext));
    aae_sha256_field(h, "compiler", cc->identity, strlen(cc->identity));
    aae_sha256_field(h, "sources", sources, strlen(sources));
    aae_sha256_final_hex(h, key);
}

/* 1 if the cached file looks like the library we would build. */
static int entry_ok(const char *path, const char *ext, const char *prefix, const char *key, aae_error *why)
{
    aae_mmap m;
    if (aae_mmap_file(path, &m, why) != AAE_OK)
        return 0;
    int ok = 0;
    if (strcmp(ext, "tar") == 0) {
        aae_tar t;
        if (aae_tar_read(m.data, m.size, path, &t, why) == AAE_OK) {
            const aae_tar_entry *e = aae_tar_find(&t, AAE_MODEL_LIB_METADATA);
            char want_lib[256], want_key[128];
            snprintf(want_lib, sizeof want_lib, "\"model_lib\": \"%s\"", prefix);
            snprintf(want_key, sizeof want_key, "\"jit_key\": \"%s\"", key);
            char *meta = e ? strndup((const char *)e->data, e->size) : NULL;
            ok = meta && strstr(meta, want_lib) && strstr(meta, want_key);
            if (!ok)
                aae_error_set(why, AAE_ERR_MISMATCH, "%s: its %s does not name model_lib %s and key %s", path,
                              AAE_MODEL_LIB_METADATA, prefix, key);
            free(meta);
            aae_tar_free(&t);
        }
    } else {
        aae_obj_info info;
        if (aae_obj_read(m.data, m.size, path, &info, why) == AAE_OK) {
            char desc[256];
            snprintf(desc, sizeof desc, "%s%s", prefix, AAE_MODEL_LIB_SUFFIX);
            for (size_t i = 0; i < info.nsyms && !ok; i++)
                ok = info.syms[i].defined && strcmp(info.syms[i].c_name, desc) == 0;
            ok = ok && info.kind == AAE_OBJK_SHARED;
            if (!ok)
                aae_error_set(why, AAE_ERR_MISMATCH, "%s: not a shared object defining %s", path, desc);
            aae_obj_free(&info);
        }
    }
    aae_munmap(&m);
    return ok;
}

/* Removes temporary files a killed process left in the cache folder (older than an
 * hour, so that a compile in progress is never touched). */
static void remove_stale_temporaries(const char *folder)
{
    DIR *d = opendir(folder);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".tmp."))
            continue;
        char p[4400];
        struct stat st;
        if (aae_pathf(p, sizeof p, "%s/%s", folder, e->d_name) && lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
            now - st.st_mtime > 3600)
            unlink(p);
    }
    closedir(d);
}

static void fill_result(const aae_lib_plan *p, aae_jit_result *out)
{
    snprintf(out->model_lib, sizeof out->model_lib, "%s", p->prefix);
    memcpy(out->config_hash, p->config_hash, sizeof out->config_hash);
    out->memory = p->memory;
    out->context_window_size = p->context_window_size;
    out->prefill_chunk_size = p->prefill_chunk_size;
}

static aae_status resolve(const aae_jit_request *req, aae_jit_policy *policy, const aae_device **dev,
                          const char **ext, int *opt, aae_error *err)
{
    if (req->policy >= 0 && req->policy <= AAE_JIT_READONLY)
        *policy = (aae_jit_policy)req->policy;
    else {
        aae_status st = aae_jit_policy_from_env(policy, err);
        if (st != AAE_OK)
            return st;
    }
    *dev = aae_device_find(req->device);
    if (!*dev)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "unknown device '%s'; devices: %s",
                             req->device ? req->device : "(none)", aae_device_list());
    *ext = req->ext && *req->ext ? req->ext : "tar";
    if (strcmp(*ext, "tar") != 0 && strcmp(*ext, "so") != 0)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "library kind '%s': use \"tar\" or \"so\"", *ext);
    *opt = req->opt_level < 0 ? 3 : req->opt_level;
    if (*opt > 3)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "optimisation level %d: use 0-3", *opt);
    return AAE_OK;
}

aae_status aae_jit_get_library(const aae_jit_request *req, aae_jit_result *out, aae_error *err)
{
    memset(out, 0, sizeof *out);
    aae_jit_policy policy = AAE_JIT_ON;
    const aae_device *dev = NULL;
    const char *ext = "tar";
    int opt = 3;
    aae_status st = resolve(req, &policy, &dev, &ext, &opt, err);
    if (st != AAE_OK)
        return st;
    if (policy == AAE_JIT_OFF)
        return aae_error_set(err, AAE_ERR_STATE,
                             "model library for %s needed, but SPHERE_AAE_JIT_POLICY=OFF disables compiling; set it "
                             "to ON, or give a prebuilt library (model_lib_path_for_prepare_libs)",
                             req->model);
    aae_chat_config *cfg = NULL;
    char dir[4096], root[4096], home[4096], folder[4200], sources[65];
    aae_lib_plan plan;
    aae_compiler cc;
    int lockfd = -1;
    memset(&cc, 0, sizeof cc);
    memset(&plan, 0, sizeof plan);
    FILE *diag = req->diag ? req->diag : stderr;
    if ((st = aae_lib_load_config(req->model, &cfg, dir, sizeof dir, err)) != AAE_OK)
        return st;
    if ((st = aae_lib_plan_make(cfg, dir, req->overrides, req->prefix, diag, &plan, err)) != AAE_OK)
        goto out;
    fill_result(&plan, out);
    if ((st = aae_lib_source_root(req->source_root, root, sizeof root, err)) != AAE_OK ||
        (st = aae_lib_sources_digest(root, sources, err)) != AAE_OK ||
        (st = aae_compiler_detect(&cc, err)) != AAE_OK || (st = aae_jit_home(home, sizeof home, err)) != AAE_OK)
        goto out;
    compute_key(&plan, dev->name, opt, ext, &cc, sources, out->key);
    aae_pathf(folder, sizeof folder, "%s/model_lib", home);
    if ((size_t)snprintf(out->path, sizeof out->path, "%s/%s.%s", folder, out->key, ext) >= sizeof out->path) {
        st = aae_error_set(err, AAE_ERR_LIMIT, "cache path too long under %s", folder);
        goto out;
    }
    /* One compile per key at a time: a second process waits here, then finds the
     * library the first one wrote. Without a writable cache (READONLY), no lock. */
    if (policy != AAE_JIT_READONLY && aae_mkdir_p(folder, NULL) == AAE_OK) {
        char lock[4300];
        if (aae_pathf(lock, sizeof lock, "%s/%s.lock", folder, out->key) &&
            (lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) >= 0) {
            struct flock fl;
            memset(&fl, 0, sizeof fl);
            fl.l_type = F_WRLCK;
            fl.l_whence = SEEK_SET;
            while (fcntl(lockfd, F_SETLKW, &fl) != 0 && errno == EINTR) {
            }
        }
        remove_stale_temporaries(folder);
    }
    if (policy != AAE_JIT_REDO && aae_is_file(out->path)) {
        aae_error why;
        aae_error_clear(&why);
        if (entry_ok(out->path, ext, plan.prefix, out->key, &why))
            goto out; /* cached */
        if (policy == AAE_JIT_READONLY) {
            st = aae_error_set(err, AAE_ERR_FORMAT, "cached model library is damaged (%s) and "
                               "SPHERE_AAE_JIT_POLICY=READONLY forbids rebuilding it; delete it or use ON", why.msg);
            goto out;
        }
        fprintf(diag, "note: rebuilding the cached model library: %s\n", why.msg);
    } else if (policy == AAE_JIT_READONLY) {
        st = aae_error_set(err, AAE_ERR_NOT_FOUND,
                           "no cached model library for %s on %s (expected %s), and SPHERE_AAE_JIT_POLICY=READONLY "
                           "forbids compiling; run once with ON, or unset the variable",
                           req->model, dev->name, out->path);
        goto out;
    }
    if ((st = aae_mkdir_p(folder, err)) != AAE_OK)
        goto out;
    aae_lib_build_args a = {&plan, dev, &cc, root, opt, out->path, out->key, diag};
    st = aae_lib_build(&a, err);
    out->compiled = st == AAE_OK;
out:
    if (lockfd >= 0)
        close(lockfd); /* releases the lock */
    aae_compiler_free(&cc);
    aae_lib_plan_free(&plan);
    aae_chat_config_free(cfg);
    return st;
}
