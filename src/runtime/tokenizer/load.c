/*
 * load.c - reads a Hugging Face tokenizer.json (+ tokenizer_config.json) into an
 * aae_tokenizer.
 *
 * tokenizer.json (format "1.0" of the tokenizers library), the parts we read:
 *   "added_tokens": [{"id": int, "content": str, "special": bool, "lstrip": bool,
 *                     "rstrip": bool, "single_word": bool, "normalized": bool}, ...]
 *   "normalizer":   null | {"type": "Sequence", "normalizers": [...]} | NFC | NFD |
 *                   NFKC | NFKD | Lowercase | {"type":"Strip","strip_left","strip_right"}
 *                   | {"type":"Replace","pattern":{"String"|"Regex": str},"content": str}
 *                   | {"type":"Prepend","prepend": str}
 *   "pre_tokenizer": null | Sequence ("pretokenizers") | Split ("pattern", "behavior",
 *                   "invert") | ByteLevel ("add_prefix_space", "use_regex") |
 *                   Metaspace ("replacement", "add_prefix_space", "prepend_scheme") |
 *                   Digits ("individual_digits") | Whitespace | WhitespaceSplit |
 *                   Punctuation
 *   "model":        {"type": "BPE", "vocab": {token: id}, "merges": ["a b", ...] or
 *                   [["a", "b"], ...], "unk_token", "byte_fallback", "fuse_unk",
 *                   "ignore_merges", "continuing_subword_prefix", "end_of_word_suffix"}
 *   "post_processor": null | TemplateProcessing ("single": [{"SpecialToken": {"id"}},
 *                   {"Sequence": {"id": "A"}}], "special_tokens") | ByteLevel |
 *                   BertProcessing / RobertaProcessing ("cls", "sep") | Sequence
 *                   ("processors")
 *   "decoder":      null | Sequence ("decoders") | ByteLevel | ByteFallback | Fuse |
 *                   Metaspace | {"type":"Replace","pattern":{"String"},"content"} |
 *                   {"type":"Strip","content","start","stop"}
 * tokenizer_config.json: "bos_token", "eos_token" (a string or {"content": str}),
 * "additional_special_tokens" (marked special for decoding).
 *
 * Anything else is refused with AAE_ERR_UNSUPPORTED naming the JSON pointer;
 * malformed content (wrong types, ids out of range, merges naming tokens that are
 * not in the vocabulary) with AAE_ERR_FORMAT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/utf8.h"
#include "tokenizer/tok_internal.h"

typedef struct loader {
    aae_tokenizer *tok;
    const char *name; /* file name for messages */
    aae_error *err;
} loader;

#define PTR_MAX 256

static aae_status bad(loader *L, aae_status st, const char *ptr, const char *what)
{
    return aae_error_set(L->err, st, "%s: %s: %s", L->name, ptr[0] ? ptr : "/", what);
}

static aae_status nomem(loader *L) { return aae_error_set(L->err, AAE_ERR_NOMEM, "%s: out of memory", L->name); }

static char *dup_str(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = 0;
    }
    return d;
}

static const char *type_of(const aae_json *o) { return aae_json_str(aae_json_get(o, "type")); }

static int get_bool(const aae_json *o, const char *key, int dflt)
{
    int v = dflt;
    if (!aae_json_get_bool(o, key, dflt, &v))
        return dflt;
    return v;
}

/* ---- patterns ---- */

static aae_status load_pattern(loader *L, const aae_json *p, const char *ptr, tok_pattern *out)
{
    char sub[PTR_MAX];
    const aae_json *s = aae_json_get(p, "String"), *r = aae_json_get(p, "Regex");
    if (aae_json_is(s, AAE_JSON_STRING)) {
        if (s->u.str.len == 0)
            return bad(L, AAE_ERR_FORMAT, ptr, "an empty \"String\" pattern");
        out->str = dup_str(s->u.str.s, s->u.str.len);
        out->len = s->u.str.len;
        return out->str ? AAE_OK : nomem(L);
    }
    if (aae_json_is(r, AAE_JSON_STRING)) {
        aae_error e;
        aae_status st = aae_regex_compile(r->u.str.s, r->u.str.len, &out->re, &e);
        if (st != AAE_OK) {
            snprintf(sub, sizeof sub, "%s/Regex", ptr);
            return aae_error_set(L->err, st, "%s: %s: %s (the tokenizer supports the regex subset of docs/tokenizer.md)",
                                 L->name, sub, e.msg);
        }
        return AAE_OK;
    }
    return bad(L, AAE_ERR_FORMAT, ptr, "expected {\"String\": ...} or {\"Regex\": ...}");
}

/* ---- normalizers ---- */

static void free_normalizer(tok_normalizer *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_kids; i++)
        free_normalizer(&n->kids[i]);
    free(n->kids);
    free(n->text);
    tok_pattern_free(&n->pat);
}

