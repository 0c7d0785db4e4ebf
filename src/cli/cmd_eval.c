/*
 * cmd_eval.c - `sphere_aae eval`: perplexity of a converted model on a text file.
 *
 * Definition (also in --help and docs/quality.md). The whole file is tokenized once
 * without special tokens. The ids are cut into consecutive, non-overlapping windows
 * of W = ctx - 1 tokens (the last window may be shorter). Each window is run from an
 * empty KV cache as BOS followed by its tokens, and every token of the window is
 * scored: nll = logsumexp(z) - z[token], where z are the logits at the position
 * before it (BOS for the first). perplexity = exp(sum(nll) / tokens scored).
 * A tokenizer without a BOS token uses windows of W = ctx tokens whose first token
 * is context only (not scored).
 *
 * The low-level model API hands back the logits of the last token run, so the
 * tokens are fed one decode step at a time.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "cli.h"

AAE_CLI_COMMAND(eval, 60, "measure a model's perplexity on a text file")

static const char *USAGE =
    "usage: sphere_aae eval MODEL_DIR --ppl TEXT_FILE [--ctx N] [options]\n"
    "\n"
    "Perplexity of the model on a UTF-8 text file. The file is tokenized once without\n"
    "special tokens and cut into non-overlapping windows of N-1 tokens; each window runs\n"
    "from an empty cache as BOS + window, and every window token is scored by the logits\n"
    "of the position before it. perplexity = exp(mean negative log-likelihood).\n"
    "Without a BOS token in the tokenizer, windows have N tokens and the first one of\n"
    "each is context only.\n"
    "\n"
    "  --ppl FILE                 text to score (required)\n"
    "  --ctx N                    window length in tokens, BOS included (default: the\n"
    "                             model's context window; at most that)\n"
    "  --max-tokens N             score only the first N tokens of the file (default: all)\n"
    "  --threads T                worker threads (default: one per CPU, at most 8)\n"
    "  --no-simd                  use the portable C kernels only\n"
    "  --json                     print one JSON object: perplexity, nll_per_token,\n"
    "                             tokens_scored, windows, ctx, seconds\n"
    "  --no-progress              no progress bar (it is drawn on stderr only when\n"
    "                             stderr is a terminal)\n"
    "\n"
    "Exit codes: 0 ok, 1 failure, 2 usage, 3 bad model directory, tokenizer or text.\n";

typedef struct eval_opts {
    const char *dir, *file;
    long ctx, threads, max_tokens;
    int json, no_simd, no_progress;
} eval_opts;

typedef struct eval_sum {
    double nll;        /* sum of negative log-likelihoods, nats */
    size_t scored;     /* tokens scored */
    size_t windows;
    double seconds;
} eval_sum;

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

static int parse_args(int argc, char **argv, eval_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1, takes = 1;
        if (!strcmp(a, "--ppl") && v)
            o->file = v;
        else if (!strcmp(a, "--ctx") && v)
            ok = parse_long(v, 2, 1 << 24, &o->ctx);
        else if (!strcmp(a, "--max-tokens") && v)
            ok = parse_long(v, 1, 0x7fffffffL, &o->max_tokens);
        else if (!strcmp(a, "--threads") && v)
            ok = parse_long(v, 1, 256, &o->threads);
        else {
            takes = 0;
            if (!strcmp(a, "--json"))
                o->json = 1;
            else if (!strcmp(a, "--no-simd"))
                o->no_simd = 1;
            else if (!strcmp(a, "--no-progress"))
                o->no_progress = 1;
            else if (a[0] != '-' && !o->dir)
                o->dir = a;
            else {
                aae_cli_error("eval", "unknown or incomplete option '%s' (see --help)", a);
                return 0;
            }
        }
        if (!ok) {
            aae_cli_error("eval", "bad value '%s' for %s (see --help)", v, a);
            return 0;
        }
        i += takes;
    }
    if (!o->dir || !o->file) {
        aae_cli_error("eval", "need MODEL_DIR and --ppl TEXT_FILE (see --help)");
        return 0;
    }
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* -log softmax(z)[target], in double. */
static double token_nll(const float *z, size_t n, int32_t target)
{
    float mx = z[0];
    for (size_t i = 1; i < n; i++)
        mx = z[i] > mx ? z[i] : mx;
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += exp((double)z[i] - (double)mx);
    return (double)mx + log(s) - (double)z[target];
}

