/*
 * test_stop.c - stop strings across piece boundaries: the emitted text is
 * exactly the text before the first stop string, never a part of one, and text
 * that cannot start a stop string is emitted at once.
 */
#include <stdlib.h>

#include "aae_test.h"
#include "engine/stop.h"

/* Feeds pieces; returns the emitted text (malloc'd) and whether it stopped. */
static char *run(const char *const *stops, const char *const *pieces, int *stopped, int flush, size_t *max_lag)
{
    aae_stop_matcher m;
    aae_stop_init(&m);
    for (int i = 0; stops[i]; i++)
        AAE_CHECK_EQ_INT(aae_stop_add(&m, stops[i], strlen(stops[i]), NULL), AAE_OK);
    aae_buf out;
    aae_buf_init(&out);
    aae_buf_puts(&out, "");
    size_t fed = 0;
    *stopped = 0;
    if (max_lag)
        *max_lag = 0;
    for (int i = 0; pieces[i]; i++) {
        const char *e;
        size_t el;
        fed += strlen(pieces[i]);
        int s = aae_stop_push(&m, pieces[i], strlen(pieces[i]), &e, &el);
        aae_buf_append(&out, e, el);
        if (max_lag && fed - out.len > *max_lag)
            *max_lag = fed - out.len;
        if (s) {
            *stopped = 1;
            break;
        }
    }
    if (!*stopped && flush) {
        const char *e;
        size_t el;
        aae_stop_flush(&m, &e, &el);
        aae_buf_append(&out, e, el);
    }
    aae_stop_free(&m);
    return aae_buf_take(&out, NULL);
}

AAE_TEST(stop_across_pieces)
{
    const char *stops[] = {"<|im_end|>", "STOP", NULL};
    const char *pieces[] = {"Hello", " wor", "ld<|im", "_e", "nd|>tail", " more", NULL};
    int stopped;
    char *t = run(stops, pieces, &stopped, 1, NULL);
    AAE_CHECK(stopped);
    AAE_CHECK_EQ_STR(t, "Hello world");
    free(t);
}

AAE_TEST(false_start_is_released)
{
    const char *stops[] = {"<|im_end|>", NULL};
    const char *pieces[] = {"a <|im", "_start", "|> b", NULL};
    int stopped;
    size_t lag;
    char *t = run(stops, pieces, &stopped, 1, &lag);
    AAE_CHECK(!stopped);
    AAE_CHECK_EQ_STR(t, "a <|im_start|> b");
    AAE_CHECK(lag <= 5); /* at most "<|im" held back (plus nothing else) */
    free(t);
}

AAE_TEST(no_stop_emits_immediately)
{
    const char *stops[] = {"###", NULL};
    const char *pieces[] = {"abc", "def", NULL};
    int stopped;
    size_t lag;
    char *t = run(stops, pieces, &stopped, 0, &lag);
    AAE_CHECK_EQ_STR(t, "abcdef");
    AAE_CHECK_EQ_INT(lag, 0);
    free(t);
}

AAE_TEST(earliest_stop_wins_and_inside_one_piece)
{
    const char *stops[] = {"cd", "b", NULL};
    const char *pieces[] = {"abcd", NULL};
    int stopped;
    char *t = run(stops, pieces, &stopped, 1, NULL);
    AAE_CHECK(stopped);
    AAE_CHECK_EQ_STR(t, "a");
    free(t);
    const char *stops2[] = {"xyz", "yq", NULL};
    const char *pieces2[] = {"ax", "y", "q", NULL}; /* "xy" could start xyz, "yq" completes */
    char *t2 = run(stops2, pieces2, &stopped, 1, NULL);
    AAE_CHECK(stopped);
    AAE_CHECK_EQ_STR(t2, "ax");
    free(t2);
}

AAE_TEST(multibyte_stop_and_flush)
{
    const char *stops[] = {"\xe2\x80\x94\xe2\x80\x94", NULL}; /* two em dashes */
    const char *pieces[] = {"x\xe2\x80\x94", "y\xe2\x80\x94", NULL};
    int stopped;
    char *t = run(stops, pieces, &stopped, 1, NULL);
    AAE_CHECK(!stopped);
    AAE_CHECK_EQ_STR(t, "x\xe2\x80\x94y\xe2\x80\x94");
    free(t);
    const char *p2[] = {"x\xe2\x80\x94", "\xe2\x80\x94z", NULL};
    char *t2 = run(stops, p2, &stopped, 1, NULL);
    AAE_CHECK(stopped);
    AAE_CHECK_EQ_STR(t2, "x");
    free(t2);
}

AAE_TEST(limits)
{
    aae_stop_matcher m;
    aae_stop_init(&m);
    aae_error err;
    char big[AAE_STOP_MAX_LEN + 2];
    memset(big, 'a', sizeof big);
    AAE_CHECK_EQ_INT(aae_stop_add(&m, big, sizeof big, &err), AAE_ERR_LIMIT);
    AAE_CHECK_EQ_INT(aae_stop_add(&m, "x", 0, &err), AAE_OK); /* empty: ignored */
    AAE_CHECK_EQ_INT(m.n, 0);
    aae_stop_free(&m);
}

int main(void)
{
    return aae_test_run_all();
}
