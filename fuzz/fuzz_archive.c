/* libFuzzer harness: the ar reader (GNU and BSD symbol tables, long names) and the
 * Mach-O universal-file reader (whose slices are ar archives) on arbitrary bytes;
 * every member, symbol and slice they report must lie inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "compile/archive.h"
#include "compile/macho_fat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_archive(const uint8_t *data, size_t size)
{
    aae_archive ar;
    aae_error err;
    if (aae_ar_read(data, size, "fuzz", &ar, &err) != AAE_OK)
        return;
    for (size_t i = 0; i < ar.nmembers; i++)
        if (ar.members[i].data_offset > size || ar.members[i].size > size - ar.members[i].data_offset)
            abort();
    for (size_t i = 0; i < ar.nsyms; i++)
        if (ar.syms[i].member >= ar.nmembers)
            abort();
    aae_ar_free(&ar);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!aae_fat_is_fat(data, size)) {
        read_archive(data, size);
        return 0;
    }
    aae_fat_slice s[AAE_FAT_MAX_ARCHS];
    size_t n = 0;
    aae_error err;
    if (aae_fat_read(data, size, "fuzz", s, &n, &err) != AAE_OK)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].data < data || s[i].size > size || (size_t)(s[i].data - data) > size - s[i].size)
            abort();
        read_archive(s[i].data, s[i].size);
    }
    return 0;
}
