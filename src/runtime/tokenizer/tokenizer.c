/*
 * tokenizer.c - the public tokenizer API of sphere_aae.h: loading from a file, a
 * model folder or memory, encode, decode, lookups.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/json.h"
#include "tokenizer/tok_internal.h"

aae_status tok_load_json(aae_tokenizer *tok, const aae_json *root, const aae_json *cfg, const char *name,
                         aae_error *err);
void tok_free_parts(aae_tokenizer *tok);
aae_status tok_encode(const aae_tokenizer *tok, const char *text, size_t len, uint32_t flags, int32_t **ids,
                      size_t *n_ids, aae_error *err);

static void copy_err(const aae_error *e, char *errbuf, size_t errbuf_size)
{
    if (errbuf && errbuf_size > 0)
        snprintf(errbuf, errbuf_size, "%s", e->msg);
}

/* Parses both documents and builds the tokenizer; `cfg_doc` may be NULL. */
static aae_status build(const aae_json_doc *doc, const aae_json_doc *cfg_doc, const char *name, aae_tokenizer **out,
                        aae_error *err)
{
    aae_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok)
        return aae_error_set(err, AAE_ERR_NOMEM, "%s: out of memory", name);
    aae_status st = tok_load_json(tok, aae_json_root(doc), cfg_doc ? aae_json_root(cfg_doc) : NULL, name, err);
    if (st != AAE_OK) {
        tok_free_parts(tok);
        free(tok);
        return st;
    }
    *out = tok;
    return AAE_OK;
}

static aae_status load_paths(const char *json_path, const char *cfg_path, aae_tokenizer **out, char *errbuf,
                             size_t errbuf_size)
{
    aae_error err;
    aae_error_clear(&err);
    if (!json_path || !out) {
        aae_error_set(&err, AAE_ERR_INVALID_ARGUMENT, "tokenizer: NULL path or output");
        copy_err(&err, errbuf, errbuf_size);
        return AAE_ERR_INVALID_ARGUMENT;
    }
    aae_json_doc *doc = NULL, *cfg = NULL;
    aae_status st = aae_json_parse_file(json_path, &doc, &err);
    if (st == AAE_OK && cfg_path && aae_is_file(cfg_path)) {
        st = aae_json_parse_file(cfg_path, &cfg, &err);
        if (st == AAE_OK && !aae_json_is(aae_json_root(cfg), AAE_JSON_OBJECT))
            st = aae_error_set(&err, AAE_ERR_FORMAT, "%s: expected a JSON object", cfg_path);
    }
    if (st == AAE_OK)
        st = build(doc, cfg, json_path, out, &err);
    aae_json_free(doc);
    aae_json_free(cfg);
    if (st != AAE_OK)
        copy_err(&err, errbuf, errbuf_size);
    return st;
}

aae_status aae_tokenizer_load_file(const char *tokenizer_json_path, aae_tokenizer **out, char *errbuf,
                                   size_t errbuf_size)
{
    char cfg[4096];
    const char *cfg_path = NULL;
    if (tokenizer_json_path) {
        const char *slash = strrchr(tokenizer_json_path, '/');
        size_t dir_len = slash ? (size_t)(slash - tokenizer_json_path) : 0;
        int n = slash ? snprintf(cfg, sizeof cfg, "%.*s/tokenizer_config.json", (int)dir_len, tokenizer_json_path)
                      : snprintf(cfg, sizeof cfg, "tokenizer_config.json");
        if (n > 0 && (size_t)n < sizeof cfg)
            cfg_path = cfg;
    }
    return load_paths(tokenizer_json_path, cfg_path, out, errbuf, errbuf_size);
}

