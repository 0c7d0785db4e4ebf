/*
 * pkg_dist.h - the output folder (dist/) of `sphere_aae package`.
 *
 * The new output is built in <parent>/.<name>.tmp-<pid> beside the output and swapped
 * in at the end (renameat2 RENAME_EXCHANGE; two renames where that is missing), so a
 * failed run leaves the previous output exactly as it was. The output holds a stamp
 * file (AAE_PKG_DIST_STAMP); an existing non-empty folder without it was not made by
 * us and is never replaced. Temporary folders of killed runs are removed.
 */
#ifndef AAE_PKG_DIST_H
#define AAE_PKG_DIST_H

#include "base/error.h"
#include "package/pkg_config.h"

#define AAE_PKG_DIST_STAMP ".sphere-aae-package"

typedef struct aae_pkg_dist {
    char out[AAE_PKG_PATH_MAX];     /* the output folder, absolute */
    char parent[AAE_PKG_PATH_MAX];  /* its parent (created if missing) */
    char base[AAE_PKG_NAME_MAX];    /* its name */
    char staging[AAE_PKG_PATH_MAX]; /* the new output while it is built */
} aae_pkg_dist;

/* Resolves output (NULL = ./dist; relative to the current folder), checks that we may
 * replace it, removes stale temporary folders and names the staging folder (which is
 * not created). */
aae_status aae_pkg_dist_open(aae_pkg_dist *d, const char *output, aae_error *err);

/* Puts the staging folder in place of the output; the old output is removed. */
aae_status aae_pkg_dist_install(aae_pkg_dist *d, aae_error *err);

/* Hard-links the tree src into dst (which must not exist); 0 on any failure.
 * *files counts the files linked. */
int aae_pkg_link_tree(const char *src, const char *dst, int *files);

#endif
