/*
 * package.h - `sphere_aae package`: a package config in, dist/ out.
 *
 * Steps: read and validate the config; check the source tree; get each model's
 * weights (Hub + cache, or a local folder) and show its memory; get each model
 * library (JIT cache or prepared file); build the new output in a temporary folder
 * beside it (<parent>/.<name>.tmp-<pid>): bundle/<model_id>/ for bundled weights,
 * bundle/sphere-aae-app-config.json, lib/libmodel_<device>.a (validated; with
 * "ios_simulator" also lib/libmodel_iphone-simulator.a, a universal file), and for
 * linux devices lib/libsphere_aae.a, lib/include/sphere_aae.h and
 * lib/pkgconfig/sphere_aae.pc, for android and iphone the app-build outputs of
 * pkg_bindings.h; then swap it with the old output (pkg_dist.h). A failed run leaves
 * the old output as it was.
 */
#ifndef AAE_PACKAGE_H
#define AAE_PACKAGE_H

#include "base/buf.h"
#include "base/error.h"
#include "package/pkg_ui.h"

typedef struct aae_package_opts {
    const char *config_path; /* default ./sphere-aae-package-config.json */
    const char *source_dir;  /* required */
    const char *output_dir;  /* default ./dist */
} aae_package_opts;

/* What went wrong, for the exit code. */
typedef enum aae_package_failure {
    AAE_PKG_FAIL_NONE = 0,
    AAE_PKG_FAIL_INPUT,      /* the config, a model or the source tree */
    AAE_PKG_FAIL_NETWORK,    /* a download */
    AAE_PKG_FAIL_VALIDATION, /* the packaged output */
    AAE_PKG_FAIL_OTHER
} aae_package_failure;

/* Runs the whole command. json (may be NULL) receives the summary object. */
aae_status aae_package_run(const aae_package_opts *opts, aae_pkg_ui *ui, aae_buf *json, aae_package_failure *why,
                           aae_error *err);

#endif