typedef struct progress {
    int on;
    size_t total;
    double t0, last;
} progress;

static void progress_draw(progress *p, size_t done, const eval_sum *s, int final)
{
    if (!p->on)
        return;
    double t = now_s();
    if (!final && t - p->last < 0.1)
        return;
    p->last = t;
    int width = 30, fill = p->total ? (int)((double)done / (double)p->total * width) : width;
    char bar[31];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    double ppl = s->scored ? exp(s->nll / (double)s->scored) : 0.0;
    fprintf(stderr, "\r[%s] %3d%% %zu/%zu tokens  ppl %.3f  %.0f tok/s ", bar,
            p->total ? (int)(100.0 * (double)done / (double)p->total) : 100, done, p->total, ppl,
            t > p->t0 ? (double)done / (t - p->t0) : 0.0);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

/* Runs one window: `lead` (BOS, or -1 for none) then ids[0..n); scores ids[first..n). */
static aae_status score_window(aae_model *m, int32_t lead, const int32_t *ids, size_t n, eval_sum *s)
{
    aae_status st = aae_model_reset(m);
    size_t i = 0;
    if (st == AAE_OK && lead < 0)
        st = aae_model_decode(m, ids[i++]);
    else if (st == AAE_OK)
        st = aae_model_decode(m, lead);
    for (; st == AAE_OK && i < n; i++) {
        const float *z;
        size_t nv;
        if ((st = aae_model_logits(m, &z, &nv)) != AAE_OK)
            break;
        s->nll += token_nll(z, nv, ids[i]);
        s->scored++;
        if (i + 1 < n)
            st = aae_model_decode(m, ids[i]);
    }
    s->windows++;
    return st;
}

static int score_all(aae_model *m, int32_t bos, const int32_t *ids, size_t n, size_t ctx, int show, eval_sum *s)
{
    size_t w = bos >= 0 ? ctx - 1 : ctx;
    progress p = {show, n, now_s(), 0.0};
    double t0 = now_s();
    for (size_t at = 0; at < n; at += w) {
        size_t len = n - at < w ? n - at : w;
        if (bos < 0 && len < 2)
            break; /* a lone token has nothing to be scored against */
        aae_status st = score_window(m, bos, ids + at, len, s);
        if (st != AAE_OK) {
            if (p.on)
                fputc('\n', stderr);
            aae_cli_error("eval", "window at token %zu: %s", at, aae_model_errmsg(m));
            return aae_cli_exit_for(st);
        }
        progress_draw(&p, at + len, s, 0);
    }
    s->seconds = now_s() - t0;
    progress_draw(&p, n, s, 1);
    return AAE_EXIT_OK;
}

static void print_result(const eval_opts *o, const eval_sum *s, size_t ctx, size_t n_tokens, int bos)
{
    double nll = s->nll / (double)s->scored;
    if (o->json) {
        printf("{\"perplexity\": %.9g, \"nll_per_token\": %.9g, \"tokens\": %zu, \"tokens_scored\": %zu, "
               "\"windows\": %zu, \"ctx\": %zu, \"bos\": %s, \"seconds\": %.3f}\n",
               exp(nll), nll, n_tokens, s->scored, s->windows, ctx, bos ? "true" : "false", s->seconds);
        return;
    }
    printf("perplexity     %.4f\n", exp(nll));
    printf("nll            %.5f nats/token\n", nll);
    printf("tokens scored  %zu of %zu, in %zu windows of up to %zu tokens%s\n", s->scored, n_tokens, s->windows,
           ctx, bos ? " (BOS included)" : "");
    printf("time           %.2f s (%.0f tokens/s)\n", s->seconds,
           s->seconds > 0 ? (double)s->scored / s->seconds : 0.0);
}

static int tokenize_file(const eval_opts *o, aae_tokenizer **tok, int32_t **ids, size_t *n)
{
    char errbuf[1024] = "";
    aae_error err = {0};
    char *text = NULL;
    size_t len = 0;
    aae_status st = aae_tokenizer_load_dir(o->dir, tok, errbuf, sizeof errbuf);
    if (st != AAE_OK) {
        *tok = NULL;
        aae_cli_error("eval", "%s: cannot load the tokenizer: %s", o->dir, errbuf);
        return aae_cli_exit_for(st);
    }
    if ((st = aae_read_file(o->file, (size_t)1 << 30, &text, &len, &err)) != AAE_OK) {
        aae_cli_error("eval", "%s", err.msg);
        return st == AAE_ERR_IO || st == AAE_ERR_NOT_FOUND ? AAE_EXIT_FAIL : aae_cli_exit_for(st);
    }
    st = aae_tokenizer_encode_alloc(*tok, text, len, 0, ids, n);
    free(text);
    if (st != AAE_OK) {
        aae_cli_error("eval", "%s: cannot tokenize: %s", o->file, aae_tokenizer_errmsg(*tok));
        return AAE_EXIT_INPUT;
    }
    if (o->max_tokens > 0 && (size_t)o->max_tokens < *n)
        *n = (size_t)o->max_tokens;
    return AAE_EXIT_OK;
}

/* The window length: --ctx, or the model's context window (sliding window models:
 * the window size); never more than the KV cache holds. */
static int pick_ctx(const eval_opts *o, aae_model *m, size_t *ctx)
{
    aae_model_info info;
    if (aae_model_get_info(m, &info) != AAE_OK) {
        aae_cli_error("eval", "%s", aae_model_errmsg(m));
        return AAE_EXIT_FAIL;
    }
    long cap = info.context_window_size > 0 ? info.context_window_size : info.sliding_window_size;
    if (o->ctx > 0 && cap > 0 && o->ctx > cap) {
        aae_cli_error("eval", "--ctx %ld is larger than the model's context window (%ld tokens); use --ctx %ld or less",
                      o->ctx, cap, cap);
        return AAE_EXIT_USAGE;
    }
    *ctx = (size_t)(o->ctx > 0 ? o->ctx : cap > 1 ? cap : 2048);
    return AAE_EXIT_OK;
}

static int check_ids(const int32_t *ids, size_t n, int32_t n_vocab, int32_t bos)
{
    if (bos >= n_vocab) {
        aae_cli_error("eval", "the tokenizer's BOS id %d is outside the model's vocabulary (%d)", (int)bos,
                      (int)n_vocab);
        return AAE_EXIT_INPUT;
    }
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= n_vocab) {
            aae_cli_error("eval", "token %zu of the text has id %d, outside the model's vocabulary (%d): the "
                          "tokenizer does not belong to this model", i, (int)ids[i], (int)n_vocab);
            return AAE_EXIT_INPUT;
        }
    size_t need = bos >= 0 ? 1 : 2;
    if (n < need) {
        aae_cli_error("eval", "the text has %zu token(s): nothing to score", n);
        return AAE_EXIT_INPUT;
    }
    return AAE_EXIT_OK;
}

