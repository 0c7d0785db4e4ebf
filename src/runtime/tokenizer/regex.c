/*
 * regex.c - the tokenizer's regular-expression engine (see regex.h).
 *
 * A pattern is parsed into a small tree, then compiled into a program for a
 * backtracking machine:
 *   CHAR cp | CLASS k | ANY       match one code point
 *   RUN m min max                 greedy run of one-code-point matcher m; backtracks
 *                                 one code point at a time (no stack per character)
 *   SPLIT x y                     try x, on failure y
 *   JMP x | BOL | EOL | MATCH
 *   LOOK sub neg cont             run the sub-program at sub; continue at cont if it
 *                                 matched (neg: if it did not)
 * The machine keeps an explicit, growable stack, so deep inputs cannot overflow the
 * C stack; repeated sub-patterns that can match empty are rejected at compile time,
 * so every loop makes progress.
 */
#include "tokenizer/regex.h"
#include "tokenizer/regex_fast.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "tokenizer/unicode.h"

#define RX_MAX_PATTERN 4096
#define RX_MAX_NODES 8192
#define RX_MAX_PROG 65536
#define RX_MAX_REPEAT 1000

/* ---- classes ---- */

enum { CI_RANGE, CI_GC, CI_SPACE };
typedef struct cls_item {
    uint8_t kind;
    uint8_t neg;
    uint32_t lo, hi;   /* CI_RANGE */
    uint32_t gc_mask;  /* CI_GC: bit per AAE_GC_* */
} cls_item;

typedef struct rx_class {
    size_t first, count; /* items */
    int neg;
    uint32_t ascii[4]; /* final answer for cp < 128 */
} rx_class;

/* ---- tree ---- */

enum { N_EMPTY, N_CHAR, N_CLASS, N_ANY, N_CAT, N_ALT, N_REPEAT, N_LOOK, N_BOL, N_EOL };
typedef struct rx_node {
    int type;
    int kid;  /* first child (CAT, ALT, REPEAT, LOOK) */
    int next; /* next sibling */
    uint32_t cp;
    int cls;
    int min, max; /* REPEAT; max -1 = unbounded */
    int greedy;
    int neg; /* LOOK */
} rx_node;

/* ---- program ---- */

enum { I_CHAR, I_CLASS, I_ANY, I_RUN, I_SPLIT, I_JMP, I_BOL, I_EOL, I_LOOK, I_MATCH };
typedef struct rx_inst {
    uint8_t op;
    uint8_t mop; /* I_RUN: the one-character matcher (I_CHAR, I_CLASS, I_ANY) */
    uint8_t neg;
    int32_t x, y; /* targets; I_CLASS/I_RUN: y = class */
    uint32_t cp;
    int32_t min, max; /* I_RUN; I_LOOK: min = continuation */
} rx_inst;

struct aae_regex {
    cls_item *items;
    size_t n_items, cap_items;
    rx_class *classes;
    size_t n_classes, cap_classes;
    rx_inst *prog;
    size_t n_prog, cap_prog;
    int fast; /* AAE_RX_FAST_*: a hand-written matcher for this exact pattern */
};

typedef struct parser {
    const unsigned char *p;
    size_t len, pos;
    aae_regex *re;
    rx_node *nodes;
    int n_nodes;
    int ci; /* inside (?i:...) */
    aae_error *err;
    aae_status st;
} parser;

static int fail(parser *ps, const char *what)
{
    if (ps->st == AAE_OK)
        ps->st = aae_error_set(ps->err, AAE_ERR_UNSUPPORTED, "regex: %s at offset %zu of the pattern", what,
                               ps->pos);
    return -1;
}

static int new_node(parser *ps, int type)
{
    if (ps->n_nodes >= RX_MAX_NODES)
        return fail(ps, "pattern too complex");
    rx_node *n = &ps->nodes[ps->n_nodes];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->kid = n->next = -1;
    n->cls = -1;
    return ps->n_nodes++;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t nc = *cap ? *cap * 2 : 16;
    while (nc < need)
        nc *= 2;
    void *np = realloc(*p, nc * elem);
    if (!np)
        return 0;
    *p = np;
    *cap = nc;
    return 1;
}

