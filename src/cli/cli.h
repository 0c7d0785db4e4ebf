/*
 * cli.h - what every subcommand of `sphere_aae` shares.
 *
 * Exit codes (documented in docs/cli.md; never reused):
 *   0 success
 *   1 the command failed (a message on stderr says what and what to do)
 *   2 usage error (bad or missing arguments)
 *   3 bad input: a config, model or tokenizer file is malformed or does not match
 *   4 a network or download failure
 *   5 a validation failure of the packaged output
 */
#ifndef AAE_CLI_H
#define AAE_CLI_H

#include "sphere_aae.h"

enum {
    AAE_EXIT_OK = 0,
    AAE_EXIT_FAIL = 1,
    AAE_EXIT_USAGE = 2,
    AAE_EXIT_INPUT = 3,
    AAE_EXIT_NETWORK = 4,
    AAE_EXIT_VALIDATION = 5
};

/* Each subcommand: argv[0] is the subcommand's name. Returns an exit code. */
typedef int (*aae_cli_fn)(int argc, char **argv);

/* Each cmd_<name>.c registers itself with one line at file scope:
 *   AAE_CLI_COMMAND(convert_weight, 10, "convert a Hugging Face checkpoint into AAE weights")
 * which defines nothing but a constructor; the function is aae_cmd_<name>.
 * `order` sorts the list that --help prints. */
void aae_cli_register(const char *name, aae_cli_fn fn, int order, const char *summary);
#define AAE_CLI_COMMAND(name, order, summary)                                                                \
    int aae_cmd_##name(int argc, char **argv);                                                               \
    __attribute__((constructor)) static void aae_cli_register_##name(void)                                   \
    {                                                                                                        \
        aae_cli_register(#name, aae_cmd_##name, order, summary);                                             \
    }

/* Maps a runtime status to an exit code. */
int aae_cli_exit_for(aae_status st);

/* Prints "sphere_aae <cmd>: error: <msg>" to stderr. */
void aae_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 if s is --help or -h. */
int aae_cli_is_help(const char *s);

/* Reports an option the command does not know, with the closest of `known`
 * (NULL-terminated) as a suggestion: "unknown option '--txt'; did you mean
 * '--text'? (see sphere_aae tokenize --help)". Returns AAE_EXIT_USAGE. */
int aae_cli_unknown_option(const char *cmd, const char *arg, const char *const *known);


#endif
