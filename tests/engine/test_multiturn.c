/*
 * test_multiturn.c - multi-turn chat on a tiny converted model: the second turn
 * of a conversation, run on the engine that answered the first (its KV cache
 * holds turn 1's prompt and answer), gives the same greedy answer as a fresh
 * engine given the whole conversation, and prefills only the part after the
 * longest prefix it shares with the cache (usage.extra.prefill_tokens <
 * usage.prompt_tokens). The second turn's assistant message differs from the
 * ids the engine generated (as when an answer does not re-tokenize to them),
 * so the cache must be cut back to the shared prefix, not merely extended.
 * With a sliding-window model whose ring cache has wrapped, the cache cannot be
 * cut: the engine prefills the whole prompt again, and the answer still agrees.
 *
 *   test_multiturn MODEL_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aae_test.h"
#include "base/buf.h"
#include "base/json.h"
#include "sphere_aae.h"

#define MAX_TOKENS 8

static const char *g_dir;

typedef struct answer {
    aae_buf text;
    char finish[32];
    int64_t prompt_tokens, completion_tokens, reused, prefilled;
    int calls, bad;
} answer;

static int on_object(const char *json, size_t len, void *user)
{
    answer *a = user;
    aae_json_doc *doc = NULL;
    a->calls++;
    if (aae_json_parse(json, len, &doc, NULL) != AAE_OK) {
        a->bad++;
        return 0;
    }
    const aae_json *root = aae_json_root(doc);
    const aae_json *choice = aae_json_at(aae_json_get(root, "choices"), 0);
    const char *c = aae_json_str(aae_json_get(aae_json_get(choice, "message"), "content"));
    if (c)
        aae_buf_puts(&a->text, c);
    const char *f = aae_json_str(aae_json_get(choice, "finish_reason"));
    if (f)
        snprintf(a->finish, sizeof a->finish, "%s", f);
    const aae_json *u = aae_json_get(root, "usage");
    const aae_json *x = aae_json_get(u, "extra");
    if (!u || !x ||
        !aae_json_get_int64(u, "prompt_tokens", -1, &a->prompt_tokens) ||
        !aae_json_get_int64(u, "completion_tokens", -1, &a->completion_tokens) ||
        !aae_json_get_int64(x, "prompt_tokens_reused", -1, &a->reused) ||
        !aae_json_get_int64(x, "prefill_tokens", -1, &a->prefilled))
        a->bad++;
    aae_json_free(doc);
    return 0;
}

static aae_engine *open_engine(void)
{
    aae_engine_params p;
    aae_engine_default_params(&p);
    p.n_threads = 2;
    aae_engine *e = NULL;
    if (aae_engine_create(&p, &e) != AAE_OK || aae_engine_reload(e, g_dir, NULL) != AAE_OK) {
        fprintf(stderr, "load %s: %s\n", g_dir, e ? aae_engine_errmsg(e) : "out of memory");
        aae_engine_destroy(e);
        return NULL;
    }
    return e;
}

/* One greedy, non-streamed completion of messages (a JSON array). */
static aae_status chat(aae_engine *e, const char *messages, answer *a)
{
    aae_buf req;
    aae_buf_init(&req);
    aae_buf_printf(&req, "{\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":%d,\"messages\":%s}", MAX_TOKENS,
                   messages);
    memset(a, 0, sizeof *a);
    aae_buf_init(&a->text);
    aae_status st = aae_engine_chat_completion(e, req.data, on_object, a);
    if (st != AAE_OK)
        fprintf(stderr, "chat: %s\n", aae_engine_errmsg(e));
    aae_buf_free(&req);
    return st;
}

static void messages_turn2(aae_buf *b, const char *assistant)
{
    aae_buf_puts(b, "[{\"role\":\"user\",\"content\":\"Hello there, how are you?\"},{\"role\":\"assistant\",\"content\":");
    aae_buf_json_string(b, assistant, strlen(assistant));
    aae_buf_puts(b, "},{\"role\":\"user\",\"content\":\"Tell me about the sea.\"}]");
}

/* sink + window of a sliding-window model (its ring cache holds that many
 * positions), or 0 without a window. */
static int64_t ring_capacity(void)
{
    aae_model *m = NULL;
    aae_model_info info;
    int64_t cap = -1;
    if (aae_model_load(g_dir, NULL, &m) == AAE_OK && aae_model_get_info(m, &info) == AAE_OK)
        cap = info.sliding_window_size > 0 ? (int64_t)info.sliding_window_size + info.attention_sink_size : 0;
    aae_model_free(m);
    return cap;
}

