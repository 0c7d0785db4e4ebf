/* libFuzzer harness: the JSON reader on arbitrary bytes, then a walk of the tree
 * and a re-serialisation of every string. */
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const aae_json *v, aae_buf *b)
{
    size_t n = 1;
    if (v->type == AAE_JSON_STRING)
        aae_buf_json_string(b, v->u.str.s, v->u.str.len);
    else if (v->type == AAE_JSON_NUMBER)
        aae_buf_json_number(b, v->u.num.value);
    for (size_t i = 0; i < aae_json_count(v); i++) {
        if (v->type == AAE_JSON_ARRAY)
            n += walk(aae_json_at(v, i), b);
        else
            n += walk(v->u.obj.members[i].value, b);
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aae_json_doc *doc = NULL;
    aae_error err;
    if (aae_json_parse((const char *)data, size, &doc, &err) == AAE_OK) {
        aae_buf b;
        aae_buf_init(&b);
        walk(aae_json_root(doc), &b);
        aae_json_find_duplicate(aae_json_root(doc));
        aae_json_pointer(aae_json_root(doc), "/a/0/b");
        aae_buf_free(&b);
        aae_json_free(doc);
    }
    return 0;
}