int aae_cmd_eval(int argc, char **argv)
{
    if (argc >= 2 && aae_cli_is_help(argv[1])) {
        fputs(USAGE, stdout);
        return AAE_EXIT_OK;
    }
    eval_opts o;
    if (!parse_args(argc, argv, &o))
        return AAE_EXIT_USAGE;
    aae_tokenizer *tok = NULL;
    aae_model *m = NULL;
    int32_t *ids = NULL;
    size_t n = 0, ctx = 0;
    eval_sum s = {0};
    int rc = tokenize_file(&o, &tok, &ids, &n);
    if (rc != AAE_EXIT_OK)
        goto out;
    aae_model_params p;
    aae_model_default_params(&p);
    p.n_threads = (int32_t)o.threads;
    p.use_simd = !o.no_simd;
    aae_status st = aae_model_load(o.dir, &p, &m);
    if (st != AAE_OK) {
        aae_cli_error("eval", "%s", aae_model_errmsg(m));
        rc = aae_cli_exit_for(st);
        goto out;
    }
    int32_t bos = aae_tokenizer_bos_id(tok);
    if ((rc = pick_ctx(&o, m, &ctx)) != AAE_EXIT_OK ||
        (rc = check_ids(ids, n, aae_model_n_vocab(m), bos)) != AAE_EXIT_OK)
        goto out;
    int show = !o.no_progress && isatty(STDERR_FILENO);
    if ((rc = score_all(m, bos, ids, n, ctx, show, &s)) != AAE_EXIT_OK)
        goto out;
    print_result(&o, &s, ctx, n, bos >= 0);
out:
    aae_model_free(m);
    aae_tokenizer_free(ids);
    aae_tokenizer_destroy(tok);
    return rc;
}
