/* toolchain.c - the device table, compiler detection, and running the compiler. */
#define _DEFAULT_SOURCE /* realpath */
#include "compile/toolchain.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "compile/digest.h"
#include "models/model_lib_abi.h"

extern char **environ;

#define X86_V3 AAE_MODEL_LIB_CPU_X86_AVX2_FMA

static const aae_device DEVICES[] = {
    {"iphone", AAE_OBJ_MACHO64, AAE_AR_BSD, 0, 1,
     {{"arm64-apple-ios" AAE_IOS_MIN_VERSION, "arm64", AAE_OBJ_CPU_AARCH64, AAE_MACHO_PLATFORM_IOS, {NULL}, 0}}},
    {"iphone-simulator", AAE_OBJ_MACHO64, AAE_AR_BSD, 0, 2,
     {{"arm64-apple-ios" AAE_IOS_MIN_VERSION "-simulator", "arm64", AAE_OBJ_CPU_AARCH64,
       AAE_MACHO_PLATFORM_IOSSIMULATOR, {NULL}, 0},
      {"x86_64-apple-ios" AAE_IOS_MIN_VERSION "-simulator", "x86_64", AAE_OBJ_CPU_X86_64,
       AAE_MACHO_PLATFORM_IOSSIMULATOR, {"-march=x86-64-v3", NULL}, X86_V3}}},
    {"android", AAE_OBJ_ELF64, AAE_AR_GNU, 0, 1,
     {{"aarch64-linux-android" AAE_ANDROID_API, "arm64", AAE_OBJ_CPU_AARCH64, 0, {"-fPIC", NULL}, 0}}},
    {"linux-x86_64", AAE_OBJ_ELF64, AAE_AR_GNU, 1, 1,
     {{"x86_64-linux-gnu", "x86_64", AAE_OBJ_CPU_X86_64, 0, {"-fPIC", "-march=x86-64-v3", NULL}, X86_V3}}},
    {"linux-aarch64", AAE_OBJ_ELF64, AAE_AR_GNU, 1, 1,
     {{"aarch64-linux-gnu", "arm64", AAE_OBJ_CPU_AARCH64, 0, {"-fPIC", NULL}, 0}}},
};

const aae_device *aae_device_find(const char *s)
{
    if (!s)
        return NULL;
    if (strcmp(s, "linux") == 0) {
#if defined(__x86_64__)
        s = "linux-x86_64";
#elif defined(__aarch64__)
        s = "linux-aarch64";
#else
        return NULL;
#endif
    }
    for (size_t i = 0; i < sizeof DEVICES / sizeof DEVICES[0]; i++)
        if (strcmp(DEVICES[i].name, s) == 0)
            return &DEVICES[i];
    return NULL;
}

const char *aae_device_list(void) { return "iphone, iphone-simulator, android, linux, linux-x86_64, linux-aarch64"; }

/* --------------------------------------------------------------- running --- */

aae_status aae_job_start(const char *const *argv, const char *what, aae_job *job, aae_error *err)
{
    memset(job, 0, sizeof *job);
    job->fd = -1;
    char tmpl[] = "/tmp/aae_tool_out_XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return aae_error_set(err, AAE_ERR_IO, "cannot create a temporary file for %s's output: %s", argv[0],
                             strerror(errno));
    unlink(tmpl);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    int rc = posix_spawnp(&job->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        close(fd);
        return aae_error_set(err, AAE_ERR_NOT_FOUND, "cannot run '%s': %s", argv[0], strerror(rc));
    }
    job->fd = fd;
    aae_buf_init(&job->cmd);
    for (size_t i = 0; argv[i]; i++) {
        if (i)
            aae_buf_putc(&job->cmd, ' ');
        aae_buf_puts(&job->cmd, argv[i]);
    }
    snprintf(job->what, sizeof job->what, "%s", what);
    return AAE_OK;
}

