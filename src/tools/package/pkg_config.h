/*
 * pkg_config.h - sphere-aae-package-config.json: reading and strict validation.
 *
 * The file (untrusted input; see docs/package.md):
 *   {
 *     "device": "iphone" | "android" | "linux" | "linux-x86_64" | "linux-aarch64",
 *     "model_list": [
 *       { "model": "HF://user/repo" | "https://huggingface.co/user/repo" | "local/dir",
 *         "model_id": "safe folder name",            (required, unique)
 *         "estimated_vram_bytes": positive integer,    (required)
 *         "bundle_weight": bool,                       (optional, default false)
 *         "overrides": { "context_window_size", "prefill_chunk_size",
 *                        "sliding_window_size", "attention_sink_size",
 *                        "max_batch_size" },           (optional integers)
 *         "model_lib": "[A-Za-z0-9_-]+" }              (optional; '-' becomes '_')
 *     ],
 *     "model_lib_path_for_prepare_libs": { "<model_lib>": "path" },  (optional)
 *     "ios_simulator": bool      (optional, "device": "iphone" only: also write
 *                                 libmodel_iphone-simulator.a, arm64 + x86_64)
 *   }
 * Every problem is reported as "FILE:LINE:COL: POINTER: what is wrong; the fix",
 * all of them at once. Unknown keys get a did-you-mean, duplicate keys and
 * duplicate model_ids are errors. Relative paths (a local "model", the values of
 * model_lib_path_for_prepare_libs) resolve against the config file's folder.
 */
#ifndef AAE_PKG_CONFIG_H
#define AAE_PKG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define AAE_PKG_PATH_MAX 4096
#define AAE_PKG_NAME_MAX 256

/* AAE_PKG_UNSET = not given (-1 is a value: "off" for the window sizes). */
#define AAE_PKG_UNSET INT64_MIN
typedef struct aae_pkg_overrides {
    int64_t context_window_size;
    int64_t prefill_chunk_size;
    int64_t sliding_window_size;
    int64_t attention_sink_size;
    int64_t max_batch_size;
} aae_pkg_overrides;

typedef enum aae_pkg_source { AAE_PKG_SOURCE_HUB = 1, AAE_PKG_SOURCE_LOCAL = 2 } aae_pkg_source;

typedef struct aae_pkg_model {
    char model[AAE_PKG_PATH_MAX];       /* as written */
    char model_id[AAE_PKG_NAME_MAX];
    int64_t estimated_vram_bytes;
    int bundle_weight;
    aae_pkg_overrides overrides;
    char model_lib[AAE_PKG_NAME_MAX];   /* normalised ('-' -> '_'); "" when not given */
    aae_pkg_source source;
    char hub_user[AAE_PKG_NAME_MAX];    /* HUB */
    char hub_repo[AAE_PKG_NAME_MAX];    /* HUB */
    char local_dir[AAE_PKG_PATH_MAX];   /* LOCAL: absolute */
    char pointer[64];                   /* "/model_list/<i>" */
    uint32_t line, col;                 /* of the entry */
} aae_pkg_model;

typedef struct aae_pkg_prepared_lib {
    char model_lib[AAE_PKG_NAME_MAX]; /* normalised key */
    char path[AAE_PKG_PATH_MAX];      /* absolute */
} aae_pkg_prepared_lib;

typedef struct aae_pkg_config {
    char path[AAE_PKG_PATH_MAX]; /* the config file, absolute */
    char dir[AAE_PKG_PATH_MAX];  /* its folder */
    char device[32];             /* as written: iphone, android, linux, linux-x86_64, linux-aarch64 */
    aae_pkg_model *models;
    size_t n_models;
    aae_pkg_prepared_lib *prepared;
    size_t n_prepared;
    int ios_simulator;           /* "ios_simulator": true (device iphone only) */
} aae_pkg_config;

/* Reads and validates path. On failure err holds every problem found (one a line). */
aae_status aae_pkg_config_load(const char *path, aae_pkg_config **out, aae_error *err);
/* Same, from text already in memory (path is used in messages and for relative paths). */
aae_status aae_pkg_config_parse(const char *path, const char *text, size_t len, aae_pkg_config **out,
                                aae_error *err);
void aae_pkg_config_free(aae_pkg_config *cfg);

/* The prepared library path for a normalised model_lib, or NULL. */
const char *aae_pkg_config_prepared(const aae_pkg_config *cfg, const char *model_lib);

/* The device names accepted in "device". */
extern const char *const AAE_PKG_DEVICES[];
extern const size_t AAE_PKG_N_DEVICES;

/* "linux" becomes the host's linux-x86_64 / linux-aarch64; others unchanged. */
const char *aae_pkg_device_canonical(const char *device);
int aae_pkg_device_is_linux(const char *device);

#endif
