/*
 * pkg_dist.c - the output folder of `sphere_aae package` (see pkg_dist.h): where it
 * is, whether we may replace it, the temporary folder beside it, and the swap.
 */
#define _GNU_SOURCE
#include "package/pkg_dist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "common/fsutil.h"
#include "package/pkg_util.h"

static aae_status resolve_output(aae_pkg_dist *d, const char *output, aae_error *err)
{
    const char *o = output ? output : "dist";
    char cwd[PATH_MAX];
    if (o[0] != '/' && !getcwd(cwd, sizeof cwd))
        return aae_error_set(err, AAE_ERR_IO, "cannot read the current folder: %s", strerror(errno));
    char path[AAE_PKG_PATH_MAX];
    if (o[0] == '/')
        aae_pkg_sfmt(path, sizeof path, "%s", o);
    else
        aae_pkg_sfmt(path, sizeof path, "%s/%s", cwd, o);
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        path[--n] = '\0';
    char *slash = strrchr(path, '/');
    const char *name = slash + 1;
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--output %s: give a folder name such as dist/", o);
    aae_pkg_sfmt(d->base, sizeof d->base, "%s", name);
    *slash = '\0';
    aae_pkg_sfmt(d->parent, sizeof d->parent, "%s", path[0] ? path : "/");
    aae_status st = aae_mkdir_p(d->parent, err);
    if (st != AAE_OK)
        return st;
    char real[PATH_MAX];
    if (!realpath(d->parent, real))
        return aae_error_set(err, AAE_ERR_IO, "%s: %s", d->parent, strerror(errno));
    aae_pkg_sfmt(d->parent, sizeof d->parent, "%s", real);
    aae_pkg_sfmt(d->out, sizeof d->out, "%s/%s", strcmp(real, "/") ? real : "", d->base);
    return AAE_OK;
}

/* An existing output must be one we made (it holds our stamp) or empty. */
static aae_status check_output_is_ours(aae_pkg_dist *d, aae_error *err)
{
    struct stat st;
    if (lstat(d->out, &st) != 0)
        return AAE_OK;
    if (!S_ISDIR(st.st_mode))
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--output %s exists and is not a folder; remove it or "
                                                            "choose another --output", d->out);
    char stamp[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(stamp, sizeof stamp, "%s/%s", d->out, AAE_PKG_DIST_STAMP);
    if (aae_is_file(stamp))
        return AAE_OK;
    DIR *dir = opendir(d->out);
    if (!dir)
        return aae_error_set(err, AAE_ERR_IO, "%s: %s", d->out, strerror(errno));
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(dir)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(dir);
    if (!empty)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "--output %s already exists and was not made by "
                                                            "`sphere_aae package` (no %s in it); it would be replaced "
                                                            "as a whole, so remove it yourself or choose another "
                                                            "--output", d->out, AAE_PKG_DIST_STAMP);
    return AAE_OK;
}

/* Removes temporary folders left by runs that were killed. */
static void clean_stale(aae_pkg_dist *d)
{
    DIR *dir = opendir(d->parent);
    if (!dir)
        return;
    char prefix[AAE_PKG_NAME_MAX + 16];
    aae_pkg_sfmt(prefix, sizeof prefix, ".%s.", d->base);
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        const char *dash = strrchr(e->d_name, '-');
        long pid = dash ? strtol(dash + 1, NULL, 10) : 0;
        if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) {
            char p[AAE_PKG_PATH_MAX];
            aae_pkg_sfmt(p, sizeof p, "%s/%s", d->parent, e->d_name);
            aae_error ignore;
            aae_pkg_rmtree(p, &ignore);
        }
    }
    closedir(dir);
}

aae_status aae_pkg_dist_install(aae_pkg_dist *d, aae_error *err)
{
    char old[AAE_PKG_PATH_MAX];
    aae_pkg_sfmt(old, sizeof old, "%s/.%s.old-%ld", d->parent, d->base, (long)getpid());
    const char *old_left = NULL;
    aae_status st = aae_swap_into_place(d->staging, d->out, old, &old_left, err);
    if (st == AAE_OK && old_left) {
        aae_error ignore;
        aae_pkg_rmtree(old_left, &ignore);
    }
    return st;
}

aae_status aae_pkg_dist_open(aae_pkg_dist *d, const char *output, aae_error *err)
{
    memset(d, 0, sizeof *d);
    aae_status st = resolve_output(d, output, err);
    if (st == AAE_OK)
        st = check_output_is_ours(d, err);
    if (st != AAE_OK)
        return st;
    clean_stale(d);
    aae_pkg_sfmt(d->staging, sizeof d->staging, "%s/.%s.tmp-%ld", d->parent, d->base, (long)getpid());
    return AAE_OK;
}

int aae_pkg_link_tree(const char *src, const char *dst, int *files)
{
    struct stat st;
    if (lstat(src, &st) != 0)
        return 0;
    if (S_ISREG(st.st_mode)) {
        (*files)++;
        return link(src, dst) == 0;
    }
    if (!S_ISDIR(st.st_mode) || mkdir(dst, 0755) != 0)
        return 0;
    DIR *dir = opendir(src);
    if (!dir)
        return 0;
    struct dirent *e;
    int ok = 1;
    while (ok && (e = readdir(dir)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char a[AAE_PKG_PATH_MAX], b[AAE_PKG_PATH_MAX];
        aae_pkg_sfmt(a, sizeof a, "%s/%s", src, e->d_name);
        aae_pkg_sfmt(b, sizeof b, "%s/%s", dst, e->d_name);
        ok = aae_pkg_link_tree(a, b, files);
    }
    closedir(dir);
    return ok;
}