static int job_wait(aae_job *job, aae_buf *output)
{
    int status = 0;
    while (waitpid(job->pid, &status, 0) < 0 && errno == EINTR) {
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    char chunk[8192];
    ssize_t n;
    lseek(job->fd, 0, SEEK_SET);
    while ((n = read(job->fd, chunk, sizeof chunk)) > 0)
        aae_buf_append(output, chunk, (size_t)n);
    if (!output->data)
        aae_buf_append(output, "", 0);
    close(job->fd);
    job->fd = -1;
    return code;
}

aae_status aae_job_finish(aae_job *job, FILE *diag, aae_error *err)
{
    aae_buf out;
    aae_buf_init(&out);
    int code = job_wait(job, &out);
    aae_status st = AAE_OK;
    FILE *f = diag ? diag : stderr;
    size_t keep = out.len > 1500 ? 1500 : out.len;
    /* Success: warnings go to diag. Failure: the output goes into the error (all of it
     * when short; else its last part, with all of it written to diag first). */
    if (out.len && (code == 0 || keep < out.len))
        fwrite(out.data, 1, out.len, f);
    if (code != 0)
        st = aae_error_set(err, AAE_ERR_IO, "%s failed (exit status %d). Command: %s\nCompiler output%s:\n%s",
                           job->what, code, job->cmd.data ? job->cmd.data : "",
                           keep < out.len ? " (last part; all of it is above)" : "",
                           out.data ? out.data + (out.len - keep) : "(none)");
    aae_buf_free(&out);
    aae_buf_free(&job->cmd);
    return st;
}

void aae_job_abandon(aae_job *job)
{
    if (job->fd < 0)
        return;
    aae_buf out;
    aae_buf_init(&out);
    job_wait(job, &out);
    aae_buf_free(&out);
    aae_buf_free(&job->cmd);
}

aae_status aae_run_capture(const char *const *argv, aae_buf *output, int *exit_code, aae_error *err)
{
    aae_job job;
    aae_status st = aae_job_start(argv, argv[0], &job, err);
    if (st != AAE_OK)
        return st;
    aae_buf tmp;
    aae_buf_init(&tmp);
    *exit_code = job_wait(&job, output ? output : &tmp);
    aae_buf_free(&tmp);
    aae_buf_free(&job.cmd);
    return AAE_OK;
}

/* Runs a tool to completion (aae_job_start + aae_job_finish). */
static aae_status run_tool(const char *const *argv, const char *what, FILE *diag, aae_error *err)
{
    aae_job job;
    aae_status st = aae_job_start(argv, what, &job, err);
    return st == AAE_OK ? aae_job_finish(&job, diag, err) : st;
}

/* ------------------------------------------------------------- compiler --- */

static int find_on_path(const char *name, char *out, size_t cap)
{
    if (strchr(name, '/'))
        return realpath(name, out) != NULL && aae_is_file(out) && cap >= PATH_MAX;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *e = strchr(path, ':');
        size_t len = e ? (size_t)(e - path) : strlen(path);
        char cand[4096];
        if (len > 0 && len + strlen(name) + 2 < sizeof cand) {
            memcpy(cand, path, len);
            cand[len] = '/';
            strcpy(cand + len + 1, name);
            if (access(cand, X_OK) == 0 && aae_is_file(cand) && cap >= PATH_MAX && realpath(cand, out))
                return 1;
        }
        if (!e)
            break;
        path = e + 1;
    }
    return 0;
}

/* `--version` outputs already seen by this process, keyed by the compiler's resolved
 * path, inode, size and mtime: running a clang driver costs ~80 ms (it maps libLLVM),
 * and a package run asks once per model library and per archive. A replaced or
 * rebuilt compiler changes size or mtime (or inode) and is probed again. */
#define VERSION_CACHE_MAX 8
typedef struct version_entry {
    char path[PATH_MAX];
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    char *text;
} version_entry;
static version_entry g_versions[VERSION_CACHE_MAX];
static size_t g_nversions;
static unsigned g_probes;
static pthread_mutex_t g_versions_lock = PTHREAD_MUTEX_INITIALIZER;