static int add_item(parser *ps, cls_item it)
{
    aae_regex *re = ps->re;
    if (!grow((void **)&re->items, &re->cap_items, re->n_items + 1, sizeof *re->items)) {
        ps->st = aae_error_set(ps->err, AAE_ERR_NOMEM, "regex: out of memory");
        return -1;
    }
    re->items[re->n_items++] = it;
    return 0;
}

static int item_match(const cls_item *it, uint32_t cp)
{
    int m;
    if (it->kind == CI_RANGE)
        m = cp >= it->lo && cp <= it->hi;
    else if (it->kind == CI_GC)
        m = (it->gc_mask >> aae_uc_gc(cp)) & 1;
    else
        m = aae_uc_is_space(cp);
    return m ^ it->neg;
}

static int class_raw(const aae_regex *re, const rx_class *c, uint32_t cp)
{
    for (size_t i = 0; i < c->count; i++)
        if (item_match(&re->items[c->first + i], cp))
            return 1;
    return 0;
}

static inline int class_match(const aae_regex *re, const rx_class *c, uint32_t cp)
{
    if (cp < 128)
        return (c->ascii[cp >> 5] >> (cp & 31)) & 1;
    return class_raw(re, c, cp) ^ c->neg;
}

/* Closes a class whose items are re->items[first..]: computes the ASCII bitmap. */
static int finish_class(parser *ps, size_t first, int neg)
{
    aae_regex *re = ps->re;
    if (!grow((void **)&re->classes, &re->cap_classes, re->n_classes + 1, sizeof *re->classes)) {
        ps->st = aae_error_set(ps->err, AAE_ERR_NOMEM, "regex: out of memory");
        return -1;
    }
    rx_class *c = &re->classes[re->n_classes];
    memset(c, 0, sizeof *c);
    c->first = first;
    c->count = re->n_items - first;
    c->neg = neg;
    int raw[128];
    for (uint32_t cp = 0; cp < 128; cp++)
        raw[cp] = class_raw(re, c, cp);
    if (ps->ci)
        for (uint32_t cp = 'a'; cp <= 'z'; cp++)
            raw[cp] = raw[cp - 32] = raw[cp] | raw[cp - 32];
    for (uint32_t cp = 0; cp < 128; cp++)
        if (raw[cp] ^ neg)
            c->ascii[cp >> 5] |= 1u << (cp & 31);
    return (int)re->n_classes++;
}

static int peek(parser *ps) { return ps->pos < ps->len ? ps->p[ps->pos] : -1; }

static int read_hex(parser *ps, int min_digits, int max_digits, uint32_t *out)
{
    uint32_t v = 0;
    int n = 0;
    while (n < max_digits && ps->pos < ps->len) {
        int c = ps->p[ps->pos], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            break;
        v = v * 16 + (uint32_t)d;
        if (v > 0x10FFFF)
            return fail(ps, "code point out of range");
        ps->pos++;
        n++;
    }
    if (n < min_digits)
        return fail(ps, "bad hexadecimal escape");
    *out = v;
    return 0;
}

