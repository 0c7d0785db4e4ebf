/*
 * e2e_chat.c - test tool: one greedy chat completion on a converted model
 * through the public engine API, printing what test_e2e_chat.py compares with
 * `sphere_aae generate`:
 *   {"prompt_ids": [...], "fed_ids": [...], "text": "...", "finish": "...",
 *    "completion_tokens": N, "chunks": N}
 * fed_ids are the generated ids the engine ran through the model (all but the
 * last generated one), read from the engine's token history.
 * usage: e2e_chat MODEL_DIR MAX_TOKENS "USER MESSAGE" [EXTRA_MEMBERS]
 * EXTRA_MEMBERS is JSON text put into the request, e.g. ,"stop":["x"] 
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "engine/engine_internal.h"

typedef struct result {
    aae_buf text;
    char finish[32];
    int64_t prompt_tokens, completion_tokens;
    int chunks, bad;
} result;

static int on_chunk(const char *json, size_t len, void *user)
{
    result *r = user;
    aae_json_doc *doc = NULL;
    r->chunks++;
    if (aae_json_parse(json, len, &doc, NULL) != AAE_OK) {
        r->bad++;
        return 0;
    }
    const aae_json *root = aae_json_root(doc);
    const aae_json *choice = aae_json_at(aae_json_get(root, "choices"), 0);
    const aae_json *c = aae_json_get(aae_json_get(choice, "delta"), "content");
    if (aae_json_is(c, AAE_JSON_STRING))
        aae_buf_append(&r->text, c->u.str.s, c->u.str.len);
    const char *f = aae_json_str(aae_json_get(choice, "finish_reason"));
    if (f)
        snprintf(r->finish, sizeof r->finish, "%s", f);
    const aae_json *u = aae_json_get(root, "usage");
    if (u) {
        aae_json_get_int64(u, "prompt_tokens", 0, &r->prompt_tokens);
        aae_json_get_int64(u, "completion_tokens", 0, &r->completion_tokens);
    }
    aae_json_free(doc);
    return 0;
}

static void print_ids(const int32_t *ids, size_t n)
{
    putchar('[');
    for (size_t i = 0; i < n; i++)
        printf("%s%d", i ? ", " : "", (int)ids[i]);
    putchar(']');
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: e2e_chat MODEL_DIR MAX_TOKENS MESSAGE [EXTRA_MEMBERS]\n");
        return 2;
    }
    aae_engine *e = NULL;
    if (aae_engine_create(NULL, &e) != AAE_OK || aae_engine_reload(e, argv[1], NULL) != AAE_OK) {
        fprintf(stderr, "e2e_chat: %s\n", aae_engine_errmsg(e));
        return 1;
    }
    aae_buf req;
    aae_buf_init(&req);
    aae_buf_puts(&req, "{\"stream\":true,\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":");
    aae_buf_puts(&req, argv[2]);
    aae_buf_puts(&req, ",\"messages\":[{\"role\":\"user\",\"content\":");
    aae_buf_json_string(&req, argv[3], strlen(argv[3]));
    aae_buf_puts(&req, "}]");
    if (argc == 5)
        aae_buf_puts(&req, argv[4]);
    aae_buf_puts(&req, "}");
    result r;
    memset(&r, 0, sizeof r);
    aae_buf_init(&r.text);
    aae_status st = aae_engine_chat_completion(e, req.data, on_chunk, &r);
    if (st != AAE_OK) {
        fprintf(stderr, "e2e_chat: %s\n", aae_engine_errmsg(e));
        return 1;
    }
    size_t np = (size_t)r.prompt_tokens;
    printf("{\"prompt_ids\": ");
    print_ids(e->kv_ids, np);
    printf(", \"fed_ids\": ");
    print_ids(e->kv_ids + np, e->n_kv - np);
    printf(", \"text\": ");
    aae_buf out;
    aae_buf_init(&out);
    aae_buf_json_string(&out, r.text.data ? r.text.data : "", r.text.len);
    fwrite(out.data, 1, out.len, stdout);
    printf(", \"finish\": \"%s\", \"completion_tokens\": %lld, \"chunks\": %d, \"bad_chunks\": %d}\n", r.finish,
           (long long)r.completion_tokens, r.chunks, r.bad);
    aae_buf_free(&out);
    aae_buf_free(&r.text);
    aae_buf_free(&req);
    aae_engine_destroy(e);
    return 0;
}
