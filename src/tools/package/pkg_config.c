/*
 * pkg_config.c - reads and validates sphere-aae-package-config.json (format at the
 * top of pkg_config.h). Validation collects every problem, each with the file,
 * line:column, the RFC 6901 pointer and the fix, so one run shows them all.
 */
#define _GNU_SOURCE
#include "package/pkg_config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "did_you_mean.h"
#include "package/pkg_util.h"

const char *const AAE_PKG_DEVICES[] = {"iphone", "android", "linux", "linux-x86_64", "linux-aarch64"};
const size_t AAE_PKG_N_DEVICES = sizeof AAE_PKG_DEVICES / sizeof AAE_PKG_DEVICES[0];

static const char *const TOP_KEYS[] = {"device", "model_list", "model_lib_path_for_prepare_libs", "ios_simulator"};
static const char *const MODEL_KEYS[] = {"model",         "model_id",  "estimated_vram_bytes",
                                         "bundle_weight", "overrides", "model_lib"};
static const char *const OVERRIDE_KEYS[] = {"context_window_size", "prefill_chunk_size", "sliding_window_size",
                                            "attention_sink_size", "max_batch_size"};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_MODELS 256

typedef struct checker {
    const char *path;
    aae_buf msgs;
    int n_errors;
    int shown; /* errors in msgs */
} checker;

__attribute__((format(printf, 4, 5))) static void bad(checker *c, const aae_json *at, const char *pointer,
                                                        const char *fmt, ...)
{
    c->n_errors++;
    char line[1200];
    int n = snprintf(line, sizeof line, "%s:%u:%u: %s: ", c->path, at ? at->line : 1, at ? at->col : 1,
                     pointer && *pointer ? pointer : "(root)");
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* keep whole lines that fit in one error message; count the rest */
    if (c->shown == c->n_errors - 1 && c->msgs.len + strlen(line) + 1 < AAE_ERROR_MSG_MAX - 80) {
        if (c->msgs.len)
            aae_buf_putc(&c->msgs, '\n');
        aae_buf_puts(&c->msgs, line);
        c->shown++;
    }
}

const char *aae_pkg_device_canonical(const char *device)
{
    if (strcmp(device, "linux") != 0)
        return device;
    struct utsname u;
    if (uname(&u) == 0 && (strcmp(u.machine, "aarch64") == 0 || strcmp(u.machine, "arm64") == 0))
        return "linux-aarch64";
    return "linux-x86_64";
}

int aae_pkg_device_is_linux(const char *device) { return strncmp(device, "linux", 5) == 0; }