static aae_status load_normalizer(loader *L, const aae_json *j, const char *ptr, tok_normalizer *n, int depth)
{
    char sub[PTR_MAX];
    memset(n, 0, sizeof *n);
    const char *t = type_of(j);
    if (!t)
        return bad(L, AAE_ERR_FORMAT, ptr, "a normalizer needs a string \"type\"");
    if (depth > 8)
        return bad(L, AAE_ERR_UNSUPPORTED, ptr, "normalizers nested too deeply");
    if (strcmp(t, "Sequence") == 0) {
        n->type = NORM_SEQUENCE;
        const aae_json *kids = aae_json_get(j, "normalizers");
        if (!aae_json_is(kids, AAE_JSON_ARRAY))
            return bad(L, AAE_ERR_FORMAT, ptr, "Sequence needs an array \"normalizers\"");
        n->kids = calloc(kids->u.arr.count + 1, sizeof *n->kids);
        if (!n->kids)
            return nomem(L);
        for (size_t i = 0; i < kids->u.arr.count; i++) {
            snprintf(sub, sizeof sub, "%s/normalizers/%zu", ptr, i);
            n->n_kids = i + 1;
            aae_status st = load_normalizer(L, kids->u.arr.items[i], sub, &n->kids[i], depth + 1);
            if (st != AAE_OK)
                return st;
        }
        return AAE_OK;
    }
    if (strcmp(t, "NFC") == 0) { n->type = NORM_NFC; return AAE_OK; }
    if (strcmp(t, "NFD") == 0) { n->type = NORM_NFD; return AAE_OK; }
    if (strcmp(t, "NFKC") == 0) { n->type = NORM_NFKC; return AAE_OK; }
    if (strcmp(t, "NFKD") == 0) { n->type = NORM_NFKD; return AAE_OK; }
    if (strcmp(t, "Lowercase") == 0) { n->type = NORM_LOWERCASE; return AAE_OK; }
    if (strcmp(t, "Strip") == 0) {
        n->type = NORM_STRIP;
        n->left = get_bool(j, "strip_left", 1);
        n->right = get_bool(j, "strip_right", 1);
        return AAE_OK;
    }
    if (strcmp(t, "Prepend") == 0 || strcmp(t, "Replace") == 0) {
        int prep = t[1] == 'r' && t[2] == 'e' && t[3] == 'p';
        n->type = prep ? NORM_PREPEND : NORM_REPLACE;
        const aae_json *c = aae_json_get(j, prep ? "prepend" : "content");
        if (!aae_json_is(c, AAE_JSON_STRING))
            return bad(L, AAE_ERR_FORMAT, ptr, prep ? "Prepend needs a string \"prepend\"" : "Replace needs a string \"content\"");
        n->text = dup_str(c->u.str.s, c->u.str.len);
        n->text_len = c->u.str.len;
        if (!n->text)
            return nomem(L);
        if (!prep) {
            snprintf(sub, sizeof sub, "%s/pattern", ptr);
            return load_pattern(L, aae_json_get(j, "pattern"), sub, &n->pat);
        }
        return AAE_OK;
    }
    snprintf(sub, sizeof sub, "normalizer type \"%.64s\" is not supported (supported: Sequence, NFC, NFD, NFKC, "
                              "NFKD, Lowercase, Strip, Replace, Prepend)", t);
    return bad(L, AAE_ERR_UNSUPPORTED, ptr, sub);
}

/* ---- pre-tokenizers ---- */

static void free_pretok(tok_pretok *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_kids; i++)
        free_pretok(&p->kids[i]);
    free(p->kids);
    tok_pattern_free(&p->pat);
}

/* The GPT-2 pattern ByteLevel uses when use_regex is true. */
static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static aae_status compile_builtin(loader *L, const char *re, tok_pattern *pat)
{
    aae_error e;
    if (aae_regex_compile(re, strlen(re), &pat->re, &e) != AAE_OK)
        return aae_error_set(L->err, AAE_ERR_INTERNAL, "%s: built-in pattern: %s", L->name, e.msg);
    return AAE_OK;
}

static int parse_behavior(const char *b)
{
    static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    for (int i = 0; i < 5; i++)
        if (b && strcmp(b, names[i]) == 0)
            return i;
    return -1;
}

