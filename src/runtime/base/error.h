/*
 * error.h - internal error detail.
 *
 * Internal functions return aae_status and, on failure, write a message into an
 * aae_error the caller passed in (may be NULL). Messages name what failed (a file,
 * an offset, a JSON pointer), what was expected, and what to do.
 */
#ifndef AAE_BASE_ERROR_H
#define AAE_BASE_ERROR_H

#include "sphere_aae.h"

#define AAE_ERROR_MSG_MAX 2048

typedef struct aae_error {
    aae_status status;
    char msg[AAE_ERROR_MSG_MAX];
} aae_error;

/* Records status and a printf-style message in err (if not NULL); returns status. */
aae_status aae_error_set(aae_error *err, aae_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts "prefix: " in front of the message already in err (for adding context
 * such as a file name on the way up). Returns err->status (or AAE_ERR_INTERNAL). */
aae_status aae_error_prefix(aae_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void aae_error_clear(aae_error *err);

/* Logging to the application's callback (see aae_set_log_callback). */
void aae_log(aae_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
