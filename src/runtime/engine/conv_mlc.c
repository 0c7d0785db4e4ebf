/* conv_mlc.c - MLC-LLM conversation template objects; see conv_mlc.h. */
#include "engine/conv_mlc.h"

#include <stdlib.h>
#include <string.h>

static char *dup_str(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

/* A string member (dflt when absent or null); NULL result only on error. */
static aae_status get_text(const aae_json *obj, const char *where, const char *key, const char *dflt, const char *label,
                           char **out, aae_error *err)
{
    const aae_json *v = aae_json_get(obj, key);
    if (!v || v->type == AAE_JSON_NULL) {
        *out = dup_str(dflt, strlen(dflt));
    } else if (v->type != AAE_JSON_STRING) {
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: /conv_template/%s%s: expected a string, got %s", label, where,
                             key, aae_json_type_name(v->type));
    } else {
        *out = dup_str(v->u.str.s, v->u.str.len);
    }
    return *out ? AAE_OK : aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
}

static aae_status get_ids(const aae_json *obj, const char *key, const char *label, int32_t *ids, size_t *n,
                          aae_error *err)
{
    const aae_json *v = aae_json_get(obj, key);
    *n = 0;
    if (!v || v->type == AAE_JSON_NULL)
        return AAE_OK;
    if (v->type != AAE_JSON_ARRAY || aae_json_count(v) > AAE_MLC_MAX_STOPS)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: /conv_template/%s: expected an array of at most %d token ids",
                             label, key, AAE_MLC_MAX_STOPS);
    for (size_t i = 0; i < aae_json_count(v); i++) {
        const aae_json *x = aae_json_at(v, i);
        if (!aae_json_is(x, AAE_JSON_NUMBER) || !x->u.num.is_int || x->u.num.i < 0 || x->u.num.i > INT32_MAX)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: /conv_template/%s/%zu: expected a token id", label, key, i);
        ids[(*n)++] = (int32_t)x->u.num.i;
    }
    return AAE_OK;
}

static aae_status get_stops(const aae_json *obj, const char *label, aae_conv_mlc *t, aae_error *err)
{
    const aae_json *v = aae_json_get(obj, "stop_str");
    if (!v || v->type == AAE_JSON_NULL)
        return AAE_OK;
    if (v->type != AAE_JSON_ARRAY || aae_json_count(v) > AAE_MLC_MAX_STOPS)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: /conv_template/stop_str: expected an array of at most %d "
                             "strings", label, AAE_MLC_MAX_STOPS);
    for (size_t i = 0; i < aae_json_count(v); i++) {
        const aae_json *x = aae_json_at(v, i);
        if (!aae_json_is(x, AAE_JSON_STRING))
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: /conv_template/stop_str/%zu: expected a string", label, i);
        if (!(t->stop_str[t->n_stop_str++] = dup_str(x->u.str.s, x->u.str.len)))
            return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    }
    return AAE_OK;
}

static aae_status parse_roles(const aae_json *obj, const char *label, aae_conv_mlc *t, aae_error *err)
{
    const aae_json *roles = aae_json_get(obj, "roles");
    if (!aae_json_is(roles, AAE_JSON_OBJECT))
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: /conv_template/roles: expected an object {\"user\": ..., "
                             "\"assistant\": ...}", label);
    const aae_json *rt = aae_json_get(obj, "role_templates");
    aae_status st;
    if ((st = get_text(roles, "roles/", "user", "", label, &t->role_user, err)) != AAE_OK ||
        (st = get_text(roles, "roles/", "assistant", "", label, &t->role_assistant, err)) != AAE_OK ||
        (st = get_text(rt, "role_templates/", "user", "{user_message}", label, &t->tmpl_user, err)) != AAE_OK ||
        (st = get_text(rt, "role_templates/", "assistant", "{assistant_message}", label, &t->tmpl_assistant, err)) != AAE_OK)
        return st;
    const aae_json *seps = aae_json_get(obj, "seps");
    size_t ns = aae_json_count(seps);
    if (!aae_json_is(seps, AAE_JSON_ARRAY) || ns < 1 || ns > 2 || !aae_json_is(aae_json_at(seps, 0), AAE_JSON_STRING) ||
        !aae_json_is(aae_json_at(seps, ns - 1), AAE_JSON_STRING))
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: /conv_template/seps: expected an array of 1 or 2 strings",
                             label);
    const aae_json *s0 = aae_json_at(seps, 0), *s1 = aae_json_at(seps, ns - 1);
    t->sep_user = dup_str(s0->u.str.s, s0->u.str.len);
    t->sep_assistant = dup_str(s1->u.str.s, s1->u.str.len);
    if (!t->sep_user || !t->sep_assistant)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    return AAE_OK;
}

