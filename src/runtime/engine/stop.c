/* stop.c - stop strings over streamed text; see stop.h. */
#include "engine/stop.h"

#include <string.h>

void aae_stop_init(aae_stop_matcher *m)
{
    memset(m, 0, sizeof *m);
    aae_buf_init(&m->held);
}

void aae_stop_free(aae_stop_matcher *m)
{
    aae_buf_free(&m->held);
    memset(m, 0, sizeof *m);
}

void aae_stop_reset(aae_stop_matcher *m)
{
    m->n = 0;
    m->emitted = 0;
    m->stopped = 0;
    aae_buf_reset(&m->held);
}

aae_status aae_stop_add(aae_stop_matcher *m, const char *s, size_t len, aae_error *err)
{
    if (len == 0)
        return AAE_OK;
    if (len > AAE_STOP_MAX_LEN)
        return aae_error_set(err, AAE_ERR_LIMIT, "a stop string is %zu bytes; at most %d are allowed", len,
                             AAE_STOP_MAX_LEN);
    for (size_t i = 0; i < m->n; i++)
        if (m->len[i] == len && memcmp(m->str[i], s, len) == 0)
            return AAE_OK;
    if (m->n == AAE_STOP_MAX)
        return aae_error_set(err, AAE_ERR_LIMIT, "too many stop strings: at most %d (template and request)",
                             AAE_STOP_MAX);
    m->str[m->n] = s;
    m->len[m->n] = len;
    m->n++;
    return AAE_OK;
}

/* Earliest position of any stop string in t[0..n), or n if none. */
static size_t find_stop(const aae_stop_matcher *m, const char *t, size_t n)
{
    size_t best = n;
    for (size_t k = 0; k < m->n; k++) {
        size_t L = m->len[k];
        for (size_t i = 0; i + L <= n && i < best; i++)
            if (t[i] == m->str[k][0] && memcmp(t + i, m->str[k], L) == 0) {
                best = i;
                break;
            }
    }
    return best;
}

/* Length of the longest tail of t[0..n) that is a proper prefix of a stop string. */
static size_t partial_tail(const aae_stop_matcher *m, const char *t, size_t n)
{
    size_t best = 0;
    for (size_t k = 0; k < m->n; k++) {
        size_t L = m->len[k];
        size_t start = n >= L ? n - L + 1 : 0; /* tails shorter than L */
        for (size_t i = start; i < n; i++) {
            size_t tl = n - i;
            if (tl <= best)
                break;
            if (memcmp(t + i, m->str[k], tl) == 0) {
                best = tl;
                break;
            }
        }
    }
    return best;
}

/* Drops the bytes the previous call handed out (they were valid until now). */
static void compact(aae_stop_matcher *m)
{
    aae_buf *h = &m->held;
    if (m->emitted && h->data) {
        memmove(h->data, h->data + m->emitted, h->len - m->emitted);
        h->len -= m->emitted;
        h->data[h->len] = '\0';
    }
    m->emitted = 0;
}

int aae_stop_push(aae_stop_matcher *m, const char *text, size_t len, const char **emit, size_t *emit_len)
{
    *emit = "";
    *emit_len = 0;
    if (m->stopped)
        return 1;
    compact(m);
    aae_buf *h = &m->held;
    if (len)
        aae_buf_append(h, text, len);
    if (!h->data || h->len == 0)
        return 0;
    size_t n = h->len;
    size_t pos = find_stop(m, h->data, n);
    if (pos < n) {
        m->stopped = 1;
        *emit = h->data;
        *emit_len = pos;
        m->emitted = n; /* everything from the stop string on is dropped */
        return 1;
    }
    size_t out = n - partial_tail(m, h->data, n);
    *emit = h->data;
    *emit_len = out;
    m->emitted = out;
    return 0;
}

void aae_stop_flush(aae_stop_matcher *m, const char **emit, size_t *emit_len)
{
    *emit = "";
    *emit_len = 0;
    if (m->stopped)
        return;
    compact(m);
    if (m->held.data) {
        *emit = m->held.data;
        *emit_len = m->held.len;
        m->emitted = m->held.len;
    }
}
