/*
 * test_engine.c - the chat-completion engine driven by a scripted test double
 * of the model (this file only; the shipped engine always runs aae_model) and
 * the real Llama-2 tokenizer.json from tests/npm (path in argv[1]).
 *
 * The double makes greedy decoding produce a script of token ids: after the
 * k-th token it was fed since the prompt, the logits put 50 on script[k] and 0
 * elsewhere. It records what it was fed, so prefix reuse can be checked.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "aae_test.h"
#include "base/json.h"
#include "base/utf8.h"
#include "engine/engine_internal.h"

static const char *g_tokenizer_path;

/* ------------------------------------------------------------ the double --- */

typedef struct fake {
    int32_t vocab;
    int64_t max_pos, chunk;
    int32_t fed[4096];
    int64_t n_fed;      /* tokens in the "KV cache" */
    int64_t n_prefill_tokens;
    int64_t prompt_end; /* n_fed when the last prefill ended */
    const int32_t *script;
    size_t n_script;
    int sleep_us;   /* per decode step */
    int random;     /* logits from a hash of the position instead of the script */
    int32_t threads;
} fake;

static int32_t f_vocab(void *p) { return ((fake *)p)->vocab; }
static int64_t f_max(void *p) { return ((fake *)p)->max_pos; }
static int64_t f_chunk(void *p) { return ((fake *)p)->chunk; }
static int64_t f_cached(void *p) { return ((fake *)p)->n_fed; }

static void f_logits(fake *f, float *logits)
{
    int64_t k = f->n_fed - f->prompt_end; /* tokens decoded since the prompt */
    for (int32_t i = 0; i < f->vocab; i++)
        logits[i] = 0.0f;
    if (f->random) {
        uint32_t h = (uint32_t)f->n_fed * 2654435761u;
        for (int32_t i = 0; i < 64; i++) {
            h = h * 1664525u + 1013904223u;
            logits[300 + i] = (float)(h >> 8) / (float)(1u << 24) * 4.0f;
        }
        return;
    }
    int32_t want = k >= 0 && (size_t)k < f->n_script ? f->script[k] : 2;
    logits[want] = 50.0f; /* wins under any sampling: e^50 outweighs the rest */
}

static aae_status f_prefill(void *p, const int32_t *ids, size_t n, float *logits, aae_error *err)
{
    fake *f = p;
    if ((int64_t)n > f->chunk || f->n_fed + (int64_t)n > f->max_pos || f->n_fed + (int64_t)n > 4096)
        return aae_error_set(err, AAE_ERR_INTERNAL, "fake: prefill of %zu breaks the contract", n);
    memcpy(f->fed + f->n_fed, ids, n * sizeof *ids);
    f->n_fed += (int64_t)n;
    f->n_prefill_tokens += (int64_t)n;
    f->prompt_end = f->n_fed;
    f_logits(f, logits);
    return AAE_OK;
}

static aae_status f_decode(void *p, int32_t id, float *logits, aae_error *err)
{
    fake *f = p;
    if (f->n_fed + 1 > f->max_pos || f->n_fed + 1 > 4096)
        return aae_error_set(err, AAE_ERR_INTERNAL, "fake: decode past the window");
    if (f->sleep_us) {
        struct timespec ts = {0, (long)f->sleep_us * 1000};
        nanosleep(&ts, NULL);
    }
    f->fed[f->n_fed++] = id;
    f_logits(f, logits);
    return AAE_OK;
}

static aae_status f_truncate(void *p, int64_t n_keep, aae_error *err)
{
    fake *f = p;
    (void)err;
    if (n_keep < f->n_fed)
        f->n_fed = n_keep;
    return AAE_OK;
}

static void f_destroy(void *p)
{
    (void)p; /* owned by the test */
}

static aae_status f_threads(void *p, int32_t n, aae_error *err)
{
    (void)err;
    ((fake *)p)->threads = n;
    return AAE_OK;
}

static const aae_engine_model_ops k_fake_ops = {f_vocab, f_max, f_chunk, f_cached, f_prefill, f_decode, f_truncate,
                                                f_destroy, f_threads};

static fake g_fake;

