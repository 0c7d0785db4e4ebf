/*
 * cmd_package.c - `sphere_aae package`: model libraries and weights for an app
 * (docs/package.md; the work is in src/tools/package/package.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cli.h"
#include "did_you_mean.h"
#include "package/package.h"
#include "package/pkg_util.h"

AAE_CLI_COMMAND(package, 60, "package model libraries and weights for an app (dist/lib, dist/bundle)")

static void usage(FILE *f)
{
    fputs("usage: sphere_aae package [--package-config FILE] [--sphere-aae-source-dir DIR] [-o|--output DIR]\n"
          "                          [-q] [--verbose] [--json]\n\n"
          "Reads sphere-aae-package-config.json and writes DIR (default dist/): dist/lib/ with the model\n"
          "libraries (libmodel_<device>.a, plus libmodel_iphone-simulator.a when the config has\n"
          "\"ios_simulator\": true; for linux devices also libsphere_aae.a, include/ and\n"
          "pkgconfig/sphere_aae.pc) and dist/bundle/ with sphere-aae-app-config.json and the weights of\n"
          "every model with \"bundle_weight\": true.\n\n"
          "options:\n"
          "  --package-config FILE        the package config (default ./sphere-aae-package-config.json)\n"
          "  --sphere-aae-source-dir DIR  the AAE source tree (default $SPHERE_AAE_SOURCE_DIR; one is required)\n"
          "  -o, --output DIR             the output folder (default ./dist); replaced only when the run succeeds\n"
          "  -q, --quiet                  no progress and no warnings (errors are still printed)\n"
          "  --verbose                    say what is done at each step, and show child processes' output\n"
          "  --json                       print a machine-readable summary (or the error) on stdout\n"
          "  -h, --help                   this help\n\n"
          "environment:\n"
          "  SPHERE_AAE_SOURCE_DIR             the source tree, when --sphere-aae-source-dir is not given\n"
          "  SPHERE_AAE_HOME                   cache root (default $XDG_CACHE_HOME/sphere_aae, ~/.cache/sphere_aae)\n"
          "  SPHERE_AAE_JIT_POLICY             model-library cache: ON (default), OFF, REDO, READONLY\n"
          "  SPHERE_AAE_DOWNLOAD_CACHE_POLICY  weight cache: ON (default), OFF (do not use the cache), REDO\n"
          "                                    (download again), READONLY (cache only)\n"
          "  SPHERE_AAE_READONLY_WEIGHT_CACHE  ':'-separated read-only weight caches, searched first\n"
          "  SPHERE_AAE_VERIFY_CACHE=md5       check cached shards' md5 too (default: sizes)\n"
          "  HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE   Hugging Face Hub server, token (never printed), offline mode\n"
          "  NO_COLOR                          no colour in the output\n\n"
          "exit codes: 0 ok, 1 failed, 2 usage, 3 bad input (config, model, source tree), 4 network,\n"
          "            5 validation of the packaged output\n",
          f);
}

static int exit_for(aae_package_failure why, aae_status st)
{
    switch (why) {
    case AAE_PKG_FAIL_NONE: return AAE_EXIT_OK;
    case AAE_PKG_FAIL_INPUT: return st == AAE_ERR_INVALID_ARGUMENT ? AAE_EXIT_USAGE : AAE_EXIT_INPUT;
    case AAE_PKG_FAIL_NETWORK: return AAE_EXIT_NETWORK;
    case AAE_PKG_FAIL_VALIDATION: return AAE_EXIT_VALIDATION;
    default: return AAE_EXIT_FAIL;
    }
}

int aae_cmd_package(int argc, char **argv)
{
    aae_package_opts o = {0};
    int quiet = 0, verbose = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (aae_cli_is_help(a)) {
            usage(stdout);
            return AAE_EXIT_OK;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            verbose = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--package-config") == 0) {
            slot = &o.config_path;
        } else if (strcmp(a, "--sphere-aae-source-dir") == 0) {
            slot = &o.source_dir;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            slot = &o.output_dir;
        } else if (strncmp(a, "--package-config=", 17) == 0) {
            o.config_path = a + 17;
        } else if (strncmp(a, "--sphere-aae-source-dir=", 24) == 0) {
            o.source_dir = a + 24;
        } else if (strncmp(a, "--output=", 9) == 0) {
            o.output_dir = a + 9;
        } else {
            static const char *const known[] = {"--package-config", "--sphere-aae-source-dir", "--output", "-o",
                                                "--quiet", "-q", "--verbose", "-v", "--json", "--help", NULL};
            const char *best = aae_did_you_mean(a, known, (size_t)-1);
            aae_cli_error("package", "unknown argument '%s'%s%s%s (see sphere_aae package --help)", a,
                          best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
            return AAE_EXIT_USAGE;
        }
        if (slot) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                aae_cli_error("package", "%s needs a value (see sphere_aae package --help)", a);
                return AAE_EXIT_USAGE;
            }
            *slot = argv[++i];
        }
    }
    if (!o.source_dir)
        o.source_dir = aae_pkg_getenv("SPHERE_AAE_SOURCE_DIR");
    aae_pkg_ui ui;
    aae_pkg_ui_init(&ui, quiet, verbose);
    aae_buf out;
    aae_buf_init(&out);
    aae_error err = {0};
    aae_package_failure why = AAE_PKG_FAIL_NONE;
    aae_status st = aae_package_run(&o, &ui, json ? &out : NULL, &why, &err);
    int code = exit_for(why, st);
    if (st != AAE_OK) {
        aae_cli_error("package", "%s", err.msg);
        if (json) {
            aae_buf_reset(&out);
            aae_buf_puts(&out, "{\"ok\": false, \"exit_code\": ");
            aae_buf_printf(&out, "%d, \"error\": ", code);
            aae_buf_json_string(&out, err.msg, strlen(err.msg));
            aae_buf_puts(&out, "}\n");
        }
    }
    if (json && out.len)
        fwrite(out.data, 1, out.len, stdout);
    aae_buf_free(&out);
    return code;
}
