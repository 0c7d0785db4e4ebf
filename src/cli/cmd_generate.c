/*
 * cmd_generate.c - `sphere_aae generate`: run a prompt through a converted model
 * and print the continuation (greedy or sampled). Also the tool the reference
 * tests drive (--prompt-ids, --json, --dump-logits).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "cli.h"
#include "engine/sampler.h"
#include "format/chat_config.h"

AAE_CLI_COMMAND(generate, 40, "run a prompt through a converted model and print the continuation")

static const char *USAGE =
    "usage: sphere_aae generate MODEL_DIR (--prompt TEXT | --prompt-ids 1,2,3) --max-new-tokens N [options]\n"
    "\n"
    "Runs the prompt through the model (in prefill chunks), then generates up to N tokens.\n"
    "Generation stops early at an end-of-sequence id of the chat config unless --ignore-eos.\n"
    "\n"
    "  --prompt TEXT              text, tokenized with the model's tokenizer.json (special tokens added)\n"
    "  --prompt-ids LIST          comma-separated token ids (no tokenizer needed)\n"
    "  --max-new-tokens N         tokens to generate (0 = prefill only)\n"
    "  --temperature T            0 (default) = greedy; > 0 samples\n"
    "  --top-p P                  nucleus sampling mass (default 1 = off)\n"
    "  --top-k K                  keep the K most likely tokens (default 0 = off)\n"
    "  --seed S                   random seed for sampling (default 0)\n"
    "  --threads T                worker threads (default: one per CPU, at most 8)\n"
    "  --context-window-size N    KV cache capacity (default: the chat config's)\n"
    "  --prefill-chunk-size N     tokens per prefill step (default: the chat config's)\n"
    "  --model-lib NAME_OR_PATH   run a compiled model library instead of the generic code\n"
    "  --dump-logits FILE         write the float32 little-endian logits of the last prompt token\n"
    "  --ignore-eos               do not stop at end-of-sequence ids\n"
    "  --no-simd                  use the portable C kernels only\n"
    "  --no-avx2                  the best kernels without AVX2 (SSSE3 on x86-64): the path of\n"
    "                             x86-64 CPUs without AVX2\n"
    "  --verify-md5               check every shard's MD5 before running\n"
    "  --json                     print one JSON object: prompt_ids, output_ids, text, timings\n"
    "\n"
    "Exit codes: 0 ok, 1 failure, 2 usage, 3 bad model directory or tokenizer.\n";

typedef struct gen_opts {
    const char *dir, *prompt, *prompt_ids, *dump, *model_lib;
    long max_new;
    double temperature, top_p;
    long top_k, threads, ctx, chunk;
    unsigned long long seed;
    int json, ignore_eos, no_simd, no_avx2, md5;
} gen_opts;

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return 0;
    *out = v;
    return 1;
}

static int parse_args(int argc, char **argv, gen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_new = -1;
    o->top_p = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1, takes = 1;
        long l;
        if (!strcmp(a, "--prompt") && v)
            o->prompt = v;
        else if (!strcmp(a, "--prompt-ids") && v)
            o->prompt_ids = v;
        else if (!strcmp(a, "--max-new-tokens") && v)
            ok = parse_long(v, 0, 1 << 24, &o->max_new);
        else if (!strcmp(a, "--temperature") && v)
            ok = parse_double(v, 0, 100, &o->temperature);
        else if (!strcmp(a, "--top-p") && v)
            ok = parse_double(v, 1e-9, 1, &o->top_p);
        else if (!strcmp(a, "--top-k") && v)
            ok = parse_long(v, 0, 1 << 24, &o->top_k);
        else if (!strcmp(a, "--seed") && v)
            ok = parse_long(v, 0, 0x7fffffffL, &l), o->seed = (unsigned long long)l;
        else if (!strcmp(a, "--threads") && v)
            ok = parse_long(v, 1, 256, &o->threads);
        else if (!strcmp(a, "--context-window-size") && v)
            ok = parse_long(v, 1, 1 << 24, &o->ctx);
        else if (!strcmp(a, "--prefill-chunk-size") && v)
            ok = parse_long(v, 1, 1 << 20, &o->chunk);
        else if (!strcmp(a, "--model-lib") && v)
            o->model_lib = v;
        else if (!strcmp(a, "--dump-logits") && v)
            o->dump = v;
        else {
            takes = 0;
            if (!strcmp(a, "--json"))
                o->json = 1;
            else if (!strcmp(a, "--ignore-eos"))
                o->ignore_eos = 1;
            else if (!strcmp(a, "--no-simd"))
                o->no_simd = 1;
            else if (!strcmp(a, "--no-avx2"))
                o->no_avx2 = 1;
            else if (!strcmp(a, "--verify-md5"))
                o->md5 = 1;
            else if (a[0] != '-' && !o->dir)
                o->dir = a;
            else {
                aae_cli_error("generate", "unknown or incomplete option '%s' (see --help)", a);
                return 0;
            }
        }
        if (!ok) {
            aae_cli_error("generate", "bad value '%s' for %s (see --help)", v, a);
            return 0;
        }
        i += takes;
    }
    if (!o->dir || (!o->prompt == !o->prompt_ids) || o->max_new < 0) {
        aae_cli_error("generate", "need MODEL_DIR, exactly one of --prompt / --prompt-ids, and --max-new-tokens");
        return 0;
    }
    return 1;
}

/* "1,2,3": decimal ids separated by single commas; no signs, spaces or empty
 * items (so "1,,2", "1,2," and " 1" are errors, not ids). */