/* \p{Name} / \pX after the 'p' or 'P'; adds one item. */
static int parse_property(parser *ps, int neg)
{
    const char *name;
    size_t nlen;
    if (peek(ps) == '{') {
        size_t start = ++ps->pos;
        while (ps->pos < ps->len && ps->p[ps->pos] != '}')
            ps->pos++;
        if (ps->pos >= ps->len)
            return fail(ps, "unterminated \\p{");
        name = (const char *)ps->p + start;
        nlen = ps->pos - start;
        ps->pos++;
    } else if (ps->pos < ps->len) {
        name = (const char *)ps->p + ps->pos;
        nlen = 1;
        ps->pos++;
    } else {
        return fail(ps, "bad \\p");
    }
    /* Accept "General_Category=X" / "gc=X" prefixes. */
    for (size_t i = 0; i < nlen; i++)
        if (name[i] == '=') {
            name += i + 1;
            nlen -= i + 1;
            break;
        }
    int g = aae_uc_gc_from_name(name, nlen);
    if (g == -1) {
        static const struct { const char *n; char g; } longn[] = {
            {"Letter", 'L'}, {"Number", 'N'}, {"Punctuation", 'P'}, {"Symbol", 'S'},
            {"Mark", 'M'}, {"Separator", 'Z'}, {"Other", 'C'}};
        for (size_t i = 0; i < sizeof longn / sizeof longn[0]; i++)
            if (strlen(longn[i].n) == nlen && memcmp(longn[i].n, name, nlen) == 0)
                g = -2 - longn[i].g;
    }
    if (g == -1)
        return fail(ps, "unsupported \\p{} property (general categories only)");
    cls_item it = {CI_GC, (uint8_t)neg, 0, 0, 0};
    if (g >= 0) {
        it.gc_mask = 1u << g;
    } else {
        char letter = (char)(-2 - g);
        static const char names[] = "CnLuLlLtLmLoMnMcMeNdNlNoPcPdPsPePiPfPoSmScSkSoZsZlZpCcCfCsCo";
        for (int i = 0; i < AAE_GC_COUNT; i++)
            if (names[2 * i] == letter)
                it.gc_mask |= 1u << i;
    }
    return add_item(ps, it);
}

/* Parses an escape after '\'. Either adds items to the open class (returns 1) or
 * yields a single code point in *cp (returns 0). -1 on error. */
static int parse_escape(parser *ps, uint32_t *cp, int in_class)
{
    if (ps->pos >= ps->len)
        return fail(ps, "pattern ends with '\\'");
    int c = ps->p[ps->pos++];
    cls_item it = {CI_RANGE, 0, 0, 0, 0};
    switch (c) {
    case 's': case 'S':
        it.kind = CI_SPACE;
        it.neg = c == 'S';
        return add_item(ps, it) < 0 ? -1 : 1;
    case 'd': case 'D':
        it.lo = '0';
        it.hi = '9';
        it.neg = c == 'D';
        return add_item(ps, it) < 0 ? -1 : 1;
    case 'w': case 'W': {
        if (c == 'W') { /* [^A-Za-z0-9_]: complement of four ranges */
            static const uint32_t r[][2] = {{0, '0' - 1}, {'9' + 1, 'A' - 1}, {'Z' + 1, '_' - 1},
                                            {'_' + 1, 'a' - 1}, {'z' + 1, 0x10FFFF}};
            for (size_t i = 0; i < 5; i++) {
                it.lo = r[i][0];
                it.hi = r[i][1];
                if (add_item(ps, it) < 0)
                    return -1;
            }
            return 1;
        }
        static const uint32_t r[][2] = {{'0', '9'}, {'A', 'Z'}, {'a', 'z'}, {'_', '_'}};
        for (size_t i = 0; i < 4; i++) {
            it.lo = r[i][0];
            it.hi = r[i][1];
            if (add_item(ps, it) < 0)
                return -1;
        }
        return 1;
    }
    case 'p': case 'P':
        return parse_property(ps, c == 'P') < 0 ? -1 : 1;
    case 'r': *cp = '\r'; return 0;
    case 'n': *cp = '\n'; return 0;
    case 't': *cp = '\t'; return 0;
    case 'f': *cp = '\f'; return 0;
    case 'v': *cp = '\v'; return 0;
    case '0': *cp = 0; return 0;
    case 'x': case 'u':
        if (peek(ps) == '{') {
            ps->pos++;
            if (read_hex(ps, 1, 6, cp) < 0)
                return -1;
            if (peek(ps) != '}')
                return fail(ps, "expected '}'");
            ps->pos++;
            return 0;
        }
        return read_hex(ps, c == 'x' ? 2 : 4, c == 'x' ? 2 : 4, cp) < 0 ? -1 : 0;
    default:
        if (c < 128 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
            *cp = (uint32_t)c;
            return 0;
        }
        (void)in_class;
        return fail(ps, "unsupported escape");
    }
}

static int read_literal(parser *ps, uint32_t *cp)
{
    size_t n = aae_utf8_decode(ps->p + ps->pos, ps->len - ps->pos, cp);
    if (n == 0)
        return fail(ps, "invalid UTF-8 in pattern");
    ps->pos += n;
    return 0;
}