aae_status aae_tokenizer_load_dir(const char *model_dir, aae_tokenizer **out, char *errbuf, size_t errbuf_size)
{
    char json[4096], cfg[4096];
    if (!model_dir || !aae_path_join(json, sizeof json, model_dir, "tokenizer.json") ||
        !aae_path_join(cfg, sizeof cfg, model_dir, "tokenizer_config.json")) {
        if (errbuf && errbuf_size)
            snprintf(errbuf, errbuf_size, "tokenizer: bad model folder path");
        return AAE_ERR_INVALID_ARGUMENT;
    }
    if (!aae_is_file(json)) {
        if (errbuf && errbuf_size)
            snprintf(errbuf, errbuf_size, "%s: not found: a model folder needs tokenizer.json", json);
        return AAE_ERR_NOT_FOUND;
    }
    return load_paths(json, cfg, out, errbuf, errbuf_size);
}

aae_status aae_tokenizer_load_memory(const char *tokenizer_json, size_t len, const char *config_json,
                                     size_t config_len, aae_tokenizer **out, char *errbuf, size_t errbuf_size)
{
    aae_error err;
    aae_error_clear(&err);
    if (!tokenizer_json || !out) {
        aae_error_set(&err, AAE_ERR_INVALID_ARGUMENT, "tokenizer: NULL input or output");
        copy_err(&err, errbuf, errbuf_size);
        return AAE_ERR_INVALID_ARGUMENT;
    }
    aae_json_doc *doc = NULL, *cfg = NULL;
    aae_status st = aae_json_parse(tokenizer_json, len, &doc, &err);
    if (st != AAE_OK)
        aae_error_prefix(&err, "tokenizer.json");
    if (st == AAE_OK && config_json) {
        st = aae_json_parse(config_json, config_len, &cfg, &err);
        if (st != AAE_OK)
            aae_error_prefix(&err, "tokenizer_config.json");
        else if (!aae_json_is(aae_json_root(cfg), AAE_JSON_OBJECT))
            st = aae_error_set(&err, AAE_ERR_FORMAT, "tokenizer_config.json: expected a JSON object");
    }
    if (st == AAE_OK)
        st = build(doc, cfg, "tokenizer.json", out, &err);
    aae_json_free(doc);
    aae_json_free(cfg);
    if (st != AAE_OK)
        copy_err(&err, errbuf, errbuf_size);
    return st;
}

void aae_tokenizer_destroy(aae_tokenizer *tok)
{
    if (!tok)
        return;
    tok_free_parts(tok);
    free(tok);
}

const char *aae_tokenizer_errmsg(const aae_tokenizer *tok)
{
    return tok ? tok->err.msg : "no tokenizer (NULL handle)";
}

/* The handle's message is the one mutable part of a loaded tokenizer. */
static aae_error *err_of(const aae_tokenizer *tok) { return (aae_error *)&tok->err; }

aae_status aae_tokenizer_encode_alloc(const aae_tokenizer *tok, const char *text, size_t len, uint32_t flags,
                                      int32_t **ids, size_t *n_ids)
{
    if (!tok)
        return AAE_ERR_INVALID_ARGUMENT;
    if (!ids || !n_ids)
        return aae_error_set(err_of(tok), AAE_ERR_INVALID_ARGUMENT, "tokenizer: NULL output");
    return tok_encode(tok, text, len, flags, ids, n_ids, err_of(tok));
}

aae_status aae_tokenizer_encode(const aae_tokenizer *tok, const char *text, size_t len, uint32_t flags,
                                int32_t *ids, size_t capacity, size_t *n_ids)
{
    if (!tok)
        return AAE_ERR_INVALID_ARGUMENT;
    if (!n_ids || (capacity > 0 && !ids))
        return aae_error_set(err_of(tok), AAE_ERR_INVALID_ARGUMENT, "tokenizer: NULL output");
    int32_t *v;
    size_t n;
    aae_status st = tok_encode(tok, text, len, flags, &v, &n, err_of(tok));
    if (st != AAE_OK)
        return st;
    *n_ids = n;
    if (n > capacity) {
        free(v);
        return aae_error_set(err_of(tok), AAE_ERR_LIMIT, "tokenizer: %zu ids do not fit in a buffer of %zu", n,
                             capacity);
    }
    if (n > 0)
        memcpy(ids, v, n * sizeof *ids);
    free(v);
    return AAE_OK;
}

