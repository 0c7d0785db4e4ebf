/*
 * archive_write.c - writes `ar` archives with a GNU or BSD (Darwin) symbol table.
 *
 * Common layout: "!<arch>\n", then members. A member header is 60 ASCII bytes:
 *   name[16] date[12] uid[6] gid[6] mode[8] (octal) size[10] (decimal) "`\n"
 * padded with spaces; the data follows, padded to an even length with '\n'.
 * We write date 0, uid 0, gid 0 so that the same inputs give the same bytes.
 *
 * GNU: "/" symbol table first: u32 count, count u32 member-header offsets, then the
 *   names, NUL-terminated (all big-endian). Then "//" long names ("name/\n" each,
 *   referenced as "/<offset>") when a name is longer than 15 bytes; short names are
 *   stored as "name/".
 * BSD (Darwin): every name stored as "#1/<len>", the name's bytes (NUL-padded) at the
 *   start of the data and counted in the size; padded so that each member's data
 *   starts, and each member ends, 8-byte aligned. The symbol table is the first
 *   member, named "__.SYMDEF SORTED": u32 ranlib bytes (8 per entry), entries
 *   {u32 string offset, u32 member-header offset} sorted by name (strcmp), u32 string
 *   bytes, the NUL-terminated names (all little-endian: arm64/x86_64 Darwin).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/archive.h"
#include "common/fsutil.h"
#include "compile/objfile.h"

typedef struct sym_ref {
    const char *name;
    size_t member;
} sym_ref;

typedef struct sym_list {
    sym_ref *v;
    size_t n, cap;
    aae_obj_info *infos;
} sym_list;

static size_t pad_to(size_t x, size_t a) { return (a - x % a) % a; }

static void put_be32(aae_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    aae_buf_append(b, x, 4);
}

static void put_le32(aae_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    aae_buf_append(b, x, 4);
}

static void put_header(aae_buf *b, const char *name, const char *mode, size_t size)
{
    char h[96]; /* 60 used: sizes are checked to be below 4 GiB (10 digits) before writing */
    snprintf(h, sizeof h, "%-16.16s%-12s%-6s%-6s%-8s%-10zu`\n", name, "0", "0", "0", mode, size);
    aae_buf_append(b, h, 60);
}

static void free_syms(sym_list *s, size_t n)
{
    if (s->infos)
        for (size_t i = 0; i < n; i++)
            aae_obj_free(&s->infos[i]);
    free(s->infos);
    free(s->v);
}

/* Reads every object member and lists its external defined symbols. */
static aae_status collect_symbols(const aae_ar_input *m, size_t n, sym_list *s, aae_error *err)
{
    s->infos = calloc(n ? n : 1, sizeof *s->infos);
    if (!s->infos)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!aae_obj_is_object(m[i].data, m[i].size))
            continue;
        aae_status st = aae_obj_read(m[i].data, m[i].size, m[i].name, &s->infos[i], err);
        if (st != AAE_OK)
            return st;
        for (size_t k = 0; k < s->infos[i].nsyms; k++) {
            const aae_obj_symbol *y = &s->infos[i].syms[k];
            if (!y->defined || !y->external)
                continue;
            if (s->n == s->cap) {
                size_t nc = s->cap ? s->cap * 2 : 64;
                sym_ref *nv = realloc(s->v, nc * sizeof *nv);
                if (!nv)
                    return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
                s->v = nv;
                s->cap = nc;
            }
            s->v[s->n++] = (sym_ref){y->name, i};
        }
    }
    return AAE_OK;
}

static int cmp_sym(const void *a, const void *b)
{
    const sym_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->member < y->member ? -1 : x->member > y->member;
}

static aae_status check_names(const aae_ar_input *m, size_t n, aae_error *err)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(m[i].name);
        if (len == 0 || len > 1024 || strchr(m[i].name, '/') || strchr(m[i].name, '\n'))
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                                 "archive member name '%s' must be 1-1024 bytes without '/' or newline", m[i].name);
        for (size_t k = 0; k < i; k++)
            if (strcmp(m[i].name, m[k].name) == 0)
                return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "archive member name '%s' appears twice",
                                     m[i].name);
    }
    return AAE_OK;
}

/* ------------------------------------------------------------------ GNU --- */

static aae_status build_gnu(const aae_ar_input *m, size_t n, const sym_list *s, aae_buf *out, aae_error *err)
{
    aae_buf names;
    aae_buf_init(&names);
    size_t *name_off = calloc(n ? n : 1, sizeof *name_off);
    size_t *hdr_off = calloc(n ? n : 1, sizeof *hdr_off);
    if (!name_off || !hdr_off) {
        free(name_off);
        free(hdr_off);
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        name_off[i] = SIZE_MAX;
        if (strlen(m[i].name) > 15) {
            name_off[i] = names.len;
            aae_buf_printf(&names, "%s/\n", m[i].name);
        }
    }
    size_t strbytes = 0;
    for (size_t i = 0; i < s->n; i++)
        strbytes += strlen(s->v[i].name) + 1;
    size_t symsize = 4 + 4 * s->n + strbytes;
    size_t pos = 8 + 60 + symsize + pad_to(symsize, 2);
    if (names.len)
        pos += 60 + names.len + pad_to(names.len, 2);
    for (size_t i = 0; i < n; i++) {
        hdr_off[i] = pos;
        pos += 60 + m[i].size + pad_to(m[i].size, 2);
    }
    aae_status st = AAE_OK;
    if (pos > UINT32_MAX) {
        st = aae_error_set(err, AAE_ERR_LIMIT, "archive would be %zu bytes; the 32-bit symbol table allows 4 GiB",
                           pos);
        goto out;
    }
    aae_buf_append(out, "!<arch>\n", 8);
    put_header(out, "/", "0", symsize);
    put_be32(out, (uint32_t)s->n);
    for (size_t i = 0; i < s->n; i++)
        put_be32(out, (uint32_t)hdr_off[s->v[i].member]);
    for (size_t i = 0; i < s->n; i++)
        aae_buf_append(out, s->v[i].name, strlen(s->v[i].name) + 1);
    if (symsize % 2)
        aae_buf_putc(out, '\n');
    if (names.len) {
        put_header(out, "//", "", names.len);
        aae_buf_append(out, names.data, names.len);
        if (names.len % 2)
            aae_buf_putc(out, '\n');
    }
    for (size_t i = 0; i < n; i++) {
        char nm[32];
        if (name_off[i] != SIZE_MAX)
            snprintf(nm, sizeof nm, "/%zu", name_off[i]);
        else
            snprintf(nm, sizeof nm, "%s/", m[i].name);
        put_header(out, nm, "644", m[i].size);
        aae_buf_append(out, m[i].data, m[i].size);
        if (m[i].size % 2)
            aae_buf_putc(out, '\n');
    }
out:
    aae_buf_free(&names);
    free(name_off);
    free(hdr_off);
    return st;
}