static aae_status load_pretok(loader *L, const aae_json *j, const char *ptr, tok_pretok *p, int depth)
{
    char sub[PTR_MAX];
    memset(p, 0, sizeof *p);
    const char *t = type_of(j);
    if (!t)
        return bad(L, AAE_ERR_FORMAT, ptr, "a pre-tokenizer needs a string \"type\"");
    if (depth > 8)
        return bad(L, AAE_ERR_UNSUPPORTED, ptr, "pre-tokenizers nested too deeply");
    if (strcmp(t, "Sequence") == 0) {
        p->type = PRE_SEQUENCE;
        const aae_json *kids = aae_json_get(j, "pretokenizers");
        if (!aae_json_is(kids, AAE_JSON_ARRAY))
            return bad(L, AAE_ERR_FORMAT, ptr, "Sequence needs an array \"pretokenizers\"");
        p->kids = calloc(kids->u.arr.count + 1, sizeof *p->kids);
        if (!p->kids)
            return nomem(L);
        for (size_t i = 0; i < kids->u.arr.count; i++) {
            snprintf(sub, sizeof sub, "%s/pretokenizers/%zu", ptr, i);
            p->n_kids = i + 1;
            aae_status st = load_pretok(L, kids->u.arr.items[i], sub, &p->kids[i], depth + 1);
            if (st != AAE_OK)
                return st;
        }
        return AAE_OK;
    }
    if (strcmp(t, "Split") == 0) {
        p->type = PRE_SPLIT;
        p->behavior = parse_behavior(aae_json_str(aae_json_get(j, "behavior")));
        if (p->behavior < 0)
            return bad(L, AAE_ERR_FORMAT, ptr, "Split needs \"behavior\": Removed, Isolated, MergedWithPrevious, "
                                               "MergedWithNext or Contiguous");
        p->invert = get_bool(j, "invert", 0);
        snprintf(sub, sizeof sub, "%s/pattern", ptr);
        return load_pattern(L, aae_json_get(j, "pattern"), sub, &p->pat);
    }
    if (strcmp(t, "ByteLevel") == 0) {
        p->type = PRE_BYTELEVEL;
        p->add_prefix_space = get_bool(j, "add_prefix_space", 1);
        p->use_regex = get_bool(j, "use_regex", 1);
        return p->use_regex ? compile_builtin(L, GPT2_PATTERN, &p->pat) : AAE_OK;
    }
    if (strcmp(t, "Metaspace") == 0) {
        p->type = PRE_METASPACE;
        const char *r = aae_json_str(aae_json_get(j, "replacement"));
        if (!r || strlen(r) == 0 || strlen(r) >= sizeof p->replacement)
            return bad(L, AAE_ERR_FORMAT, ptr, "Metaspace needs a one-character \"replacement\"");
        memcpy(p->replacement, r, strlen(r));
        p->replacement_len = strlen(r);
        const char *scheme = aae_json_str(aae_json_get(j, "prepend_scheme"));
        p->prepend_scheme = !scheme || strcmp(scheme, "always") == 0 ? PREPEND_ALWAYS
                          : strcmp(scheme, "first") == 0            ? PREPEND_FIRST
                                                                     : PREPEND_NEVER;
        p->add_prefix_space = get_bool(j, "add_prefix_space", p->prepend_scheme != PREPEND_NEVER);
        return AAE_OK;
    }
    /* The rest are fixed patterns whose matches are the pieces. */
    const char *re = NULL;
    if (strcmp(t, "Digits") == 0)
        re = get_bool(j, "individual_digits", 0) ? "[^\\d]+|\\d" : "[^\\d]+|\\d+";
    else if (strcmp(t, "Whitespace") == 0)
        re = "\\w+|[^\\w\\s]+";
    else if (strcmp(t, "WhitespaceSplit") == 0)
        re = "\\S+";
    else if (strcmp(t, "Punctuation") == 0)
        re = "[^\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E]+|"
             "[\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E]+";
    if (re) {
        p->type = PRE_SPLIT;
        p->invert = 1;
        p->behavior = SPLIT_REMOVED;
        return compile_builtin(L, re, &p->pat);
    }
    snprintf(sub, sizeof sub, "pre-tokenizer type \"%.64s\" is not supported (supported: Sequence, Split, "
                              "ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, Punctuation)", t);
    return bad(L, AAE_ERR_UNSUPPORTED, ptr, sub);
}

/* ---- model ---- */

static aae_status load_vocab(loader *L, const aae_json *model)
{
    const aae_json *vocab = aae_json_get(model, "vocab");
    if (!aae_json_is(vocab, AAE_JSON_OBJECT))
        return bad(L, AAE_ERR_FORMAT, "/model/vocab", "expected an object {token: id}");
    tok_vocab *v = &L->tok->vocab;
    if (!tok_vocab_init(v, vocab->u.obj.count + 1024))
        return nomem(L);
    for (size_t i = 0; i < vocab->u.obj.count; i++) {
        const aae_json_member *m = &vocab->u.obj.members[i];
        if (!aae_json_is(m->value, AAE_JSON_NUMBER) || !m->value->u.num.is_int || m->value->u.num.i < 0 ||
            m->value->u.num.i >= TOK_MAX_IDS) {
            char ptr[PTR_MAX] = "/model/vocab";
            aae_json_pointer_push(ptr, sizeof ptr, m->key);
            return aae_error_set(L->err, AAE_ERR_FORMAT, "%s: %s: expected an integer id in [0, %d)", L->name, ptr,
                                 TOK_MAX_IDS);
        }
        if (!tok_vocab_set(v, m->key, m->key_len, (int32_t)m->value->u.num.i))
            return nomem(L);
    }
    return AAE_OK;
}

static aae_status load_added(loader *L, const aae_json *root)
{
    const aae_json *arr = aae_json_get(root, "added_tokens");
    if (!arr || arr->type == AAE_JSON_NULL)
        return AAE_OK;
    if (!aae_json_is(arr, AAE_JSON_ARRAY))
        return bad(L, AAE_ERR_FORMAT, "/added_tokens", "expected an array");
    aae_tokenizer *tok = L->tok;
    tok->added = calloc(arr->u.arr.count + 1, sizeof *tok->added);
    if (!tok->added)
        return nomem(L);
    for (size_t i = 0; i < arr->u.arr.count; i++) {
        const aae_json *a = arr->u.arr.items[i];
        const aae_json *c = aae_json_get(a, "content"), *id = aae_json_get(a, "id");
        char ptr[PTR_MAX];
        snprintf(ptr, sizeof ptr, "/added_tokens/%zu", i);
        if (!aae_json_is(c, AAE_JSON_STRING) || c->u.str.len == 0)
            return bad(L, AAE_ERR_FORMAT, ptr, "expected a non-empty string \"content\"");
        if (!aae_json_is(id, AAE_JSON_NUMBER) || !id->u.num.is_int || id->u.num.i < 0 || id->u.num.i >= TOK_MAX_IDS)
            return bad(L, AAE_ERR_FORMAT, ptr, "expected an integer \"id\" in [0, 16777216)");
        if (!tok_vocab_set(&tok->vocab, c->u.str.s, c->u.str.len, (int32_t)id->u.num.i))
            return nomem(L);
        tok_added *t = &tok->added[tok->n_added++];
        size_t len;
        const char *s = tok_vocab_str(&tok->vocab, (int32_t)id->u.num.i, &len);
        t->off = (uint32_t)(s - tok->vocab.pool);
        t->len = (uint32_t)len;
        t->id = (int32_t)id->u.num.i;
        t->special = (uint8_t)get_bool(a, "special", 0);
        t->lstrip = (uint8_t)get_bool(a, "lstrip", 0);
        t->rstrip = (uint8_t)get_bool(a, "rstrip", 0);
        t->single_word = (uint8_t)get_bool(a, "single_word", 0);
        t->normalized = (uint8_t)get_bool(a, "normalized", 0);
    }
    return AAE_OK;
}

