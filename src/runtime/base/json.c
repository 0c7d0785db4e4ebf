/*
 * json.c - strict JSON reader. Recursive descent with an explicit depth limit;
 * every node, string and member array lives in one arena freed at once.
 * Children of an array/object are collected on a shared scratch stack and copied
 * into the arena when the container closes, so a parse does O(log n) mallocs.
 */
#include "base/json.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/utf8.h"

/* ---- arena ---- */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
} arena_block;

struct aae_json_doc {
    arena_block *blocks;
    aae_json *root;
};

static void *arena_alloc(aae_json_doc *d, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    arena_block *b = d->blocks;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > (1u << 20) ? size : (1u << 20);
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = d->blocks;
        d->blocks = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    return p;
}

/* ---- parser ---- */

typedef struct parser {
    const char *s;
    size_t len, pos;
    uint32_t line;
    size_t line_start;
    aae_json_doc *doc;
    aae_error *err;
    /* scratch stack of child pointers / members */
    void **stack;
    size_t sp, scap;
    char decimal_point;
} parser;

static aae_status perr(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static aae_status perr(parser *p, size_t at, const char *fmt, ...)
{
    /* recompute line/column for `at` (at >= line_start of current line or earlier) */
    uint32_t line = 1;
    size_t ls = 0;
    for (size_t i = 0; i < at && i < p->len; i++)
        if (p->s[i] == '\n') {
            line++;
            ls = i + 1;
        }
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return aae_error_set(p->err, AAE_ERR_FORMAT, "line %u, column %zu (byte %zu): %s", line, at - ls + 1,
                         at, what);
}

static void skip_ws(parser *p)
{
    /* Hot: pretty-printed files are mostly indentation. Work on locals so the
     * compiler keeps them in registers, with a tight loop over runs of spaces. */
    const char *s = p->s;
    size_t pos = p->pos, len = p->len;
    for (;;) {
        while (pos < len && s[pos] == ' ')
            pos++;
        if (pos >= len)
            break;
        char c = s[pos];
        if (c == '\n') {
            pos++;
            p->line++;
            p->line_start = pos;
        } else if (c == '\t' || c == '\r') {
            pos++;
        } else {
            break;
        }
    }
    p->pos = pos;
}

static aae_json *new_node(parser *p, aae_json_type t, size_t at)
{
    aae_json *v = arena_alloc(p->doc, sizeof *v);
    if (!v)
        return NULL;
    memset(v, 0, sizeof *v);
    v->type = t;
    v->offset = at;
    v->line = p->line;
    v->col = (uint32_t)(at - p->line_start + 1);
    return v;
}

static int push(parser *p, void *x)
{
    if (p->sp == p->scap) {
        size_t nc = p->scap ? p->scap * 2 : 256;
        void **ns = realloc(p->stack, nc * sizeof *ns);
        if (!ns)
            return 0;
        p->stack = ns;
        p->scap = nc;
    }
    p->stack[p->sp++] = x;
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *p, size_t at, uint32_t *out)
{
    if (at + 4 > p->len)
        return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[at + i]);
        if (h < 0)
            return 0;
        v = (v << 4) | (uint32_t)h;
    }
    *out = v;
    return 1;
}

