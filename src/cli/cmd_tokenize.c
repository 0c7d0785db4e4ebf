/* cmd_tokenize.c - `sphere_aae tokenize`: prints the token ids of a text as a JSON array. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "cli.h"

AAE_CLI_COMMAND(tokenize, 60, "encode text with a tokenizer.json and print the ids")

static void help(FILE *f)
{
    fprintf(f,
            "usage: sphere_aae tokenize TOKENIZER_JSON_OR_MODEL_DIR (--text T | --file F) [--add-special-tokens]\n"
            "\n"
            "Encodes UTF-8 text with a Hugging Face tokenizer.json (a model folder means\n"
            "FOLDER/tokenizer.json; tokenizer_config.json beside it is read when present) and\n"
            "prints the ids as one JSON array on stdout, e.g. [1, 15043, 3186].\n"
            "\n"
            "options:\n"
            "  --text T               the text to encode\n"
            "  --file F               read the text to encode from file F (\"-\" = stdin)\n"
            "  --add-special-tokens   apply the post-processor (e.g. prepend BOS)\n"
            "  -h, --help             this help\n"
            "\n"
            "exit codes: 0 ok, 1 failed, 2 usage or invalid UTF-8 text, 3 bad tokenizer file\n");
}

static char *read_stdin(size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}

int aae_cmd_tokenize(int argc, char **argv)
{
    const char *path = NULL, *text = NULL, *file = NULL;
    int special = 0;
    for (int i = 1; i < argc; i++) {
        if (aae_cli_is_help(argv[i])) {
            help(stdout);
            return AAE_EXIT_OK;
        } else if (strcmp(argv[i], "--text") == 0 || strcmp(argv[i], "--file") == 0) {
            if (i + 1 == argc) {
                aae_cli_error("tokenize", "%s needs a value (see sphere_aae tokenize --help)", argv[i]);
                return AAE_EXIT_USAGE;
            }
            *(argv[i][2] == 't' ? &text : &file) = argv[i + 1];
            i++;
        } else if (strcmp(argv[i], "--add-special-tokens") == 0) {
            special = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != 0) {
            static const char *const known[] = {"--text", "--file", "--add-special-tokens", "--help", NULL};
            return aae_cli_unknown_option("tokenize", argv[i], known);
        } else if (!path) {
            path = argv[i];
        } else {
            aae_cli_error("tokenize", "unexpected argument %s (see --help)", argv[i]);
            return AAE_EXIT_USAGE;
        }
    }
    if (!path || (!text) == (!file)) {
        aae_cli_error("tokenize", "give a tokenizer path and exactly one of --text or --file (see --help)");
        return AAE_EXIT_USAGE;
    }
    char *buf = NULL;
    size_t len = 0;
    if (file) {
        if (strcmp(file, "-") == 0) {
            buf = read_stdin(&len);
            if (!buf) {
                aae_cli_error("tokenize", "cannot read stdin");
                return AAE_EXIT_FAIL;
            }
        } else {
            aae_error err;
            if (aae_read_file(file, (size_t)1 << 31, &buf, &len, &err) != AAE_OK) {
                aae_cli_error("tokenize", "%s", err.msg);
                return AAE_EXIT_FAIL;
            }
        }
        text = buf;
    } else {
        len = strlen(text);
    }
    char msg[2048];
    aae_tokenizer *tok = NULL;
    aae_status st = aae_is_dir(path) ? aae_tokenizer_load_dir(path, &tok, msg, sizeof msg)
                                     : aae_tokenizer_load_file(path, &tok, msg, sizeof msg);
    if (st != AAE_OK) {
        aae_cli_error("tokenize", "%s", msg);
        free(buf);
        return st == AAE_ERR_NOT_FOUND || st == AAE_ERR_IO ? AAE_EXIT_FAIL : AAE_EXIT_INPUT;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    st = aae_tokenizer_encode_alloc(tok, text, len, special ? AAE_ENCODE_ADD_SPECIAL_TOKENS : 0, &ids, &n);
    if (st != AAE_OK) {
        aae_cli_error("tokenize", "%s", aae_tokenizer_errmsg(tok));
        aae_tokenizer_destroy(tok);
        free(buf);
        return aae_cli_exit_for(st);
    }
    putchar('[');
    for (size_t i = 0; i < n; i++)
        printf(i ? ", %d" : "%d", (int)ids[i]);
    puts("]");
    aae_tokenizer_free(ids);
    aae_tokenizer_destroy(tok);
    free(buf);
    return fflush(stdout) == 0 ? AAE_EXIT_OK : AAE_EXIT_FAIL;
}