static int same_file(const version_entry *e, const char *path, const struct stat *st)
{
    return strcmp(e->path, path) == 0 && e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* A copy of the cached version text of path, or NULL. */
static char *version_lookup(const char *path, const struct stat *st)
{
    char *text = NULL;
    pthread_mutex_lock(&g_versions_lock);
    for (size_t i = 0; i < g_nversions && !text; i++)
        if (same_file(&g_versions[i], path, st))
            text = strdup(g_versions[i].text);
    pthread_mutex_unlock(&g_versions_lock);
    return text;
}

static void version_store(const char *path, const struct stat *st, const char *text)
{
    pthread_mutex_lock(&g_versions_lock);
    size_t slot = g_nversions < VERSION_CACHE_MAX ? g_nversions++ : 0;
    for (size_t i = 0; i < g_nversions; i++)
        if (strcmp(g_versions[i].path, path) == 0)
            slot = i; /* the same path, changed: replace it */
    version_entry *e = &g_versions[slot];
    char *copy = strdup(text);
    if (copy && strlen(path) < sizeof e->path) {
        free(e->text);
        snprintf(e->path, sizeof e->path, "%s", path);
        e->dev = st->st_dev;
        e->ino = st->st_ino;
        e->size = st->st_size;
        e->mtime = st->st_mtim;
        e->text = copy;
    } else {
        free(copy);
    }
    pthread_mutex_unlock(&g_versions_lock);
}

unsigned aae_compiler_probes(void)
{
    pthread_mutex_lock(&g_versions_lock);
    unsigned n = g_probes;
    pthread_mutex_unlock(&g_versions_lock);
    return n;
}

/* The compiler's `--version` output into *text (malloc'd): cached per process. */
static aae_status compiler_version(const char *path, char **text, aae_error *err)
{
    struct stat st;
    int have_stat = stat(path, &st) == 0;
    if (have_stat && (*text = version_lookup(path, &st)) != NULL)
        return AAE_OK;
    const char *argv[] = {path, "--version", NULL};
    aae_buf out;
    aae_buf_init(&out);
    int code = 0;
    pthread_mutex_lock(&g_versions_lock);
    g_probes++;
    pthread_mutex_unlock(&g_versions_lock);
    aae_status st2 = aae_run_capture(argv, &out, &code, err);
    if (st2 == AAE_OK && code != 0)
        st2 = aae_error_set(err, AAE_ERR_IO, "'%s --version' failed (exit status %d): %s", path, code,
                            out.data ? out.data : "");
    if (st2 != AAE_OK) {
        aae_buf_free(&out);
        return st2;
    }
    *text = aae_buf_take(&out, NULL);
    if (!*text)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    if (have_stat)
        version_store(path, &st, *text);
    return AAE_OK;
}

aae_status aae_compiler_detect(aae_compiler *out, aae_error *err)
{
    memset(out, 0, sizeof *out);
    const char *env = getenv("SPHERE_AAE_CC");
    static const char *const candidates[] = {"clang", "clang-19", "clang-18", "clang-17", "clang-16",
                                             "clang-15", "clang-14", NULL};
    int found = 0;
    if (env && *env) {
        if (!find_on_path(env, out->path, sizeof out->path))
            return aae_error_set(err, AAE_ERR_NOT_FOUND,
                                 "SPHERE_AAE_CC is '%s', which is not an executable file (absolute, relative, or on "
                                 "PATH). Set it to a clang driver, or unset it to use clang from PATH",
                                 env);
        found = 1;
    }
    for (size_t i = 0; !found && candidates[i]; i++)
        found = find_on_path(candidates[i], out->path, sizeof out->path);
    if (!found)
        return aae_error_set(err, AAE_ERR_NOT_FOUND,
                             "no C compiler for model libraries: tried clang, clang-19 ... clang-14 on PATH. Install "
                             "clang (Debian: apt-get install clang lld) or set SPHERE_AAE_CC to a clang driver");
    aae_status st = compiler_version(out->path, &out->version_text, err);
    if (st != AAE_OK)
        return st;
    out->is_clang = strstr(out->version_text, "clang") != NULL;
    aae_sha256 *h = aae_sha256_new();
    aae_sha256_field(h, "path", out->path, strlen(out->path));
    aae_sha256_field(h, "version", out->version_text, strlen(out->version_text));
    aae_sha256_final_hex(h, out->identity);
    if (!out->is_clang) {
        aae_status s2 = aae_error_set(err, AAE_ERR_UNSUPPORTED,
                                      "%s is not clang (its --version output does not mention clang); model "
                                      "libraries for every device are built with clang's --target. Set "
                                      "SPHERE_AAE_CC to a clang driver",
                                      out->path);
        aae_compiler_free(out);
        return s2;
    }
    return AAE_OK;
}

void aae_compiler_free(aae_compiler *c)
{
    if (c) {
        free(c->version_text);
        c->version_text = NULL;
    }
}

int aae_compile_jobs(void)
{
    const char *e = getenv("SPHERE_AAE_COMPILE_JOBS");
    long n = e && *e ? strtol(e, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

aae_status aae_compile_c_start(const aae_compiler *cc, const aae_slice *slice, int opt_level, const char *src,
                               const char *obj, const char *const *extra_args, aae_job *job, aae_error *err)
{
    static const char *const optflags[] = {"-O0", "-O1", "-O2", "-O3"};
    char target[128];
    snprintf(target, sizeof target, "--target=%s", slice->triple);
    const char *argv[64];
    size_t n = 0;
    argv[n++] = cc->path;
    argv[n++] = target;
    argv[n++] = optflags[opt_level < 0 || opt_level > 3 ? 3 : opt_level];
    static const char *const common[] = {"-std=c11", "-ffreestanding", "-nostdlibinc", "-fno-stack-protector",
                                         "-ffunction-sections", "-fdata-sections", "-fvisibility=hidden",
                                         "-fno-common", "-fno-math-errno", "-ffp-contract=off", "-g0", NULL};
    for (size_t i = 0; common[i]; i++)
        argv[n++] = common[i];
    for (size_t i = 0; slice->flags[i]; i++)
        argv[n++] = slice->flags[i];
    for (size_t i = 0; extra_args && extra_args[i] && n < 56; i++)
        argv[n++] = extra_args[i];
    argv[n++] = "-c";
    argv[n++] = src;
    argv[n++] = "-o";
    argv[n++] = obj;
    argv[n] = NULL;
    char what[256];
    snprintf(what, sizeof what, "compiling for %s", slice->triple);
    return aae_job_start(argv, what, job, err);
}

aae_status aae_compile_c(const aae_compiler *cc, const aae_slice *slice, int opt_level, const char *src,
                         const char *obj, const char *const *extra_args, FILE *diag, aae_error *err)
{
    aae_job job;
    aae_status st = aae_compile_c_start(cc, slice, opt_level, src, obj, extra_args, &job, err);
    return st == AAE_OK ? aae_job_finish(&job, diag, err) : st;
}

aae_status aae_link_shared(const aae_compiler *cc, const aae_slice *slice, const char *const *objs, size_t nobjs,
                           const char *out, FILE *diag, aae_error *err)
{
    char target[128];
    snprintf(target, sizeof target, "--target=%s", slice->triple);
    const char **argv = calloc(nobjs + 16, sizeof *argv);
    if (!argv)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    size_t n = 0;
    argv[n++] = cc->path;
    argv[n++] = target;
    argv[n++] = "-shared";
    argv[n++] = "-fuse-ld=lld";
    argv[n++] = "-Wl,-z,now";
    argv[n++] = "-Wl,--gc-sections";
    for (size_t i = 0; i < nobjs; i++)
        argv[n++] = objs[i];
    argv[n++] = "-o";
    argv[n++] = out;
    argv[n] = NULL;
    char what[256];
    snprintf(what, sizeof what, "linking a shared object for %s", slice->triple);
    aae_status st = run_tool(argv, what, diag, err);
    free(argv);
    return st;
}
