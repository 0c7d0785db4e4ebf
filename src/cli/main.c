/* main.c - `sphere_aae`: dispatches to the subcommands in cmd_*.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "did_you_mean.h"

typedef struct command {
    const char *name;
    aae_cli_fn fn;
    int order;
    const char *summary;
} command;

#define MAX_COMMANDS 64
static command COMMANDS[MAX_COMMANDS + 1]; /* sorted by order; ends with a NULL name */
static int n_commands;

void aae_cli_register(const char *name, aae_cli_fn fn, int order, const char *summary)
{
    if (n_commands == MAX_COMMANDS)
        return;
    int i = n_commands++;
    while (i > 0 && COMMANDS[i - 1].order > order) {
        COMMANDS[i] = COMMANDS[i - 1];
        i--;
    }
    COMMANDS[i] = (command){name, fn, order, summary};
}

static void usage(FILE *f)
{
    fprintf(f, "usage: sphere_aae <command> [options]\n"
               "       sphere_aae <command> --help\n"
               "       sphere_aae --version\n\ncommands:\n");
    for (size_t i = 0; COMMANDS[i].name; i++)
        fprintf(f, "  %-16s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\nexit codes: 0 ok, 1 failed, 2 usage, 3 bad input, 4 network, 5 validation\n");
}

int aae_cli_is_help(const char *s) { return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0; }

void aae_cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sphere_aae %s: error: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int aae_cli_unknown_option(const char *cmd, const char *arg, const char *const *known)
{
    const char *best = aae_did_you_mean(arg, known, (size_t)-1);
    if (best)
        aae_cli_error(cmd, "unknown option '%s'; did you mean '%s'? (see sphere_aae %s --help)", arg, best, cmd);
    else
        aae_cli_error(cmd, "unknown option '%s' (see sphere_aae %s --help)", arg, cmd);
    return AAE_EXIT_USAGE;
}

int aae_cli_exit_for(aae_status st)
{
    switch (st) {
    case AAE_OK: return AAE_EXIT_OK;
    case AAE_ERR_INVALID_ARGUMENT: return AAE_EXIT_USAGE;
    case AAE_ERR_FORMAT:
    case AAE_ERR_UNSUPPORTED:
    case AAE_ERR_MISMATCH:
    case AAE_ERR_NOT_FOUND: return AAE_EXIT_INPUT;
    default: return AAE_EXIT_FAIL;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || aae_cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? AAE_EXIT_USAGE : AAE_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("sphere_aae %s\n", aae_version());
        return AAE_EXIT_OK;
    }
    for (size_t i = 0; COMMANDS[i].name; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0)
            return COMMANDS[i].fn(argc - 1, argv + 1);
    const char *names[MAX_COMMANDS + 1];
    for (int i = 0; i <= n_commands; i++)
        names[i] = COMMANDS[i].name;
    const char *best = aae_did_you_mean(argv[1], names, (size_t)n_commands);
    if (best)
        fprintf(stderr, "sphere_aae: unknown command '%s'; did you mean '%s'?\n\n", argv[1], best);
    else
        fprintf(stderr, "sphere_aae: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return AAE_EXIT_USAGE;
}