static int parse_ids(const char *s, int32_t **out, size_t *n)
{
    size_t cap = 16, k = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    const char *p = s;
    int done = 0;
    while (ids && *p >= '0' && *p <= '9') {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || v > INT32_MAX || (*end && *end != ','))
            break;
        if (k == cap) {
            int32_t *g = realloc(ids, 2 * cap * sizeof *ids);
            if (!g)
                break;
            ids = g;
            cap *= 2;
        }
        ids[k++] = (int32_t)v;
        if (!*end) {
            done = 1;
            break;
        }
        p = end + 1;
    }
    if (!done) {
        free(ids);
        return 0;
    }
    *out = ids;
    *n = k;
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int dump_logits(const char *path, const float *logits, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        aae_cli_error("generate", "%s: cannot write: %s", path, strerror(errno));
        return 0;
    }
    /* float32 little-endian: the host order on every supported target */
    size_t w = fwrite(logits, sizeof(float), n, f);
    if (fclose(f) != 0 || w != n) {
        aae_cli_error("generate", "%s: write failed", path);
        return 0;
    }
    return 1;
}

static void print_ids_json(aae_buf *b, const int32_t *ids, size_t n)
{
    aae_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++)
        aae_buf_printf(b, "%s%d", i ? ", " : "", (int)ids[i]);
    aae_buf_putc(b, ']');
}

typedef struct gen_run {
    aae_model *m;
    aae_tokenizer *tok;
    aae_chat_config *cfg;
    aae_sampler *sampler;
    int32_t *prompt;
    size_t n_prompt;
    int32_t *out;
    size_t n_out;
    double t_prefill, t_decode;
} gen_run;

static int is_eos(const gen_run *r, int32_t id)
{
    for (size_t i = 0; r->cfg && i < r->cfg->n_eos_token_ids; i++)
        if (r->cfg->eos_token_ids[i] == id)
            return 1;
    return 0;
}

static int32_t pick(gen_run *r, const gen_opts *o)
{
    const float *lg;
    size_t nv;
    aae_model_logits(r->m, &lg, &nv);
    if (o->temperature <= 0 && !r->sampler)
        return aae_argmax(lg, (int32_t)nv);
    return aae_sampler_sample(r->sampler, (float *)lg);
}

