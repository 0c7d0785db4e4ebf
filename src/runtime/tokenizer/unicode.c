/*
 * unicode.c - Unicode normalization (NFC, NFD, NFKC, NFKD, UAX #15) and lookups
 * over the generated tables (see unicode.h).
 *
 * Normalization: decode to code points, decompose (canonical or compatibility,
 * Hangul algorithmically), put combining marks in canonical order (a stable sort
 * by combining class inside each run of non-starters), then for the C forms
 * compose with the primary composites (composition exclusions are left out by the
 * generator) and Hangul L+V(+T).
 */
#include "tokenizer/unicode.h"

#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

enum { SBASE = 0xAC00, LBASE = 0x1100, VBASE = 0x1161, TBASE = 0x11A7, LCOUNT = 19, VCOUNT = 21, TCOUNT = 28 };
#define NCOUNT (VCOUNT * TCOUNT)
#define SCOUNT (LCOUNT * NCOUNT)

uint32_t aae_uc_lower(uint32_t cp)
{
    if (cp < 128)
        return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    size_t lo = 0, hi = aae_uc.lower_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (aae_uc.lower_from[mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < aae_uc.lower_count && aae_uc.lower_from[lo] == cp)
        return aae_uc.lower_to[lo];
    return cp;
}

static const aae_uc_decomp_entry *find_decomp(uint32_t cp, int compat)
{
    const aae_uc_decomp_entry *idx = compat ? aae_uc.compat_index : aae_uc.canon_index;
    size_t lo = 0, hi = compat ? aae_uc.compat_count : aae_uc.canon_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (idx[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = compat ? aae_uc.compat_count : aae_uc.canon_count;
    return lo < n && idx[lo].cp == cp ? &idx[lo] : NULL;
}

static uint32_t compose_pair(uint32_t a, uint32_t b)
{
    if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
        return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
    if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE && b < TBASE + TCOUNT)
        return a + (b - TBASE);
    if (a >= 0x110000 || b >= 0x110000)
        return 0;
    uint64_t key = ((uint64_t)a << 21) | b;
    size_t lo = 0, hi = aae_uc.comp_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (aae_uc.comp_keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < aae_uc.comp_count && aae_uc.comp_keys[lo] == key ? aae_uc.comp_values[lo] : 0;
}

int aae_uc_is_normalized_quick(const char *s, size_t len, aae_uc_form form)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned flag = form == AAE_UC_NFC ? AAE_UC_NFC_QC_NOT_YES : AAE_UC_NFKC_QC_NOT_YES;
    unsigned last_ccc = 0;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            last_ccc = 0;
            continue;
        }
        if (form == AAE_UC_NFD || form == AAE_UC_NFKD)
            return 0;
        uint32_t cp;
        size_t n = aae_utf8_decode(p + i, len - i, &cp);
        if (n == 0)
            return 0;
        i += n;
        if (aae_uc_props(cp) & flag)
            return 0;
        unsigned c = aae_uc_ccc(cp);
        if (c != 0 && last_ccc > c)
            return 0;
        last_ccc = c;
    }
    return 1;
}

/* Appends the full decomposition of cp to cps (capacity checked by the caller: at
 * most 18 code points per character, the longest compatibility decomposition). */
static size_t decompose_one(uint32_t cp, int compat, uint32_t *out)
{
    if (cp >= SBASE && cp < SBASE + SCOUNT) {
        uint32_t si = cp - SBASE;
        out[0] = LBASE + si / NCOUNT;
        out[1] = VBASE + (si % NCOUNT) / TCOUNT;
        if (si % TCOUNT) {
            out[2] = TBASE + si % TCOUNT;
            return 3;
        }
        return 2;
    }
    const aae_uc_decomp_entry *e = cp >= 0xC0 ? find_decomp(cp, compat) : NULL;
    if (!e) {
        out[0] = cp;
        return 1;
    }
    const uint32_t *pool = compat ? aae_uc.compat_pool : aae_uc.canon_pool;
    memcpy(out, pool + e->offset, e->len * sizeof *out);
    return e->len;
}

static void canonical_order(uint32_t *cps, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        unsigned c = aae_uc_ccc(cps[i]);
        if (c == 0)
            continue;
        size_t j = i;
        uint32_t x = cps[i];
        while (j > 0 && aae_uc_ccc(cps[j - 1]) > c) {
            cps[j] = cps[j - 1];
            j--;
        }
        cps[j] = x;
    }
}

static size_t compose(uint32_t *cps, size_t n)
{
    if (n == 0)
        return 0;
    size_t starter = 0, out = 1;
    unsigned last = aae_uc_ccc(cps[0]) ? 256 : 0;
    for (size_t i = 1; i < n; i++) {
        uint32_t ch = cps[i];
        unsigned c = aae_uc_ccc(ch);
        uint32_t comp = compose_pair(cps[starter], ch);
        if (comp && (last < c || last == 0)) {
            cps[starter] = comp;
            continue;
        }
        if (c == 0)
            starter = out;
        last = c;
        cps[out++] = ch;
    }
    return out;
}

#define AAE_UC_MAX_DECOMP 32

void aae_uc_normalize(const char *s, size_t len, aae_uc_form form, aae_buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    int compat = form == AAE_UC_NFKC || form == AAE_UC_NFKD;
    int comp = form == AAE_UC_NFC || form == AAE_UC_NFKC;
    /* Each input byte yields at most AAE_UC_MAX_DECOMP code points. */
    size_t cap = len + AAE_UC_MAX_DECOMP;
    if (cap > SIZE_MAX / 4 / sizeof(uint32_t)) {
        out->oom = 1;
        return;
    }
    cap *= 4; /* worst case: expansions of compatibility decompositions (up to 18) */
    uint32_t *cps = malloc(cap * sizeof *cps);
    if (!cps) {
        out->oom = 1;
        return;
    }
    size_t n = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        size_t k = aae_utf8_decode(p + i, len - i, &cp);
        if (k == 0) { /* invalid input: the caller validated; keep going safely */
            cp = 0xFFFD;
            k = 1;
        }
        i += k;
        if (n + AAE_UC_MAX_DECOMP > cap) {
            size_t ncap = cap * 2;
            uint32_t *ncps = realloc(cps, ncap * sizeof *ncps);
            if (!ncps) {
                free(cps);
                out->oom = 1;
                return;
            }
            cps = ncps;
            cap = ncap;
        }
        n += decompose_one(cp, compat, cps + n);
    }
    canonical_order(cps, n);
    if (comp)
        n = compose(cps, n);
    for (size_t j = 0; j < n; j++) {
        char enc[4];
        size_t k = aae_utf8_encode(cps[j], enc);
        aae_buf_append(out, enc, k);
    }
    free(cps);
}

int aae_uc_gc_from_name(const char *name, size_t len)
{
    static const char names[] = "CnLuLlLtLmLoMnMcMeNdNlNoPcPdPsPePiPfPoSmScSkSoZsZlZpCcCfCsCo";
    if (len == 1 && strchr("LMNPSZC", name[0]))
        return -2 - name[0];
    if (len != 2)
        return -1;
    for (int i = 0; i < AAE_GC_COUNT; i++)
        if (names[2 * i] == name[0] && names[2 * i + 1] == name[1])
            return i;
    return -1;
}
