/* libFuzzer harness: the ar reader (GNU and BSD symbol tables, long names) on arbitrary
 * bytes; every member and symbol it reports must lie inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "compile/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aae_archive ar;
    aae_error err;
    if (aae_ar_read(data, size, "fuzz", &ar, &err) != AAE_OK)
        return 0;
    for (size_t i = 0; i < ar.nmembers; i++)
        if (ar.members[i].data_offset > size || ar.members[i].size > size - ar.members[i].data_offset)
            abort();
    for (size_t i = 0; i < ar.nsyms; i++)
        if (ar.syms[i].member >= ar.nmembers)
            abort();
    aae_ar_free(&ar);
    return 0;
}