static int parse_class(parser *ps)
{
    size_t first = ps->re->n_items;
    int neg = 0;
    if (peek(ps) == '^') {
        neg = 1;
        ps->pos++;
    }
    int first_char = 1;
    for (;;) {
        if (ps->pos >= ps->len)
            return fail(ps, "unterminated character class");
        int c = ps->p[ps->pos];
        if (c == ']' && !first_char) {
            ps->pos++;
            break;
        }
        first_char = 0;
        uint32_t lo;
        if (c == '\\') {
            ps->pos++;
            int r = parse_escape(ps, &lo, 1);
            if (r < 0)
                return -1;
            if (r == 1)
                continue;
        } else if (c == '[') {
            return fail(ps, "nested character classes are not supported");
        } else if (read_literal(ps, &lo) < 0) {
            return -1;
        }
        uint32_t hi = lo;
        if (peek(ps) == '-' && ps->pos + 1 < ps->len && ps->p[ps->pos + 1] != ']') {
            ps->pos++;
            if (peek(ps) == '\\') {
                ps->pos++;
                int r = parse_escape(ps, &hi, 1);
                if (r < 0)
                    return -1;
                if (r == 1)
                    return fail(ps, "a class escape cannot end a range");
            } else if (read_literal(ps, &hi) < 0) {
                return -1;
            }
            if (hi < lo)
                return fail(ps, "range out of order");
        }
        cls_item it = {CI_RANGE, 0, lo, hi, 0};
        if (add_item(ps, it) < 0)
            return -1;
    }
    int k = finish_class(ps, first, neg);
    if (k < 0)
        return -1;
    int n = new_node(ps, N_CLASS);
    if (n >= 0)
        ps->nodes[n].cls = k;
    return n;
}

static int parse_alt(parser *ps);

static int single_cp_node(parser *ps, uint32_t cp)
{
    if (ps->ci && cp < 128 && ((cp | 32) >= 'a' && (cp | 32) <= 'z')) {
        size_t first = ps->re->n_items;
        cls_item it = {CI_RANGE, 0, cp, cp, 0};
        if (add_item(ps, it) < 0)
            return -1;
        int k = finish_class(ps, first, 0);
        if (k < 0)
            return -1;
        int n = new_node(ps, N_CLASS);
        if (n >= 0)
            ps->nodes[n].cls = k;
        return n;
    }
    int n = new_node(ps, N_CHAR);
    if (n >= 0)
        ps->nodes[n].cp = cp;
    return n;
}

static int parse_atom(parser *ps)
{
    int c = peek(ps);
    if (c == '(') {
        ps->pos++;
        int saved_ci = ps->ci;
        int look = -1;
        if (peek(ps) == '?') {
            ps->pos++;
            int k = peek(ps);
            if (k == ':') {
                ps->pos++;
            } else if (k == '=' || k == '!') {
                ps->pos++;
                look = k == '!';
            } else if (k == 'i' && ps->pos + 1 < ps->len && ps->p[ps->pos + 1] == ':') {
                ps->pos += 2;
                ps->ci = 1;
            } else {
                return fail(ps, "unsupported group kind");
            }
        }
        int inner = parse_alt(ps);
        ps->ci = saved_ci;
        if (inner < 0)
            return -1;
        if (peek(ps) != ')')
            return fail(ps, "expected ')'");
        ps->pos++;
        if (look >= 0) {
            int n = new_node(ps, N_LOOK);
            if (n < 0)
                return -1;
            ps->nodes[n].kid = inner;
            ps->nodes[n].neg = look;
            return n;
        }
        return inner;
    }
    if (c == '[') {
        ps->pos++;
        return parse_class(ps);
    }
    if (c == '.') {
        ps->pos++;
        return new_node(ps, N_ANY);
    }
    if (c == '^') {
        ps->pos++;
        return new_node(ps, N_BOL);
    }
    if (c == '$') {
        ps->pos++;
        return new_node(ps, N_EOL);
    }
    if (c == '\\') {
        ps->pos++;
        size_t first = ps->re->n_items;
        uint32_t cp;
        int r = parse_escape(ps, &cp, 0);
        if (r < 0)
            return -1;
        if (r == 1) {
            int k = finish_class(ps, first, 0);
            if (k < 0)
                return -1;
            int n = new_node(ps, N_CLASS);
            if (n >= 0)
                ps->nodes[n].cls = k;
            return n;
        }
        return single_cp_node(ps, cp);
    }
    if (c == '*' || c == '+' || c == '?' || c == '{')
        return fail(ps, "quantifier without a target");
    uint32_t cp;
    if (read_literal(ps, &cp) < 0)
        return -1;
    return single_cp_node(ps, cp);
}