/* Turn 2 on engine e (which holds turn 1) vs a fresh engine; assistant is the
 * turn-1 answer as the app sends it back; must_cut: it differs from the ids
 * generated, so less than the whole cache can be kept. */
static void check_turn2(aae_engine *e, int64_t cached, const char *assistant, int must_cut, const char *what)
{
    aae_buf msgs;
    aae_buf_init(&msgs);
    messages_turn2(&msgs, assistant);
    answer warm, cold;
    AAE_CHECK_EQ_INT(chat(e, msgs.data, &warm), AAE_OK);
    aae_engine *f = open_engine();
    AAE_CHECK(f != NULL);
    if (f)
        AAE_CHECK_EQ_INT(chat(f, msgs.data, &cold), AAE_OK);
    else
        memset(&cold, 0, sizeof cold);
    int64_t ring = ring_capacity();
    AAE_CHECK(ring >= 0);
    AAE_CHECK_EQ_INT(warm.bad, 0);
    AAE_CHECK_EQ_INT(warm.completion_tokens, MAX_TOKENS);
    AAE_CHECK_EQ_STR(warm.finish, "length");
    /* the same answer as from scratch */
    AAE_CHECK_EQ_INT(warm.prompt_tokens, cold.prompt_tokens);
    AAE_CHECK_EQ_STR(warm.text.data ? warm.text.data : "", cold.text.data ? cold.text.data : "");
    AAE_CHECK_EQ_INT(cold.reused, 0);
    AAE_CHECK_EQ_INT(cold.prefilled, cold.prompt_tokens);
    AAE_CHECK_EQ_INT(warm.prefilled + warm.reused, warm.prompt_tokens);
    int wrapped = ring > 0 && cached > ring;
    printf("%s: cached %lld, turn 2 prompt %lld, reused %lld, prefilled %lld%s\n", what, (long long)cached,
           (long long)warm.prompt_tokens, (long long)warm.reused, (long long)warm.prefilled,
           wrapped ? " (sliding window wrapped: full prefill)" : "");
    if (wrapped) {
        AAE_CHECK_EQ_INT(warm.reused, 0);
    } else {
        /* only a prefix was shared: the cache was cut back, then extended */
        AAE_CHECK(warm.reused > 0);
        AAE_CHECK(warm.reused <= cached);
        if (must_cut)
            AAE_CHECK(warm.reused < cached);
        AAE_CHECK(warm.prefilled < warm.prompt_tokens);
    }
    aae_buf_free(&warm.text);
    aae_buf_free(&cold.text);
    aae_engine_destroy(f);
    aae_buf_free(&msgs);
}

AAE_TEST(second_turn_reuses_the_shared_prefix)
{
    aae_engine *e = open_engine();
    AAE_CHECK(e != NULL);
    if (!e)
        return;
    answer t1;
    AAE_CHECK_EQ_INT(chat(e, "[{\"role\":\"user\",\"content\":\"Hello there, how are you?\"}]", &t1), AAE_OK);
    AAE_CHECK_EQ_INT(t1.reused, 0);
    int64_t cached = aae_engine_kv_length(e);
    AAE_CHECK_EQ_INT(cached, t1.prompt_tokens + MAX_TOKENS - 1); /* the last answer token is never run */
    /* the app edits the answer before sending the conversation back */
    check_turn2(e, cached, "I am fine, thank you.", 1, "edited answer");
    /* again, now with the answer as the model gave it (whatever it re-tokenizes to) */
    aae_engine *g = open_engine();
    AAE_CHECK(g != NULL);
    if (g) {
        answer again;
        AAE_CHECK_EQ_INT(chat(g, "[{\"role\":\"user\",\"content\":\"Hello there, how are you?\"}]", &again), AAE_OK);
        AAE_CHECK_EQ_STR(again.text.data ? again.text.data : "", t1.text.data ? t1.text.data : "");
        check_turn2(g, aae_engine_kv_length(g), t1.text.data ? t1.text.data : "", 0, "model's answer");
        aae_buf_free(&again.text);
        aae_engine_destroy(g);
    }
    aae_buf_free(&t1.text);
    aae_engine_destroy(e);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_multiturn MODEL_DIR\n");
        return 2;
    }
    g_dir = argv[1];
    return aae_test_run_all();
}
