/*
 * archive_read.c - reads `ar` archives: members and the symbol table (GNU or BSD).
 *
 * See archive_write.c for the layout. Names the reader understands:
 *   "/"                GNU symbol table (u32 BE count, offsets, names)
 *   "/SYM64/"          GNU 64-bit symbol table (u64 BE count, offsets, names)
 *   "//"               GNU long-name table; members then use "/<offset>"
 *   "name/"            GNU short name
 *   "#1/<len>"         BSD: the name is the first <len> bytes of the data (NUL-padded)
 *   "__.SYMDEF", "__.SYMDEF SORTED"  BSD symbol tables (u32 LE ranlib bytes,
 *                      {u32 strx, u32 offset} entries, u32 string bytes, strings)
 *   anything else      a plain name, trailing spaces removed
 * Every symbol's member offset must be the header offset of a member we read.
 */
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "compile/archive.h"
#include "compile/objfile.h"

#define MAX_MEMBERS 1000000u

typedef struct raw_member {
    char name[16];
    size_t hdr, data, size;
} raw_member;

static int parse_dec(const char *f, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && f[i] == ' ')
        i++;
    size_t start = i;
    for (; i < n && f[i] >= '0' && f[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(f[i] - '0');
    }
    if (i == start)
        return 0;
    for (; i < n; i++)
        if (f[i] != ' ')
            return 0;
    *out = v;
    return 1;
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void aae_ar_free(aae_archive *ar)
{
    if (!ar)
        return;
    for (size_t i = 0; i < ar->nmembers; i++)
        free(ar->members[i].name);
    for (size_t i = 0; i < ar->nsyms; i++)
        free(ar->syms[i].name);
    free(ar->members);
    free(ar->syms);
    free(ar->symtab_name);
    memset(ar, 0, sizeof *ar);
}

static aae_status fail(aae_archive *ar, aae_error *err, aae_status st)
{
    aae_ar_free(ar);
    return st == AAE_ERR_NOMEM ? aae_error_set(err, st, "out of memory reading an archive") : st;
}

static int add_symbol(aae_archive *ar, size_t *cap, const char *name, size_t len, uint64_t hdr_off)
{
    if (ar->nsyms == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        aae_ar_symbol *n = realloc(ar->syms, nc * sizeof *n);
        if (!n)
            return 0;
        ar->syms = n;
        *cap = nc;
    }
    char *d = dup_n(name, len);
    if (!d)
        return 0;
    /* The member index is resolved after all members are known; keep the offset. */
    ar->syms[ar->nsyms++] = (aae_ar_symbol){d, (size_t)hdr_off};
    return 1;
}

static aae_status parse_gnu_symtab(const uint8_t *p, size_t n, int is64, const char *name, aae_archive *ar,
                                   aae_error *err)
{
    size_t w = is64 ? 8 : 4;
    if (n < w)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: symbol table of %zu bytes is too short", name, n);
    uint64_t count = is64 ? ((uint64_t)be32(p) << 32 | be32(p + 4)) : be32(p);
    if (count > (n - w) / w)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: symbol table claims %llu entries; it has room for %zu", name,
                             (unsigned long long)count, (n - w) / w);
    const char *s = (const char *)p + w + count * w, *end = (const char *)p + n;
    size_t cap = 0;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *e = p + w + i * w;
        uint64_t off = is64 ? ((uint64_t)be32(e) << 32 | be32(e + 4)) : be32(e);
        const char *nul = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
        if (!nul)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: symbol table name %llu runs past the table", name,
                                 (unsigned long long)i);
        if (!add_symbol(ar, &cap, s, (size_t)(nul - s), off))
            return AAE_ERR_NOMEM;
        s = nul + 1;
    }
    return AAE_OK;
}

