/* libFuzzer harness: arbitrary bytes as a tokenizer.json (loader, then encode and
 * decode of a fixed text with whatever loaded). Must never crash or leak; errors
 * must come with a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sphere_aae.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[512];
    msg[0] = 0;
    aae_tokenizer *tok = NULL;
    aae_status st = aae_tokenizer_load_memory((const char *)data, size, NULL, 0, &tok, msg, sizeof msg);
    if (st != AAE_OK) {
        if (tok || msg[0] == 0)
            abort(); /* a failure leaves no handle and always says why */
        return 0;
    }
    static const char text[] = "Hello  world, it's 2024!\n\t<s> caf\xC3\xA9 \xE4\xB8\x96\xF0\x9F\x98\x80 'LL";
    int32_t *ids = NULL;
    size_t n = 0;
    for (uint32_t flags = 0; flags < 2; flags++) {
        if (aae_tokenizer_encode_alloc(tok, text, sizeof text - 1, flags, &ids, &n) != AAE_OK)
            continue;
        char *out = NULL;
        size_t len = 0;
        if (aae_tokenizer_decode(tok, ids, n, flags, &out, &len) == AAE_OK)
            aae_tokenizer_free(out);
        aae_tokenizer_free(ids);
    }
    for (int32_t id = -1; id < 300 && id <= aae_tokenizer_vocab_size(tok); id++) {
        const char *t;
        size_t tl;
        if (aae_tokenizer_id_to_token(tok, id, &t, &tl) == AAE_OK) {
            int32_t back;
            if (aae_tokenizer_token_to_id(tok, t, tl, &back) != AAE_OK)
                abort();
        }
    }
    aae_tokenizer_destroy(tok);
    return 0;
}
