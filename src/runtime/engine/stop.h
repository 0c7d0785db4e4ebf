/*
 * stop.h - stop strings over streamed text.
 *
 * Text arrives in pieces (whole UTF-8 characters, from the streaming
 * detokenizer). The matcher emits text as soon as it cannot be the start of a
 * stop string, holds back a tail that could still grow into one, and when a stop
 * string appears (also across pieces) emits only the text before it and
 * reports the stop. The stop string itself is never emitted, not even in part.
 *
 * Because stop strings are valid UTF-8, a held-back tail always starts on a
 * character boundary: the emitted text never splits a character.
 */
#ifndef AAE_ENGINE_STOP_H
#define AAE_ENGINE_STOP_H

#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

#define AAE_STOP_MAX 32       /* stop strings per request (template + request) */
#define AAE_STOP_MAX_LEN 1024 /* bytes per stop string */

typedef struct aae_stop_matcher {
    const char *str[AAE_STOP_MAX]; /* borrowed: valid while the matcher is used */
    size_t len[AAE_STOP_MAX];
    size_t n;
    aae_buf held;   /* text not emitted yet (after `emitted` bytes handed out last call) */
    size_t emitted; /* bytes at the front of held that the last call handed out */
    int stopped;
} aae_stop_matcher;

void aae_stop_init(aae_stop_matcher *m);
void aae_stop_free(aae_stop_matcher *m);
/* Forgets the stop strings and the held text. */
void aae_stop_reset(aae_stop_matcher *m);
/* Adds a stop string (borrowed; duplicates and empty strings are ignored). */
aae_status aae_stop_add(aae_stop_matcher *m, const char *s, size_t len, aae_error *err);

/* Feeds text. *emit / *emit_len receive the text that is final now (pointing
 * into the matcher; valid until its next call). Returns 1 if a stop string was
 * found (then the emitted text is all that comes before it, and further pushes
 * emit nothing), else 0. */
int aae_stop_push(aae_stop_matcher *m, const char *text, size_t len, const char **emit, size_t *emit_len);

/* The end of the stream without a stop string: hands back the held text. */
void aae_stop_flush(aae_stop_matcher *m, const char **emit, size_t *emit_len);

#endif