static aae_engine *make_engine(const char *template_name)
{
    aae_engine *e = NULL;
    AAE_CHECK_EQ_INT(aae_engine_create(NULL, &e), AAE_OK);
    aae_tokenizer *tok = NULL;
    char msg[512];
    if (aae_tokenizer_load_file(g_tokenizer_path, &tok, msg, sizeof msg) != AAE_OK) {
        fprintf(stderr, "tokenizer: %s\n", msg);
        AAE_CHECK(0);
        aae_engine_destroy(e);
        return NULL;
    }
    memset(&g_fake, 0, sizeof g_fake);
    g_fake.vocab = aae_tokenizer_vocab_size(tok);
    g_fake.max_pos = 4096;
    g_fake.chunk = 7;
    aae_error err;
    aae_status st = aae_engine_attach(e, &k_fake_ops, &g_fake, tok, NULL, "fake-model", &err);
    AAE_CHECK_EQ_INT(st, AAE_OK);
    if (st != AAE_OK) {
        fprintf(stderr, "attach: %s\n", err.msg);
        aae_engine_destroy(e);
        return NULL;
    }
    e->tmpl = aae_conv_template_find(template_name);
    return e;
}

/* ------------------------------------------------------ chunk collection --- */

typedef struct chunks {
    int n;
    int n_content;
    char content[4096];
    size_t content_len;
    char finish[32];
    int saw_role, saw_usage, bad_json, partial_utf8;
    long long completion_tokens, prompt_tokens, reused;
    int abort_after; /* return nonzero from the callback after this many content chunks (0 = never) */
    int hold_at;     /* at this many content chunks, wait in the callback until released */
    int holding, released;
    aae_engine *engine;
    aae_status nested;
} chunks;

static void nap(void)
{
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
}

static int collect(const char *json, size_t len, void *user)
{
    chunks *c = user;
    c->n++;
    aae_json_doc *doc = NULL;
    if (aae_json_parse(json, len, &doc, NULL) != AAE_OK) {
        c->bad_json++;
        return 0;
    }
    const aae_json *root = aae_json_root(doc);
    const char *object = aae_json_str(aae_json_get(root, "object"));
    const aae_json *choice = aae_json_at(aae_json_get(root, "choices"), 0);
    const aae_json *delta = aae_json_get(choice, object && strcmp(object, "chat.completion") == 0 ? "message" : "delta");
    if (aae_json_str(aae_json_get(delta, "role")))
        c->saw_role++;
    const aae_json *content = aae_json_get(delta, "content");
    int got_text = 0;
    if (aae_json_is(content, AAE_JSON_STRING) && content->u.str.len) {
        got_text = 1;
        c->n_content++;
        if (strstr(content->u.str.s, "\xef\xbf\xbd")) /* U+FFFD: a split character was replaced */
            c->partial_utf8++;
        if (c->content_len + content->u.str.len < sizeof c->content) {
            memcpy(c->content + c->content_len, content->u.str.s, content->u.str.len);
            c->content_len += content->u.str.len;
            c->content[c->content_len] = '\0';
        }
    }
    const char *fin = aae_json_str(aae_json_get(choice, "finish_reason"));
    if (fin)
        snprintf(c->finish, sizeof c->finish, "%s", fin);
    const aae_json *usage = aae_json_get(root, "usage");
    if (usage) {
        c->saw_usage++;
        int64_t v = 0;
        aae_json_get_int64(usage, "completion_tokens", 0, &v);
        c->completion_tokens = v;
        aae_json_get_int64(usage, "prompt_tokens", 0, &v);
        c->prompt_tokens = v;
        aae_json_get_int64(aae_json_get(usage, "extra"), "prompt_tokens_reused", 0, &v);
        c->reused = v;
    }
    aae_json_free(doc);
    if (c->hold_at && got_text && c->n_content == c->hold_at) {
        __atomic_store_n(&c->holding, 1, __ATOMIC_SEQ_CST);
        while (!__atomic_load_n(&c->released, __ATOMIC_SEQ_CST))
            nap();
    }
    if (c->engine && c->n == 2) /* a call on a busy engine is refused */
        c->nested = aae_engine_chat_completion(c->engine, "{}", NULL, NULL);
    return c->abort_after && c->n_content >= c->abort_after;
}

#define REQ(extra) "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]" extra "}"

/* ---------------------------------------------------------------- tests --- */