/* Parses a string starting at the opening quote; stores arena copy. */
static aae_status parse_string(parser *p, const char **out, size_t *out_len)
{
    size_t start = p->pos; /* at '"' */
    size_t i = start + 1;
    /* fast scan: find end and whether escapes exist */
    int has_escape = 0;
    while (i < p->len) {
        unsigned char c = (unsigned char)p->s[i];
        if (c == '"')
            break;
        if (c == '\\') {
            has_escape = 1;
            i += 2;
            continue;
        }
        if (c < 0x20)
            return perr(p, i, "control character 0x%02x inside a string: write it as an escape such as \\n or \\u00%02x", c, c);
        if (c >= 0x80) {
            size_t n = aae_utf8_valid_prefix((const unsigned char *)p->s + i, p->len - i);
            if (!n)
                return perr(p, i, "invalid UTF-8 byte inside a string");
            i += n;
            continue;
        }
        i++;
    }
    if (i >= p->len)
        return perr(p, start, "unterminated string (no closing quote before the end of the input)");
    size_t raw_len = i - (start + 1);
    char *dst = arena_alloc(p->doc, raw_len + 1);
    if (!dst)
        return aae_error_set(p->err, AAE_ERR_NOMEM, "out of memory while parsing JSON");
    if (!has_escape) {
        memcpy(dst, p->s + start + 1, raw_len);
        dst[raw_len] = '\0';
        *out = dst;
        *out_len = raw_len;
        p->pos = i + 1;
        return AAE_OK;
    }
    size_t o = 0;
    size_t j = start + 1;
    while (j < i) {
        char c = p->s[j];
        if (c != '\\') {
            dst[o++] = c;
            j++;
            continue;
        }
        if (j + 1 >= i + 1)
            return perr(p, j, "bad escape at end of string");
        char e = p->s[j + 1];
        switch (e) {
        case '"': dst[o++] = '"'; j += 2; break;
        case '\\': dst[o++] = '\\'; j += 2; break;
        case '/': dst[o++] = '/'; j += 2; break;
        case 'b': dst[o++] = '\b'; j += 2; break;
        case 'f': dst[o++] = '\f'; j += 2; break;
        case 'n': dst[o++] = '\n'; j += 2; break;
        case 'r': dst[o++] = '\r'; j += 2; break;
        case 't': dst[o++] = '\t'; j += 2; break;
        case 'u': {
            uint32_t cp;
            if (!read_hex4(p, j + 2, &cp) || j + 6 > i)
                return perr(p, j, "\\u must be followed by four hex digits");
            size_t esc_at = j;
            j += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (j + 6 <= i && p->s[j] == '\\' && p->s[j + 1] == 'u' && read_hex4(p, j + 2, &lo) &&
                    lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    j += 6;
                } else {
                    return perr(p, esc_at, "lone high surrogate escape (not valid Unicode)");
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return perr(p, esc_at, "lone low surrogate escape (not valid Unicode)");
            }
            char enc[4];
            size_t n = aae_utf8_encode(cp, enc);
            memcpy(dst + o, enc, n); /* \uXXXX (6 bytes) always >= encoded length */
            o += n;
            break;
        }
        default:
            return perr(p, j, "unknown escape sequence in string");
        }
    }
    dst[o] = '\0';
    *out = dst;
    *out_len = o;
    p->pos = i + 1;
    return AAE_OK;
}

static aae_status parse_number(parser *p, aae_json *v)
{
    size_t start = p->pos, i = p->pos;
    int is_int = 1;
    if (i < p->len && p->s[i] == '-')
        i++;
    if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
        return perr(p, start, "expected a digit in number");
    if (p->s[i] == '0') {
        i++;
        if (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
            return perr(p, start, "numbers may not have leading zeros");
    } else {
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
    }
    if (i < p->len && p->s[i] == '.') {
        is_int = 0;
        i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
            return perr(p, i, "expected a digit after the decimal point");
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        is_int = 0;
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
            return perr(p, i, "expected a digit in the exponent");
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
    }
    size_t n = i - start;
    if (is_int && n <= 18) {
        /* Fast path: up to 18 digits always fit in int64; the double is the
         * correctly rounded conversion of that integer, as strtod would give. */
        size_t k = start;
        int neg = p->s[k] == '-';
        if (neg)
            k++;
        int64_t acc = 0;
        for (; k < i; k++)
            acc = acc * 10 + (p->s[k] - '0');
        acc = neg ? -acc : acc;
        v->u.num.i = acc;
        v->u.num.value = (double)acc;
        v->u.num.is_int = 1;
        p->pos = i;
        return AAE_OK;
    }
    char small[64];
    char *tmp = n < sizeof small ? small : malloc(n + 1);
    if (!tmp)
        return aae_error_set(p->err, AAE_ERR_NOMEM, "out of memory while parsing JSON");
    memcpy(tmp, p->s + start, n);
    tmp[n] = '\0';
    v->u.num.is_int = 0;
    if (is_int) {
        errno = 0;
        long long ll = strtoll(tmp, NULL, 10);
        if (errno == 0) {
            v->u.num.is_int = 1;
            v->u.num.i = ll;
        }
    }
    if (p->decimal_point != '.')
        for (size_t k = 0; k < n; k++)
            if (tmp[k] == '.')
                tmp[k] = p->decimal_point;
    v->u.num.value = strtod(tmp, NULL);
    if (tmp != small)
        free(tmp);
    p->pos = i;
    return AAE_OK;
}

static aae_status parse_value(parser *p, aae_json **out, int depth);

static aae_status parse_array(parser *p, aae_json *v, int depth)
{
    p->pos++; /* '[' */
    size_t base = p->sp;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return AAE_OK;
    }
    for (;;) {
        aae_json *child;
        aae_status st = parse_value(p, &child, depth + 1);
        if (st)
            return st;
        if (!push(p, child))
            return aae_error_set(p->err, AAE_ERR_NOMEM, "out of memory while parsing JSON");
        skip_ws(p);
        if (p->pos >= p->len)
            return perr(p, p->pos, "unexpected end of input inside an array: expected ',' or ']'");
        char c = p->s[p->pos];
        if (c == ',') {
            p->pos++;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ']')
                return perr(p, p->pos, "trailing comma before ']'");
            continue;
        }
        if (c == ']') {
            p->pos++;
            break;
        }
        return perr(p, p->pos, "expected ',' or ']' in array");
    }
    size_t n = p->sp - base;
    aae_json **items = arena_alloc(p->doc, n * sizeof *items);
    if (!items)
        return aae_error_set(p->err, AAE_ERR_NOMEM, "out of memory while parsing JSON");
    memcpy(items, p->stack + base, n * sizeof *items);
    p->sp = base;
    v->u.arr.items = items;
    v->u.arr.count = n;
    return AAE_OK;
}