static aae_status parse_bsd_symtab(const uint8_t *p, size_t n, const char *name, aae_archive *ar, aae_error *err)
{
    if (n < 8)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: __.SYMDEF of %zu bytes is too short", name, n);
    uint64_t rbytes = aae_rd32(p);
    if (rbytes % 8 || rbytes > n - 8)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: __.SYMDEF ranlib size %llu does not fit its %zu bytes", name,
                             (unsigned long long)rbytes, n);
    uint64_t sbytes = aae_rd32(p + 4 + rbytes);
    if (sbytes > n - 8 - rbytes)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: __.SYMDEF string size %llu does not fit its %zu bytes", name,
                             (unsigned long long)sbytes, n);
    const char *strs = (const char *)p + 8 + rbytes;
    size_t cap = 0;
    for (uint64_t i = 0; i < rbytes / 8; i++) {
        uint32_t strx = aae_rd32(p + 4 + i * 8), off = aae_rd32(p + 8 + i * 8);
        const char *nul = strx < sbytes ? memchr(strs + strx, '\0', (size_t)(sbytes - strx)) : NULL;
        if (!nul)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: __.SYMDEF entry %llu names string offset %u, outside the "
                                 "%llu-byte string table", name, (unsigned long long)i, strx,
                                 (unsigned long long)sbytes);
        if (!add_symbol(ar, &cap, strs + strx, (size_t)(nul - (strs + strx)), off))
            return AAE_ERR_NOMEM;
    }
    return AAE_OK;
}

static aae_status member_name(const uint8_t *d, size_t size, const char *an, const uint8_t *hdr, size_t *data_off,
                              size_t *data_size, const uint8_t *longnames, size_t longlen, char **out,
                              aae_error *err)
{
    const char *f = (const char *)hdr;
    size_t hoff = (size_t)(hdr - d);
    if (memcmp(f, "#1/", 3) == 0) {
        uint64_t len;
        if (!parse_dec(f + 3, 13, &len) || len > *data_size)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: member at byte %zu: BSD name length '%.13s' is not a "
                                 "number within the member's %zu bytes", an, hoff, f + 3, *data_size);
        const char *nm = (const char *)d + *data_off;
        *out = dup_n(nm, strnlen(nm, (size_t)len));
        *data_off += (size_t)len;
        *data_size -= (size_t)len;
        return *out ? AAE_OK : AAE_ERR_NOMEM;
    }
    if (f[0] == '/' && f[1] >= '0' && f[1] <= '9') {
        uint64_t off;
        if (!parse_dec(f + 1, 15, &off) || !longnames || off >= longlen)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: member at byte %zu: long name reference '%.16s' is "
                                 "outside the '//' table (%zu bytes)", an, hoff, f, longlen);
        const char *s = (const char *)longnames + off;
        size_t k = 0;
        while (off + k < longlen && s[k] != '\n' && s[k] != '\0')
            k++;
        if (k > 0 && s[k - 1] == '/')
            k--;
        *out = dup_n(s, k);
        return *out ? AAE_OK : AAE_ERR_NOMEM;
    }
    size_t k = 16;
    while (k > 0 && f[k - 1] == ' ')
        k--;
    if (k > 0 && f[k - 1] == '/')
        k--;
    (void)size;
    *out = dup_n(f, k);
    return *out ? AAE_OK : AAE_ERR_NOMEM;
}

/* Maps each symbol's member-header offset to a member index. */
static aae_status resolve_symbols(aae_archive *ar, const char *name, aae_error *err)
{
    for (size_t i = 0; i < ar->nsyms; i++) {
        size_t off = ar->syms[i].member, lo = 0, hi = ar->nmembers;
        while (lo < hi) { /* members are in file order: binary search by header offset */
            size_t mid = lo + (hi - lo) / 2;
            if (ar->members[mid].header_offset < off)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == ar->nmembers || ar->members[lo].header_offset != off)
            return aae_error_set(err, AAE_ERR_FORMAT,
                                 "%s: symbol '%s' points at byte %zu, which is not the start of a member", name,
                                 ar->syms[i].name, off);
        ar->syms[i].member = lo;
    }
    return AAE_OK;
}