static aae_status missing_merge_part(loader *L, size_t i, const char *s, size_t len)
{
    return aae_error_set(L->err, AAE_ERR_FORMAT,
                         "%s: /model/merges/%zu: the merge names token \"%.*s\" that is not in the vocabulary",
                         L->name, i, (int)(len > 80 ? 80 : len), s);
}

/* The two sides of merge i ("a b" or ["a", "b"]). */
static aae_status merge_sides(loader *L, const aae_json *m, size_t i, const char **a, size_t *al, const char **b,
                              size_t *bl)
{
    if (aae_json_is(m, AAE_JSON_STRING)) {
        const char *sp = memchr(m->u.str.s, ' ', m->u.str.len);
        if (sp) {
            *a = m->u.str.s;
            *al = (size_t)(sp - *a);
            *b = sp + 1;
            /* like the reference, text after a second space is ignored */
            const char *sp2 = memchr(*b, ' ', m->u.str.len - *al - 1);
            *bl = sp2 ? (size_t)(sp2 - *b) : m->u.str.len - *al - 1;
            return AAE_OK;
        }
    } else if (aae_json_is(m, AAE_JSON_ARRAY) && m->u.arr.count == 2 &&
               aae_json_is(m->u.arr.items[0], AAE_JSON_STRING) && aae_json_is(m->u.arr.items[1], AAE_JSON_STRING)) {
        *a = m->u.arr.items[0]->u.str.s;
        *al = m->u.arr.items[0]->u.str.len;
        *b = m->u.arr.items[1]->u.str.s;
        *bl = m->u.arr.items[1]->u.str.len;
        return AAE_OK;
    }
    char ptr[PTR_MAX];
    snprintf(ptr, sizeof ptr, "/model/merges/%zu", i);
    return bad(L, AAE_ERR_FORMAT, ptr, "expected \"left right\" or [\"left\", \"right\"]");
}

#define MERGE_BATCH 256

typedef struct merge_batch {
    const char *str[3 * MERGE_BATCH];
    size_t len[3 * MERGE_BATCH];
    size_t cat_off[MERGE_BATCH];
    int32_t ids[3 * MERGE_BATCH];
    int32_t a[MERGE_BATCH], b[MERGE_BATCH], m[MERGE_BATCH], rank[MERGE_BATCH];
    aae_buf cat; /* the merged strings, back to back */
} merge_batch;

/* Resolves merges [first, first + n) to ids and adds them. */
static aae_status merge_batch_run(loader *L, const aae_json *merges, size_t first, size_t n, merge_batch *mb)
{
    tok_bpe *bp = &L->tok->bpe;
    aae_buf_reset(&mb->cat);
    for (size_t k = 0; k < n; k++) {
        const char *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;
        aae_status st = merge_sides(L, merges->u.arr.items[first + k], first + k, &a, &al, &b, &bl);
        if (st != AAE_OK)
            return st;
        mb->str[3 * k] = a;
        mb->len[3 * k] = al;
        mb->str[3 * k + 1] = b;
        mb->len[3 * k + 1] = bl;
        if (bp->cont_prefix && bl >= bp->cont_prefix_len && memcmp(b, bp->cont_prefix, bp->cont_prefix_len) == 0) {
            b += bp->cont_prefix_len;
            bl -= bp->cont_prefix_len;
        }
        mb->cat_off[k] = mb->cat.len;
        aae_buf_append(&mb->cat, a, al);
        aae_buf_append(&mb->cat, b, bl);
        mb->len[3 * k + 2] = al + bl;
    }
    if (!aae_buf_ok(&mb->cat))
        return nomem(L);
    for (size_t k = 0; k < n; k++)
        mb->str[3 * k + 2] = mb->cat.data + mb->cat_off[k];
    tok_vocab_find_batch(&L->tok->vocab, mb->str, mb->len, mb->ids, 3 * n);
    for (size_t k = 0; k < n; k++) {
        for (int j = 0; j < 3; j++)
            if (mb->ids[3 * k + j] < 0)
                return missing_merge_part(L, first + k, mb->str[3 * k + j], mb->len[3 * k + j]);
        mb->a[k] = mb->ids[3 * k];
        mb->b[k] = mb->ids[3 * k + 1];
        mb->m[k] = mb->ids[3 * k + 2];
        mb->rank[k] = (int32_t)(first + k);
    }
    tok_merges_add_batch(&bp->merges, mb->a, mb->b, mb->rank, mb->m, n);
    return AAE_OK;
}

