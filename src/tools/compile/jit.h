/*
 * jit.h - the model-library JIT cache, and the call `package` makes to get a library.
 *
 * Location: $SPHERE_AAE_HOME/model_lib/<key>.<ext>, where SPHERE_AAE_HOME defaults to
 * $XDG_CACHE_HOME/sphere_aae, else ~/.cache/sphere_aae. <ext> is "tar" or "so".
 *
 * Key: SHA-256 over labelled fields: the AAE version, the model-library ABI version,
 * the normalised config (overrides applied; lib_plan.h), the prefix, the device, the
 * optimisation level, the output kind, the compiler's identity (its resolved path and
 * full --version output), and a digest of the model source files compiled. So a new
 * compiler, a new AAE version or changed model code never reuses a stale library, and
 * entries with the same effective config share one library.
 *
 * SPHERE_AAE_JIT_POLICY: ON (default: use the cached library, else compile), OFF (JIT
 * disabled: an error), REDO (always compile and replace), READONLY (use the cached
 * library, else an error). Any other value is an error that lists these.
 *
 * A cache entry is checked before use, not trusted: a .tar must parse and its
 * model_lib.json must name the same model_lib and key; a .so must be an ELF shared
 * object defining the descriptor. A bad entry is rebuilt (ON) or reported (READONLY).
 * Writes are atomic (temporary file + rename). A lock file (<key>.lock, fcntl) makes a
 * second process wanting the same key wait for the first and reuse its library; both
 * succeed and the cache holds one complete file.
 */
#ifndef AAE_TOOLS_JIT_H
#define AAE_TOOLS_JIT_H

#include <stdio.h>

#include "compile/lib_plan.h"

typedef enum aae_jit_policy { AAE_JIT_ON = 0, AAE_JIT_OFF, AAE_JIT_REDO, AAE_JIT_READONLY } aae_jit_policy;

/* Reads SPHERE_AAE_JIT_POLICY (unset or empty = ON). */
aae_status aae_jit_policy_from_env(aae_jit_policy *out, aae_error *err);
const char *aae_jit_policy_name(aae_jit_policy p);

/* The cache root: $SPHERE_AAE_HOME, else $XDG_CACHE_HOME/sphere_aae, else
 * $HOME/.cache/sphere_aae. */
aae_status aae_jit_home(char *out, size_t cap, aae_error *err);

typedef struct aae_jit_request {
    const char *model;              /* converted model folder, or its chat config file */
    const char *device;             /* iphone, iphone-simulator, android, linux, linux-x86_64, linux-aarch64 */
    const aae_overrides *overrides; /* NULL = none */
    const char *prefix;             /* model_lib; NULL or "" = the default prefix */
    int opt_level;                  /* 0-3; -1 = 3 */
    const char *ext;                /* "tar" (default when NULL) or "so" */
    const char *source_root;        /* AAE source tree; NULL = $SPHERE_AAE_SOURCE_DIR, else the built-in one */
    int policy;                     /* an aae_jit_policy, or -1 = from SPHERE_AAE_JIT_POLICY */
    FILE *diag;                     /* compiler output and notices (stderr when NULL) */
} aae_jit_request;

typedef struct aae_jit_result {
    char path[4096];                  /* the library file in the cache */
    char model_lib[AAE_PREFIX_MAX + 1];
    char key[65];
    char config_hash[65];
    int compiled;                     /* 1: compiled by this call; 0: taken from the cache */
    aae_model_lib_memory memory;
    int64_t context_window_size, prefill_chunk_size;
} aae_jit_result;

/* Returns the library for the request, compiling it into the cache when the policy
 * allows. */
aae_status aae_jit_get_library(const aae_jit_request *req, aae_jit_result *out, aae_error *err);

#endif