aae_status aae_ar_read(const uint8_t *d, size_t size, const char *name, aae_archive *ar, aae_error *err)
{
    memset(ar, 0, sizeof *ar);
    if (size < 8 || memcmp(d, "!<arch>\n", 8) != 0)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: not an ar archive (expected \"!<arch>\\n\" at byte 0)", name);
    const uint8_t *longnames = NULL, *symtab = NULL;
    size_t longlen = 0, symlen = 0, mcap = 0;
    int sym_kind = -1;
    size_t pos = 8;
    while (pos < size) {
        if (size - pos < 60)
            return fail(ar, err, aae_error_set(err, AAE_ERR_FORMAT, "%s: truncated member header at byte %zu", name, pos));
        const uint8_t *h = d + pos;
        uint64_t msize;
        if (h[58] != '`' || h[59] != '\n' || !parse_dec((const char *)h + 48, 10, &msize))
            return fail(ar, err, aae_error_set(err, AAE_ERR_FORMAT, "%s: member header at byte %zu is malformed "
                                               "(size field '%.10s', terminator must be \"`\\n\")",
                                               name, pos, (const char *)h + 48));
        if (msize > size - pos - 60)
            return fail(ar, err, aae_error_set(err, AAE_ERR_FORMAT, "%s: member at byte %zu claims %llu bytes; only "
                                               "%zu remain", name, pos, (unsigned long long)msize, size - pos - 60));
        size_t doff = pos + 60, dsize = (size_t)msize;
        char *mname = NULL;
        if (memcmp(h, "/               ", 16) == 0 || memcmp(h, "/SYM64/         ", 16) == 0) {
            if (!symtab) {
                symtab = d + doff;
                symlen = dsize;
                sym_kind = h[1] == 'S' ? 2 : 0;
                ar->symtab_name = dup_n((const char *)h, h[1] == 'S' ? 7 : 1);
            }
        } else if (memcmp(h, "//              ", 16) == 0) {
            longnames = d + doff;
            longlen = dsize;
        } else {
            aae_status st = member_name(d, size, name, h, &doff, &dsize, longnames, longlen, &mname, err);
            if (st != AAE_OK)
                return fail(ar, err, st);
            if (!symtab && ar->nmembers == 0 && strncmp(mname, "__.SYMDEF", 9) == 0) {
                symtab = d + doff;
                symlen = dsize;
                sym_kind = 1;
                ar->symtab_name = mname;
            } else {
                if (ar->nmembers == mcap) {
                    size_t nc = mcap ? mcap * 2 : 16;
                    aae_ar_member *nm = nc <= MAX_MEMBERS ? realloc(ar->members, nc * sizeof *nm) : NULL;
                    if (!nm) {
                        free(mname);
                        return fail(ar, err, nc > MAX_MEMBERS ? aae_error_set(err, AAE_ERR_LIMIT,
                                                                "%s: more than %u members", name, MAX_MEMBERS)
                                                              : AAE_ERR_NOMEM);
                    }
                    ar->members = nm;
                    mcap = nc;
                }
                ar->members[ar->nmembers++] = (aae_ar_member){mname, pos, doff, dsize};
            }
        }
        pos += 60 + (size_t)msize;
        if (pos % 2 && pos < size)
            pos++;
    }
    if (!ar->symtab_name && symtab)
        return fail(ar, err, AAE_ERR_NOMEM);
    ar->has_symtab = symtab != NULL;
    ar->kind = sym_kind == 1 ? AAE_AR_BSD : AAE_AR_GNU;
    aae_status st = AAE_OK;
    if (symtab)
        st = sym_kind == 1 ? parse_bsd_symtab(symtab, symlen, name, ar, err)
                           : parse_gnu_symtab(symtab, symlen, sym_kind == 2, name, ar, err);
    if (st == AAE_OK)
        st = resolve_symbols(ar, name, err);
    return st == AAE_OK ? AAE_OK : fail(ar, err, st);
}

aae_status aae_ar_read_file(const char *path, aae_archive *out, aae_error *err)
{
    aae_mmap m;
    aae_status st = aae_mmap_file(path, &m, err);
    if (st != AAE_OK)
        return st;
    st = aae_ar_read(m.data, m.size, path, out, err);
    aae_munmap(&m);
    return st;
}

const aae_ar_symbol *aae_ar_find_symbol(const aae_archive *ar, const char *name)
{
    for (size_t i = 0; i < ar->nsyms; i++)
        if (strcmp(ar->syms[i].name, name) == 0)
            return &ar->syms[i];
    return NULL;
}
