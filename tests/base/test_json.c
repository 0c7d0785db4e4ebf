/* JSON reader: values, positions, strictness and error messages. */
#include <stdlib.h>

#include "aae_test.h"
#include "base/buf.h"
#include "base/json.h"

static aae_json_doc *parse_ok(const char *s)
{
    aae_json_doc *d = NULL;
    aae_error e;
    aae_status st = aae_json_parse(s, strlen(s), &d, &e);
    if (st)
        fprintf(stderr, "unexpected parse error: %s\n", e.msg);
    return d;
}

static const char *parse_err(const char *s, size_t len)
{
    static aae_error e;
    aae_json_doc *d = NULL;
    aae_status st = aae_json_parse(s, len, &d, &e);
    if (st == AAE_OK) {
        aae_json_free(d);
        return NULL;
    }
    return e.msg;
}

AAE_TEST(values)
{
    aae_json_doc *d = parse_ok("{\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\ud83d\\ude00\"], \"b\": {}}");
    AAE_CHECK(d != NULL);
    if (!d)
        return;
    const aae_json *r = aae_json_root(d);
    const aae_json *a = aae_json_get(r, "a");
    AAE_CHECK_EQ_INT(aae_json_count(a), 6);
    AAE_CHECK(aae_json_at(a, 0)->u.num.is_int && aae_json_at(a, 0)->u.num.i == 1);
    AAE_CHECK(!aae_json_at(a, 1)->u.num.is_int && aae_json_at(a, 1)->u.num.value == -2500.0);
    AAE_CHECK(aae_json_at(a, 2)->u.boolean == 1);
    AAE_CHECK(aae_json_is(aae_json_at(a, 4), AAE_JSON_NULL));
    AAE_CHECK_EQ_STR(aae_json_str(aae_json_at(a, 5)), "x\xc3\xa9\xf0\x9f\x98\x80");
    AAE_CHECK(aae_json_is(aae_json_pointer(r, "/b"), AAE_JSON_OBJECT));
    AAE_CHECK(aae_json_pointer(r, "/a/5") == aae_json_at(a, 5));
    AAE_CHECK(aae_json_pointer(r, "/a/6") == NULL);
    AAE_CHECK(aae_json_pointer(r, "/a/01") == NULL);
    aae_json_free(d);
}

AAE_TEST(positions)
{
    aae_json_doc *d = parse_ok("{\n  \"k\": [\n    7\n  ]\n}");
    const aae_json *v = aae_json_pointer(aae_json_root(d), "/k/0");
    AAE_CHECK(v && v->line == 3 && v->col == 5);
    aae_json_free(d);
}

AAE_TEST(large_integers_exact)
{
    aae_json_doc *d = parse_ok("[9007199254740993, -9223372036854775808, 9223372036854775808]");
    const aae_json *r = aae_json_root(d);
    AAE_CHECK(aae_json_at(r, 0)->u.num.i == 9007199254740993LL);
    AAE_CHECK(aae_json_at(r, 1)->u.num.is_int);
    AAE_CHECK(!aae_json_at(r, 2)->u.num.is_int);
    aae_json_free(d);
}

AAE_TEST(strict_errors)
{
    static const char *bad[] = {"", "{", "[1,]", "{\"a\":1,}", "[01]", "[1.]", "[.5]", "[+1]", "nul", "tru",
                                "{'a':1}", "{\"a\" 1}", "[1 2]", "\"abc", "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"",
                                "[1] x", "// c\n1", "[NaN]", "\"a\nb\"", "[1e]", "{\"a\":}", "\"\\u12\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *m = parse_err(bad[i], strlen(bad[i]));
        if (!m)
            fprintf(stderr, "accepted invalid JSON #%zu: %s\n", i, bad[i]);
        AAE_CHECK(m != NULL);
    }
    AAE_CHECK(parse_err("\"\xff\"", 3) != NULL);            /* invalid UTF-8 */
    AAE_CHECK(parse_err("\"\xc0\xaf\"", 4) != NULL);        /* overlong */
    AAE_CHECK(parse_err("\"\xed\xa0\x80\"", 5) != NULL);    /* encoded surrogate */
    AAE_CHECK(parse_err("[1, 2]\0", 7) != NULL);            /* NUL after value */
}

AAE_TEST(error_names_position)
{
    const char *m = parse_err("{\n  \"a\": [1,\n  2,,]\n}", 21);
    AAE_CHECK_CONTAINS(m, "line 3, column 5");
}

AAE_TEST(depth_limit)
{
    size_t n = 100000;
    char *s = malloc(n);
    memset(s, '[', n);
    const char *m = parse_err(s, n);
    AAE_CHECK_CONTAINS(m, "nesting deeper");
    free(s);
}

AAE_TEST(duplicates_and_pointer_escape)
{
    aae_json_doc *d = parse_ok("{\"a/b\": 1, \"m~n\": 2, \"a/b\": 3}");
    const aae_json *r = aae_json_root(d);
    AAE_CHECK(aae_json_find_duplicate(r) != NULL);
    AAE_CHECK(aae_json_pointer(r, "/a~1b")->u.num.i == 1);
    AAE_CHECK(aae_json_pointer(r, "/m~0n")->u.num.i == 2);
    char ptr[64] = "";
    aae_json_pointer_push(ptr, sizeof ptr, "model_list");
    aae_json_pointer_push_index(ptr, sizeof ptr, 3);
    aae_json_pointer_push(ptr, sizeof ptr, "a/~b");
    AAE_CHECK_EQ_STR(ptr, "/model_list/3/a~1~0b");
    aae_json_free(d);
}

AAE_TEST(writer_roundtrip)
{
    aae_buf b;
    aae_buf_init(&b);
    const char raw[] = "q\"\\\n\t\x01 \xc3\xa9 \xff end";
    aae_buf_putc(&b, '[');
    aae_buf_json_string(&b, raw, sizeof raw - 1);
    aae_buf_putc(&b, ',');
    aae_buf_json_number(&b, 0.1);
    aae_buf_putc(&b, ',');
    aae_buf_json_number(&b, -3);
    aae_buf_putc(&b, ']');
    AAE_CHECK(aae_buf_ok(&b));
    aae_json_doc *d = parse_ok(b.data);
    AAE_CHECK(d != NULL);
    const aae_json *r = aae_json_root(d);
    AAE_CHECK_EQ_STR(aae_json_str(aae_json_at(r, 0)), "q\"\\\n\t\x01 \xc3\xa9 \xef\xbf\xbd end");
    AAE_CHECK(aae_json_at(r, 1)->u.num.value == 0.1);
    AAE_CHECK(aae_json_at(r, 2)->u.num.i == -3);
    aae_json_free(d);
    aae_buf_free(&b);
}

/* Numbers out of int64's range (and the largest exact integers) are written
 * so that they read back as the same double. */
AAE_TEST(writer_large_numbers)
{
    const double vals[] = {1e33, -1e33, 9.3e18, -9.3e18, 1.7e308, 9.0e15, 8999999999999999.0, -4e-320};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        aae_buf b;
        aae_buf_init(&b);
        aae_buf_putc(&b, '[');
        aae_buf_json_number(&b, vals[i]);
        aae_buf_putc(&b, ']');
        AAE_CHECK(aae_buf_ok(&b));
        aae_json_doc *d = parse_ok(b.data);
        AAE_CHECK(d != NULL);
        if (d)
            AAE_CHECK(aae_json_at(aae_json_root(d), 0)->u.num.value == vals[i]);
        aae_json_free(d);
        aae_buf_free(&b);
    }
}

int main(void) { return aae_test_run_all(); }