static aae_status load_merges(loader *L, const aae_json *model)
{
    const aae_json *merges = aae_json_get(model, "merges");
    tok_bpe *b = &L->tok->bpe;
    size_t n = aae_json_is(merges, AAE_JSON_ARRAY) ? merges->u.arr.count : 0;
    if (merges && merges->type != AAE_JSON_NULL && !aae_json_is(merges, AAE_JSON_ARRAY))
        return bad(L, AAE_ERR_FORMAT, "/model/merges", "expected an array");
    if (n >= INT32_MAX)
        return bad(L, AAE_ERR_LIMIT, "/model/merges", "too many merges");
    if (!tok_merges_init(&b->merges, n + 16))
        return nomem(L);
    merge_batch *mb = malloc(sizeof *mb);
    if (!mb)
        return nomem(L);
    aae_buf_init(&mb->cat);
    aae_status st = AAE_OK;
    for (size_t i = 0; i < n && st == AAE_OK; i += MERGE_BATCH)
        st = merge_batch_run(L, merges, i, n - i < MERGE_BATCH ? n - i : MERGE_BATCH, mb);
    aae_buf_free(&mb->cat);
    free(mb);
    return st;
}

static aae_status opt_affix(loader *L, const aae_json *model, const char *key, char **out, size_t *len)
{
    const aae_json *v = aae_json_get(model, key);
    if (!v || v->type == AAE_JSON_NULL)
        return AAE_OK;
    if (!aae_json_is(v, AAE_JSON_STRING)) {
        char ptr[PTR_MAX] = "/model";
        aae_json_pointer_push(ptr, sizeof ptr, key);
        return bad(L, AAE_ERR_FORMAT, ptr, "expected a string or null");
    }
    if (v->u.str.len == 0)
        return AAE_OK;
    *out = dup_str(v->u.str.s, v->u.str.len);
    *len = v->u.str.len;
    return *out ? AAE_OK : nomem(L);
}

static aae_status load_model(loader *L, const aae_json *root)
{
    const aae_json *model = aae_json_get(root, "model");
    if (!aae_json_is(model, AAE_JSON_OBJECT))
        return bad(L, AAE_ERR_FORMAT, "/model", "expected an object");
    const char *t = type_of(model);
    if (t && strcmp(t, "BPE") != 0) {
        char what[160];
        snprintf(what, sizeof what, "model type \"%.64s\" is not supported (only \"BPE\")", t);
        return bad(L, AAE_ERR_UNSUPPORTED, "/model/type", what);
    }
    if (!t && !aae_json_get(model, "merges"))
        return bad(L, AAE_ERR_UNSUPPORTED, "/model", "a model without \"type\" or \"merges\" (only BPE is supported)");
    aae_tokenizer *tok = L->tok;
    tok_bpe *b = &tok->bpe;
    b->byte_fallback = get_bool(model, "byte_fallback", 0);
    b->fuse_unk = get_bool(model, "fuse_unk", 0);
    b->ignore_merges = get_bool(model, "ignore_merges", 0);
    aae_status st = load_vocab(L, model);
    if (st == AAE_OK)
        st = load_added(L, root);
    if (st == AAE_OK)
        st = opt_affix(L, model, "continuing_subword_prefix", &b->cont_prefix, &b->cont_prefix_len);
    if (st == AAE_OK)
        st = opt_affix(L, model, "end_of_word_suffix", &b->eow_suffix, &b->eow_suffix_len);
    if (st != AAE_OK)
        return st;
    const char *unk = aae_json_str(aae_json_get(model, "unk_token"));
    b->unk_id = unk ? tok_vocab_find(&tok->vocab, unk, strlen(unk)) : -1;
    for (int i = 0; i < 256; i++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", i);
        b->byte_ids[i] = tok_vocab_find(&tok->vocab, name, 6);
    }
    st = load_merges(L, model);
    if (st != AAE_OK)
        return st;
    b->bmp_char_id = malloc(65536 * sizeof *b->bmp_char_id);
    if (!b->bmp_char_id)
        return nomem(L);
    for (size_t i = 0; i < 65536; i++)
        b->bmp_char_id[i] = -1;
    const tok_vocab *v = &tok->vocab;
    for (size_t i = 0; i <= v->mask; i++) {
        const tok_vocab_slot *sl = &v->slots[i];
        uint32_t cp;
        if (sl->id >= 0 && sl->len <= 3 &&
            aae_utf8_decode((const unsigned char *)v->pool + sl->off, sl->len, &cp) == sl->len && cp < 65536)
            b->bmp_char_id[cp] = sl->id;
    }
    tok_bpe_prepare_chunking(tok);
    return AAE_OK;
}

/* ---- post-processor ---- */

static aae_status special_id(loader *L, const aae_json *pp, const char *name, const char *ptr, int32_t *id)
{
    *id = tok_vocab_find(&L->tok->vocab, name, strlen(name));
    if (*id >= 0)
        return AAE_OK;
    const aae_json *ids = aae_json_get(aae_json_get(aae_json_get(pp, "special_tokens"), name), "ids");
    const aae_json *first = aae_json_at(ids, 0);
    if (aae_json_is(first, AAE_JSON_NUMBER) && first->u.num.is_int && first->u.num.i >= 0 &&
        first->u.num.i < L->tok->vocab.n_ids) {
        *id = (int32_t)first->u.num.i;
        return AAE_OK;
    }
    char what[160];
    snprintf(what, sizeof what, "special token \"%.64s\" is not in the vocabulary", name);
    return bad(L, AAE_ERR_FORMAT, ptr, what);
}

