/* pkg_runtime.c - source tree checks and the cached runtime build (see pkg_runtime.h). */
#define _GNU_SOURCE
#include "package/pkg_runtime.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/md5.h"
#include "package/pkg_config.h"
#include "package/pkg_copy.h"
#include "package/pkg_proc.h"
#include "common/fsutil.h"
#include "compile/toolchain.h"
#include "package/pkg_util.h"

aae_status aae_pkg_check_source_dir(const char *dir, aae_error *err)
{
    static const struct {
        const char *path;
        int is_dir;
    } need[] = {{"CMakeLists.txt", 0}, {"include/sphere_aae.h", 0}, {"src/runtime", 1}, {"src/runtime/CMakeLists.txt", 0}};
    if (!aae_is_dir(dir))
        return aae_error_set(err, AAE_ERR_NOT_FOUND, "--sphere-aae-source-dir %s: no such folder; give the path of "
                                                     "the AAE source tree (a clone of the sphere-aae repository)", dir);
    char missing[1024] = "";
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        char p[AAE_PKG_PATH_MAX];
        aae_pkg_sfmt(p, sizeof p, "%s/%s", dir, need[i].path);
        if (need[i].is_dir ? !aae_is_dir(p) : !aae_is_file(p)) {
            size_t l = strlen(missing);
            aae_pkg_sfmt(missing + l, sizeof missing - l, "%s%s%s", l ? ", " : "", need[i].path,
                         need[i].is_dir ? "/" : "");
        }
    }
    if (missing[0])
        return aae_error_set(err, AAE_ERR_NOT_FOUND, "%s is not an AAE source tree: missing %s; point "
                                                     "--sphere-aae-source-dir (or $SPHERE_AAE_SOURCE_DIR) at the root "
                                                     "of a sphere-aae clone", dir, missing);
    return AAE_OK;
}

const char *aae_pkg_device_cc(const char *device)
{
    const char *canon = aae_pkg_device_canonical(device);
    const char *host = aae_pkg_device_canonical("linux");
    if (strcmp(canon, host) == 0) {
        const char *cc = aae_pkg_getenv("CC");
        return cc ? cc : "cc";
    }
    if (strcmp(canon, "linux-aarch64") == 0) {
        const char *cc = aae_pkg_getenv("SPHERE_AAE_CC_LINUX_AARCH64");
        return cc ? cc : "aarch64-linux-gnu-gcc";
    }
    const char *cc = aae_pkg_getenv("SPHERE_AAE_CC_LINUX_X86_64");
    return cc ? cc : "x86_64-linux-gnu-gcc";
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

aae_status aae_pkg_hash_tree(aae_md5 *m, const char *root, const char *rel, aae_error *err)
{
    char dir[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(dir, sizeof dir, "%s/%s", root, rel);
    DIR *d = opendir(dir);
    if (!d)
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot read: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn)
                break;
            names = nn;
        }
        if ((names[n] = strdup(e->d_name)) != NULL)
            n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_str);
    aae_status st = AAE_OK;
    for (size_t i = 0; i < n; i++) {
        char r[AAE_PKG_PATH_MAX], p[AAE_PKG_PATH_MAX];
        aae_pkg_sfmt(r, sizeof r, "%s/%s", rel, names[i]);
        aae_pkg_sfmt(p, sizeof p, "%s/%s", root, r);
        if (st == AAE_OK && aae_is_dir(p)) {
            st = aae_pkg_hash_tree(m, root, r, err);
        } else if (st == AAE_OK && aae_is_file(p)) {
            char *text = NULL;
            size_t len = 0;
            st = aae_read_file(p, (size_t)256 << 20, &text, &len, err);
            if (st == AAE_OK) {
                aae_md5_update(m, r, strlen(r) + 1);
                aae_md5_update(m, &len, sizeof len);
                aae_md5_update(m, text, len);
            }
            free(text);
        }
        free(names[i]);
    }
    free(names);
    return st;
}

