/* libFuzzer harness: the chat-completions request parser on arbitrary bytes;
 * every accepted request is rendered with every conversation template, and its
 * stop strings are run through the stop matcher over the rendered text. The
 * same bytes are also read as an MLC-LLM conv_template object (from an
 * untrusted mlc-chat-config.json) and, when valid, rendered. */
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/json.h"
#include "engine/conv_mlc.h"
#include "engine/conv_template.h"
#include "engine/request.h"
#include "engine/stop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const aae_chat_request *r)
{
    aae_buf b;
    aae_buf_init(&b);
    for (const char *const *name = aae_conv_template_names(); *name; name++) {
        aae_buf_reset(&b);
        aae_conv_render(aae_conv_template_find(*name), r->messages, r->n_messages, "<s>", "</s>", &b, NULL);
    }
    aae_stop_matcher m;
    aae_stop_init(&m);
    for (size_t i = 0; i < r->n_stop; i++)
        aae_stop_add(&m, r->stop[i], r->stop_len[i], NULL);
    const char *e;
    size_t el;
    for (size_t off = 0; b.data && off < b.len; off += 3) {
        size_t n = b.len - off < 3 ? b.len - off : 3;
        if (aae_stop_push(&m, b.data + off, n, &e, &el))
            break;
    }
    aae_stop_flush(&m, &e, &el);
    aae_stop_free(&m);
    aae_buf_free(&b);
}

static void mlc_object(const uint8_t *data, size_t size)
{
    aae_json_doc *doc = NULL;
    if (aae_json_parse((const char *)data, size, &doc, NULL) != AAE_OK)
        return;
    aae_conv_mlc *t = NULL;
    if (aae_conv_mlc_parse(aae_json_root(doc), "fuzz", &t, NULL) == AAE_OK) {
        static const aae_conv_message msgs[] = {{AAE_ROLE_SYSTEM, "s{system_message}", 17},
                                                {AAE_ROLE_USER, "{user_message}{function_string}", 31},
                                                {AAE_ROLE_ASSISTANT, "a", 1},
                                                {AAE_ROLE_USER, "", 0}};
        aae_buf b;
        aae_buf_init(&b);
        aae_conv_mlc_render(t, msgs, 4, &b, NULL);
        aae_conv_mlc_render(t, msgs + 1, 1, &b, NULL);
        aae_buf_free(&b);
        aae_conv_mlc_free(t);
    }
    aae_json_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aae_chat_request *r = NULL;
    if (aae_chat_request_parse((const char *)data, size, &r, NULL) == AAE_OK) {
        exercise(r);
        aae_chat_request_free(r);
    }
    mlc_object(data, size);
    return 0;
}