static aae_status parse_object(parser *p, aae_json *v, int depth)
{
    p->pos++; /* '{' */
    size_t base = p->sp;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return AAE_OK;
    }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->len)
            return perr(p, p->pos, "unexpected end of input inside an object: expected a key");
        if (p->s[p->pos] != '"')
            return perr(p, p->pos, "expected a quoted key in object");
        aae_json_member *m = arena_alloc(p->doc, sizeof *m);
        if (!m)
            return aae_error_set(p->err, AAE_ERR_NOMEM, "out of memory while parsing JSON");
        aae_status st = parse_string(p, &m->key, &m->key_len);
        if (st)
            return st;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':')
            return perr(p, p->pos, "expected ':' after object key");
        p->pos++;
        st = parse_value(p, &m->value, depth + 1);
        if (st)
            return st;
        if (!push(p, m))
            return aae_error_set(p->err, AAE_ERR_NOMEM, "out of memory while parsing JSON");
        skip_ws(p);
        if (p->pos >= p->len)
            return perr(p, p->pos, "unexpected end of input inside an object: expected ',' or '}'");
        char c = p->s[p->pos];
        if (c == ',') {
            p->pos++;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == '}')
                return perr(p, p->pos, "trailing comma before '}'");
            continue;
        }
        if (c == '}') {
            p->pos++;
            break;
        }
        return perr(p, p->pos, "expected ',' or '}' in object");
    }
    size_t n = p->sp - base;
    aae_json_member *members = arena_alloc(p->doc, n * sizeof *members);
    if (!members)
        return aae_error_set(p->err, AAE_ERR_NOMEM, "out of memory while parsing JSON");
    for (size_t k = 0; k < n; k++)
        members[k] = *(aae_json_member *)p->stack[base + k];
    p->sp = base;
    v->u.obj.members = members;
    v->u.obj.count = n;
    return AAE_OK;
}

static int match_lit(parser *p, const char *lit)
{
    size_t n = strlen(lit);
    if (p->len - p->pos >= n && memcmp(p->s + p->pos, lit, n) == 0) {
        p->pos += n;
        return 1;
    }
    return 0;
}