AAE_TEST(stream_chunks_and_usage)
{
    aae_engine *e = make_engine("llama-2");
    if (!e)
        return;
    static const int32_t script[] = {22557, 1526, 2}; /* "▁Hello", "▁world", "</s>" */
    g_fake.script = script;
    g_fake.n_script = 3;
    chunks c = {0};
    c.engine = e;
    aae_status st = aae_engine_chat_completion(e, REQ(",\"stream\":true"), collect, &c);
    AAE_CHECK_EQ_INT(st, AAE_OK);
    AAE_CHECK_EQ_STR(c.content, "Hello world");
    AAE_CHECK_EQ_STR(c.finish, "stop");
    AAE_CHECK_EQ_INT(c.saw_role, 1);
    AAE_CHECK_EQ_INT(c.saw_usage, 1);
    AAE_CHECK_EQ_INT(c.bad_json, 0);
    AAE_CHECK_EQ_INT(c.completion_tokens, 3);
    AAE_CHECK_EQ_INT(c.nested, AAE_ERR_STATE);
    /* the prompt the model saw: "<s>[INST] Hi [/INST]" tokenized, BOS first */
    AAE_CHECK_EQ_INT(g_fake.fed[0], 1);
    AAE_CHECK_EQ_INT(c.prompt_tokens, g_fake.prompt_end);
    aae_engine_destroy(e);
}

AAE_TEST(utf8_split_across_byte_tokens)
{
    aae_engine *e = make_engine("LM");
    if (!e)
        return;
    /* "€" as three byte-fallback tokens, then "▁a", then EOS */
    static const int32_t script[] = {22557, 229, 133, 175, 264, 2};
    g_fake.script = script;
    g_fake.n_script = 6;
    chunks c = {0};
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, REQ(",\"stream\":true"), collect, &c), AAE_OK);
    AAE_CHECK_EQ_STR(c.content, "Hello\xe2\x82\xac a");
    AAE_CHECK_EQ_INT(c.partial_utf8, 0);
    AAE_CHECK_EQ_INT(aae_utf8_validate(c.content, c.content_len, NULL), 1);
    aae_engine_destroy(e);
}

AAE_TEST(stop_string_across_tokens)
{
    aae_engine *e = make_engine("LM");
    if (!e)
        return;
    /* "Hello" "<" "|" "end" ">" "▁world": the stop string "<|end" spans three tokens */
    static const int32_t script[] = {22557, 28789, 28766, 416, 28767, 1526, 2};
    g_fake.script = script;
    g_fake.n_script = 7;
    chunks c = {0};
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, REQ(",\"stream\":true,\"stop\":[\"<|end\"]"), collect, &c),
                     AAE_OK);
    AAE_CHECK_EQ_STR(c.content, "Hello");
    AAE_CHECK_EQ_STR(c.finish, "stop");
    AAE_CHECK_EQ_INT(c.completion_tokens, 4);
    /* a false start is released */
    chunks d = {0};
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, REQ(",\"stream\":true,\"stop\":[\"<|x\"]"), collect, &d), AAE_OK);
    AAE_CHECK_EQ_STR(d.content, "Hello<|end> world");
    aae_engine_destroy(e);
}

AAE_TEST(max_tokens_and_window)
{
    aae_engine *e = make_engine("LM");
    if (!e)
        return;
    static const int32_t script[] = {264, 264, 264, 264, 264, 264, 264, 264, 2};
    g_fake.script = script;
    g_fake.n_script = 9;
    chunks c = {0};
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, REQ(",\"max_tokens\":3"), collect, &c), AAE_OK);
    AAE_CHECK_EQ_STR(c.finish, "length");
    AAE_CHECK_EQ_STR(c.content, "a a a");
    AAE_CHECK_EQ_INT(c.n, 1); /* not streamed: one chat.completion object */
    AAE_CHECK_EQ_INT(c.completion_tokens, 3);
    /* the window: the prompt ("<s>" "▁Hi") is 2 tokens, the window 5 */
    aae_engine_reset_chat(e);
    g_fake.max_pos = 5;
    chunks d = {0};
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, REQ(""), collect, &d), AAE_OK);
    AAE_CHECK_EQ_STR(d.finish, "length");
    AAE_CHECK(g_fake.n_fed <= 5);
    /* a prompt that does not fit */
    g_fake.max_pos = 2;
    chunks f = {0};
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, REQ(""), collect, &f), AAE_ERR_LIMIT);
    AAE_CHECK_CONTAINS(aae_engine_errmsg(e), "context window");
    AAE_CHECK_EQ_INT(f.n, 0);
    aae_engine_destroy(e);
}

