/* error.c - status text, error detail, and the log callback. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *aae_strerror(aae_status status)
{
    switch (status) {
    case AAE_OK: return "success";
    case AAE_ERR_INVALID_ARGUMENT: return "invalid argument";
    case AAE_ERR_IO: return "input/output error";
    case AAE_ERR_FORMAT: return "malformed input";
    case AAE_ERR_NOMEM: return "out of memory";
    case AAE_ERR_UNSUPPORTED: return "not supported";
    case AAE_ERR_MISMATCH: return "parts do not match";
    case AAE_ERR_ABORTED: return "aborted";
    case AAE_ERR_NOT_FOUND: return "not found";
    case AAE_ERR_STATE: return "invalid state for this call";
    case AAE_ERR_LIMIT: return "limit reached";
    case AAE_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *aae_version(void) { return AAE_VERSION_STRING; }

aae_status aae_error_set(aae_error *err, aae_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = status;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

aae_status aae_error_prefix(aae_error *err, const char *fmt, ...)
{
    if (!err)
        return AAE_ERR_INTERNAL;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t pl = strlen(prefix);
    size_t ml = strnlen(err->msg, sizeof err->msg - 1);
    if (pl + 2 >= sizeof err->msg)
        pl = sizeof err->msg - 3;
    if (pl + 2 + ml >= sizeof err->msg)
        ml = sizeof err->msg - 3 - pl;
    memmove(err->msg + pl + 2, err->msg, ml);
    memcpy(err->msg, prefix, pl);
    err->msg[pl] = ':';
    err->msg[pl + 1] = ' ';
    err->msg[pl + 2 + ml] = '\0';
    return err->status ? err->status : AAE_ERR_INTERNAL;
}

void aae_error_clear(aae_error *err)
{
    if (err) {
        err->status = AAE_OK;
        err->msg[0] = '\0';
    }
}

static aae_log_callback g_log_cb;
static void *g_log_user;

void aae_set_log_callback(aae_log_callback callback, void *user_data)
{
    g_log_cb = callback;
    g_log_user = user_data;
}

void aae_log(aae_log_level level, const char *fmt, ...)
{
    aae_log_callback cb = g_log_cb;
    if (!cb)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cb(level, line, g_log_user);
}