static aae_status parse_value(parser *p, aae_json **out, int depth)
{
    if (depth > AAE_JSON_MAX_DEPTH)
        return perr(p, p->pos, "nesting deeper than 512 levels");
    skip_ws(p);
    if (p->pos >= p->len)
        return perr(p, p->pos, "unexpected end of input: expected a value");
    size_t at = p->pos;
    char c = p->s[at];
    aae_json *v;
    aae_status st = AAE_OK;
    switch (c) {
    case '{':
        if (!(v = new_node(p, AAE_JSON_OBJECT, at)))
            goto oom;
        st = parse_object(p, v, depth);
        break;
    case '[':
        if (!(v = new_node(p, AAE_JSON_ARRAY, at)))
            goto oom;
        st = parse_array(p, v, depth);
        break;
    case '"':
        if (!(v = new_node(p, AAE_JSON_STRING, at)))
            goto oom;
        st = parse_string(p, &v->u.str.s, &v->u.str.len);
        break;
    case 't':
    case 'f':
        if (!(v = new_node(p, AAE_JSON_BOOL, at)))
            goto oom;
        if (match_lit(p, "true"))
            v->u.boolean = 1;
        else if (match_lit(p, "false"))
            v->u.boolean = 0;
        else
            return perr(p, at, "unknown literal (expected true, false, null, a number, a string, '[' or '{')");
        break;
    case 'n':
        if (!(v = new_node(p, AAE_JSON_NULL, at)))
            goto oom;
        if (!match_lit(p, "null"))
            return perr(p, at, "unknown literal (expected true, false, null, a number, a string, '[' or '{')");
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            if (!(v = new_node(p, AAE_JSON_NUMBER, at)))
                goto oom;
            st = parse_number(p, v);
        } else {
            return perr(p, at, "unexpected character: expected a value (string, number, object, array, true, false or null)");
        }
    }
    if (st)
        return st;
    *out = v;
    return AAE_OK;
oom:
    return aae_error_set(p->err, AAE_ERR_NOMEM, "out of memory while parsing JSON");
}

aae_status aae_json_parse(const char *text, size_t len, aae_json_doc **out, aae_error *err)
{
    if (!text && len)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "NULL JSON text");
    aae_json_doc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory while parsing JSON");
    parser p = {.s = text, .len = len, .line = 1, .doc = doc, .err = err, .decimal_point = '.'};
    const struct lconv *lc = localeconv();
    if (lc && lc->decimal_point && lc->decimal_point[0])
        p.decimal_point = lc->decimal_point[0];
    /* A UTF-8 byte order mark is tolerated, as many editors write one. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = p.line_start = 3;
    aae_json *root = NULL;
    aae_status st = parse_value(&p, &root, 0);
    if (!st) {
        skip_ws(&p);
        if (p.pos != p.len)
            st = perr(&p, p.pos, "unexpected data after the end of the JSON value");
    }
    free(p.stack);
    if (st) {
        aae_json_free(doc);
        return st;
    }
    doc->root = root;
    *out = doc;
    return AAE_OK;
}

aae_status aae_json_parse_file(const char *path, aae_json_doc **out, aae_error *err)
{
    char *data;
    size_t len;
    aae_status st = aae_read_file(path, AAE_JSON_FILE_MAX, &data, &len, err);
    if (st)
        return st;
    st = aae_json_parse(data, len, out, err);
    free(data);
    if (st)
        aae_error_prefix(err, "%s", path);
    return st;
}

const aae_json *aae_json_root(const aae_json_doc *doc) { return doc ? doc->root : NULL; }

void aae_json_free(aae_json_doc *doc)
{
    if (!doc)
        return;
    arena_block *b = doc->blocks;
    while (b) {
        arena_block *n = b->next;
        free(b);
        b = n;
    }
    free(doc);
}

/* ---- accessors ---- */

const aae_json *aae_json_get(const aae_json *obj, const char *key)
{
    if (!obj || obj->type != AAE_JSON_OBJECT)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < obj->u.obj.count; i++) {
        const aae_json_member *m = &obj->u.obj.members[i];
        if (m->key_len == kl && memcmp(m->key, key, kl) == 0)
            return m->value;
    }
    return NULL;
}

const aae_json *aae_json_at(const aae_json *arr, size_t i)
{
    if (!arr || arr->type != AAE_JSON_ARRAY || i >= arr->u.arr.count)
        return NULL;
    return arr->u.arr.items[i];
}

size_t aae_json_count(const aae_json *v)
{
    if (!v)
        return 0;
    if (v->type == AAE_JSON_ARRAY)
        return v->u.arr.count;
    if (v->type == AAE_JSON_OBJECT)
        return v->u.obj.count;
    return 0;
}

const char *aae_json_str(const aae_json *v) { return v && v->type == AAE_JSON_STRING ? v->u.str.s : NULL; }

