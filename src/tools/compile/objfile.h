/*
 * objfile.h - reads the headers and symbol tables of object files, in our own code.
 *
 * Model libraries are checked by reading what the compiler wrote, never by running
 * host nm/objdump: the format, the machine, the platform (Mach-O), and every symbol
 * with its binding, so that the prefix rule ("every external defined symbol starts
 * with the library's prefix") can be enforced.
 *
 * Supported (little-endian only; what our devices produce):
 *   ELF64    ET_REL / ET_DYN / ET_EXEC, EM_X86_64 or EM_AARCH64, .symtab (else .dynsym)
 *   Mach-O64 MH_OBJECT / MH_DYLIB / MH_EXECUTE, CPU_TYPE_ARM64 or CPU_TYPE_X86_64,
 *            LC_SYMTAB, LC_BUILD_VERSION (or LC_VERSION_MIN_IPHONEOS)
 * The input is untrusted: every offset and count is checked against the buffer.
 * Format facts are documented in objfile_elf.c and objfile_macho.c.
 */
#ifndef AAE_TOOLS_OBJFILE_H
#define AAE_TOOLS_OBJFILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef enum aae_obj_format { AAE_OBJ_UNKNOWN = 0, AAE_OBJ_ELF64, AAE_OBJ_MACHO64 } aae_obj_format;
typedef enum aae_obj_cpu { AAE_OBJ_CPU_UNKNOWN = 0, AAE_OBJ_CPU_X86_64, AAE_OBJ_CPU_AARCH64 } aae_obj_cpu;
typedef enum aae_obj_kind { AAE_OBJK_RELOCATABLE = 0, AAE_OBJK_SHARED, AAE_OBJK_EXECUTABLE, AAE_OBJK_OTHER } aae_obj_kind;

/* Mach-O platforms (LC_BUILD_VERSION). */
#define AAE_MACHO_PLATFORM_MACOS 1
#define AAE_MACHO_PLATFORM_IOS 2
#define AAE_MACHO_PLATFORM_IOSSIMULATOR 7

typedef struct aae_obj_symbol {
    const char *name;   /* as stored (Mach-O names keep their leading '_') */
    const char *c_name; /* the C identifier: Mach-O's leading '_' removed */
    int defined;        /* defined in this file (including common symbols) */
    int external;       /* visible to other files at static link time (global, weak, private extern) */
    int weak;
} aae_obj_symbol;

typedef struct aae_obj_info {
    aae_obj_format format;
    aae_obj_cpu cpu;
    aae_obj_kind kind;
    uint32_t macho_platform; /* 0 when absent */
    uint32_t macho_minos;    /* X.Y.Z as xxxx.yy.zz nibbles, as stored */
    aae_obj_symbol *syms;    /* every named symbol (locals too) */
    size_t nsyms;
    char *strings; /* owned copy of the names */
} aae_obj_info;

/* 1 if data starts like an object file we can read (ELF64 or Mach-O 64, LE). */
int aae_obj_is_object(const uint8_t *data, size_t size);

/* Reads an object. `name` is used in error messages only. */
aae_status aae_obj_read(const uint8_t *data, size_t size, const char *name, aae_obj_info *out, aae_error *err);
aae_status aae_obj_read_file(const char *path, aae_obj_info *out, aae_error *err);
void aae_obj_free(aae_obj_info *info);

const char *aae_obj_format_name(aae_obj_format f); /* "ELF64", "Mach-O 64" */
const char *aae_obj_cpu_name(aae_obj_cpu a);     /* "x86_64", "aarch64" */
const char *aae_macho_platform_name(uint32_t p);   /* "iOS", "iOS simulator", ... */

/* Internal, shared by the two readers. */
aae_status aae_obj_read_elf(const uint8_t *data, size_t size, const char *name, aae_obj_info *out, aae_error *err);
aae_status aae_obj_read_macho(const uint8_t *data, size_t size, const char *name, aae_obj_info *out,
                              aae_error *err);
/* Adds a symbol (name copied later by aae_obj_finish_strings). Returns 0 on allocation failure. */
int aae_obj_push_symbol(aae_obj_info *out, size_t *cap, const char *name, size_t name_len, int defined,
                        int external, int weak);

/* Little-endian reads (no alignment assumed). */
static inline uint16_t aae_rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t aae_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t aae_rd64(const uint8_t *p) { return (uint64_t)aae_rd32(p) | ((uint64_t)aae_rd32(p + 4) << 32); }

#endif