static int setup_sampler(gen_run *r, const gen_opts *o)
{
    if (o->temperature <= 0)
        return 1;
    aae_error err = {0};
    aae_sampling sp;
    aae_sampling_defaults(&sp);
    sp.temperature = (float)o->temperature;
    sp.top_p = (float)o->top_p;
    sp.top_k = (int32_t)o->top_k;
    if (aae_sampler_create(aae_model_n_vocab(r->m), &r->sampler, &err) != AAE_OK ||
        aae_sampler_reset(r->sampler, &sp, 1, o->seed, &err) != AAE_OK) {
        aae_cli_error("generate", "%s", err.msg);
        return 0;
    }
    aae_sampler_add_prompt(r->sampler, r->prompt, r->n_prompt);
    return 1;
}

static int run_generation(gen_run *r, const gen_opts *o)
{
    double t0 = now_s();
    aae_status st = aae_model_prefill(r->m, r->prompt, r->n_prompt);
    r->t_prefill = now_s() - t0;
    if (st != AAE_OK) {
        aae_cli_error("generate", "%s", aae_model_errmsg(r->m));
        return aae_cli_exit_for(st);
    }
    if (o->dump) {
        const float *lg;
        size_t nv;
        aae_model_logits(r->m, &lg, &nv);
        if (!dump_logits(o->dump, lg, nv))
            return AAE_EXIT_FAIL;
    }
    if (!setup_sampler(r, o))
        return AAE_EXIT_FAIL;
    r->out = malloc(((size_t)o->max_new + 1) * sizeof *r->out);
    if (!r->out)
        return AAE_EXIT_FAIL;
    t0 = now_s();
    for (long i = 0; i < o->max_new; i++) {
        int32_t id = pick(r, o);
        r->out[r->n_out++] = id;
        if (r->sampler)
            aae_sampler_accept(r->sampler, id);
        if (!o->ignore_eos && is_eos(r, id))
            break;
        if (i + 1 == o->max_new)
            break;
        if ((st = aae_model_decode(r->m, id)) != AAE_OK) {
            aae_cli_error("generate", "%s", aae_model_errmsg(r->m));
            return aae_cli_exit_for(st);
        }
        if (!o->json && !r->tok) {
            printf("%d ", (int)id);
            fflush(stdout);
        }
    }
    r->t_decode = now_s() - t0;
    return AAE_EXIT_OK;
}

static int print_result(const gen_run *r, const gen_opts *o)
{
    char *text = NULL;
    size_t len = 0;
    if (r->tok && aae_tokenizer_decode(r->tok, r->out, r->n_out, AAE_DECODE_SKIP_SPECIAL_TOKENS, &text, &len) != AAE_OK)
        text = NULL;
    if (!o->json) {
        if (text)
            printf("%s\n", text);
        else
            printf("%s%d\n", r->n_out > 1 ? "" : "", r->n_out ? (int)r->out[r->n_out - 1] : -1);
        aae_tokenizer_free(text);
        return AAE_EXIT_OK;
    }
    aae_buf b;
    aae_buf_init(&b);
    aae_buf_puts(&b, "{\"prompt_ids\": ");
    print_ids_json(&b, r->prompt, r->n_prompt);
    aae_buf_puts(&b, ", \"output_ids\": ");
    print_ids_json(&b, r->out, r->n_out);
    aae_buf_puts(&b, ", \"text\": ");
    if (text)
        aae_buf_json_string(&b, text, len);
    else
        aae_buf_puts(&b, "null");
    size_t n_dec = r->n_out > 1 ? r->n_out - 1 : 0;
    aae_buf_printf(&b, ", \"prefill_seconds\": %.6f, \"decode_seconds\": %.6f", r->t_prefill, r->t_decode);
    aae_buf_printf(&b, ", \"prefill_tokens_per_s\": %.3f, \"decode_tokens_per_s\": %.3f}\n",
                   r->t_prefill > 0 ? (double)r->n_prompt / r->t_prefill : 0.0,
                   r->t_decode > 0 && n_dec ? (double)n_dec / r->t_decode : 0.0);
    fputs(aae_buf_ok(&b) ? b.data : "{}\n", stdout);
    aae_buf_free(&b);
    aae_tokenizer_free(text);
    return AAE_EXIT_OK;
}