int aae_json_is(const aae_json *v, aae_json_type t) { return v && v->type == t; }

int aae_json_get_int64(const aae_json *obj, const char *key, int64_t dflt, int64_t *out)
{
    const aae_json *v = aae_json_get(obj, key);
    if (!v || v->type == AAE_JSON_NULL) {
        *out = dflt;
        return 1;
    }
    if (v->type != AAE_JSON_NUMBER || !v->u.num.is_int)
        return 0;
    *out = v->u.num.i;
    return 1;
}

int aae_json_get_double(const aae_json *obj, const char *key, double dflt, double *out)
{
    const aae_json *v = aae_json_get(obj, key);
    if (!v || v->type == AAE_JSON_NULL) {
        *out = dflt;
        return 1;
    }
    if (v->type != AAE_JSON_NUMBER)
        return 0;
    *out = v->u.num.value;
    return 1;
}

int aae_json_get_bool(const aae_json *obj, const char *key, int dflt, int *out)
{
    const aae_json *v = aae_json_get(obj, key);
    if (!v || v->type == AAE_JSON_NULL) {
        *out = dflt;
        return 1;
    }
    if (v->type != AAE_JSON_BOOL)
        return 0;
    *out = v->u.boolean;
    return 1;
}

const aae_json_member *aae_json_find_duplicate(const aae_json *obj)
{
    if (!obj || obj->type != AAE_JSON_OBJECT)
        return NULL;
    /* Objects we validate this way are small (configs); quadratic is fine. */
    for (size_t i = 1; i < obj->u.obj.count; i++)
        for (size_t j = 0; j < i; j++) {
            const aae_json_member *a = &obj->u.obj.members[i], *b = &obj->u.obj.members[j];
            if (a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0)
                return a;
        }
    return NULL;
}

const aae_json *aae_json_pointer(const aae_json *root, const char *ptr)
{
    const aae_json *cur = root;
    if (!ptr || !*ptr)
        return cur;
    if (*ptr != '/')
        return NULL;
    char tok[1024];
    while (cur && *ptr == '/') {
        ptr++;
        size_t n = 0;
        while (*ptr && *ptr != '/') {
            char c = *ptr++;
            if (c == '~') {
                if (*ptr == '0')
                    c = '~';
                else if (*ptr == '1')
                    c = '/';
                else
                    return NULL;
                ptr++;
            }
            if (n + 1 >= sizeof tok)
                return NULL;
            tok[n++] = c;
        }
        tok[n] = '\0';
        if (cur->type == AAE_JSON_OBJECT) {
            cur = aae_json_get(cur, tok);
        } else if (cur->type == AAE_JSON_ARRAY) {
            char *end;
            if (n == 0 || (n > 1 && tok[0] == '0'))
                return NULL;
            unsigned long long idx = strtoull(tok, &end, 10);
            if (*end || tok[0] == '-' || tok[0] == '+')
                return NULL;
            cur = aae_json_at(cur, (size_t)idx);
        } else {
            return NULL;
        }
    }
    return cur;
}

void aae_json_pointer_push(char *buf, size_t cap, const char *token)
{
    size_t n = strlen(buf);
    if (n + 1 >= cap)
        return;
    buf[n++] = '/';
    for (const char *t = token; *t && n + 1 < cap; t++) {
        if (*t == '~' || *t == '/') {
            if (n + 2 >= cap)
                break;
            buf[n++] = '~';
            buf[n++] = *t == '~' ? '0' : '1';
        } else {
            buf[n++] = *t;
        }
    }
    buf[n] = '\0';
}

void aae_json_pointer_push_index(char *buf, size_t cap, size_t index)
{
    char t[32];
    snprintf(t, sizeof t, "%zu", index);
    aae_json_pointer_push(buf, cap, t);
}

const char *aae_json_type_name(aae_json_type t)
{
    switch (t) {
    case AAE_JSON_NULL: return "null";
    case AAE_JSON_BOOL: return "a boolean";
    case AAE_JSON_NUMBER: return "a number";
    case AAE_JSON_STRING: return "a string";
    case AAE_JSON_ARRAY: return "an array";
    case AAE_JSON_OBJECT: return "an object";
    }
    return "unknown";
}
