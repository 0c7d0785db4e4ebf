/*
 * json.h - a strict JSON (RFC 8259) reader for untrusted input.
 *
 * aae_json_parse builds a read-only tree in one arena owned by the document.
 * Strict: no comments, no trailing commas, no NaN, valid UTF-8 only, no lone
 * surrogates, nesting at most AAE_JSON_MAX_DEPTH. Errors say where (line,
 * column, byte offset) and what was expected. Every value records its own line
 * and column so that later checks can point at it too.
 *
 * Numbers keep both a double and, when the text is an integer that fits, an
 * exact int64. Object members keep their order; duplicate keys are kept
 * (aae_json_get returns the first; aae_json_find_duplicate finds them).
 */
#ifndef AAE_BASE_JSON_H
#define AAE_BASE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define AAE_JSON_MAX_DEPTH 512

typedef enum aae_json_type {
    AAE_JSON_NULL = 0,
    AAE_JSON_BOOL,
    AAE_JSON_NUMBER,
    AAE_JSON_STRING,
    AAE_JSON_ARRAY,
    AAE_JSON_OBJECT
} aae_json_type;

typedef struct aae_json aae_json;

typedef struct aae_json_member {
    const char *key; /* NUL-terminated */
    size_t key_len;
    aae_json *value;
} aae_json_member;

struct aae_json {
    aae_json_type type;
    uint32_t line; /* 1-based position of the value's first character */
    uint32_t col;  /* 1-based, counted in bytes */
    size_t offset; /* byte offset of the value's first character */
    union {
        int boolean;
        struct {
            double value;
            int64_t i;  /* exact value when is_int */
            int is_int; /* the text was an integer (no '.', no exponent) within int64 */
        } num;
        struct {
            const char *s; /* NUL-terminated; may hold NUL bytes from \u0000 */
            size_t len;
        } str;
        struct {
            aae_json **items;
            size_t count;
        } arr;
        struct {
            aae_json_member *members;
            size_t count;
        } obj;
    } u;
};

typedef struct aae_json_doc aae_json_doc;

/* Parses len bytes of text. On failure err says "line L, column C (byte O): ...". */
aae_status aae_json_parse(const char *text, size_t len, aae_json_doc **out, aae_error *err);
/* Reads and parses a whole file; errors start with the path. */
aae_status aae_json_parse_file(const char *path, aae_json_doc **out, aae_error *err);
const aae_json *aae_json_root(const aae_json_doc *doc);
void aae_json_free(aae_json_doc *doc);

/* Accessors: all accept NULL and wrong types, returning NULL / 0 / the default. */
const aae_json *aae_json_get(const aae_json *obj, const char *key);
const aae_json *aae_json_at(const aae_json *arr, size_t i);
size_t aae_json_count(const aae_json *arr_or_obj);
const char *aae_json_str(const aae_json *v); /* NULL unless a string */
int aae_json_is(const aae_json *v, aae_json_type t);
/* Typed member lookups with a default for a missing member or JSON null. They
 * return 0 if the member has another type, so a caller can report it. */
int aae_json_get_int64(const aae_json *obj, const char *key, int64_t dflt, int64_t *out);
int aae_json_get_double(const aae_json *obj, const char *key, double dflt, double *out);
int aae_json_get_bool(const aae_json *obj, const char *key, int dflt, int *out);

/* The first key that appears twice in obj (or NULL). */
const aae_json_member *aae_json_find_duplicate(const aae_json *obj);

/* RFC 6901: resolves "/a/0/b" against root ("" is the root). NULL if absent. */
const aae_json *aae_json_pointer(const aae_json *root, const char *pointer);
/* Appends "/" + token (escaping '~' as ~0 and '/' as ~1) to the pointer in
 * buf (NUL-terminated, capacity cap); truncates safely. */
void aae_json_pointer_push(char *buf, size_t cap, const char *token);
void aae_json_pointer_push_index(char *buf, size_t cap, size_t index);

const char *aae_json_type_name(aae_json_type t);

#endif
