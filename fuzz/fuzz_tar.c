/* libFuzzer harness: the ustar reader on arbitrary bytes; every entry must be a safe
 * path and lie inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "compile/tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aae_tar t;
    aae_error err;
    if (aae_tar_read(data, size, "fuzz", &t, &err) != AAE_OK)
        return 0;
    for (size_t i = 0; i < t.n; i++) {
        if (!aae_tar_path_is_safe(t.entries[i].name))
            abort();
        if (t.entries[i].data < data || t.entries[i].size > size - (size_t)(t.entries[i].data - data))
            abort();
    }
    aae_tar_free(&t);
    return 0;
}