static aae_status load_post(loader *L, const aae_json *pp, const char *ptr, int depth)
{
    char sub[PTR_MAX];
    tok_post *post = &L->tok->post;
    if (!pp || pp->type == AAE_JSON_NULL)
        return AAE_OK;
    const char *t = type_of(pp);
    if (!t)
        return bad(L, AAE_ERR_FORMAT, ptr, "a post-processor needs a string \"type\"");
    if (strcmp(t, "ByteLevel") == 0)
        return AAE_OK; /* offsets only */
    if (strcmp(t, "Sequence") == 0 && depth < 4) {
        const aae_json *kids = aae_json_get(pp, "processors");
        for (size_t i = 0; i < aae_json_count(kids); i++) {
            snprintf(sub, sizeof sub, "%s/processors/%zu", ptr, i);
            aae_status st = load_post(L, aae_json_at(kids, i), sub, depth + 1);
            if (st != AAE_OK)
                return st;
        }
        return AAE_OK;
    }
    free(post->single);
    post->single = NULL;
    post->n_single = 0;
    if (strcmp(t, "TemplateProcessing") == 0) {
        const aae_json *single = aae_json_get(pp, "single");
        if (!aae_json_is(single, AAE_JSON_ARRAY))
            return bad(L, AAE_ERR_FORMAT, ptr, "TemplateProcessing needs an array \"single\"");
        post->single = calloc(single->u.arr.count + 1, sizeof *post->single);
        if (!post->single)
            return nomem(L);
        for (size_t i = 0; i < single->u.arr.count; i++) {
            const aae_json *it = single->u.arr.items[i];
            snprintf(sub, sizeof sub, "%s/single/%zu", ptr, i);
            const char *sp = aae_json_str(aae_json_get(aae_json_get(it, "SpecialToken"), "id"));
            const char *seq = aae_json_str(aae_json_get(aae_json_get(it, "Sequence"), "id"));
            if (sp) {
                aae_status st = special_id(L, pp, sp, sub, &post->single[post->n_single]);
                if (st != AAE_OK)
                    return st;
            } else if (seq) {
                post->single[post->n_single] = -1; /* "A" (the text) */
            } else {
                return bad(L, AAE_ERR_FORMAT, sub, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
            }
            post->n_single++;
        }
        post->present = 1;
        return AAE_OK;
    }
    if (strcmp(t, "BertProcessing") == 0 || strcmp(t, "RobertaProcessing") == 0) {
        const char *cls = aae_json_str(aae_json_at(aae_json_get(pp, "cls"), 0));
        const char *sep = aae_json_str(aae_json_at(aae_json_get(pp, "sep"), 0));
        if (!cls || !sep)
            return bad(L, AAE_ERR_FORMAT, ptr, "expected \"cls\" and \"sep\" as [token, id]");
        post->single = calloc(3, sizeof *post->single);
        if (!post->single)
            return nomem(L);
        aae_status st = special_id(L, pp, cls, ptr, &post->single[0]);
        if (st == AAE_OK)
            st = special_id(L, pp, sep, ptr, &post->single[2]);
        post->single[1] = -1;
        post->n_single = 3;
        post->present = 1;
        return st;
    }
    snprintf(sub, sizeof sub, "post-processor type \"%.64s\" is not supported (supported: TemplateProcessing, "
                              "ByteLevel, BertProcessing, RobertaProcessing, Sequence)", t);
    return bad(L, AAE_ERR_UNSUPPORTED, ptr, sub);
}

/* ---- decoder ---- */

void tok_decoder_steps_free(tok_decoder_step *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(d[i].from);
        free(d[i].to);
    }
    free(d);
}

static aae_status add_step(loader *L, tok_decoder_step s)
{
    aae_tokenizer *tok = L->tok;
    tok_decoder_step *nd = realloc(tok->dec, (tok->n_dec + 1) * sizeof *nd);
    if (!nd) {
        free(s.from);
        free(s.to);
        return nomem(L);
    }
    tok->dec = nd;
    tok->dec[tok->n_dec++] = s;
    return AAE_OK;
}

