/* libFuzzer harness: the ELF64 and Mach-O 64 readers on arbitrary bytes (the first
 * byte picks which magic is put in front, so both readers get deep coverage). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compile/objfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    uint8_t *buf = malloc(size + 8);
    if (!buf)
        return 0;
    size_t n;
    if (data[0] & 1) {
        memcpy(buf, "\x7f" "ELF\x02\x01\x01\x00", 8);
        memcpy(buf + 8, data + 1, size - 1);
        n = size + 7;
    } else {
        memcpy(buf, "\xcf\xfa\xed\xfe", 4);
        memcpy(buf + 4, data + 1, size - 1);
        n = size + 3;
    }
    aae_obj_info o;
    aae_error err;
    if (aae_obj_read(buf, n, "fuzz", &o, &err) == AAE_OK) {
        for (size_t i = 0; i < o.nsyms; i++)
            if (strlen(o.syms[i].name) >= n)
                abort();
        aae_obj_free(&o);
    }
    free(buf);
    return 0;
}