/* ------------------------------------------------------------------ BSD --- */

/* Bytes of the "#1/" name field (name + NUL padding) so that data after a header
 * that starts at an 8-aligned offset is 8-aligned. */
static size_t bsd_name_field(const char *name)
{
    size_t len = strlen(name);
    return len + pad_to(60 + len, 8);
}

static void put_bsd_header(aae_buf *b, const char *name, size_t total_size)
{
    size_t field = bsd_name_field(name);
    char nm[32];
    snprintf(nm, sizeof nm, "#1/%zu", field);
    put_header(b, nm, "644", total_size);
    size_t len = strlen(name);
    aae_buf_append(b, name, len);
    for (size_t i = len; i < field; i++)
        aae_buf_putc(b, '\0');
}

static aae_status build_bsd(const aae_ar_input *m, size_t n, sym_list *s, aae_buf *out, aae_error *err)
{
    static const char *symdef = "__.SYMDEF SORTED";
    if (s->n)
        qsort(s->v, s->n, sizeof *s->v, cmp_sym);
    size_t strbytes = 0;
    for (size_t i = 0; i < s->n; i++)
        strbytes += strlen(s->v[i].name) + 1;
    size_t symdata = 4 + 8 * s->n + 4 + strbytes;
    size_t symfield = bsd_name_field(symdef);
    size_t symtotal = symfield + symdata + pad_to(60 + symfield + symdata, 8);
    size_t *hdr_off = calloc(n ? n : 1, sizeof *hdr_off);
    if (!hdr_off)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    size_t pos = 8 + 60 + symtotal;
    for (size_t i = 0; i < n; i++) {
        hdr_off[i] = pos;
        size_t f = bsd_name_field(m[i].name);
        pos += 60 + f + m[i].size + pad_to(60 + f + m[i].size, 8);
    }
    if (pos > UINT32_MAX || strbytes > UINT32_MAX) {
        free(hdr_off);
        return aae_error_set(err, AAE_ERR_LIMIT, "archive would be %zu bytes; the 32-bit symbol table allows 4 GiB",
                             pos);
    }
    aae_buf_append(out, "!<arch>\n", 8);
    put_bsd_header(out, symdef, symtotal);
    put_le32(out, (uint32_t)(8 * s->n));
    size_t strx = 0;
    for (size_t i = 0; i < s->n; i++) {
        put_le32(out, (uint32_t)strx);
        put_le32(out, (uint32_t)hdr_off[s->v[i].member]);
        strx += strlen(s->v[i].name) + 1;
    }
    put_le32(out, (uint32_t)strbytes);
    for (size_t i = 0; i < s->n; i++)
        aae_buf_append(out, s->v[i].name, strlen(s->v[i].name) + 1);
    for (size_t i = symfield + symdata; i < symtotal; i++)
        aae_buf_putc(out, '\0');
    for (size_t i = 0; i < n; i++) {
        size_t f = bsd_name_field(m[i].name);
        size_t total = f + m[i].size + pad_to(60 + f + m[i].size, 8);
        put_bsd_header(out, m[i].name, total);
        aae_buf_append(out, m[i].data, m[i].size);
        for (size_t k = f + m[i].size; k < total; k++)
            aae_buf_putc(out, '\n');
    }
    free(hdr_off);
    return AAE_OK;
}

aae_status aae_ar_build(aae_ar_kind kind, const aae_ar_input *members, size_t n, aae_buf *out, aae_error *err)
{
    aae_status st = check_names(members, n, err);
    if (st != AAE_OK)
        return st;
    sym_list s = {0};
    st = collect_symbols(members, n, &s, err);
    if (st == AAE_OK)
        st = kind == AAE_AR_BSD ? build_bsd(members, n, &s, out, err) : build_gnu(members, n, &s, out, err);
    free_syms(&s, n);
    if (st == AAE_OK && !aae_buf_ok(out))
        st = aae_error_set(err, AAE_ERR_NOMEM, "out of memory building the archive");
    return st;
}

aae_status aae_ar_write_file(const char *path, aae_ar_kind kind, const aae_ar_input *members, size_t n,
                             aae_error *err)
{
    aae_buf b;
    aae_buf_init(&b);
    aae_status st = aae_ar_build(kind, members, n, &b, err);
    if (st == AAE_OK)
        st = aae_write_file_atomic(path, b.data, b.len, 0644, err);
    aae_buf_free(&b);
    if (st != AAE_OK)
        aae_error_prefix(err, "%s", path);
    return st;
}
