/*
 * macho_fat.h - Mach-O universal ("fat") files: one file holding one slice per CPU
 * type, written and read in our own code (no lipo).
 *
 * Used for libmodel_iphone-simulator.a: the simulator runs arm64 (Apple silicon Macs)
 * and x86_64 (Intel Macs) code, and Xcode links one library per platform, so the two
 * slices' static archives go into one universal file, as `lipo -create` would make.
 *
 * Layout (Apple's <mach-o/fat.h>; every field big-endian, whatever the host):
 *   struct fat_header { uint32 magic = 0xcafebabe (FAT_MAGIC); uint32 nfat_arch; }
 *   struct fat_arch   { uint32 cputype; uint32 cpusubtype; uint32 offset; uint32 size;
 *                       uint32 align; }                 nfat_arch of them, after the header
 *   each slice's bytes at `offset` (a multiple of 2^align), `size` bytes long.
 * cputype: CPU_TYPE_ARM64 = 0x0100000c (subtype CPU_SUBTYPE_ARM64_ALL = 0),
 * CPU_TYPE_X86_64 = 0x01000007 (subtype CPU_SUBTYPE_X86_64_ALL = 3). A slice may be
 * a Mach-O file or a static archive whose members are Mach-O objects of that CPU.
 * We write align 14 (16 KiB, the arm64 page size: enough for every consumer, as ld64
 * maps slices) and zero padding. 0xcafebabe is also Java's class-file magic; a reader
 * tells them apart by nfat_arch being small (Java's minor/major version is large).
 *
 * The reader treats the file as untrusted: the count is bounded, every slice must lie
 * inside the file after the header table, be aligned as it says, not overlap another,
 * and no two slices may have the same CPU type.
 */
#ifndef AAE_TOOLS_MACHO_FAT_H
#define AAE_TOOLS_MACHO_FAT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

#define AAE_FAT_MAGIC 0xcafebabeu
#define AAE_FAT_MAX_ARCHS 16u
#define AAE_FAT_ALIGN_LOG2 14u
#define AAE_MACHO_CPU_ARM64 0x0100000cu
#define AAE_MACHO_CPU_X86_64 0x01000007u
#define AAE_MACHO_SUBTYPE_ARM64_ALL 0u
#define AAE_MACHO_SUBTYPE_X86_64_ALL 3u

typedef struct aae_fat_slice {
    uint32_t cputype;
    uint32_t cpusubtype;
    const uint8_t *data; /* reader: points into the file's bytes */
    size_t size;
    uint32_t align;      /* log2; reader only (the writer uses AAE_FAT_ALIGN_LOG2) */
} aae_fat_slice;

/* 1 if data starts with the fat magic and a plausible slice count. */
int aae_fat_is_fat(const uint8_t *data, size_t size);

/* Appends a universal file of the n slices (1..AAE_FAT_MAX_ARCHS, distinct CPU types) to out. */
aae_status aae_fat_build(const aae_fat_slice *slices, size_t n, aae_buf *out, aae_error *err);

/* Reads the slice table into out (capacity AAE_FAT_MAX_ARCHS). name: for messages. */
aae_status aae_fat_read(const uint8_t *data, size_t size, const char *name, aae_fat_slice *out, size_t *n,
                        aae_error *err);

/* "arm64", "x86_64" or "cputype 0x..." (a static buffer for unknown types). */
const char *aae_fat_cpu_name(uint32_t cputype);

#endif