AAE_TEST(bad_request_sends_nothing)
{
    aae_engine *e = make_engine("LM");
    if (!e)
        return;
    chunks c = {0};
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, "{\"messages\":[{\"role\":\"user\",\"content\":1}]}", collect, &c),
                     AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK_CONTAINS(aae_engine_errmsg(e), "/messages/0/content");
    AAE_CHECK_EQ_INT(c.n, 0);
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, REQ(",\"n\":3"), collect, &c), AAE_ERR_UNSUPPORTED);
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, NULL, collect, &c), AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK_EQ_INT(c.n, 0);
    aae_engine_destroy(e);
    /* no model loaded */
    aae_engine *none = NULL;
    AAE_CHECK_EQ_INT(aae_engine_create(NULL, &none), AAE_OK);
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(none, REQ(""), collect, &c), AAE_ERR_STATE);
    AAE_CHECK_EQ_INT(aae_engine_reload(none, "/nonexistent/model", NULL) != AAE_OK, 1);
    AAE_CHECK(strlen(aae_engine_errmsg(none)) > 0);
    aae_engine_destroy(none);
    aae_engine_destroy(NULL);
}

/* The other thread: waits until the stream is in the middle (the callback
 * holds the engine at its 3rd piece of text), calls aae_engine_abort, then
 * lets the callback return. The handshake makes the test independent of timing. */
typedef struct aborter {
    aae_engine *e;
    chunks *c;
} aborter;

static void *abort_thread(void *p)
{
    aborter *a = p;
    while (!__atomic_load_n(&a->c->holding, __ATOMIC_SEQ_CST))
        nap();
    aae_engine_abort(a->e);
    __atomic_store_n(&a->c->released, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

AAE_TEST(abort_from_another_thread)
{
    aae_engine *e = make_engine("LM");
    if (!e)
        return;
    static int32_t script[2000];
    for (int i = 0; i < 2000; i++)
        script[i] = 264;
    g_fake.script = script;
    g_fake.n_script = 2000;
    chunks c = {0};
    c.hold_at = 3;
    aborter a = {e, &c};
    pthread_t th;
    pthread_create(&th, NULL, abort_thread, &a);
    aae_status st = aae_engine_chat_completion(e, REQ(",\"stream\":true"), collect, &c);
    pthread_join(th, NULL);
    AAE_CHECK_EQ_INT(st, AAE_ERR_ABORTED);
    AAE_CHECK_EQ_STR(c.finish, "abort");
    AAE_CHECK_EQ_INT(c.saw_usage, 1);
    AAE_CHECK_EQ_INT(c.completion_tokens, 3); /* stopped at the next token boundary */
    AAE_CHECK_EQ_STR(c.content, "a a a");
    /* the engine works again afterwards, and abort with nothing running is a no-op */
    aae_engine_abort(e);
    static const int32_t s2[] = {264, 2};
    g_fake.script = s2;
    g_fake.n_script = 2;
    chunks d = {0};
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, REQ(",\"stream\":true"), collect, &d), AAE_OK);
    AAE_CHECK_EQ_STR(d.finish, "stop");
    aae_engine_destroy(e);
}

AAE_TEST(abort_from_callback)
{
    aae_engine *e = make_engine("LM");
    if (!e)
        return;
    static const int32_t script[] = {264, 264, 264, 264, 264, 264, 2};
    g_fake.script = script;
    g_fake.n_script = 7;
    chunks c = {0};
    c.abort_after = 2;
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, REQ(",\"stream\":true"), collect, &c), AAE_ERR_ABORTED);
    AAE_CHECK_EQ_STR(c.finish, "abort");
    AAE_CHECK_EQ_INT(c.n_content, 2);
    aae_engine_destroy(e);
}