static aae_status load_decoder(loader *L, const aae_json *j, const char *ptr, int depth, int *fused)
{
    char sub[PTR_MAX];
    const char *t = type_of(j);
    if (!t)
        return bad(L, AAE_ERR_FORMAT, ptr, "a decoder needs a string \"type\"");
    tok_decoder_step s;
    memset(&s, 0, sizeof s);
    s.after_fuse = *fused;
    if (strcmp(t, "Sequence") == 0 && depth < 4) {
        const aae_json *kids = aae_json_get(j, "decoders");
        if (!aae_json_is(kids, AAE_JSON_ARRAY))
            return bad(L, AAE_ERR_FORMAT, ptr, "Sequence needs an array \"decoders\"");
        for (size_t i = 0; i < kids->u.arr.count; i++) {
            snprintf(sub, sizeof sub, "%s/decoders/%zu", ptr, i);
            aae_status st = load_decoder(L, kids->u.arr.items[i], sub, depth + 1, fused);
            if (st != AAE_OK)
                return st;
        }
        return AAE_OK;
    }
    if (strcmp(t, "ByteLevel") == 0) {
        s.type = DEC_BYTELEVEL;
    } else if (strcmp(t, "ByteFallback") == 0) {
        s.type = DEC_BYTE_FALLBACK;
    } else if (strcmp(t, "Fuse") == 0) {
        s.type = DEC_FUSE;
        *fused = 1;
    } else if (strcmp(t, "Metaspace") == 0) {
        s.type = DEC_METASPACE;
        const char *r = aae_json_str(aae_json_get(j, "replacement"));
        if (!r || strlen(r) == 0 || strlen(r) >= sizeof s.replacement)
            return bad(L, AAE_ERR_FORMAT, ptr, "Metaspace needs a one-character \"replacement\"");
        memcpy(s.replacement, r, strlen(r));
        s.replacement_len = strlen(r);
        const char *scheme = aae_json_str(aae_json_get(j, "prepend_scheme"));
        s.add_prefix_space = get_bool(j, "add_prefix_space", !scheme || strcmp(scheme, "never") != 0);
    } else if (strcmp(t, "Replace") == 0) {
        s.type = DEC_REPLACE;
        const aae_json *from = aae_json_get(aae_json_get(j, "pattern"), "String");
        const aae_json *to = aae_json_get(j, "content");
        if (!aae_json_is(from, AAE_JSON_STRING) || from->u.str.len == 0 || !aae_json_is(to, AAE_JSON_STRING))
            return bad(L, AAE_ERR_UNSUPPORTED, ptr, "Replace decoders need {\"pattern\": {\"String\": non-empty}, "
                                                    "\"content\": str} (regex patterns are not supported here)");
        s.from = dup_str(from->u.str.s, from->u.str.len);
        s.from_len = from->u.str.len;
        s.to = dup_str(to->u.str.s, to->u.str.len);
        s.to_len = to->u.str.len;
        if (!s.from || !s.to) {
            free(s.from);
            free(s.to);
            return nomem(L);
        }
    } else if (strcmp(t, "Strip") == 0) {
        s.type = DEC_STRIP;
        const char *c = aae_json_str(aae_json_get(j, "content"));
        int64_t start = 0, stop = 0;
        if (!c || aae_utf8_valid_prefix((const unsigned char *)c, strlen(c)) != strlen(c) || strlen(c) == 0 ||
            !aae_json_get_int64(j, "start", 0, &start) || !aae_json_get_int64(j, "stop", 0, &stop) || start < 0 ||
            stop < 0 || start > 1024 || stop > 1024)
            return bad(L, AAE_ERR_FORMAT, ptr, "Strip needs a one-character \"content\" and \"start\"/\"stop\" "
                                               "in [0, 1024]");
        memcpy(s.content, c, strlen(c));
        s.content_len = strlen(c);
        s.start = (int)start;
        s.stop = (int)stop;
    } else {
        snprintf(sub, sizeof sub, "decoder type \"%.64s\" is not supported (supported: Sequence, ByteLevel, "
                                  "ByteFallback, Fuse, Metaspace, Replace, Strip)", t);
        return bad(L, AAE_ERR_UNSUPPORTED, ptr, sub);
    }
    return add_step(L, s);
}

/* ---- added-token trie ---- */

static int trie_edge(tok_trie *t, int32_t node, uint8_t byte, int create, int32_t *n_nodes, size_t max_nodes)
{
    uint64_t h = ((uint64_t)(uint32_t)node * 257 + byte + 1) * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 32) & t->edge_mask;
    while (t->edge_child[i] >= 0) {
        if (t->edge_keys_node[i] == node && t->edge_keys_byte[i] == byte)
            return t->edge_child[i];
        i = (i + 1) & t->edge_mask;
    }
    if (!create || (size_t)*n_nodes >= max_nodes)
        return -1;
    t->edge_keys_node[i] = node;
    t->edge_keys_byte[i] = byte;
    t->edge_child[i] = (*n_nodes)++;
    return t->edge_child[i];
}

int tok_trie_child(const tok_trie *t, int32_t node, uint8_t byte);
int tok_trie_child(const tok_trie *t, int32_t node, uint8_t byte)
{
    return trie_edge((tok_trie *)t, node, byte, 0, NULL, 0);
}

static aae_status build_trie(loader *L)
{
    aae_tokenizer *tok = L->tok;
    tok_trie *t = &tok->trie;
    size_t total = 1;
    for (size_t i = 0; i < tok->n_added; i++)
        total += tok->added[i].len;
    size_t slots = 64;
    while (slots < total * 2)
        slots *= 2;
    t->edge_keys_node = malloc(slots * sizeof *t->edge_keys_node);
    t->edge_keys_byte = malloc(slots);
    t->edge_child = malloc(slots * sizeof *t->edge_child);
    t->terminal = malloc(total * sizeof *t->terminal);
    if (!t->edge_keys_node || !t->edge_keys_byte || !t->edge_child || !t->terminal)
        return nomem(L);
    t->edge_mask = slots - 1;
    for (size_t i = 0; i < slots; i++)
        t->edge_child[i] = -1;
    for (size_t i = 0; i < total; i++)
        t->terminal[i] = -1;
    int32_t n_nodes = 1;
    for (size_t i = 0; i < tok->n_added; i++) {
        const tok_added *a = &tok->added[i];
        const uint8_t *s = (const uint8_t *)tok->vocab.pool + a->off;
        int32_t node = 0;
        for (uint32_t k = 0; k < a->len; k++)
            node = trie_edge(t, node, s[k], 1, &n_nodes, total);
        t->terminal[node] = (int32_t)i; /* a later duplicate content wins, as in a map */
        t->first_byte[s[0]] = 1;
    }
    t->n_nodes = (size_t)n_nodes;
    return AAE_OK;
}