static int load_tokenizer(gen_run *r, const gen_opts *o)
{
    char errbuf[1024] = "";
    aae_status st = aae_tokenizer_load_dir(o->dir, &r->tok, errbuf, sizeof errbuf);
    if (st == AAE_OK)
        return AAE_EXIT_OK;
    r->tok = NULL;
    if (!o->prompt)
        return AAE_EXIT_OK; /* ids in, ids out: the text is then null */
    aae_cli_error("generate", "%s: cannot load the tokenizer needed for --prompt: %s", o->dir, errbuf);
    return aae_cli_exit_for(st);
}

static int make_prompt(gen_run *r, const gen_opts *o)
{
    if (o->prompt_ids) {
        if (!parse_ids(o->prompt_ids, &r->prompt, &r->n_prompt)) {
            aae_cli_error("generate", "--prompt-ids: expected comma-separated non-negative ids, got '%s'",
                          o->prompt_ids);
            return AAE_EXIT_USAGE;
        }
        return AAE_EXIT_OK;
    }
    aae_status st = aae_tokenizer_encode_alloc(r->tok, o->prompt, strlen(o->prompt), AAE_ENCODE_ADD_SPECIAL_TOKENS,
                                               &r->prompt, &r->n_prompt);
    if (st != AAE_OK) {
        aae_cli_error("generate", "cannot tokenize the prompt: %s", aae_tokenizer_errmsg(r->tok));
        return aae_cli_exit_for(st);
    }
    if (r->n_prompt == 0) {
        aae_cli_error("generate", "the prompt has no tokens");
        return AAE_EXIT_USAGE;
    }
    return AAE_EXIT_OK;
}

int aae_cmd_generate(int argc, char **argv)
{
    if (argc >= 2 && aae_cli_is_help(argv[1])) {
        fputs(USAGE, stdout);
        return AAE_EXIT_OK;
    }
    gen_opts o;
    if (!parse_args(argc, argv, &o))
        return AAE_EXIT_USAGE;
    gen_run r = {0};
    aae_model_params p;
    aae_model_default_params(&p);
    p.n_threads = (int32_t)o.threads;
    p.context_window_size = (int32_t)o.ctx;
    p.prefill_chunk_size = (int32_t)o.chunk;
    p.verify_md5 = o.md5;
    p.use_simd = o.no_simd ? 0 : o.no_avx2 ? 4 : 1;
    p.model_lib = o.model_lib;
    int rc;
    aae_status st = aae_model_load(o.dir, &p, &r.m);
    if (st != AAE_OK) {
        aae_cli_error("generate", "%s", aae_model_errmsg(r.m));
        rc = aae_cli_exit_for(st);
        goto out;
    }
    aae_error err = {0};
    if (aae_chat_config_load(o.dir, &r.cfg, &err) != AAE_OK)
        r.cfg = NULL;
    if ((rc = load_tokenizer(&r, &o)) != AAE_EXIT_OK || (rc = make_prompt(&r, &o)) != AAE_EXIT_OK ||
        (rc = run_generation(&r, &o)) != AAE_EXIT_OK)
        goto out;
    rc = print_result(&r, &o);
out:
    if (r.tok && !o.prompt_ids)
        aae_tokenizer_free(r.prompt);
    else
        free(r.prompt);
    free(r.out);
    aae_sampler_destroy(r.sampler);
    aae_tokenizer_destroy(r.tok);
    aae_chat_config_free(r.cfg);
    aae_model_free(r.m);
    return rc;
}
