/*
 * conv_render.c - test tool: renders conversations with our templates.
 * stdin: a JSON array of {"template", "bos", "eos", "messages": [{role, content}]}
 * stdout: a JSON array with, per case, the rendered text or {"error": message}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "engine/conv_template.h"

static void render_case(const aae_json *c, aae_buf *out)
{
    const aae_conv_template *t = aae_conv_template_find(aae_json_str(aae_json_get(c, "template")));
    const aae_json *ms = aae_json_get(c, "messages");
    size_t n = aae_json_count(ms);
    aae_conv_message *m = calloc(n ? n : 1, sizeof *m);
    for (size_t i = 0; i < n; i++) {
        const aae_json *mi = aae_json_at(ms, i);
        const char *role = aae_json_str(aae_json_get(mi, "role"));
        const aae_json *content = aae_json_get(mi, "content");
        m[i].role = role && strcmp(role, "system") == 0 ? AAE_ROLE_SYSTEM
                    : role && strcmp(role, "user") == 0 ? AAE_ROLE_USER
                                                        : AAE_ROLE_ASSISTANT;
        m[i].content = content ? content->u.str.s : "";
        m[i].len = content ? content->u.str.len : 0;
    }
    aae_buf text;
    aae_buf_init(&text);
    aae_error err;
    if (!t) {
        aae_buf_puts(out, "{\"error\":\"unknown template\"}");
    } else if (aae_conv_render(t, m, n, aae_json_str(aae_json_get(c, "bos")), aae_json_str(aae_json_get(c, "eos")),
                               &text, &err) != AAE_OK) {
        aae_buf_puts(out, "{\"error\":");
        aae_buf_json_string(out, err.msg, strlen(err.msg));
        aae_buf_putc(out, '}');
    } else {
        aae_buf_json_string(out, text.data ? text.data : "", text.len);
    }
    aae_buf_free(&text);
    free(m);
}

int main(void)
{
    aae_buf in;
    aae_buf_init(&in);
    char tmp[65536];
    size_t k;
    while ((k = fread(tmp, 1, sizeof tmp, stdin)) > 0)
        aae_buf_append(&in, tmp, k);
    aae_json_doc *doc = NULL;
    aae_error err;
    if (aae_json_parse(in.data ? in.data : "", in.len, &doc, &err) != AAE_OK) {
        fprintf(stderr, "conv_render: %s\n", err.msg);
        return 1;
    }
    const aae_json *root = aae_json_root(doc);
    aae_buf out;
    aae_buf_init(&out);
    aae_buf_putc(&out, '[');
    for (size_t i = 0; i < aae_json_count(root); i++) {
        if (i)
            aae_buf_putc(&out, ',');
        render_case(aae_json_at(root, i), &out);
    }
    aae_buf_puts(&out, "]\n");
    fwrite(out.data, 1, out.len, stdout);
    aae_buf_free(&out);
    aae_buf_free(&in);
    aae_json_free(doc);
    return 0;
}