/* ---- config ---- */

static int32_t config_token_id(aae_tokenizer *tok, const aae_json *cfg, const char *key)
{
    const aae_json *v = aae_json_get(cfg, key);
    const char *s = aae_json_str(v);
    if (!s)
        s = aae_json_str(aae_json_get(v, "content"));
    if (!s)
        return -1;
    return tok_vocab_find(&tok->vocab, s, strlen(s));
}

static aae_status load_config(loader *L, const aae_json *cfg)
{
    aae_tokenizer *tok = L->tok;
    tok->bos_id = config_token_id(tok, cfg, "bos_token");
    tok->eos_id = config_token_id(tok, cfg, "eos_token");
    const aae_json *extra = aae_json_get(cfg, "additional_special_tokens");
    for (size_t i = 0; i < aae_json_count(extra); i++) {
        const aae_json *e = aae_json_at(extra, i);
        const char *s = aae_json_str(e);
        if (!s)
            s = aae_json_str(aae_json_get(e, "content"));
        int32_t id = s ? tok_vocab_find(&tok->vocab, s, strlen(s)) : -1;
        if (id >= 0)
            tok->special[id] = 1;
    }
    return AAE_OK;
}

/* ---- entry ---- */

void tok_free_parts(aae_tokenizer *tok);
void tok_free_parts(aae_tokenizer *tok)
{
    tok_vocab_free(&tok->vocab);
    tok_merges_free(&tok->bpe.merges);
    free(tok->bpe.cont_prefix);
    free(tok->bpe.eow_suffix);
    free(tok->bpe.bmp_char_id);
    if (tok->normalizer) {
        free_normalizer(tok->normalizer);
        free(tok->normalizer);
    }
    if (tok->pretok) {
        free_pretok(tok->pretok);
        free(tok->pretok);
    }
    free(tok->post.single);
    tok_decoder_steps_free(tok->dec, tok->n_dec);
    free(tok->added);
    free(tok->trie.edge_keys_node);
    free(tok->trie.edge_keys_byte);
    free(tok->trie.edge_child);
    free(tok->trie.terminal);
    free(tok->special);
    free(tok->is_added);
    free(tok->cache);
}

aae_status tok_load_json(aae_tokenizer *tok, const aae_json *root, const aae_json *cfg, const char *name,
                         aae_error *err);
aae_status tok_load_json(aae_tokenizer *tok, const aae_json *root, const aae_json *cfg, const char *name,
                         aae_error *err)
{
    loader L = {tok, name, err};
    tok->bos_id = tok->eos_id = -1;
    if (!aae_json_is(root, AAE_JSON_OBJECT))
        return bad(&L, AAE_ERR_FORMAT, "", "expected a JSON object (a Hugging Face tokenizer.json)");
    aae_status st = load_model(&L, root);
    if (st != AAE_OK)
        return st;
    const aae_json *norm = aae_json_get(root, "normalizer");
    if (norm && norm->type != AAE_JSON_NULL) {
        tok->normalizer = calloc(1, sizeof *tok->normalizer);
        if (!tok->normalizer)
            return nomem(&L);
        if ((st = load_normalizer(&L, norm, "/normalizer", tok->normalizer, 0)) != AAE_OK)
            return st;
    }
    const aae_json *pre = aae_json_get(root, "pre_tokenizer");
    if (pre && pre->type != AAE_JSON_NULL) {
        tok->pretok = calloc(1, sizeof *tok->pretok);
        if (!tok->pretok)
            return nomem(&L);
        if ((st = load_pretok(&L, pre, "/pre_tokenizer", tok->pretok, 0)) != AAE_OK)
            return st;
    }
    if ((st = load_post(&L, aae_json_get(root, "post_processor"), "/post_processor", 0)) != AAE_OK)
        return st;
    const aae_json *dec = aae_json_get(root, "decoder");
    if (dec && dec->type != AAE_JSON_NULL) {
        int fused = 0;
        tok->has_decoder = 1;
        if ((st = load_decoder(&L, dec, "/decoder", 0, &fused)) != AAE_OK)
            return st;
    }
    if ((st = build_trie(&L)) != AAE_OK)
        return st;
    int32_t n = tok->vocab.n_ids;
    if (n == 0)
        return bad(&L, AAE_ERR_FORMAT, "/model/vocab", "the vocabulary is empty");
    tok->special = calloc((size_t)n, 1);
    tok->is_added = calloc((size_t)n, 1);
    if (!tok->special || !tok->is_added)
        return nomem(&L);
    for (size_t i = 0; i < tok->n_added; i++) {
        tok->is_added[tok->added[i].id] = 1;
        if (tok->added[i].special)
            tok->special[tok->added[i].id] = 1;
    }
    if (cfg && (st = load_config(&L, cfg)) != AAE_OK)
        return st;
    tok->cache = calloc(1, sizeof *tok->cache); /* optional: encode works without it */
    tok->adds_bos = tok->post.present && tok->post.n_single > 0 && tok->post.single[0] >= 0 &&
                    tok->post.single[0] == tok->bos_id;
    return AAE_OK;
}
