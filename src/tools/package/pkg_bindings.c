/*
 * pkg_bindings.c - the aae4j module (android) and the SphereAAE Swift package
 * (iphone) in dist/lib: template copy, runtime sources, generated tables, app
 * config (layout in pkg_bindings.h).
 */
#include "package/pkg_bindings.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/md5.h"
#include "package/pkg_proc.h"
#include "common/fsutil.h"
#include "package/pkg_util.h"

#define BIND_PATH_MAX 4096
#define BIND_FILE_MAX ((size_t)64 << 20)
#define VERSION_TOKEN "@AAE_VERSION@"

/* Names never copied from a template: what a local IDE build leaves behind. */
static int skipped_name(const char *name)
{
    static const char *const skip[] = {".", "..", "build", ".gradle", ".cxx", ".idea", "local.properties",
                                       ".build", ".swiftpm", "DerivedData", "xcuserdata", ".DS_Store"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strcmp(name, skip[i]) == 0)
            return 1;
    return 0;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Copies one file; in Package.swift the version token becomes the runtime's version. */
static aae_status copy_file(const char *src, const char *dst, aae_error *err)
{
    char *data = NULL;
    size_t len = 0;
    aae_status st = aae_read_file(src, BIND_FILE_MAX, &data, &len, err);
    if (st != AAE_OK)
        return st;
    char *tok = has_suffix(dst, "/Package.swift") ? strstr(data, VERSION_TOKEN) : NULL;
    if (tok) {
        size_t vt = strlen(VERSION_TOKEN), vs = strlen(AAE_VERSION_STRING);
        char *out = malloc(len - vt + vs + 1);
        if (!out) {
            free(data);
            return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
        }
        size_t head = (size_t)(tok - data);
        memcpy(out, data, head);
        memcpy(out + head, AAE_VERSION_STRING, vs);
        memcpy(out + head + vs, tok + vt, len - head - vt);
        free(data);
        data = out;
        len = len - vt + vs;
    }
    st = aae_write_file_atomic(dst, data, len, 0644, err);
    free(data);
    return st;
}

/* Copies src to dst: every regular file (a template), or with only_c the *.c and *.h
 * files only (the runtime). Symbolic links and IDE leftovers (skipped_name) are not copied. */
static aae_status copy_tree(const char *src, const char *dst, int only_c, aae_error *err)
{
    aae_status st = aae_mkdir_p(dst, err);
    if (st != AAE_OK)
        return st;
    DIR *d = opendir(src);
    if (!d)
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot open the folder: %s", src, strerror(errno));
    struct dirent *e;
    while (st == AAE_OK && (e = readdir(d)) != NULL) {
        if (skipped_name(e->d_name))
            continue;
        char s[BIND_PATH_MAX], t[BIND_PATH_MAX];
        if (!aae_path_join(s, sizeof s, src, e->d_name) || !aae_path_join(t, sizeof t, dst, e->d_name)) {
            st = aae_error_set(err, AAE_ERR_LIMIT, "%s/%s: path too long", src, e->d_name);
            break;
        }
        struct stat sb;
        if (lstat(s, &sb) != 0) {
            st = aae_error_set(err, AAE_ERR_IO, "%s: %s", s, strerror(errno));
        } else if (S_ISDIR(sb.st_mode)) {
            st = copy_tree(s, t, only_c, err);
        } else if (S_ISREG(sb.st_mode)) { /* symbolic links and the like are not copied */
            if (!only_c || has_suffix(e->d_name, ".c") || has_suffix(e->d_name, ".h"))
                st = copy_file(s, t, err);
        }
    }
    closedir(d);
    return st;
}

/* md5 of the generator and the two UCD files it reads: the cache key of the tables. */
static aae_status tables_key(const char *script, const char *ucd, char hex[33], aae_error *err)
{
    const char *names[] = {"UnicodeData.txt", "DerivedNormalizationProps.txt"};
    char path[BIND_PATH_MAX];
    aae_md5 m;
    aae_md5_init(&m);
    for (int i = -1; i < 2; i++) {
        if (i >= 0)
            aae_pkg_sfmt(path, sizeof path, "%s/%s", ucd, names[i]);
        char *data = NULL;
        size_t len = 0;
        aae_status st = aae_read_file(i < 0 ? script : path, BIND_FILE_MAX, &data, &len, err);
        if (st != AAE_OK)
            return aae_error_prefix(err, "the tokenizer's Unicode tables are generated from the Unicode Character "
                                         "Database (Debian's unicode-data, or set AAE_UCD_DIR)");
        uint64_t n = len;
        aae_md5_update(&m, &n, sizeof n);
        aae_md5_update(&m, data, len);
        free(data);
    }
    uint8_t d[16];
    aae_md5_final(&m, d);
    aae_md5_digest_to_hex(d, hex);
    return AAE_OK;
}

/* Writes the tokenizer's Unicode tables to out_c: from the cache
 * ($SPHERE_AAE_HOME/bindings/unicode_tables-<key>.c) when there, else generated
 * (into the cache; directly into out_c when there is no cache folder). */
static aae_status gen_unicode_tables(const char *source_dir, const char *out_c, aae_error *err)
{
    const char *ucd = aae_pkg_getenv("AAE_UCD_DIR");
    if (!ucd)
        ucd = "/usr/share/unicode";
    char script[BIND_PATH_MAX], home[BIND_PATH_MAX], cached[BIND_PATH_MAX], log[BIND_PATH_MAX], hex[33];
    aae_pkg_sfmt(script, sizeof script, "%s/scripts/gen_unicode_tables.py", source_dir);
    aae_status st = tables_key(script, ucd, hex, err);
    if (st != AAE_OK)
        return st;
    aae_error ignore;
    const char *target = out_c;
    if (aae_pkg_home(home, sizeof home, &ignore) == AAE_OK) {
        aae_pkg_sfmt(cached, sizeof cached, "%s/bindings", home);
        if (aae_mkdir_p(cached, &ignore) == AAE_OK) {
            aae_pkg_sfmt(cached, sizeof cached, "%s/bindings/unicode_tables-%s.c", home, hex);
            if (aae_is_file(cached))
                return copy_file(cached, out_c, err);
            target = cached;
        }
    }
    aae_pkg_sfmt(log, sizeof log, "%s.log", out_c);
    const char *python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    const char *argv[] = {python, script, ucd, target, NULL};
    st = aae_pkg_run(argv, log, 0, err);
    if (st != AAE_OK)
        return aae_error_prefix(err, "generating the tokenizer's Unicode tables (log: %s)", log);
    unlink(log);
    return target == out_c ? AAE_OK : copy_file(target, out_c, err);
}

/* runtime_dir gets src/runtime's C sources + the tables; include_dir gets sphere_aae.h. */
static aae_status write_runtime(const char *source_dir, const char *runtime_dir, const char *include_dir,
                                aae_error *err)
{
    char p[BIND_PATH_MAX], q[BIND_PATH_MAX];
    aae_pkg_sfmt(p, sizeof p, "%s/src/runtime", source_dir);
    aae_status st = copy_tree(p, runtime_dir, 1, err);
    if (st == AAE_OK)
        st = aae_mkdir_p(include_dir, err);
    if (st == AAE_OK) {
        aae_pkg_sfmt(p, sizeof p, "%s/include/sphere_aae.h", source_dir);
        aae_pkg_sfmt(q, sizeof q, "%s/sphere_aae.h", include_dir);
        st = copy_file(p, q, err);
    }
    if (st == AAE_OK) {
        aae_pkg_sfmt(q, sizeof q, "%s/tokenizer/unicode_tables.c", runtime_dir);
        st = gen_unicode_tables(source_dir, q, err);
    }
    return st;
}

static aae_status copy_template(const char *source_dir, const char *rel, const char *dst, aae_error *err)
{
    char p[BIND_PATH_MAX];
    aae_pkg_sfmt(p, sizeof p, "%s/%s", source_dir, rel);
    if (!aae_is_dir(p))
        return aae_error_set(err, AAE_ERR_NOT_FOUND, "%s is missing from the AAE source tree %s; use a complete "
                                                     "checkout for --sphere-aae-source-dir", rel, source_dir);
    return copy_tree(p, dst, 0, err);
}

static aae_status write_android(const char *source_dir, const char *lib_dir, const char *app_config, aae_error *err)
{
    char mod[BIND_PATH_MAX], rt[BIND_PATH_MAX], inc[BIND_PATH_MAX], p[BIND_PATH_MAX];
    aae_pkg_sfmt(mod, sizeof mod, "%s/aae4j", lib_dir);
    aae_pkg_sfmt(rt, sizeof rt, "%s/src/main/cpp/runtime", mod);
    aae_pkg_sfmt(inc, sizeof inc, "%s/include", rt);
    aae_status st = copy_template(source_dir, "bindings/android/aae4j", mod, err);
    if (st == AAE_OK)
        st = write_runtime(source_dir, rt, inc, err);
    if (st == AAE_OK) {
        aae_pkg_sfmt(p, sizeof p, "%s/VERSION", rt);
        st = aae_write_file_atomic(p, AAE_VERSION_STRING "\n", strlen(AAE_VERSION_STRING "\n"), 0644, err);
    }
    if (st == AAE_OK) {
        aae_pkg_sfmt(p, sizeof p, "%s/src/main/assets", mod);
        st = aae_mkdir_p(p, err);
    }
    if (st == AAE_OK) {
        aae_pkg_sfmt(p, sizeof p, "%s/src/main/assets/sphere-aae-app-config.json", mod);
        st = copy_file(app_config, p, err);
    }
    return st;
}

static aae_status write_iphone(const char *source_dir, const char *lib_dir, const char *app_config, aae_error *err)
{
    char pkg[BIND_PATH_MAX], rt[BIND_PATH_MAX], inc[BIND_PATH_MAX], p[BIND_PATH_MAX];
    aae_pkg_sfmt(pkg, sizeof pkg, "%s/SphereAAE", lib_dir);
    aae_pkg_sfmt(rt, sizeof rt, "%s/Sources/CSphereAAE/runtime", pkg);
    aae_pkg_sfmt(inc, sizeof inc, "%s/Sources/CSphereAAE/include", pkg);
    aae_status st = copy_template(source_dir, "bindings/ios/SphereAAE", pkg, err);
    if (st == AAE_OK)
        st = write_runtime(source_dir, rt, inc, err);
    if (st == AAE_OK) {
        /* A copy for the app target's resources (the app config also sits in dist/bundle). */
        aae_pkg_sfmt(p, sizeof p, "%s/sphere-aae-app-config.json", pkg);
        st = copy_file(app_config, p, err);
    }
    return st;
}

aae_status aae_pkg_bindings_write(const char *source_dir, const char *device, const char *lib_dir,
                                  const char *app_config, aae_error *err)
{
    aae_status st = AAE_OK;
    if (strcmp(device, "android") == 0)
        st = write_android(source_dir, lib_dir, app_config, err);
    else if (strcmp(device, "iphone") == 0)
        st = write_iphone(source_dir, lib_dir, app_config, err);
    if (st != AAE_OK)
        return aae_error_prefix(err, "%s app-build files in %s", device, lib_dir);
    return AAE_OK;
}
