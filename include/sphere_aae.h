/*
 * sphere_aae.h - the public API of libsphere_aae, the Astro Agent Edge runtime.
 *
 * If it is not in this header, it is not API.
 *
 * Conventions (stated once, true for every function below):
 *  - Every function that can fail returns aae_status; AAE_OK is 0. Results come
 *    back through OUT pointers, which are written only on success.
 *  - Constructors hand the new handle back through an OUT pointer; destructors
 *    accept NULL.
 *  - A handle keeps a detailed message for its last failure (e.g.
 *    aae_tokenizer_errmsg); it stays valid until the next call on that handle.
 *    aae_strerror gives static text for a status.
 *  - Memory returned to the caller is released with the matching *_free function
 *    named at the call. Buffers passed in are only read during the call unless the
 *    function says otherwise.
 *  - The library never calls exit() and never writes to stdout or stderr; it logs
 *    through the callback set with aae_set_log_callback.
 *  - Handles are not thread-safe unless a function says so: use one handle per
 *    thread, or lock around it.
 */
#ifndef SPHERE_AAE_H
#define SPHERE_AAE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define AAE_API
#else
#define AAE_API __attribute__((visibility("default")))
#endif

/* ---------------------------------------------------------------- base --- */

#define AAE_VERSION_MAJOR 0
#define AAE_VERSION_MINOR 1
#define AAE_VERSION_PATCH 0

/* Status codes. Numbers are never reused; new codes are added at the end. */
typedef enum aae_status {
    AAE_OK = 0,
    AAE_ERR_INVALID_ARGUMENT = 1, /* a NULL handle, an out-of-range value, bad request JSON */
    AAE_ERR_IO = 2,               /* a file could not be opened, read, mapped or written */
    AAE_ERR_FORMAT = 3,           /* a file's content is malformed */
    AAE_ERR_NOMEM = 4,            /* an allocation failed */
    AAE_ERR_UNSUPPORTED = 5,      /* valid, but not supported (architecture, dtype, ...) */
    AAE_ERR_MISMATCH = 6,         /* parts do not fit together (library vs weights, shapes) */
    AAE_ERR_ABORTED = 7,          /* the caller aborted the operation */
    AAE_ERR_NOT_FOUND = 8,        /* a named thing (file, tensor, model library) is missing */
    AAE_ERR_STATE = 9,            /* the call is not valid in the handle's current state */
    AAE_ERR_LIMIT = 10,           /* a size limit was reached (context window, input size) */
    AAE_ERR_INTERNAL = 11         /* a bug: please report it */
} aae_status;

/* Static, human-readable text for a status. Never NULL. */
AAE_API const char *aae_strerror(aae_status status);

/* "0.1.0" */
AAE_API const char *aae_version(void);

typedef enum aae_log_level {
    AAE_LOG_DEBUG = 0,
    AAE_LOG_INFO = 1,
    AAE_LOG_WARN = 2,
    AAE_LOG_ERROR = 3
} aae_log_level;

/* Receives every log line of the library (no trailing newline). The default is
 * to drop them. The callback may be called from any thread the library runs. */
typedef void (*aae_log_callback)(aae_log_level level, const char *message, void *user_data);
AAE_API void aae_set_log_callback(aae_log_callback callback, void *user_data);

/* ----------------------------------------------------------- tokenizer --- */
/* (section owned by the tokenizer; see docs/tokenizer.md) */

/* ------------------------------------------------------------- engine --- */
/* (section owned by the engine; see docs/runtime.md) */

#ifdef __cplusplus
}
#endif

#endif /* SPHERE_AAE_H */