void aae_tokenizer_free(void *p) { free(p); }

aae_status aae_tokenizer_decode(const aae_tokenizer *tok, const int32_t *ids, size_t n_ids, uint32_t flags,
                                char **text, size_t *len)
{
    if (!tok)
        return AAE_ERR_INVALID_ARGUMENT;
    if (!text || !len || (n_ids > 0 && !ids))
        return aae_error_set(err_of(tok), AAE_ERR_INVALID_ARGUMENT, "tokenizer: NULL argument to decode");
    aae_detokenizer *d;
    if (aae_detokenizer_create(tok, flags, &d) != AAE_OK)
        return aae_error_set(err_of(tok), AAE_ERR_NOMEM, "tokenizer: out of memory");
    aae_buf all;
    aae_buf_init(&all);
    aae_status st = AAE_OK;
    const char *s;
    size_t n;
    for (size_t i = 0; i < n_ids && st == AAE_OK; i++) {
        st = aae_detokenizer_push(d, ids[i], &s, &n);
        if (st == AAE_ERR_INVALID_ARGUMENT)
            aae_error_set(err_of(tok), st, "tokenizer: id %d at index %zu is outside [0, %d)", (int)ids[i], i,
                          (int)tok->vocab.n_ids);
        else if (st == AAE_OK)
            aae_buf_append(&all, s, n);
    }
    if (st == AAE_OK && (st = aae_detokenizer_finish(d, &s, &n)) == AAE_OK)
        aae_buf_append(&all, s, n);
    aae_detokenizer_destroy(d);
    if (st == AAE_OK && !aae_buf_ok(&all))
        st = AAE_ERR_NOMEM;
    if (st == AAE_ERR_NOMEM)
        aae_error_set(err_of(tok), st, "tokenizer: out of memory");
    if (st != AAE_OK) {
        aae_buf_free(&all);
        return st;
    }
    aae_buf_putc(&all, 0);
    size_t l = all.len - 1;
    char *t = aae_buf_take(&all, NULL);
    if (!t)
        return aae_error_set(err_of(tok), AAE_ERR_NOMEM, "tokenizer: out of memory");
    *text = t;
    *len = l;
    return AAE_OK;
}

int32_t aae_tokenizer_vocab_size(const aae_tokenizer *tok) { return tok ? tok->vocab.n_ids : 0; }

aae_status aae_tokenizer_id_to_token(const aae_tokenizer *tok, int32_t id, const char **token, size_t *len)
{
    if (!tok || !token || !len || id < 0 || id >= tok->vocab.n_ids)
        return AAE_ERR_INVALID_ARGUMENT;
    const char *s = tok_vocab_str(&tok->vocab, id, len);
    if (!s)
        return AAE_ERR_NOT_FOUND;
    *token = s;
    return AAE_OK;
}

aae_status aae_tokenizer_token_to_id(const aae_tokenizer *tok, const char *token, size_t len, int32_t *id)
{
    if (!tok || !id || (!token && len > 0))
        return AAE_ERR_INVALID_ARGUMENT;
    int32_t v = tok_vocab_find(&tok->vocab, token ? token : "", len);
    if (v < 0)
        return AAE_ERR_NOT_FOUND;
    *id = v;
    return AAE_OK;
}

int32_t aae_tokenizer_bos_id(const aae_tokenizer *tok) { return tok ? tok->bos_id : -1; }
int32_t aae_tokenizer_eos_id(const aae_tokenizer *tok) { return tok ? tok->eos_id : -1; }
int aae_tokenizer_adds_bos(const aae_tokenizer *tok) { return tok ? tok->adds_bos : 0; }

int aae_tokenizer_is_special(const aae_tokenizer *tok, int32_t id)
{
    return tok && id >= 0 && id < tok->vocab.n_ids && tok->special[id];
}
