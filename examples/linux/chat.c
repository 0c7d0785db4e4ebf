/*
 * chat.c - the smallest Linux chat app over a packaged dist/: built with nothing but
 *
 *   cc chat.c $(pkg-config --cflags --libs dist/lib/pkgconfig/sphere_aae.pc) -o chat
 *
 * It loads one model of dist/bundle/sphere-aae-app-config.json by its model_lib
 * (the library linked in from libmodel_<device>.a) and model_path, then answers each
 * line of stdin (or the prompt given as the third argument) as a chat turn, streaming
 * the reply.
 *
 *   chat dist/bundle/<model_path> <model_lib> ["one prompt"]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sphere_aae.h"

/* Prints the "content" of a chat.completion.chunk's delta (JSON string escapes undone). */
static int on_chunk(const char *json, size_t len, void *user)
{
    (void)len;
    (void)user;
    const char *p = strstr(json, "\"delta\":{");
    p = p ? strstr(p, "\"content\":\"") : NULL;
    if (!p)
        return 0;
    for (p += 11; *p && *p != '"'; p++) {
        if (*p != '\\') {
            putchar(*p);
            continue;
        }
        p++;
        switch (*p) {
        case 'n': putchar('\n'); break;
        case 't': putchar('\t'); break;
        case 'u': { /* \uXXXX: ASCII only here; others as '?' */
            unsigned v = 0;
            if (sscanf(p + 1, "%4x", &v) == 1)
                putchar(v < 0x80 ? (int)v : '?');
            p += 4;
            break;
        }
        case '\0': return 0;
        default: putchar(*p);
        }
    }
    fflush(stdout);
    return 0;
}

/* Writes s as a JSON string into out. */
static void json_string(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    out[n++] = '"';
    for (; *s && n + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n++] = '"';
    out[n] = '\0';
}

static int turn(aae_engine *e, const char *prompt)
{
    char content[4096], req[8192];
    json_string(prompt, content, sizeof content);
    snprintf(req, sizeof req,
             "{\"messages\":[{\"role\":\"user\",\"content\":%s}],\"stream\":true,\"max_tokens\":48,"
             "\"temperature\":0}", content);
    aae_status st = aae_engine_chat_completion(e, req, on_chunk, NULL);
    putchar('\n');
    if (st != AAE_OK)
        fprintf(stderr, "chat: %s\n", aae_engine_errmsg(e));
    return st == AAE_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: chat MODEL_PATH MODEL_LIB [PROMPT]\n");
        return 2;
    }
    aae_engine *e = NULL;
    if (aae_engine_create(NULL, &e) != AAE_OK || aae_engine_reload(e, argv[1], argv[2]) != AAE_OK) {
        fprintf(stderr, "chat: cannot load %s with model library %s: %s\n", argv[1], argv[2],
                e ? aae_engine_errmsg(e) : "out of memory");
        aae_engine_destroy(e);
        return 1;
    }
    int rc = 0;
    if (argc > 3) {
        printf("> %s\n", argv[3]);
        rc = turn(e, argv[3]);
    } else {
        char line[2048];
        while (rc == 0 && fgets(line, sizeof line, stdin)) {
            line[strcspn(line, "\n")] = '\0';
            if (line[0])
                rc = turn(e, line);
        }
    }
    aae_engine_destroy(e);
    return rc;
}
