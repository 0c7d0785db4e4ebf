/*
 * cmd_bench.c - `sphere_aae bench`: prefill and decode speed of a converted model
 * on a synthetic prompt (ids only, no tokenizer needed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"
#include "engine/sampler.h"

AAE_CLI_COMMAND(bench, 45, "measure prefill and decode speed of a converted model")

static const char *USAGE =
    "usage: sphere_aae bench MODEL_DIR --prompt-len N --gen-len N [options]\n"
    "\n"
    "Runs a synthetic prompt of N token ids (deterministic, BOS-free) through the model,\n"
    "then decodes --gen-len tokens greedily (end-of-sequence ignored), and prints:\n"
    "prefill tok/s, decode tok/s, time to first token, peak RSS, the weight bytes one\n"
    "decode step reads (for a memory-bandwidth bound) and the KV cache bytes it reads\n"
    "(mean over the measured steps). On Linux it also prints how much of the process's\n"
    "file maps (the weights) is mapped in 2 MiB pages.\n"
    "\n"
    "Speeds are of warm runs: first --warmup runs of the same prompt (and one decode\n"
    "step) map the weights in and fill the caches, then the model is reset and\n"
    "measured --repeat times (reset between runs); each speed and the time to first\n"
    "token are the median over the measured runs, with their least and greatest (a\n"
    "phone or a shared machine changes speed from run to run: compare medians). The\n"
    "warm-up's own time to first token is reported as the cold one, next to the load\n"
    "time.\n"
    "\n"
    "  --prompt-len N             prompt tokens (default 128)\n"
    "  --gen-len N                generated tokens (default 64)\n"
    "  --threads T                worker threads (default: one per CPU, at most 8)\n"
    "  --context-window-size N    KV cache capacity (default: prompt + gen, at least 16)\n"
    "  --prefill-chunk-size N     tokens per prefill step (default: the chat config's)\n"
    "  --warmup N                 warm-up runs before the measured ones (default 1; 0 measures\n"
    "                             the cold first run)\n"
    "  --repeat N                 measured runs (default 1, at most 100)\n"
    "  --model-lib NAME_OR_PATH   run a compiled model library instead of the generic code\n"
    "  --baseline-simd            the baseline SIMD kernels only (AVX2 on x86-64, NEON without\n"
    "                             dot product on aarch64), to compare with the best path\n"
    "  --no-avx512                the best kernels without AVX-512 (AVX2, with AVX-VNNI where\n"
    "                             present): the path of x86-64 CPUs without AVX-512\n"
    "  --no-avx2                  the best kernels without AVX2 (SSSE3 on x86-64): the path of\n"
    "                             x86-64 CPUs without AVX2\n"
    "  --no-simd                  portable C kernels only\n"
    "  --json                     one JSON object instead of text\n";

/* MB of file maps in 2 MiB pages (FilePmdMapped of /proc/self/smaps_rollup: the
 * weight shards are the process's only large file maps), -1 where not reported. */
static double file_huge_mapped_mb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f)
        return -1;
    char line[256];
    double mb = -1;
    unsigned long long kb;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "FilePmdMapped: %llu kB", &kb) == 1)
            mb = (double)kb * 1024.0 / 1e6;
    fclose(f);
    return mb;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