static int parse_int(parser *ps, int *out)
{
    int v = 0, n = 0;
    while (ps->pos < ps->len && ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9') {
        v = v * 10 + (ps->p[ps->pos++] - '0');
        if (v > RX_MAX_REPEAT)
            return fail(ps, "repeat count too large");
        n++;
    }
    *out = v;
    return n;
}

static int nullable(const parser *ps, int n)
{
    const rx_node *x = &ps->nodes[n];
    switch (x->type) {
    case N_EMPTY: case N_BOL: case N_EOL: case N_LOOK:
        return 1;
    case N_CAT:
        for (int k = x->kid; k >= 0; k = ps->nodes[k].next)
            if (!nullable(ps, k))
                return 0;
        return 1;
    case N_ALT:
        for (int k = x->kid; k >= 0; k = ps->nodes[k].next)
            if (nullable(ps, k))
                return 1;
        return 0;
    case N_REPEAT:
        return x->min == 0 || nullable(ps, x->kid);
    default:
        return 0;
    }
}

static int parse_repeat(parser *ps)
{
    int atom = parse_atom(ps);
    if (atom < 0)
        return -1;
    for (;;) {
        int c = peek(ps), min, max;
        size_t save = ps->pos;
        if (c == '*') {
            min = 0;
            max = -1;
            ps->pos++;
        } else if (c == '+') {
            min = 1;
            max = -1;
            ps->pos++;
        } else if (c == '?') {
            min = 0;
            max = 1;
            ps->pos++;
        } else if (c == '{') {
            ps->pos++;
            int r = parse_int(ps, &min);
            if (r < 0)
                return -1;
            if (r == 0) { /* a literal '{' (ECMAScript annex B) is not accepted with "u" */
                ps->pos = save;
                return fail(ps, "bad repeat");
            }
            max = min;
            if (peek(ps) == ',') {
                ps->pos++;
                r = parse_int(ps, &max);
                if (r < 0)
                    return -1;
                if (r == 0)
                    max = -1;
            }
            if (peek(ps) != '}')
                return fail(ps, "expected '}'");
            ps->pos++;
            if (max >= 0 && max < min)
                return fail(ps, "repeat range out of order");
        } else {
            return atom;
        }
        int greedy = 1;
        if (peek(ps) == '?') {
            greedy = 0;
            ps->pos++;
        }
        if (max == -1 && nullable(ps, atom))
            return fail(ps, "a repeated sub-pattern that can match empty");
        int n = new_node(ps, N_REPEAT);
        if (n < 0)
            return -1;
        ps->nodes[n].kid = atom;
        ps->nodes[n].min = min;
        ps->nodes[n].max = max;
        ps->nodes[n].greedy = greedy;
        atom = n;
    }
}

static int parse_cat(parser *ps)
{
    int cat = new_node(ps, N_CAT), last = -1;
    if (cat < 0)
        return -1;
    while (ps->pos < ps->len && peek(ps) != '|' && peek(ps) != ')') {
        int a = parse_repeat(ps);
        if (a < 0)
            return -1;
        if (last < 0)
            ps->nodes[cat].kid = a;
        else
            ps->nodes[last].next = a;
        last = a;
    }
    return cat;
}

static int parse_alt(parser *ps)
{
    int first = parse_cat(ps);
    if (first < 0 || peek(ps) != '|')
        return first;
    int alt = new_node(ps, N_ALT), last = first;
    if (alt < 0)
        return -1;
    ps->nodes[alt].kid = first;
    while (peek(ps) == '|') {
        ps->pos++;
        int b = parse_cat(ps);
        if (b < 0)
            return -1;
        ps->nodes[last].next = b;
        last = b;
    }
    return alt;
}

