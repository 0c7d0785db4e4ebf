/* libFuzzer harness: the safetensors header parser and validator (convert/
 * safetensors.c) on arbitrary bytes; on success every tensor's byte range is read
 * so that ASan would catch a range the validator let through wrongly. */
#include <stddef.h>
#include <stdint.h>

#include "convert/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aae_st_file *f = NULL;
    aae_error err;
    if (aae_st_parse(data, size, "fuzz.safetensors", &f, &err) != AAE_OK)
        return 0;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < aae_st_count(f); i++) {
        const aae_st_tensor *t = aae_st_at(f, i);
        if (t->nbytes)
            sink ^= t->data[0] ^ t->data[t->nbytes - 1];
        (void)aae_st_get(f, t->name);
        (void)aae_st_tensor_check_float(t, &err);
    }
    (void)sink;
    aae_st_close(f);
    return 0;
}
