/* libFuzzer harness: the tensor-cache and chat-config readers on arbitrary bytes;
 * every accepted tensor is looked up again by name. */
#include <stddef.h>
#include <stdint.h>

#include "format/chat_config.h"
#include "format/tensor_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aae_error err;
    aae_tensor_cache *tc = NULL;
    if (aae_tensor_cache_parse((const char *)data, size, "fuzz.json", &tc, &err) == AAE_OK) {
        for (size_t i = 0; i < tc->n_tensors; i++)
            if (aae_tensor_cache_find(tc, tc->tensors[i].name) != &tc->tensors[i])
                __builtin_trap();
        aae_tensor_cache_free(tc);
    }
    aae_chat_config *cfg = NULL;
    if (aae_chat_config_parse((const char *)data, size, "fuzz.json", &cfg, &err) == AAE_OK)
        aae_chat_config_free(cfg);
    return 0;
}