/* ---- code generation ---- */

static int emit(parser *ps, rx_inst in)
{
    aae_regex *re = ps->re;
    if (re->n_prog >= RX_MAX_PROG)
        return fail(ps, "pattern too complex (program too long)");
    if (!grow((void **)&re->prog, &re->cap_prog, re->n_prog + 1, sizeof *re->prog)) {
        ps->st = aae_error_set(ps->err, AAE_ERR_NOMEM, "regex: out of memory");
        return -1;
    }
    re->prog[re->n_prog] = in;
    return (int)re->n_prog++;
}

static int gen(parser *ps, int n);

static int gen_repeat(parser *ps, const rx_node *x)
{
    const rx_node *kid = &ps->nodes[x->kid];
    if (x->greedy && (kid->type == N_CHAR || kid->type == N_CLASS || kid->type == N_ANY)) {
        rx_inst in = {I_RUN, 0, 0, 0, 0, 0, 0, 0};
        in.mop = kid->type == N_CHAR ? I_CHAR : kid->type == N_CLASS ? I_CLASS : I_ANY;
        in.cp = kid->cp;
        in.y = kid->cls;
        in.min = x->min;
        in.max = x->max;
        return emit(ps, in) < 0 ? -1 : 0;
    }
    for (int i = 0; i < x->min; i++)
        if (gen(ps, x->kid) < 0)
            return -1;
    if (x->max == -1) {
        int split = emit(ps, (rx_inst){I_SPLIT, 0, 0, 0, 0, 0, 0, 0});
        if (split < 0 || gen(ps, x->kid) < 0)
            return -1;
        if (emit(ps, (rx_inst){I_JMP, 0, 0, split, 0, 0, 0, 0}) < 0)
            return -1;
        int end = (int)ps->re->n_prog;
        ps->re->prog[split].x = x->greedy ? split + 1 : end;
        ps->re->prog[split].y = x->greedy ? end : split + 1;
        return 0;
    }
    int opt = x->max - x->min;
    int splits[RX_MAX_REPEAT];
    for (int i = 0; i < opt; i++) {
        splits[i] = emit(ps, (rx_inst){I_SPLIT, 0, 0, 0, 0, 0, 0, 0});
        if (splits[i] < 0 || gen(ps, x->kid) < 0)
            return -1;
    }
    int end = (int)ps->re->n_prog;
    for (int i = 0; i < opt; i++) {
        ps->re->prog[splits[i]].x = x->greedy ? splits[i] + 1 : end;
        ps->re->prog[splits[i]].y = x->greedy ? end : splits[i] + 1;
    }
    return 0;
}

static int gen(parser *ps, int n)
{
    const rx_node *x = &ps->nodes[n];
    switch (x->type) {
    case N_EMPTY:
        return 0;
    case N_CHAR:
        return emit(ps, (rx_inst){I_CHAR, 0, 0, 0, 0, x->cp, 0, 0}) < 0 ? -1 : 0;
    case N_CLASS:
        return emit(ps, (rx_inst){I_CLASS, 0, 0, 0, x->cls, 0, 0, 0}) < 0 ? -1 : 0;
    case N_ANY:
        return emit(ps, (rx_inst){I_ANY, 0, 0, 0, 0, 0, 0, 0}) < 0 ? -1 : 0;
    case N_BOL:
        return emit(ps, (rx_inst){I_BOL, 0, 0, 0, 0, 0, 0, 0}) < 0 ? -1 : 0;
    case N_EOL:
        return emit(ps, (rx_inst){I_EOL, 0, 0, 0, 0, 0, 0, 0}) < 0 ? -1 : 0;
    case N_CAT:
        for (int k = x->kid; k >= 0; k = ps->nodes[k].next)
            if (gen(ps, k) < 0)
                return -1;
        return 0;
    case N_ALT: {
        int jumps[256], nj = 0;
        for (int k = x->kid; k >= 0; k = ps->nodes[k].next) {
            int split = -1;
            if (ps->nodes[k].next >= 0) {
                split = emit(ps, (rx_inst){I_SPLIT, 0, 0, 0, 0, 0, 0, 0});
                if (split < 0)
                    return -1;
            }
            if (gen(ps, k) < 0)
                return -1;
            if (split >= 0) {
                if (nj >= 256)
                    return fail(ps, "too many alternatives");
                jumps[nj] = emit(ps, (rx_inst){I_JMP, 0, 0, 0, 0, 0, 0, 0});
                if (jumps[nj++] < 0)
                    return -1;
                ps->re->prog[split].x = split + 1;
                ps->re->prog[split].y = (int)ps->re->n_prog;
            }
        }
        for (int i = 0; i < nj; i++)
            ps->re->prog[jumps[i]].x = (int)ps->re->n_prog;
        return 0;
    }
    case N_REPEAT:
        return gen_repeat(ps, x);
    case N_LOOK: {
        int look = emit(ps, (rx_inst){I_LOOK, 0, (uint8_t)x->neg, 0, 0, 0, 0, 0});
        if (look < 0 || gen(ps, x->kid) < 0 || emit(ps, (rx_inst){I_MATCH, 0, 0, 0, 0, 0, 0, 0}) < 0)
            return -1;
        ps->re->prog[look].x = look + 1;
        ps->re->prog[look].min = (int)ps->re->n_prog;
        return 0;
    }
    default:
        return fail(ps, "internal: unknown node");
    }
}

