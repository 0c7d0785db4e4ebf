/*
 * cmd_gen_config.c - `sphere_aae gen_config HF_DIR --quantization Q --conv-template T
 * [--context-window-size N] [--prefill-chunk-size N] [--sliding-window-size N]
 * [--attention-sink-size N] -o OUT_DIR` (src/tools/convert/gen_config.c does the work).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convert/gen_config.h"

AAE_CLI_COMMAND(gen_config, 11, "write sphere-aae-chat-config.json and copy the tokenizer files")

static void help(FILE *f)
{
    fprintf(f,
            "usage: sphere_aae gen_config HF_DIR --quantization Q --conv-template T -o OUT_DIR\n"
            "                  [--context-window-size N] [--prefill-chunk-size N]\n"
            "                  [--sliding-window-size N] [--attention-sink-size N]\n"
            "\n"
            "Writes OUT_DIR/sphere-aae-chat-config.json from HF_DIR/config.json (and\n"
            "generation_config.json) and copies the tokenizer files HF_DIR has (tokenizer.json,\n"
            "tokenizer.model, tokenizer_config.json, vocab.json, merges.txt, added_tokens.json,\n"
            "special_tokens_map.json). Fields and defaults: docs/format.md.\n"
            "\n"
            "options:\n"
            "  HF_DIR                     the Hugging Face model folder\n"
            "  --quantization, -q Q       q0f32 | q0f16 | q4f16_1 | q4f32_1 | q3f16_1 (recorded)\n"
            "  --conv-template T          llama-2 | llama-3 | mistral_default | gemma_instruction |\n"
            "                             phi-2 | qwen2 | chatml | redpajama_chat | LM (no template)\n"
            "  --context-window-size N    KV-cache length (default: max_position_embeddings, or -1\n"
            "                             = unbounded when a sliding window is on)\n"
            "  --prefill-chunk-size N     tokens per prefill step (default: min(8192, context window,\n"
            "                             sliding window))\n"
            "  --sliding-window-size N    rolling KV cache of N tokens; -1 turns it off (default:\n"
            "                             config.json sliding_window for mistral, else off)\n"
            "  --attention-sink-size N    tokens kept at the start with a sliding window (default 4)\n"
            "  --output, -o OUT_DIR       the converted-model folder to create or update (built\n"
            "                             beside it, swapped in at the end; the weights that\n"
            "                             convert_weight wrote there are kept; a folder holding\n"
            "                             anything else is refused, untouched)\n"
            "  --help, -h                 this text\n"
            "\n"
            "exit codes: 0 ok; 1 failed (I/O); 2 usage (bad option, unknown Q or template, OUT_DIR\n"
            "holds other files); 3 bad input (missing or malformed HF_DIR, config.json, unknown\n"
            "architecture)\n");
}

static void print_note(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "sphere_aae gen_config: %s\n", msg);
}

static int parse_size(const char *opt, const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < -1 || v > ((long long)1 << 31)) {
        aae_cli_error("gen_config", "%s %s: expected an integer (-1 or 0..2^31)", opt, s);
        return 0;
    }
    *out = v;
    return 1;
}

int aae_cmd_gen_config(int argc, char **argv)
{
    aae_gen_config_options opt;
    aae_gen_config_default_options(&opt);
    static const struct {
        const char *name;
        size_t field;
    } SIZES[] = {
        {"--context-window-size", offsetof(aae_gen_config_options, context_window_size)},
        {"--prefill-chunk-size", offsetof(aae_gen_config_options, prefill_chunk_size)},
        {"--sliding-window-size", offsetof(aae_gen_config_options, sliding_window_size)},
        {"--attention-sink-size", offsetof(aae_gen_config_options, attention_sink_size)},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (aae_cli_is_help(a)) {
            help(stdout);
            return AAE_EXIT_OK;
        }
        int has_value = i + 1 < argc, matched = 0;
        for (size_t k = 0; k < sizeof SIZES / sizeof SIZES[0]; k++)
            if (strcmp(a, SIZES[k].name) == 0 && has_value) {
                if (!parse_size(a, argv[++i], (int64_t *)(void *)((char *)&opt + SIZES[k].field)))
                    return AAE_EXIT_USAGE;
                matched = 1;
            }
        if (matched)
            continue;
        if ((strcmp(a, "--quantization") == 0 || strcmp(a, "-q") == 0) && has_value)
            opt.quantization = argv[++i];
        else if (strcmp(a, "--conv-template") == 0 && has_value)
            opt.conv_template = argv[++i];
        else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && has_value)
            opt.out_dir = argv[++i];
        else if (a[0] == '-' && a[1] && !(a[1] >= '0' && a[1] <= '9')) {
            enum { N_SIZES = sizeof SIZES / sizeof SIZES[0] };
            const char *known[6 + N_SIZES + 1] = {"--quantization", "-q", "-o", "--output", "--conv-template",
                                                  "--help"};
            for (size_t k = 0; k < N_SIZES; k++)
                known[6 + k] = SIZES[k].name;
            known[6 + N_SIZES] = NULL;
            for (int k = 0; known[k]; k++)
                if (strcmp(a, known[k]) == 0 && strcmp(a, "--help") != 0) {
                    aae_cli_error("gen_config", "%s: missing value (see sphere_aae gen_config --help)", a);
                    return AAE_EXIT_USAGE;
                }
            return aae_cli_unknown_option("gen_config", a, known);
        } else if (!opt.hf_dir)
            opt.hf_dir = a;
        else {
            aae_cli_error("gen_config", "unexpected argument \"%s\" (HF_DIR is already %s)", a, opt.hf_dir);
            return AAE_EXIT_USAGE;
        }
    }
    if (!opt.hf_dir || !opt.quantization || !opt.conv_template || !opt.out_dir) {
        aae_cli_error("gen_config", "missing %s (usage: sphere_aae gen_config HF_DIR --quantization Q "
                      "--conv-template T -o OUT_DIR)", !opt.hf_dir ? "HF_DIR" : !opt.quantization ? "--quantization"
                      : !opt.conv_template ? "--conv-template" : "-o OUT_DIR");
        return AAE_EXIT_USAGE;
    }
    opt.note = print_note;
    aae_error err = {0};
    aae_status st = aae_gen_config(&opt, &err);
    if (st) {
        aae_cli_error("gen_config", "%s", err.msg);
        return aae_cli_exit_for(st);
    }
    return AAE_EXIT_OK;
}