/* Checks every key of obj against allowed[], and duplicates. */
static void check_keys(checker *c, const aae_json *obj, const char *pointer, const char *const *allowed, size_t n,
                       const char *what)
{
    for (size_t i = 0; i < obj->u.obj.count; i++) {
        const aae_json_member *m = &obj->u.obj.members[i];
        char p[256];
        aae_pkg_sfmt(p, sizeof p, "%s", pointer);
        aae_json_pointer_push(p, sizeof p, m->key);
        for (size_t j = 0; j < i && j < 256; j++)
            if (strcmp(obj->u.obj.members[j].key, m->key) == 0) {
                bad(c, m->value, p, "duplicate key \"%s\" (first at line %u); keep only one", m->key,
                    obj->u.obj.members[j].value->line);
                break;
            }
        int known = 0;
        for (size_t k = 0; k < n; k++)
            known |= strcmp(m->key, allowed[k]) == 0;
        if (known || allowed == NULL)
            continue;
        const char *dym = aae_did_you_mean(m->key, allowed, n);
        char list[512] = "";
        for (size_t k = 0; k < n; k++)
            aae_pkg_sfmt(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", allowed[k]);
        if (dym)
            bad(c, m->value, p, "unknown key \"%s\" in %s; did you mean \"%s\"? (valid keys: %s)", m->key, what,
                dym, list);
        else
            bad(c, m->value, p, "unknown key \"%s\" in %s (valid keys: %s)", m->key, what, list);
    }
}

/* "ios_simulator": true adds libmodel_iphone-simulator.a; only for "device": "iphone". */
static void check_ios_simulator(checker *c, const aae_json *v, aae_pkg_config *cfg)
{
    if (!v)
        return;
    if (!aae_json_is(v, AAE_JSON_BOOL)) {
        bad(c, v, "/ios_simulator", "expected true or false, got %s", aae_json_type_name(v->type));
        return;
    }
    if (v->u.boolean && cfg->device[0] && strcmp(cfg->device, "iphone") != 0) {
        bad(c, v, "/ios_simulator", "\"ios_simulator\": true needs \"device\": \"iphone\" (it adds the iOS "
                                    "Simulator's libmodel_iphone-simulator.a), not \"%s\"; remove it", cfg->device);
        return;
    }
    cfg->ios_simulator = v->u.boolean;
}

static void check_device(checker *c, const aae_json *v, aae_pkg_config *cfg)
{
    if (!v) {
        bad(c, NULL, "/device", "missing required key \"device\"; add e.g. \"device\": \"iphone\" (one of iphone, "
                                "android, linux, linux-x86_64, linux-aarch64)");
        return;
    }
    const char *s = aae_json_str(v);
    if (!s) {
        bad(c, v, "/device", "expected a string, got %s; use one of iphone, android, linux, linux-x86_64, "
                             "linux-aarch64", aae_json_type_name(v->type));
        return;
    }
    for (size_t i = 0; i < AAE_PKG_N_DEVICES; i++)
        if (strcmp(s, AAE_PKG_DEVICES[i]) == 0) {
            aae_pkg_sfmt(cfg->device, sizeof cfg->device, "%s", s);
            return;
        }
    const char *dym = aae_did_you_mean(s, AAE_PKG_DEVICES, AAE_PKG_N_DEVICES);
    bad(c, v, "/device", "unknown device \"%.64s\"%s%s%s; valid devices: iphone, android, linux, linux-x86_64, "
                         "linux-aarch64", s, dym ? "; did you mean \"" : "", dym ? dym : "", dym ? "\"?" : "");
}

/* Parses "HF://user/repo" or "https://huggingface.co/user/repo[/]". Returns 1
 * when s is a Hub reference (valid or not), filling a message when invalid. */
static int parse_hub(const char *s, aae_pkg_model *m, char *why, size_t why_cap)
{
    const char *rest = NULL;
    static const char *const prefixes[] = {"HF://", "hf://", "https://huggingface.co/", "https://hf.co/",
                                           "http://huggingface.co/"};
    for (size_t i = 0; i < N_OF(prefixes); i++)
        if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
            rest = s + strlen(prefixes[i]);
    if (!rest) {
        if (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) {
            aae_pkg_sfmt(why, why_cap, "only Hugging Face URLs are supported (\"HF://user/repo\" or "
                                   "\"https://huggingface.co/user/repo\"); for another server set HF_ENDPOINT "
                                   "and write \"HF://user/repo\"");
            return 1;
        }
        return 0;
    }
    char user[AAE_PKG_NAME_MAX] = "", repo[AAE_PKG_NAME_MAX] = "";
    const char *slash = strchr(rest, '/');
    size_t ul = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *r = slash ? slash + 1 : "";
    size_t rl = strlen(r);
    if (rl > 0 && r[rl - 1] == '/')
        rl--;
    if (ul == 0 || rl == 0 || ul >= 96 || rl >= 96 || memchr(r, '/', rl)) {
        aae_pkg_sfmt(why, why_cap, "expected \"HF://<user>/<repo>\" with exactly one '/', e.g. "
                               "\"HF://sphere-aae/gemma-2b-it-q4f16_1-AAE\"");
        return 1;
    }
    memcpy(user, rest, ul);
    memcpy(repo, r, rl);
    for (int k = 0; k < 2; k++) {
        const char *t = k ? repo : user;
        int ok = aae_pkg_is_safe_name(t) && strstr(t, "..") == NULL;
        for (const char *q = t; ok && *q; q++)
            ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '-' ||
                 *q == '_' || *q == '.';
        if (!ok) {
            aae_pkg_sfmt(why, why_cap, "\"%s\" is not a valid Hugging Face %s name (letters, digits, '-', '_', '.'; "
                                   "no leading '.', no \"..\")", t, k ? "repository" : "user");
            return 1;
        }
    }
    m->source = AAE_PKG_SOURCE_HUB;
    aae_pkg_sfmt(m->hub_user, sizeof m->hub_user, "%s", user);
    aae_pkg_sfmt(m->hub_repo, sizeof m->hub_repo, "%s", repo);
    why[0] = '\0';
    return 1;
}

static void check_model_source(checker *c, const aae_json *v, const char *p, aae_pkg_model *m, const char *dir)
{
    const char *s = aae_json_str(v);
    if (!s || !*s || strlen(s) >= sizeof m->model) {
        bad(c, v, p, "expected a non-empty string: \"HF://user/repo\", \"https://huggingface.co/user/repo\" or "
                     "a local folder of a converted model");
        return;
    }
    aae_pkg_sfmt(m->model, sizeof m->model, "%s", s);
    char why[512];
    if (parse_hub(s, m, why, sizeof why)) {
        if (why[0])
            bad(c, v, p, "\"%.200s\": %s", s, why);
        return;
    }
    char joined[AAE_PKG_PATH_MAX];
    if (s[0] == '/')
        aae_pkg_sfmt(joined, sizeof joined, "%s", s);
    else if (!aae_path_join(joined, sizeof joined, dir, s)) {
        bad(c, v, p, "path too long");
        return;
    }
    char real[PATH_MAX];
    if (!realpath(joined, real) || !aae_is_dir(real)) {
        bad(c, v, p, "local model folder \"%.200s\" not found (looked for %.300s; relative paths are resolved "
                     "against the config file's folder); give an existing converted-model folder or "
                     "\"HF://user/repo\"", s, joined);
        return;
    }
    m->source = AAE_PKG_SOURCE_LOCAL;
    aae_pkg_sfmt(m->local_dir, sizeof m->local_dir, "%s", real);
}

static void check_overrides(checker *c, const aae_json *v, const char *p, aae_pkg_overrides *o)
{
    if (!aae_json_is(v, AAE_JSON_OBJECT)) {
        bad(c, v, p, "expected an object such as {\"context_window_size\": 512}, got %s",
            aae_json_type_name(v->type));
        return;
    }
    check_keys(c, v, p, OVERRIDE_KEYS, N_OF(OVERRIDE_KEYS), "overrides");
    int64_t *slots[] = {&o->context_window_size, &o->prefill_chunk_size, &o->sliding_window_size,
                        &o->attention_sink_size, &o->max_batch_size};
    for (size_t k = 0; k < N_OF(OVERRIDE_KEYS); k++) {
        const aae_json *x = aae_json_get(v, OVERRIDE_KEYS[k]);
        if (!x)
            continue;
        char q[128];
        aae_pkg_sfmt(q, sizeof q, "%s", p);
        aae_json_pointer_push(q, sizeof q, OVERRIDE_KEYS[k]);
        /* -1 means "off" for the window sizes, as in the chat config; the rest are positive. */
        int allow_minus_one = k == 0 || k == 2 || k == 3;
        int64_t lo = allow_minus_one ? -1 : 1, hi = (int64_t)1 << 24;
        if (!aae_json_is(x, AAE_JSON_NUMBER) || !x->u.num.is_int || x->u.num.i < lo || x->u.num.i > hi ||
            (x->u.num.i == 0 && k != 3)) {
            bad(c, x, q, "expected an integer in 1..%lld%s", (long long)hi,
                allow_minus_one ? " (or -1 for \"not used\")" : "");
            continue;
        }
        *slots[k] = x->u.num.i;
    }
}

static void check_model_lib(checker *c, const aae_json *v, const char *p, aae_pkg_model *m)
{
    const char *s = aae_json_str(v);
    size_t n = s ? strlen(s) : 0;
    int ok = s && n > 0 && n < 128 && !(s[0] >= '0' && s[0] <= '9');
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
             s[i] == '_' || s[i] == '-';
    if (!ok) {
        bad(c, v, p, "model_lib must be 1..127 characters of [A-Za-z0-9_-], not starting with a digit (it "
                     "prefixes C symbols), e.g. \"gpt_neox_q4f16_1\"");
        return;
    }
    for (size_t i = 0; i <= n; i++)
        m->model_lib[i] = s[i] == '-' ? '_' : s[i];
}

static void check_model(checker *c, const aae_json *e, size_t idx, aae_pkg_model *m, const char *dir)
{
    aae_pkg_sfmt(m->pointer, sizeof m->pointer, "/model_list");
    aae_json_pointer_push_index(m->pointer, sizeof m->pointer, idx);
    m->line = e->line;
    m->col = e->col;
    m->overrides = (aae_pkg_overrides){AAE_PKG_UNSET, AAE_PKG_UNSET, AAE_PKG_UNSET, AAE_PKG_UNSET, AAE_PKG_UNSET};
    if (!aae_json_is(e, AAE_JSON_OBJECT)) {
        bad(c, e, m->pointer, "expected an object {\"model\", \"model_id\", \"estimated_vram_bytes\", ...}, got %s",
            aae_json_type_name(e->type));
        return;
    }
    check_keys(c, e, m->pointer, MODEL_KEYS, N_OF(MODEL_KEYS), "a model_list entry");
    char p[128];
#define PTR(key) (aae_pkg_sfmt(p, sizeof p, "%s", m->pointer), aae_json_pointer_push(p, sizeof p, key), p)
    const aae_json *v = aae_json_get(e, "model");
    if (!v)
        bad(c, e, PTR("model"), "missing required key \"model\"; add \"model\": \"HF://user/repo\" or a local "
                                "converted-model folder");
    else
        check_model_source(c, v, PTR("model"), m, dir);

    v = aae_json_get(e, "model_id");
    if (!v)
        bad(c, e, PTR("model_id"), "missing required key \"model_id\"; add a unique name such as "
                                   "\"gemma-2b-q4f16_1\"");
    else if (!aae_json_str(v) || !aae_pkg_is_safe_name(aae_json_str(v)) || strstr(aae_json_str(v), ".."))
        bad(c, v, PTR("model_id"), "model_id must be a safe folder name (it becomes dist/bundle/<model_id>): "
                                   "non-empty, no '/', '\\\\', ':', \"..\", control characters or leading '.'");
    else
        aae_pkg_sfmt(m->model_id, sizeof m->model_id, "%s", aae_json_str(v));

    v = aae_json_get(e, "estimated_vram_bytes");
    if (!v)
        bad(c, e, PTR("estimated_vram_bytes"), "missing required key \"estimated_vram_bytes\"; add the bytes of "
                                               "memory the model needs (package prints its own estimate)");
    else if (!aae_json_is(v, AAE_JSON_NUMBER) || !v->u.num.is_int || v->u.num.i <= 0)
        bad(c, v, PTR("estimated_vram_bytes"), "expected a positive integer number of bytes, e.g. 3000000000");
    else
        m->estimated_vram_bytes = v->u.num.i;

    v = aae_json_get(e, "bundle_weight");
    if (v && !aae_json_is(v, AAE_JSON_BOOL))
        bad(c, v, PTR("bundle_weight"), "expected true or false, got %s", aae_json_type_name(v->type));
    else if (v)
        m->bundle_weight = v->u.boolean;

    if ((v = aae_json_get(e, "overrides")) != NULL)
        check_overrides(c, v, PTR("overrides"), &m->overrides);
    if ((v = aae_json_get(e, "model_lib")) != NULL)
        check_model_lib(c, v, PTR("model_lib"), m);

    if (m->source == AAE_PKG_SOURCE_LOCAL && !m->bundle_weight) {
        v = aae_json_get(e, "bundle_weight");
        bad(c, v ? v : e, PTR("bundle_weight"), "the local model \"%.200s\" must be bundled (the app has no URL "
                                               "to fetch it from); add \"bundle_weight\": true or use "
                                               "\"HF://user/repo\"", m->model);
    }
#undef PTR
}

static void check_model_list(checker *c, const aae_json *v, aae_pkg_config *cfg)
{
    if (!v) {
        bad(c, NULL, "/model_list", "missing required key \"model_list\"; add a list of models, e.g. "
                                    "[{\"model\": \"HF://user/repo\", \"model_id\": \"x\", "
                                    "\"estimated_vram_bytes\": 3000000000}]");
        return;
    }
    if (!aae_json_is(v, AAE_JSON_ARRAY) || v->u.arr.count == 0 || v->u.arr.count > MAX_MODELS) {
        bad(c, v, "/model_list", "expected a non-empty list of at most %d model entries", MAX_MODELS);
        return;
    }
    cfg->models = calloc(v->u.arr.count, sizeof *cfg->models);
    if (!cfg->models) {
        bad(c, v, "/model_list", "out of memory");
        return;
    }
    cfg->n_models = v->u.arr.count;
    for (size_t i = 0; i < cfg->n_models; i++) {
        aae_pkg_model *m = &cfg->models[i];
        check_model(c, v->u.arr.items[i], i, m, cfg->dir);
        for (size_t j = 0; j < i && m->model_id[0]; j++)
            if (strcmp(cfg->models[j].model_id, m->model_id) == 0) {
                char p[128];
                aae_pkg_sfmt(p, sizeof p, "%s/model_id", m->pointer);
                bad(c, aae_json_get(v->u.arr.items[i], "model_id"), p,
                    "duplicate model_id \"%s\" (also %s, line %u); every model_id must be unique", m->model_id,
                    cfg->models[j].pointer, cfg->models[j].line);
                break;
            }
    }
}

static void check_prepared(checker *c, const aae_json *v, aae_pkg_config *cfg)
{
    const char *P = "/model_lib_path_for_prepare_libs";
    if (!aae_json_is(v, AAE_JSON_OBJECT)) {
        bad(c, v, P, "expected an object {\"<model_lib>\": \"path/to/lib.tar\"}, got %s",
            aae_json_type_name(v->type));
        return;
    }
    const char *used[MAX_MODELS];
    size_t n_used = 0;
    for (size_t i = 0; i < cfg->n_models; i++)
        if (cfg->models[i].model_lib[0])
            used[n_used++] = cfg->models[i].model_lib;
    check_keys(c, v, P, NULL, 0, "");
    cfg->prepared = calloc(v->u.obj.count ? v->u.obj.count : 1, sizeof *cfg->prepared);
    if (!cfg->prepared)
        return;
    for (size_t i = 0; i < v->u.obj.count; i++) {
        const aae_json_member *mem = &v->u.obj.members[i];
        char p[256];
        aae_pkg_sfmt(p, sizeof p, "%s", P);
        aae_json_pointer_push(p, sizeof p, mem->key);
        char key[AAE_PKG_NAME_MAX];
        aae_pkg_sfmt(key, sizeof key, "%s", mem->key);
        for (char *q = key; *q; q++)
            if (*q == '-')
                *q = '_';
        int found = 0;
        for (size_t k = 0; k < n_used; k++)
            found |= strcmp(used[k], key) == 0;
        if (!found) {
            const char *dym = aae_did_you_mean(key, used, n_used);
            bad(c, mem->value, p, "\"%.100s\" is not the model_lib of any model_list entry%s%s%s; keys must be "
                                  "model_lib values used in model_list", mem->key, dym ? "; did you mean \"" : "",
                dym ? dym : "", dym ? "\"?" : "");
            continue;
        }
        const char *s = aae_json_str(mem->value);
        if (!s || !*s) {
            bad(c, mem->value, p, "expected a path (string) to a compiled model library (.tar)");
            continue;
        }
        char joined[AAE_PKG_PATH_MAX], real[PATH_MAX];
        if (s[0] == '/')
            aae_pkg_sfmt(joined, sizeof joined, "%s", s);
        else if (!aae_path_join(joined, sizeof joined, cfg->dir, s)) {
            bad(c, mem->value, p, "path too long");
            continue;
        }
        if (!realpath(joined, real) || !aae_is_file(real)) {
            bad(c, mem->value, p, "model library \"%.200s\" not found (looked for %.300s; relative paths are "
                                  "resolved against the config file's folder); build it with `sphere_aae compile "
                                  "MODEL --device %s --system-lib-prefix %s -o %.200s` or remove this entry",
                s, joined, cfg->device[0] ? cfg->device : "<device>", key, s);
            continue;
        }
        aae_pkg_prepared_lib *pl = &cfg->prepared[cfg->n_prepared++];
        aae_pkg_sfmt(pl->model_lib, sizeof pl->model_lib, "%s", key);
        aae_pkg_sfmt(pl->path, sizeof pl->path, "%s", real);
    }
}

aae_status aae_pkg_config_parse(const char *path, const char *text, size_t len, aae_pkg_config **out,
                                aae_error *err)
{
    aae_json_doc *doc = NULL;
    aae_error jerr;
    if (aae_json_parse(text, len, &doc, &jerr) != AAE_OK)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: not valid JSON: %s; fix the syntax (no comments or "
                                                  "trailing commas)", path, jerr.msg);
    aae_pkg_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        aae_json_free(doc);
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    }
    aae_pkg_sfmt(cfg->path, sizeof cfg->path, "%s", path);
    aae_pkg_sfmt(cfg->dir, sizeof cfg->dir, "%s", path);
    char *slash = strrchr(cfg->dir, '/');
    if (slash && slash != cfg->dir)
        *slash = '\0';
    else
        aae_pkg_sfmt(cfg->dir, sizeof cfg->dir, "%s", slash ? "/" : ".");

    checker c = {.path = path};
    aae_buf_init(&c.msgs);
    const aae_json *root = aae_json_root(doc);
    if (!aae_json_is(root, AAE_JSON_OBJECT)) {
        bad(&c, root, "", "expected a JSON object {\"device\": ..., \"model_list\": [...]}, got %s",
            aae_json_type_name(root->type));
    } else {
        check_keys(&c, root, "", TOP_KEYS, N_OF(TOP_KEYS), "the package config");
        check_device(&c, aae_json_get(root, "device"), cfg);
        check_ios_simulator(&c, aae_json_get(root, "ios_simulator"), cfg);
        check_model_list(&c, aae_json_get(root, "model_list"), cfg);
        const aae_json *pl = aae_json_get(root, "model_lib_path_for_prepare_libs");
        if (pl)
            check_prepared(&c, pl, cfg);
    }
    aae_json_free(doc);
    if (c.n_errors) {
        if (c.n_errors > c.shown)
            aae_buf_printf(&c.msgs, "\n... and %d more problem%s (fix these first)", c.n_errors - c.shown,
                           c.n_errors - c.shown == 1 ? "" : "s");
        aae_error_set(err, AAE_ERR_FORMAT, "%s", c.msgs.data ? c.msgs.data : "invalid config");
        aae_buf_free(&c.msgs);
        aae_pkg_config_free(cfg);
        return AAE_ERR_FORMAT;
    }
    aae_buf_free(&c.msgs);
    *out = cfg;
    return AAE_OK;
}

aae_status aae_pkg_config_load(const char *path, aae_pkg_config **out, aae_error *err)
{
    char real[PATH_MAX];
    if (!realpath(path, real) || !aae_is_file(real))
        return aae_error_set(err, AAE_ERR_NOT_FOUND, "%s: package config not found (%s); create "
                                                     "sphere-aae-package-config.json in the app folder (see "
                                                     "docs/package.md) or pass --package-config FILE",
                             path, strerror(errno ? errno : ENOENT));
    char *text = NULL;
    size_t len = 0;
    aae_status st = aae_read_file(real, (size_t)16 << 20, &text, &len, err);
    if (st != AAE_OK)
        return st;
    st = aae_pkg_config_parse(real, text, len, out, err);
    free(text);
    return st;
}

void aae_pkg_config_free(aae_pkg_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->models);
    free(cfg->prepared);
    free(cfg);
}

const char *aae_pkg_config_prepared(const aae_pkg_config *cfg, const char *model_lib)
{
    for (size_t i = 0; i < cfg->n_prepared; i++)
        if (strcmp(cfg->prepared[i].model_lib, model_lib) == 0)
            return cfg->prepared[i].path;
    return NULL;
}
