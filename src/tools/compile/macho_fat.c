/* macho_fat.c - Mach-O universal files (format and rules in macho_fat.h). */
#include "compile/macho_fat.h"

#include <stdio.h>
#include <string.h>

#define HEADER_BYTES 8u
#define ARCH_BYTES 20u

static uint32_t rd_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_be32(aae_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    aae_buf_append(b, x, 4);
}

static void put_zeros(aae_buf *b, size_t n)
{
    static const uint8_t z[256];
    while (n > 0) {
        size_t k = n < sizeof z ? n : sizeof z;
        aae_buf_append(b, z, k);
        n -= k;
    }
}

const char *aae_fat_cpu_name(uint32_t cputype)
{
    static char other[32];
    if (cputype == AAE_MACHO_CPU_ARM64)
        return "arm64";
    if (cputype == AAE_MACHO_CPU_X86_64)
        return "x86_64";
    snprintf(other, sizeof other, "cputype 0x%08x", cputype);
    return other;
}

int aae_fat_is_fat(const uint8_t *data, size_t size)
{
    return size >= HEADER_BYTES && rd_be32(data) == AAE_FAT_MAGIC && rd_be32(data + 4) >= 1 &&
           rd_be32(data + 4) <= AAE_FAT_MAX_ARCHS;
}

aae_status aae_fat_build(const aae_fat_slice *slices, size_t n, aae_buf *out, aae_error *err)
{
    if (n == 0 || n > AAE_FAT_MAX_ARCHS)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "a universal file holds 1..%u slices, not %zu",
                             AAE_FAT_MAX_ARCHS, n);
    const size_t align = (size_t)1 << AAE_FAT_ALIGN_LOG2;
    uint32_t offsets[AAE_FAT_MAX_ARCHS];
    size_t at = HEADER_BYTES + ARCH_BYTES * n;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (slices[j].cputype == slices[i].cputype)
                return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "two %s slices in one universal file",
                                     aae_fat_cpu_name(slices[i].cputype));
        at = (at + align - 1) / align * align;
        if (slices[i].size > UINT32_MAX || at > UINT32_MAX - slices[i].size)
            return aae_error_set(err, AAE_ERR_LIMIT, "universal file over 4 GiB (32-bit offsets)");
        offsets[i] = (uint32_t)at;
        at += slices[i].size;
    }
    size_t start = out->len;
    put_be32(out, AAE_FAT_MAGIC);
    put_be32(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        put_be32(out, slices[i].cputype);
        put_be32(out, slices[i].cpusubtype);
        put_be32(out, offsets[i]);
        put_be32(out, (uint32_t)slices[i].size);
        put_be32(out, AAE_FAT_ALIGN_LOG2);
    }
    for (size_t i = 0; i < n; i++) {
        put_zeros(out, offsets[i] - (out->len - start));
        aae_buf_append(out, slices[i].data, slices[i].size);
    }
    return aae_buf_ok(out) ? AAE_OK : aae_error_set(err, AAE_ERR_NOMEM, "out of memory building a universal file");
}

aae_status aae_fat_read(const uint8_t *data, size_t size, const char *name, aae_fat_slice *out, size_t *n,
                        aae_error *err)
{
    *n = 0;
    if (size < HEADER_BYTES || rd_be32(data) != AAE_FAT_MAGIC)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: not a Mach-O universal file (no 0xcafebabe magic)", name);
    uint32_t count = rd_be32(data + 4);
    if (count == 0 || count > AAE_FAT_MAX_ARCHS || (size - HEADER_BYTES) / ARCH_BYTES < count)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: universal header claims %u slices (file of %zu bytes)", name,
                             count, size);
    size_t table_end = HEADER_BYTES + (size_t)count * ARCH_BYTES;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *a = data + HEADER_BYTES + (size_t)i * ARCH_BYTES;
        aae_fat_slice s = {rd_be32(a), rd_be32(a + 4), NULL, rd_be32(a + 12), rd_be32(a + 16)};
        uint64_t off = rd_be32(a + 8);
        if (s.align > 15 || off % ((uint64_t)1 << s.align) != 0)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: slice %u (%s): offset %llu is not aligned to 2^%u", name,
                                 i, aae_fat_cpu_name(s.cputype), (unsigned long long)off, s.align);
        if (off < table_end || s.size == 0 || off + s.size > size)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: slice %u (%s): bytes %llu..%llu are outside the file's "
                                 "%zu bytes or overlap the header", name, i, aae_fat_cpu_name(s.cputype),
                                 (unsigned long long)off, (unsigned long long)(off + s.size), size);
        s.data = data + off;
        for (uint32_t j = 0; j < i; j++) {
            uint64_t o2 = (uint64_t)(out[j].data - data);
            if (out[j].cputype == s.cputype)
                return aae_error_set(err, AAE_ERR_FORMAT, "%s: two %s slices", name, aae_fat_cpu_name(s.cputype));
            if (off < o2 + out[j].size && o2 < off + s.size)
                return aae_error_set(err, AAE_ERR_FORMAT, "%s: slices %u and %u overlap", name, j, i);
        }
        out[i] = s;
    }
    *n = count;
    return AAE_OK;
}