aae_status aae_conv_mlc_parse(const aae_json *obj, const char *label, aae_conv_mlc **out, aae_error *err)
{
    if (!aae_json_is(obj, AAE_JSON_OBJECT))
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: /conv_template: expected an object", label);
    aae_conv_mlc *t = calloc(1, sizeof *t);
    if (!t)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    int add_role = 1;
    aae_status st;
    if ((st = get_text(obj, "", "name", "", label, &t->name, err)) != AAE_OK ||
        (st = get_text(obj, "", "system_template", "{system_message}", label, &t->system_template, err)) != AAE_OK ||
        (st = get_text(obj, "", "system_message", "", label, &t->system_message, err)) != AAE_OK ||
        (st = get_text(obj, "", "role_content_sep", "", label, &t->role_content_sep, err)) != AAE_OK ||
        (st = get_text(obj, "", "role_empty_sep", "", label, &t->role_empty_sep, err)) != AAE_OK ||
        (st = parse_roles(obj, label, t, err)) != AAE_OK || (st = get_stops(obj, label, t, err)) != AAE_OK ||
        (st = get_ids(obj, "stop_token_ids", label, t->stop_ids, &t->n_stop_ids, err)) != AAE_OK ||
        (st = get_ids(obj, "system_prefix_token_ids", label, t->prefix_ids, &t->n_prefix, err)) != AAE_OK) {
        aae_conv_mlc_free(t);
        return st;
    }
    if (!aae_json_get_bool(obj, "add_role_after_system_message", 1, &add_role)) {
        aae_conv_mlc_free(t);
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: /conv_template/add_role_after_system_message: expected true "
                             "or false", label);
    }
    t->add_role_after_system_message = add_role;
    *out = t;
    return AAE_OK;
}

void aae_conv_mlc_free(aae_conv_mlc *t)
{
    if (!t)
        return;
    char *all[] = {t->name, t->system_template, t->system_message, t->role_user, t->role_assistant, t->tmpl_user,
                   t->tmpl_assistant, t->sep_user, t->sep_assistant, t->role_content_sep, t->role_empty_sep};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
    for (size_t i = 0; i < t->n_stop_str; i++)
        free(t->stop_str[i]);
    free(t);
}

/* Appends tmpl with every `ph` replaced by text (Python's str.replace). */
static void put_replaced(aae_buf *out, const char *tmpl, const char *ph, const char *text, size_t len)
{
    size_t pl = strlen(ph);
    const char *p = tmpl, *q;
    while ((q = strstr(p, ph)) != NULL) {
        aae_buf_append(out, p, (size_t)(q - p));
        aae_buf_append(out, text, len);
        p = q + pl;
    }
    aae_buf_puts(out, p);
}

/* Drops every "{function_string}" from out[start..]. */
static void drop_function_string(aae_buf *out, size_t start)
{
    static const char ph[] = "{function_string}";
    const size_t pl = sizeof ph - 1;
    if (!out->data)
        return;
    size_t w = start;
    for (size_t r = start; r < out->len;) {
        if (out->len - r >= pl && memcmp(out->data + r, ph, pl) == 0) {
            r += pl;
            continue;
        }
        out->data[w++] = out->data[r++];
    }
    out->len = w;
    out->data[w] = '\0';
}

aae_status aae_conv_mlc_render(const aae_conv_mlc *t, const aae_conv_message *msgs, size_t n, aae_buf *out,
                               aae_error *err)
{
    aae_status st = aae_conv_check_messages(msgs, n, err);
    if (st != AAE_OK)
        return st;
    size_t start = out->len, i = 0;
    const char *sys = t->system_message;
    size_t sys_len = strlen(sys);
    if (msgs[0].role == AAE_ROLE_SYSTEM) {
        sys = msgs[0].content;
        sys_len = msgs[0].len;
        i = 1;
    }
    put_replaced(out, t->system_template, "{system_message}", sys, sys_len);
    int has_sys = out->len > start;
    for (size_t k = i; k < n; k++) {
        int user = msgs[k].role == AAE_ROLE_USER;
        if (t->add_role_after_system_message || !has_sys || k != i) {
            aae_buf_puts(out, user ? t->role_user : t->role_assistant);
            aae_buf_puts(out, t->role_content_sep);
        }
        put_replaced(out, user ? t->tmpl_user : t->tmpl_assistant, user ? "{user_message}" : "{assistant_message}",
                     msgs[k].content, msgs[k].len);
        aae_buf_puts(out, user ? t->sep_user : t->sep_assistant);
    }
    aae_buf_puts(out, t->role_assistant);
    aae_buf_puts(out, t->role_empty_sep);
    drop_function_string(out, start);
    if (!aae_buf_ok(out))
        return aae_error_set(err, AAE_ERR_NOMEM, "conversation template: out of memory rendering the prompt");
    return AAE_OK;
}
