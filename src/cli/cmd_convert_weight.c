/*
 * cmd_convert_weight.c - `sphere_aae convert_weight HF_DIR --quantization Q -o OUT_DIR`
 * (the work is in src/tools/convert/convert.c; the format in docs/format.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "convert/convert.h"

AAE_CLI_COMMAND(convert_weight, 10, "convert a Hugging Face safetensors checkpoint into AAE weights")

static void help(FILE *f)
{
    fprintf(f,
            "usage: sphere_aae convert_weight HF_DIR --quantization Q -o OUT_DIR [--threads N] [--quiet]\n"
            "\n"
            "Reads HF_DIR (config.json + model.safetensors, or model.safetensors.index.json and its\n"
            "shards; F32, F16 or BF16), names, fuses and quantizes the tensors as docs/format.md says,\n"
            "and writes OUT_DIR/tensor-cache.json + OUT_DIR/params_shard_*.bin (at most 32 MiB each).\n"
            "Architectures: llama, mistral, gemma, gpt_neox, phi (phi-2), qwen2.\n"
            "\n"
            "options:\n"
            "  HF_DIR                 the Hugging Face model folder\n"
            "  --quantization, -q Q   q0f32 | q0f16 | q4f16_1 | q4f32_1 | q3f16_1\n"
            "  --output, -o OUT_DIR   the converted-model folder to create or update. Built beside it\n"
            "                         and swapped in at the end; files that gen_config wrote there are\n"
            "                         kept. A folder holding anything else is refused, untouched.\n"
            "  --threads N            worker threads (default: one per CPU)\n"
            "  --quiet                print nothing on success\n"
            "  --help, -h             this text\n"
            "\n"
            "exit codes: 0 ok; 1 failed (I/O); 2 usage (bad option, unknown Q, OUT_DIR holds other\n"
            "files); 3 bad input (missing or malformed HF_DIR, config.json or safetensors, unknown\n"
            "architecture, unsupported dtype, missing tensor, shape mismatch)\n");
}

static void print_note(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "sphere_aae convert_weight: %s\n", msg);
}

/* A one-line progress meter on a terminal. */
static void print_progress(void *ctx, uint64_t done, uint64_t total)
{
    int *last = ctx;
    int pct = total ? (int)(done * 100 / total) : 100;
    if (pct == *last)
        return;
    *last = pct;
    fprintf(stderr, "\rsphere_aae convert_weight: %3d%% (%.0f / %.0f MB)", total ? (int)(done * 100 / total) : 100,
            (double)done / 1e6, (double)total / 1e6);
    if (done >= total)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int aae_cmd_convert_weight(int argc, char **argv)
{
    aae_convert_options opt = {0};
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (aae_cli_is_help(a)) {
            help(stdout);
            return AAE_EXIT_OK;
        }
        int has_value = i + 1 < argc;
        if ((strcmp(a, "--quantization") == 0 || strcmp(a, "-q") == 0) && has_value)
            opt.quantization = argv[++i];
        else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && has_value)
            opt.out_dir = argv[++i];
        else if (strcmp(a, "--threads") == 0 && has_value) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 64) {
                aae_cli_error("convert_weight", "--threads %s: expected an integer 1..64", argv[i]);
                return AAE_EXIT_USAGE;
            }
            opt.threads = (int)n;
        } else if (strcmp(a, "--quiet") == 0)
            quiet = 1;
        else if (a[0] == '-' && a[1]) {
            static const char *const known[] = {"--quantization", "-q", "-o", "--output", "--threads", "--quiet",
                                                "--help", NULL};
            for (int k = 0; known[k]; k++)
                if (strcmp(a, known[k]) == 0) {
                    aae_cli_error("convert_weight", "%s: missing value (see sphere_aae convert_weight --help)", a);
                    return AAE_EXIT_USAGE;
                }
            return aae_cli_unknown_option("convert_weight", a, known);
        } else if (!opt.hf_dir)
            opt.hf_dir = a;
        else {
            aae_cli_error("convert_weight", "unexpected argument \"%s\" (HF_DIR is already %s)", a, opt.hf_dir);
            return AAE_EXIT_USAGE;
        }
    }
    if (!opt.hf_dir || !opt.quantization || !opt.out_dir) {
        aae_cli_error("convert_weight", "missing %s (usage: sphere_aae convert_weight HF_DIR --quantization Q -o "
                      "OUT_DIR)", !opt.hf_dir ? "HF_DIR" : !opt.quantization ? "--quantization" : "-o OUT_DIR");
        return AAE_EXIT_USAGE;
    }
    opt.note = print_note;
    if (!quiet && isatty(STDERR_FILENO))
        opt.progress = print_progress;
    int last_pct = -1;
    opt.progress_ctx = &last_pct;
    aae_error err = {0};
    aae_convert_stats stats;
    double t0 = now();
    aae_status st = aae_convert_weight(&opt, &stats, &err);
    if (st) {
        aae_cli_error("convert_weight", "%s", err.msg);
        return aae_cli_exit_for(st);
    }
    double dt = now() - t0;
    if (!quiet)
        printf("converted %s -> %s (%s): %zu tensors, %zu shards, %.1f MB read, %.1f MB written, %.2f s "
               "(%.0f MB/s)\n", opt.hf_dir, opt.out_dir, opt.quantization, stats.tensors, stats.shards,
               (double)stats.input_bytes / 1e6, (double)stats.output_bytes / 1e6, dt,
               dt > 0 ? (double)stats.input_bytes / 1e6 / dt : 0.0);
    return AAE_EXIT_OK;
}