void aae_regex_free(aae_regex *re)
{
    if (!re)
        return;
    free(re->items);
    free(re->classes);
    free(re->prog);
    free(re);
}

aae_status aae_regex_compile(const char *pattern, size_t len, aae_regex **out, aae_error *err)
{
    if (len > RX_MAX_PATTERN)
        return aae_error_set(err, AAE_ERR_UNSUPPORTED, "regex: pattern longer than %d bytes", RX_MAX_PATTERN);
    aae_regex *re = calloc(1, sizeof *re);
    rx_node *nodes = malloc(RX_MAX_NODES * sizeof *nodes);
    if (!re || !nodes) {
        free(re);
        free(nodes);
        return aae_error_set(err, AAE_ERR_NOMEM, "regex: out of memory");
    }
    parser ps = {(const unsigned char *)pattern, len, 0, re, nodes, 0, 0, err, AAE_OK};
    int root = parse_alt(&ps);
    if (root >= 0 && ps.pos < ps.len)
        root = fail(&ps, "unbalanced ')'");
    if (root >= 0 && gen(&ps, root) == 0)
        emit(&ps, (rx_inst){I_MATCH, 0, 0, 0, 0, 0, 0, 0});
    free(nodes);
    if (ps.st != AAE_OK || root < 0) {
        aae_regex_free(re);
        return ps.st != AAE_OK ? ps.st : aae_error_set(err, AAE_ERR_UNSUPPORTED, "regex: cannot compile");
    }
    re->fast = aae_regex_fast_kind(pattern, len);
    *out = re;
    return AAE_OK;
}

/* ---- matching ---- */

typedef struct frame {
    int32_t pc;
    int32_t run; /* 1: a RUN's backtrack point; pos shrinks toward lo */
    size_t pos, lo;
} frame;

typedef struct vm {
    const aae_regex *re;
    const unsigned char *s;
    size_t len;
    frame *stack;
    size_t sp, cap;
    int oom;
    frame local[128];
} vm;

static inline size_t dec(const unsigned char *s, size_t len, size_t pos, uint32_t *cp)
{
    unsigned c = s[pos];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n = aae_utf8_decode(s + pos, len - pos, cp);
    if (n == 0) { /* not expected: callers validate; treat the byte as U+FFFD */
        *cp = 0xFFFD;
        return 1;
    }
    return n;
}

static inline int one(const vm *m, const rx_inst *in, uint8_t op, uint32_t cp)
{
    if (op == I_CHAR)
        return cp == in->cp;
    if (op == I_CLASS)
        return class_match(m->re, &m->re->classes[in->y], cp);
    return cp != '\n' && cp != '\r' && cp != 0x2028 && cp != 0x2029;
}

