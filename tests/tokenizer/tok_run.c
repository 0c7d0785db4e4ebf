/*
 * tok_run.c - runs our tokenizer over a corpus and writes what the reference
 * script writes (tests/tokenizer/reference.js), for test_tokenizer.py to compare:
 *
 *   tok_run MODEL_DIR CORPUS.json OUT.json
 *
 * OUT.json: [{"plain": ids, "special": ids, "decoded": text, "stream": text,
 *             "stream_ok": bool}, ...] where "stream" is the concatenation of the
 * streaming detokenizer's outputs, and stream_ok says every chunk it returned was
 * whole UTF-8 characters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/utf8.h"
#include "sphere_aae.h"

static void put_ids(aae_buf *b, const int32_t *ids, size_t n)
{
    aae_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++)
        aae_buf_printf(b, i ? ",%d" : "%d", (int)ids[i]);
    aae_buf_putc(b, ']');
}

static int one(aae_tokenizer *tok, const char *text, size_t len, aae_buf *out)
{
    int32_t *plain = NULL, *special = NULL;
    size_t np = 0, ns = 0;
    if (aae_tokenizer_encode_alloc(tok, text, len, 0, &plain, &np) != AAE_OK ||
        aae_tokenizer_encode_alloc(tok, text, len, AAE_ENCODE_ADD_SPECIAL_TOKENS, &special, &ns) != AAE_OK) {
        fprintf(stderr, "tok_run: encode failed: %s\n", aae_tokenizer_errmsg(tok));
        return 0;
    }
    char *dec = NULL;
    size_t dl = 0;
    if (aae_tokenizer_decode(tok, plain, np, 0, &dec, &dl) != AAE_OK) {
        fprintf(stderr, "tok_run: decode failed: %s\n", aae_tokenizer_errmsg(tok));
        return 0;
    }
    aae_detokenizer *d;
    if (aae_detokenizer_create(tok, 0, &d) != AAE_OK)
        return 0;
    aae_buf stream;
    aae_buf_init(&stream);
    int stream_ok = 1;
    for (size_t i = 0; i <= np; i++) {
        const char *s;
        size_t n;
        aae_status st = i < np ? aae_detokenizer_push(d, plain[i], &s, &n) : aae_detokenizer_finish(d, &s, &n);
        if (st != AAE_OK || !aae_utf8_validate(s, n, NULL))
            stream_ok = 0;
        if (st == AAE_OK)
            aae_buf_append(&stream, s, n);
    }
    aae_detokenizer_destroy(d);
    aae_buf_puts(out, "{\"plain\":");
    put_ids(out, plain, np);
    aae_buf_puts(out, ",\"special\":");
    put_ids(out, special, ns);
    aae_buf_puts(out, ",\"decoded\":");
    aae_buf_json_string(out, dec, dl);
    aae_buf_puts(out, ",\"stream\":");
    aae_buf_json_string(out, stream.data ? stream.data : "", stream.len);
    aae_buf_printf(out, ",\"stream_ok\":%s}", stream_ok ? "true" : "false");
    aae_buf_free(&stream);
    aae_tokenizer_free(dec);
    aae_tokenizer_free(plain);
    aae_tokenizer_free(special);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: tok_run MODEL_DIR CORPUS.json OUT.json\n");
        return 2;
    }
    char msg[2048];
    aae_tokenizer *tok;
    if (aae_tokenizer_load_dir(argv[1], &tok, msg, sizeof msg) != AAE_OK) {
        fprintf(stderr, "tok_run: %s\n", msg);
        return 1;
    }
    aae_json_doc *doc;
    aae_error err;
    if (aae_json_parse_file(argv[2], &doc, &err) != AAE_OK) {
        fprintf(stderr, "tok_run: %s\n", err.msg);
        return 1;
    }
    const aae_json *arr = aae_json_root(doc);
    aae_buf out;
    aae_buf_init(&out);
    aae_buf_putc(&out, '[');
    int ok = 1;
    for (size_t i = 0; ok && i < aae_json_count(arr); i++) {
        const aae_json *s = aae_json_at(arr, i);
        if (i)
            aae_buf_putc(&out, ',');
        ok = aae_json_is(s, AAE_JSON_STRING) && one(tok, s->u.str.s, s->u.str.len, &out);
    }
    aae_buf_puts(&out, "]\n");
    FILE *f = fopen(argv[3], "wb");
    if (!ok || !f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
        fprintf(stderr, "tok_run: failed\n");
        return 1;
    }
    aae_buf_free(&out);
    aae_json_free(doc);
    aae_tokenizer_destroy(tok);
    return 0;
}
