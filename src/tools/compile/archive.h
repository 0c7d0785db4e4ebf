/*
 * archive.h - `ar` static archives with a symbol table, written and read in our own code.
 *
 * Two dialects, chosen by the object format of the members:
 *   AAE_AR_GNU (ELF, what GNU ld, lld and the NDK's linker read): a "/" symbol-table
 *     member (big-endian u32 count, u32 member offsets, NUL-terminated names) and a
 *     "//" long-name table.
 *   AAE_AR_BSD (Mach-O, what Apple's ld64 reads): a "__.SYMDEF SORTED" member
 *     (little-endian u32 ranlib bytes, {u32 name offset, u32 member offset} pairs
 *     sorted by name, u32 string bytes, strings) and "#1/<len>" names stored in front
 *     of the data; every member's data is 8-byte aligned, as ld64 expects.
 * The symbol table lists every external defined symbol of every object member (read
 * with objfile.h), as `ar s` / ranlib would. Format details: archive.c.
 *
 * The reader accepts both dialects (and archives without a symbol table) and treats
 * the input as untrusted: every header field and offset is checked.
 */
#ifndef AAE_TOOLS_ARCHIVE_H
#define AAE_TOOLS_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

typedef enum aae_ar_kind { AAE_AR_GNU = 0, AAE_AR_BSD = 1 } aae_ar_kind;

typedef struct aae_ar_input {
    const char *name; /* member name (no '/'); unique within the archive */
    const uint8_t *data;
    size_t size;
} aae_ar_input;

/* Builds the archive bytes into out (appended). */
aae_status aae_ar_build(aae_ar_kind kind, const aae_ar_input *members, size_t n, aae_buf *out, aae_error *err);
/* Builds and writes atomically (a temporary file beside path, then rename). */
aae_status aae_ar_write_file(const char *path, aae_ar_kind kind, const aae_ar_input *members, size_t n,
                             aae_error *err);

typedef struct aae_ar_member {
    char *name;
    size_t header_offset; /* offset of the 60-byte member header */
    size_t data_offset;   /* offset of the member's data (after a BSD "#1/" name) */
    size_t size;          /* bytes of data */
} aae_ar_member;

typedef struct aae_ar_symbol {
    char *name;
    size_t member; /* index into members */
} aae_ar_symbol;

typedef struct aae_archive {
    aae_ar_kind kind;   /* the dialect of the symbol table (GNU if there is none) */
    int has_symtab;
    char *symtab_name;  /* "/", "/SYM64/", "__.SYMDEF", "__.SYMDEF SORTED", or NULL */
    aae_ar_member *members; /* regular members, symbol table and long-name table excluded */
    size_t nmembers;
    aae_ar_symbol *syms;
    size_t nsyms;
} aae_archive;

aae_status aae_ar_read(const uint8_t *data, size_t size, const char *name, aae_archive *out, aae_error *err);
aae_status aae_ar_read_file(const char *path, aae_archive *out, aae_error *err);
void aae_ar_free(aae_archive *ar);
/* The symbol-table entry for a symbol name as stored (Mach-O names start with '_'), or NULL. */
const aae_ar_symbol *aae_ar_find_symbol(const aae_archive *ar, const char *name);

#endif
