/*
 * unicode.h - Unicode character properties and normalization for the tokenizer.
 *
 * The data (aae_uc) is generated at build time by scripts/gen_unicode_tables.py
 * from Debian's unicode-data files (see tokenizer/unicode_tables.cmake).
 */
#ifndef AAE_TOKENIZER_UNICODE_H
#define AAE_TOKENIZER_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* General categories, in the generator's GC_NAMES order. */
enum {
    AAE_GC_CN = 0, AAE_GC_LU, AAE_GC_LL, AAE_GC_LT, AAE_GC_LM, AAE_GC_LO, AAE_GC_MN, AAE_GC_MC, AAE_GC_ME,
    AAE_GC_ND, AAE_GC_NL, AAE_GC_NO, AAE_GC_PC, AAE_GC_PD, AAE_GC_PS, AAE_GC_PE, AAE_GC_PI, AAE_GC_PF,
    AAE_GC_PO, AAE_GC_SM, AAE_GC_SC, AAE_GC_SK, AAE_GC_SO, AAE_GC_ZS, AAE_GC_ZL, AAE_GC_ZP, AAE_GC_CC,
    AAE_GC_CF, AAE_GC_CS, AAE_GC_CO, AAE_GC_COUNT
};

typedef struct aae_uc_decomp_entry {
    uint32_t cp;
    uint32_t offset; /* into the pool */
    uint32_t len;
} aae_uc_decomp_entry;

typedef struct aae_uc_tables {
    const uint16_t *props_stage1;
    const uint16_t (*props_stage2)[256];
    const uint16_t *ccc_stage1;
    const uint8_t (*ccc_stage2)[256];
    const aae_uc_decomp_entry *canon_index;
    size_t canon_count;
    const uint32_t *canon_pool;
    const aae_uc_decomp_entry *compat_index;
    size_t compat_count;
    const uint32_t *compat_pool;
    const uint64_t *comp_keys;
    const uint32_t *comp_values;
    size_t comp_count;
    const uint32_t *lower_from;
    const uint32_t *lower_to;
    size_t lower_count;
} aae_uc_tables;

extern const aae_uc_tables aae_uc;

#define AAE_UC_NFC_QC_NOT_YES 32
#define AAE_UC_NFKC_QC_NOT_YES 64

static inline unsigned aae_uc_props(uint32_t cp)
{
    if (cp >= 0x110000)
        return 0;
    return aae_uc.props_stage2[aae_uc.props_stage1[cp >> 8]][cp & 255];
}
static inline int aae_uc_gc(uint32_t cp) { return (int)(aae_uc_props(cp) & 31); }
static inline unsigned aae_uc_ccc(uint32_t cp)
{
    if (cp >= 0x110000)
        return 0;
    return aae_uc.ccc_stage2[aae_uc.ccc_stage1[cp >> 8]][cp & 255];
}
static inline int aae_uc_is_letter(uint32_t cp)
{
    int g = aae_uc_gc(cp);
    return g >= AAE_GC_LU && g <= AAE_GC_LO;
}
static inline int aae_uc_is_number(uint32_t cp)
{
    int g = aae_uc_gc(cp);
    return g >= AAE_GC_ND && g <= AAE_GC_NO;
}
/* ECMAScript \s: TAB, LF, VT, FF, CR, U+FEFF, U+2028, U+2029 and every Zs. (This is
 * the reference's definition; Rust's \s uses White_Space, which adds U+0085 and drops
 * U+FEFF.) */
static inline int aae_uc_is_space(uint32_t cp)
{
    if (cp < 128)
        return cp == ' ' || (cp >= 9 && cp <= 13);
    return cp == 0xFEFF || cp == 0x2028 || cp == 0x2029 || aae_uc_gc(cp) == AAE_GC_ZS;
}

/* Simple (1:1) lowercase mapping from UnicodeData.txt. */
uint32_t aae_uc_lower(uint32_t cp);

typedef enum aae_uc_form { AAE_UC_NFC, AAE_UC_NFD, AAE_UC_NFKC, AAE_UC_NFKD } aae_uc_form;

/* 1 if the valid UTF-8 text s is certainly already in `form` (a quick check). */
int aae_uc_is_normalized_quick(const char *s, size_t len, aae_uc_form form);
/* Appends the normalization of the valid UTF-8 text s to out. */
void aae_uc_normalize(const char *s, size_t len, aae_uc_form form, aae_buf *out);

/* Name of a general category ("Lu") -> AAE_GC_*, or a one-letter group ("L"): then
 * returns -2 - the group letter. -1 if unknown. */
int aae_uc_gc_from_name(const char *name, size_t len);

#endif