static aae_status runtime_key(const char *src, const char *device, const char *cc, char key[33], aae_error *err)
{
    aae_md5 m;
    aae_md5_init(&m);
    char ident[2048] = "";
    const char *argv[] = {cc, "--version", NULL};
    aae_error e;
    if (aae_pkg_capture(argv, ident, sizeof ident, &e) != AAE_OK)
        return aae_error_set(err, AAE_ERR_NOT_FOUND, "the C compiler for %s (%s) does not run: %s; install it (on "
                                                     "Debian: gcc-aarch64-linux-gnu for linux-aarch64) or set "
                                                     "SPHERE_AAE_CC_LINUX_AARCH64 / SPHERE_AAE_CC_LINUX_X86_64 / CC",
                             device, cc, e.msg);
    aae_md5_update(&m, "runtime-v1", 11);
    aae_md5_update(&m, device, strlen(device) + 1);
    aae_md5_update(&m, ident, strlen(ident) + 1);
    aae_md5_update(&m, AAE_VERSION_STRING, sizeof AAE_VERSION_STRING);
    aae_status st = aae_pkg_hash_tree(&m, src, "src/runtime", err);
    if (st == AAE_OK)
        st = aae_pkg_hash_tree(&m, src, "include", err);
    /* generated runtime sources (the Unicode tables) come from this script */
    char gen[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(gen, sizeof gen, "%s/scripts/gen_unicode_tables.py", src);
    char *gtext = NULL;
    size_t glen = 0;
    if (st == AAE_OK && aae_is_file(gen) && (st = aae_read_file(gen, (size_t)16 << 20, &gtext, &glen, err)) == AAE_OK)
        aae_md5_update(&m, gtext, glen);
    free(gtext);
    char top[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(top, sizeof top, "%s/CMakeLists.txt", src);
    char *text = NULL;
    size_t len = 0;
    if (st == AAE_OK && (st = aae_read_file(top, (size_t)1 << 20, &text, &len, err)) == AAE_OK)
        aae_md5_update(&m, text, len);
    free(text);
    uint8_t d[16];
    aae_md5_final(&m, d);
    aae_md5_digest_to_hex(d, key);
    return st;
}

static int have_program(const char *name)
{
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *c = strchr(path, ':');
        size_t n = c ? (size_t)(c - path) : strlen(path);
        char p[AAE_PKG_PATH_MAX];
        aae_pkg_sfmt(p, sizeof p, "%.*s/%s", (int)n, path, name);
        if (access(p, X_OK) == 0)
            return 1;
        path = c ? c + 1 : NULL;
    }
    return 0;
}

static aae_status build_runtime(const char *src, const char *device, const char *cc, const char *build,
                                const char *log_dir, int verbose, aae_error *err)
{
    const char *canon = aae_pkg_device_canonical(device);
    char b_arg[AAE_PKG_PATH_MAX + 4], s_arg[AAE_PKG_PATH_MAX + 4], cc_arg[AAE_PKG_PATH_MAX + 32],
        proc_arg[64], log[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(s_arg, sizeof s_arg, "-S%s", src);
    aae_pkg_sfmt(b_arg, sizeof b_arg, "-B%s", build);
    aae_pkg_sfmt(cc_arg, sizeof cc_arg, "-DCMAKE_C_COMPILER=%s", cc);
    aae_pkg_sfmt(proc_arg, sizeof proc_arg, "-DCMAKE_SYSTEM_PROCESSOR=%s",
                 strcmp(canon, "linux-aarch64") == 0 ? "aarch64" : "x86_64");
    int cross = strcmp(canon, aae_pkg_device_canonical("linux")) != 0;
    const char *argv[20];
    size_t n = 0;
    argv[n++] = "cmake";
    argv[n++] = s_arg;
    argv[n++] = b_arg;
    if (have_program("ninja")) {
        argv[n++] = "-G";
        argv[n++] = "Ninja";
    }
    argv[n++] = "-DCMAKE_BUILD_TYPE=Release";
    argv[n++] = "-DAAE_BUILD_TOOLS=OFF";
    argv[n++] = "-DAAE_BUILD_TESTS=OFF";
    argv[n++] = "-DAAE_WERROR=OFF";
    argv[n++] = cc_arg;
    if (cross) {
        argv[n++] = "-DCMAKE_SYSTEM_NAME=Linux";
        argv[n++] = proc_arg;
    }
    argv[n] = NULL;
    aae_pkg_sfmt(log, sizeof log, "%s/runtime-%s-configure.log", log_dir, canon);
    aae_status st = aae_pkg_run(argv, log, verbose, err);
    if (st != AAE_OK)
        return aae_error_prefix(err, "building libsphere_aae.a for %s", device);
    char jobs[16];
    aae_pkg_sfmt(jobs, sizeof jobs, "%d", aae_compile_jobs());
    const char *bargv[] = {"cmake", "--build", build, "--target", "sphere_aae", "-j", jobs, NULL};
    aae_pkg_sfmt(log, sizeof log, "%s/runtime-%s-build.log", log_dir, canon);
    st = aae_pkg_run(bargv, log, verbose, err);
    if (st != AAE_OK)
        return aae_error_prefix(err, "building libsphere_aae.a for %s", device);
    return AAE_OK;
}

aae_status aae_pkg_runtime_lib(const char *source_dir, const char *device, const char *log_dir, int verbose,
                               char *lib_out, size_t cap, int *built, aae_error *err)
{
    *built = 0;
    const char *canon = aae_pkg_device_canonical(device);
    const char *cc = aae_pkg_device_cc(device);
    char key[33], home[AAE_PKG_PATH_MAX];
    aae_status st = aae_pkg_home(home, sizeof home, err);
    if (st == AAE_OK)
        st = runtime_key(source_dir, canon, cc, key, err);
    if (st != AAE_OK)
        return st;
    char dir[AAE_PKG_PATH_MAX], lib[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(dir, sizeof dir, "%s/runtime_lib/%s-%s", home, canon, key);
    aae_pkg_sfmt(lib, sizeof lib, "%s/libsphere_aae.a", dir);
    aae_pkg_sfmt(lib_out, cap, "%s", lib);
    const char *pol = aae_pkg_getenv("SPHERE_AAE_JIT_POLICY");
    int redo = pol && strcasecmp(pol, "REDO") == 0; /* "force rebuild" covers the runtime too */
    if (aae_is_file(lib) && !redo)
        return AAE_OK;
    char build[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(build, sizeof build, "%s/runtime_lib/build-%s-%ld", home, canon, (long)getpid());
    if ((st = aae_mkdir_p(build, err)) != AAE_OK || (st = aae_mkdir_p(dir, err)) != AAE_OK)
        return st;
    st = build_runtime(source_dir, device, cc, build, log_dir, verbose, err);
    if (st == AAE_OK) {
        char out[AAE_PKG_PATH_MAX], tmp[AAE_PKG_PATH_MAX + 32];
        aae_pkg_sfmt(out, sizeof out, "%s/src/runtime/libsphere_aae.a", build);
        aae_pkg_sfmt(tmp, sizeof tmp, "%s.tmp-%ld", lib, (long)getpid());
        aae_pkg_copy_stats cs = {0};
        unlink(tmp);
        st = aae_pkg_copy_file(out, tmp, NULL, &cs, NULL, NULL, err);
        if (st == AAE_OK && rename(tmp, lib) != 0) /* atomic: concurrent builders both succeed */
            st = aae_error_set(err, AAE_ERR_IO, "%s: cannot rename into place: %s", lib, strerror(errno));
        *built = st == AAE_OK;
    }
    aae_error ignore;
    aae_pkg_rmtree(build, &ignore);
    return st;
}