static int push(vm *m, frame f)
{
    if (m->sp == m->cap) {
        size_t nc = m->cap * 2;
        frame *ns = m->stack == m->local ? malloc(nc * sizeof *ns) : realloc(m->stack, nc * sizeof *ns);
        if (!ns) {
            m->oom = 1;
            return 0;
        }
        if (m->stack == m->local)
            memcpy(ns, m->local, m->sp * sizeof *ns);
        m->stack = ns;
        m->cap = nc;
    }
    m->stack[m->sp++] = f;
    return 1;
}

static int run(vm *m, int32_t pc0, size_t pos0, size_t *end)
{
    const rx_inst *prog = m->re->prog;
    size_t base = m->sp;
    if (!push(m, (frame){pc0, 0, pos0, 0}))
        return -1;
    while (m->sp > base) {
        frame f = m->stack[--m->sp];
        int32_t pc = f.pc;
        size_t pos = f.pos;
        if (f.run) {
            if (pos <= f.lo)
                continue;
            do
                pos--;
            while (pos > f.lo && (m->s[pos] & 0xC0) == 0x80);
            if (pos > f.lo && !push(m, (frame){pc, 1, pos, f.lo}))
                return -1;
        }
        for (;;) {
            const rx_inst *in = &prog[pc];
            uint32_t cp;
            size_t n;
            switch (in->op) {
            case I_CHAR: case I_CLASS: case I_ANY:
                if (pos >= m->len)
                    goto fail;
                n = dec(m->s, m->len, pos, &cp);
                if (!one(m, in, in->op, cp))
                    goto fail;
                pos += n;
                pc++;
                continue;
            case I_RUN: {
                int count = 0;
                size_t lo = pos;
                while (pos < m->len && (in->max < 0 || count < in->max)) {
                    n = dec(m->s, m->len, pos, &cp);
                    if (!one(m, in, in->mop, cp))
                        break;
                    pos += n;
                    if (++count == in->min)
                        lo = pos;
                }
                if (count < in->min)
                    goto fail;
                if (pos > lo && !push(m, (frame){pc + 1, 1, pos, lo}))
                    return -1;
                pc++;
                continue;
            }
            case I_SPLIT:
                if (!push(m, (frame){in->y, 0, pos, 0}))
                    return -1;
                pc = in->x;
                continue;
            case I_JMP:
                pc = in->x;
                continue;
            case I_BOL:
                if (pos != 0)
                    goto fail;
                pc++;
                continue;
            case I_EOL:
                if (pos != m->len)
                    goto fail;
                pc++;
                continue;
            case I_LOOK: {
                size_t e;
                int r = run(m, in->x, pos, &e);
                if (r < 0)
                    return -1;
                if (r == in->neg)
                    goto fail;
                pc = in->min;
                continue;
            }
            case I_MATCH:
                *end = pos;
                m->sp = base;
                return 1;
            default:
                goto fail;
            }
        }
    fail:;
    }
    return 0;
}

int aae_regex_find(const aae_regex *re, const char *text, size_t len, size_t start, size_t *mstart,
                   size_t *mend)
{
    if (re->fast) {
        if (start >= len)
            return 0;
        *mstart = start;
        *mend = aae_regex_fast_match(re->fast, text, len, start);
        return 1;
    }
    return aae_regex_find_generic(re, text, len, start, mstart, mend);
}

int aae_regex_find_generic(const aae_regex *re, const char *text, size_t len, size_t start, size_t *mstart,
                           size_t *mend)
{
    vm m;
    m.re = re;
    m.s = (const unsigned char *)text;
    m.len = len;
    m.stack = m.local;
    m.sp = 0;
    m.cap = sizeof m.local / sizeof m.local[0];
    m.oom = 0;
    int found = 0;
    for (size_t pos = start; pos <= len;) {
        size_t end;
        int r = run(&m, 0, pos, &end);
        if (r < 0) {
            found = -1;
            break;
        }
        if (r == 1) {
            *mstart = pos;
            *mend = end;
            found = 1;
            break;
        }
        if (pos == len)
            break;
        pos++;
        while (pos < len && (m.s[pos] & 0xC0) == 0x80)
            pos++;
    }
    if (m.stack != m.local)
        free(m.stack);
    return found;
}