AAE_TEST(prefix_reuse_across_turns)
{
    aae_engine *e = make_engine("chatml");
    if (!e)
        return;
    static const int32_t script[] = {22557, 2}; /* "▁Hello" */
    g_fake.script = script;
    g_fake.n_script = 2;
    chunks c = {0};
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, REQ(""), collect, &c), AAE_OK);
    AAE_CHECK_EQ_STR(c.content, "Hello");
    int64_t first_prompt = c.prompt_tokens;
    chunks d = {0};
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e,
                                                "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
                                                "{\"role\":\"assistant\",\"content\":\"Hello\"},"
                                                "{\"role\":\"user\",\"content\":\"More\"}]}",
                                                collect, &d),
                     AAE_OK);
    AAE_CHECK(d.reused >= first_prompt); /* the first turn's prompt was not run again */
    AAE_CHECK(d.prompt_tokens > d.reused);
    /* with reuse off (or after a reset) everything is prefilled */
    aae_engine_reset_chat(e);
    chunks f = {0};
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, REQ(""), collect, &f), AAE_OK);
    AAE_CHECK_EQ_INT(f.reused, 0);
    aae_engine_destroy(e);
}

AAE_TEST(seeded_sampling_is_reproducible)
{
    aae_engine *e = make_engine("LM");
    if (!e)
        return;
    g_fake.random = 1;
    const char *req = REQ(",\"temperature\":1.0,\"seed\":1234,\"max_tokens\":12,\"ignore_eos\":true");
    chunks a = {0}, b = {0}, c = {0};
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, req, collect, &a), AAE_OK);
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(e, req, collect, &b), AAE_OK);
    AAE_CHECK_EQ_STR(a.content, b.content);
    AAE_CHECK_EQ_INT(a.completion_tokens, 12);
    AAE_CHECK_EQ_INT(aae_engine_chat_completion(
                         e, REQ(",\"temperature\":1.0,\"seed\":99,\"max_tokens\":12,\"ignore_eos\":true"), collect, &c),
                     AAE_OK);
    AAE_CHECK(strcmp(a.content, c.content) != 0);
    aae_engine_destroy(e);
}

AAE_TEST(low_level_calls)
{
    aae_engine *e = make_engine("LM");
    if (!e)
        return;
    static const int32_t script[] = {264, 2};
    g_fake.script = script;
    g_fake.n_script = 2;
    int32_t ids[3] = {1, 22557, 1526};
    AAE_CHECK_EQ_INT(aae_engine_prefill(e, ids, 3), AAE_OK);
    AAE_CHECK_EQ_INT(aae_engine_kv_length(e), 3);
    const float *l;
    int32_t v;
    AAE_CHECK_EQ_INT(aae_engine_logits(e, &l, &v), AAE_OK);
    AAE_CHECK_EQ_INT(v, g_fake.vocab);
    AAE_CHECK_EQ_INT(aae_argmax(l, v), 264);
    AAE_CHECK_EQ_INT(aae_engine_decode(e, 264), AAE_OK);
    AAE_CHECK_EQ_INT(aae_engine_kv_length(e), 4);
    AAE_CHECK_EQ_INT(aae_engine_decode(e, -1), AAE_ERR_INVALID_ARGUMENT);
    /* a count so large that cached + count wraps around is refused before any id is read */
    AAE_CHECK_EQ_INT(aae_engine_prefill(e, ids, SIZE_MAX - 1), AAE_ERR_LIMIT);
    AAE_CHECK_EQ_INT(aae_engine_prefill(e, ids, (size_t)1 << 63), AAE_ERR_LIMIT);
    AAE_CHECK_EQ_INT(aae_engine_kv_length(e), 4);
    AAE_CHECK_EQ_INT(aae_engine_truncate(e, 1), AAE_OK);
    AAE_CHECK_EQ_INT(aae_engine_kv_length(e), 1);
    AAE_CHECK_EQ_INT(aae_engine_logits(e, &l, &v), AAE_ERR_STATE);
    AAE_CHECK(aae_engine_tokenizer(e) != NULL);
    AAE_CHECK_EQ_INT(aae_engine_set_threads(e, 3), AAE_OK);
    AAE_CHECK_EQ_INT(g_fake.threads, 3);
    AAE_CHECK_EQ_INT(aae_engine_set_threads(e, -1), AAE_ERR_INVALID_ARGUMENT);
    aae_engine_destroy(e);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_engine_engine TOKENIZER_JSON\n");
        return 2;
    }
    g_tokenizer_path = argv[1];
    return aae_test_run_all();
}