/* The median of v[0 .. n) (sorted in place): the mean of the middle two for even n. */
static double median(double *v, long n)
{
    for (long i = 1; i < n; i++)
        for (long j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* "[a, b, c]" of v[0 .. n) into buf (JSON numbers, in run order). */
static void json_list(char *buf, size_t cap, const double *v, long n)
{
    size_t at = 0;
    buf[at++] = '[';
    for (long i = 0; i < n && at + 24 < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%.6g", i ? ", " : "", v[i]);
    snprintf(buf + at, cap - at, "]");
}

static int num(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

typedef struct bench_opts {
    const char *dir, *model_lib;
    long prompt_len, gen_len, threads, ctx, chunk, warmup, repeat;
    int json, no_simd, baseline_simd, no_avx512, no_avx2;
} bench_opts;

static int parse(int argc, char **argv, bench_opts *o)
{
    memset(o, 0, sizeof *o);
    o->prompt_len = 128;
    o->gen_len = 64;
    o->warmup = 1;
    o->repeat = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (!strcmp(a, "--prompt-len"))
            ok = num(v, 1, 1 << 20, &o->prompt_len), i++;
        else if (!strcmp(a, "--gen-len"))
            ok = num(v, 0, 1 << 20, &o->gen_len), i++;
        else if (!strcmp(a, "--threads"))
            ok = num(v, 1, 256, &o->threads), i++;
        else if (!strcmp(a, "--context-window-size"))
            ok = num(v, 1, 1 << 24, &o->ctx), i++;
        else if (!strcmp(a, "--prefill-chunk-size"))
            ok = num(v, 1, 1 << 20, &o->chunk), i++;
        else if (!strcmp(a, "--warmup"))
            ok = num(v, 0, 100, &o->warmup), i++;
        else if (!strcmp(a, "--repeat"))
            ok = num(v, 1, 100, &o->repeat), i++;
        else if (!strcmp(a, "--model-lib") && v)
            o->model_lib = v, i++;
        else if (!strcmp(a, "--json"))
            o->json = 1;
        else if (!strcmp(a, "--no-simd"))
            o->no_simd = 1;
        else if (!strcmp(a, "--baseline-simd"))
            o->baseline_simd = 1;
        else if (!strcmp(a, "--no-avx512"))
            o->no_avx512 = 1;
        else if (!strcmp(a, "--no-avx2"))
            o->no_avx2 = 1;
        else if (a[0] != '-' && !o->dir)
            o->dir = a;
        else {
            aae_cli_error("bench", "unknown or incomplete option '%s' (see --help)", a);
            return 0;
        }
        if (!ok) {
            aae_cli_error("bench", "bad value for %s (see --help)", a);
            return 0;
        }
    }
    if (!o->dir) {
        aae_cli_error("bench", "need MODEL_DIR (see --help)");
        return 0;
    }
    return 1;
}

int aae_cmd_bench(int argc, char **argv)
{
    if (argc >= 2 && aae_cli_is_help(argv[1])) {
        fputs(USAGE, stdout);
        return AAE_EXIT_OK;
    }
    bench_opts o;
    if (!parse(argc, argv, &o))
        return AAE_EXIT_USAGE;
    aae_model_params p;
    aae_model_default_params(&p);
    p.n_threads = (int32_t)o.threads;
    long need = o.prompt_len + o.gen_len;
    p.context_window_size = (int32_t)(o.ctx ? o.ctx : (need < 16 ? 16 : need));
    p.prefill_chunk_size = (int32_t)o.chunk;
    p.use_simd = o.no_simd ? 0 : o.baseline_simd ? 2 : o.no_avx512 ? 3 : o.no_avx2 ? 4 : 1;
    p.model_lib = o.model_lib;
    aae_model *m = NULL;
    double tl = now_s();
    aae_status st = aae_model_load(o.dir, &p, &m);
    double t_load = now_s() - tl;
    if (st != AAE_OK) {
        aae_cli_error("bench", "%s", aae_model_errmsg(m));
        aae_model_free(m);
        return aae_cli_exit_for(st);
    }
    int32_t nv = aae_model_n_vocab(m);
    int32_t *prompt = malloc((size_t)o.prompt_len * sizeof *prompt);
    if (!prompt) {
        aae_model_free(m);
        return AAE_EXIT_FAIL;
    }
    for (long i = 0; i < o.prompt_len; i++)
        prompt[i] = (int32_t)((37 + 7919 * (i + 1)) % nv);
    const float *lg;
    size_t n;
    double t_cold = -1;
    for (long w = 0; st == AAE_OK && w < o.warmup; w++) {
        double tw = now_s();
        st = aae_model_prefill(m, prompt, (size_t)o.prompt_len);
        if (st == AAE_OK && (st = aae_model_logits(m, &lg, &n)) == AAE_OK && w == 0)
            t_cold = now_s() - tw;
        if (st == AAE_OK && o.gen_len > 0 && (size_t)o.prompt_len < (size_t)p.context_window_size)
            st = aae_model_decode(m, aae_argmax(lg, (int32_t)n));
        if (st == AAE_OK)
            st = aae_model_reset(m);
    }
    /* per measured run, in run order: prefill and decode tok/s, time to first token */
    double runs[3][100], sorted[3][100];
    double c0 = cpu_s(), t0 = now_s();
    for (long r = 0; st == AAE_OK && r < o.repeat; r++) {
        if (r > 0 && (st = aae_model_reset(m)) != AAE_OK)
            break;
        double ts = now_s();
        st = aae_model_prefill(m, prompt, (size_t)o.prompt_len);
        int32_t tok = 0;
        if (st == AAE_OK && (st = aae_model_logits(m, &lg, &n)) == AAE_OK)
            tok = aae_argmax(lg, (int32_t)n);
        double t_first = now_s() - ts, t1 = now_s();
        for (long i = 0; st == AAE_OK && i < o.gen_len; i++)
            if ((st = aae_model_decode(m, tok)) == AAE_OK && (st = aae_model_logits(m, &lg, &n)) == AAE_OK)
                tok = aae_argmax(lg, (int32_t)n);
        double t_dec = now_s() - t1;
        runs[0][r] = (double)o.prompt_len / t_first;
        runs[1][r] = o.gen_len ? (double)o.gen_len / t_dec : 0.0;
        runs[2][r] = t_first;
    }
    /* CPU seconds per wall second of the measured runs: below the thread count
     * when other processes share the cores (then the tok/s figures are
     * pessimistic) */
    double util = (cpu_s() - c0) / (now_s() - t0);
    free(prompt);
    if (st != AAE_OK) {
        aae_cli_error("bench", "%s", aae_model_errmsg(m));
        aae_model_free(m);
        return aae_cli_exit_for(st);
    }
    aae_model_info info;
    aae_model_get_info(m, &info);
    /* KV cache a decode step reads: the K and V rows of every position it
     * sees (a ring of sink + window slots with a sliding window), the mean
     * over the measured steps. The bandwidth bound of docs/runtime.md counts
     * weights only; this is the rest of the traffic. */
    long kv_slots = info.sliding_window_size > 0 ? (long)info.sliding_window_size + info.attention_sink_size
                                                 : (long)info.context_window_size;
    double kv_seen = 0;
    for (long i = 0; i < o.gen_len; i++) {
        long seen = o.prompt_len + i + 1;
        kv_seen += (double)(seen < kv_slots ? seen : kv_slots);
    }
    double kv_per_tok = o.gen_len ? kv_seen / (double)o.gen_len * (double)info.kv_bytes_per_position : 0.0;
    double huge_mb = file_huge_mapped_mb();
    char huge_json[32] = "null", huge_text[96] = "";
    if (huge_mb >= 0) {
        snprintf(huge_json, sizeof huge_json, "%.1f", huge_mb);
        snprintf(huge_text, sizeof huge_text,  " (%.1f MB mapped in 2 MiB pages)", huge_mb);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
    memcpy(sorted, runs, sizeof runs);
    double pf = median(sorted[0], o.repeat), dc = median(sorted[1], o.repeat), t_first = median(sorted[2], o.repeat);
    if (t_cold < 0) /* no warm-up: the first measured run was the cold one */
        t_cold = runs[2][0];
    char pf_runs[2048], dc_runs[2048], ttft_runs[2048], spread[160] = "";
    json_list(pf_runs, sizeof pf_runs, runs[0], o.repeat);
    json_list(dc_runs, sizeof dc_runs, runs[1], o.repeat);
    json_list(ttft_runs, sizeof ttft_runs, runs[2], o.repeat);
    if (o.repeat > 1)
        snprintf(spread, sizeof spread, "  medians of %ld runs; prefill %.1f to %.1f tok/s, decode %.2f to %.2f\n",
                 o.repeat, sorted[0][0], sorted[0][o.repeat - 1], sorted[1][0], sorted[1][o.repeat - 1]);
    if (o.json)
        printf("{\"model\": \"%s\", \"model_type\": \"%s\", \"quantization\": \"%s\", \"threads\": %d, "
               "\"kernels\": \"%s\", \"prompt_len\": %ld, \"gen_len\": %ld, \"prefill_tokens_per_s\": %.3f, "
               "\"decode_tokens_per_s\": %.3f, \"time_to_first_token_s\": %.6f, \"peak_rss_mb\": %.1f, "
               "\"weight_bytes\": %llu, \"weight_bytes_per_token\": %llu, \"kv_cache_bytes\": %llu, "
               "\"kv_bytes_per_token\": %.0f, "
               "\"cpu_utilization\": %.3f, \"warmup_runs\": %ld, \"load_s\": %.6f, "
               "\"cold_time_to_first_token_s\": %.6f, \"huge_mapped_mb\": %s, \"runs\": %ld, "
               "\"prefill_tokens_per_s_runs\": %s, \"decode_tokens_per_s_runs\": %s, "
               "\"time_to_first_token_s_runs\": %s}\n",
               o.dir, info.model_type, info.quantization, info.n_threads, info.kernel_path, o.prompt_len, o.gen_len,
               pf, dc, t_first, rss_mb, (unsigned long long)info.weight_bytes,
               (unsigned long long)info.weight_bytes_per_token, (unsigned long long)info.kv_cache_bytes, kv_per_tok, util,
               o.warmup, t_load, t_cold, huge_json, o.repeat, pf_runs, dc_runs, ttft_runs);
    else
        printf("%s (%s %s, %d threads, %s kernels)\n  prefill %ld tokens: %.1f tok/s (time to first token %.3f s)\n"
               "  decode %ld tokens: %.2f tok/s\n%s  peak RSS %.1f MB; weights %.1f MB%s, read per token %.1f MB\n"
               "  KV cache read per decode step %.1f MB (mean over the %ld steps)\n"
               "  CPU utilization %.2f (CPU seconds per second; below the thread count when the cores are shared)\n"
               "  load %.3f s; cold time to first token %.3f s (%ld warm-up run%s before the measured one)\n",
               o.dir, info.model_type, info.quantization, info.n_threads, info.kernel_path, o.prompt_len, pf, t_first,
               o.gen_len, dc, spread, rss_mb, (double)info.weight_bytes / 1e6, huge_text, (double)info.weight_bytes_per_token / 1e6, kv_per_tok / 1e6, o.gen_len, util,
               t_load, t_cold, o.warmup, o.warmup == 1 ? "" : "s");
    aae_model_free(m);
    return AAE_EXIT_OK;
}
