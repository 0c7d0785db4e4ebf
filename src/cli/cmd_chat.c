/*
 * cmd_chat.c - `sphere_aae chat MODEL_DIR`: a conversation with a converted
 * model through the engine's chat-completion API, streamed as it is generated.
 *
 * On a terminal it is interactive (a prompt, /commands, Ctrl-C stops the
 * answer being written). Otherwise every line of stdin is one user message and
 * each answer is written to stdout followed by a newline, so scripts and tests
 * can drive it. The conversation (system message plus every turn) is sent in
 * full each time; the engine re-runs only the new part (KV prefix reuse).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "cli.h"

AAE_CLI_COMMAND(chat, 60, "chat with a converted model (streamed; reads stdin lines when not a terminal)")

typedef struct chat_opts {
    const char *model_dir;
    const char *model_lib;
    const char *system;
    const char *temperature, *top_p, *seed, *max_tokens;
    int threads, context_window;
} chat_opts;

typedef struct turn {
    char *user, *assistant;
} turn;

typedef struct chat {
    aae_engine *engine;
    chat_opts o;
    turn *turns;
    size_t n_turns, cap_turns;
    aae_buf reply;
    char last_usage[1024];
    int interactive;
    int wrote_any;
} chat;

static aae_engine *volatile g_engine; /* for the SIGINT handler */
static volatile sig_atomic_t g_generating;

static void on_sigint(int sig)
{
    (void)sig;
    if (g_generating && g_engine) {
        aae_engine_abort(g_engine); /* async-signal-safe: an atomic store */
        return;
    }
    _exit(130);
}

static void help(FILE *f)
{
    fprintf(f,
            "usage: sphere_aae chat MODEL_DIR [options]\n\n"
            "Chat with a converted model. On a terminal: type a message and press Enter; the\n"
            "answer is streamed. Commands: /reset (forget the conversation), /stats (speed of the\n"
            "last answer), /help, /exit (or Ctrl-D). Ctrl-C stops the answer being written.\n"
            "When stdin is not a terminal, each line is one user message and each answer is\n"
            "printed on stdout followed by a newline (commands work too).\n\n"
            "options:\n"
            "  --model-lib NAME_OR_PATH   a compiled model library (default: the generic code)\n"
            "  --system TEXT              the system message\n"
            "  --temperature T            sampling temperature, 0 = greedy (default: the model's)\n"
            "  --top-p P                  nucleus sampling mass in (0, 1] (default: the model's)\n"
            "  --seed S                   seed for sampling (default: random)\n"
            "  --max-tokens N             most tokens per answer (default: up to the context window)\n"
            "  --threads N                worker threads (default: one per CPU)\n"
            "  --context-window-size N    KV cache size in tokens (default: the model's)\n"
            "  -h, --help                 this help\n\n"
            "exit codes: 0 ok, 1 failed, 2 usage, 3 bad model directory\n");
}

static int parse_args(int argc, char **argv, chat_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (aae_cli_is_help(a)) {
            help(stdout);
            return -1;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (o->model_dir) {
                aae_cli_error("chat", "unexpected argument '%s' (one MODEL_DIR only)", a);
                return AAE_EXIT_USAGE;
            }
            o->model_dir = a;
            continue;
        }
        if (!v) {
            aae_cli_error("chat", "%s needs a value (see --help)", a);
            return AAE_EXIT_USAGE;
        }
        i++;
        if (strcmp(a, "--model-lib") == 0)
            o->model_lib = v;
        else if (strcmp(a, "--system") == 0)
            o->system = v;
        else if (strcmp(a, "--temperature") == 0)
            o->temperature = v;
        else if (strcmp(a, "--top-p") == 0)
            o->top_p = v;
        else if (strcmp(a, "--seed") == 0)
            o->seed = v;
        else if (strcmp(a, "--max-tokens") == 0)
            o->max_tokens = v;
        else if (strcmp(a, "--threads") == 0)
            o->threads = atoi(v);
        else if (strcmp(a, "--context-window-size") == 0)
            o->context_window = atoi(v);
        else {
            aae_cli_error("chat", "unknown option '%s' (see --help)", a);
            return AAE_EXIT_USAGE;
        }
    }
    if (!o->model_dir) {
        aae_cli_error("chat", "missing MODEL_DIR (see --help)");
        return AAE_EXIT_USAGE;
    }
    if (o->threads < 0 || o->context_window < 0) {
        aae_cli_error("chat", "--threads and --context-window-size must be >= 0");
        return AAE_EXIT_USAGE;
    }
    return 0;
}

/* A number option must be a plain JSON number: it goes into the request as is. */
static int check_number(const char *opt, const char *v)
{
    if (!v)
        return 1;
    aae_json_doc *doc = NULL;
    int ok = aae_json_parse(v, strlen(v), &doc, NULL) == AAE_OK && aae_json_is(aae_json_root(doc), AAE_JSON_NUMBER);
    aae_json_free(doc);
    if (!ok)
        aae_cli_error("chat", "%s: '%s' is not a number", opt, v);
    return ok;
}

static void build_request(const chat *c, aae_buf *b)
{
    aae_buf_reset(b);
    aae_buf_puts(b, "{\"stream\":true,\"messages\":[");
    int first = 1;
    if (c->o.system) {
        aae_buf_puts(b, "{\"role\":\"system\",\"content\":");
        aae_buf_json_string(b, c->o.system, strlen(c->o.system));
        aae_buf_putc(b, '}');
        first = 0;
    }
    for (size_t i = 0; i < c->n_turns; i++) {
        const turn *t = &c->turns[i];
        aae_buf_puts(b, first ? "" : ",");
        aae_buf_puts(b, "{\"role\":\"user\",\"content\":");
        aae_buf_json_string(b, t->user, strlen(t->user));
        aae_buf_putc(b, '}');
        first = 0;
        if (t->assistant) {
            aae_buf_puts(b, ",{\"role\":\"assistant\",\"content\":");
            aae_buf_json_string(b, t->assistant, strlen(t->assistant));
            aae_buf_putc(b, '}');
        }
    }
    aae_buf_puts(b, "]");
    if (c->o.temperature)
        aae_buf_printf(b, ",\"temperature\":%s", c->o.temperature);
    if (c->o.top_p)
        aae_buf_printf(b, ",\"top_p\":%s", c->o.top_p);
    if (c->o.seed)
        aae_buf_printf(b, ",\"seed\":%s", c->o.seed);
    if (c->o.max_tokens)
        aae_buf_printf(b, ",\"max_tokens\":%s", c->o.max_tokens);
    aae_buf_putc(b, '}');
}

/* Streams each chunk's text to stdout and keeps the usage for /stats. */
static int on_chunk(const char *json, size_t len, void *user)
{
    chat *c = user;
    aae_json_doc *doc = NULL;
    if (aae_json_parse(json, len, &doc, NULL) != AAE_OK)
        return 0;
    const aae_json *root = aae_json_root(doc);
    const aae_json *delta = aae_json_get(aae_json_at(aae_json_get(root, "choices"), 0), "delta");
    const aae_json *content = aae_json_get(delta, "content");
    if (aae_json_is(content, AAE_JSON_STRING) && content->u.str.len) {
        fwrite(content->u.str.s, 1, content->u.str.len, stdout);
        fflush(stdout);
        aae_buf_append(&c->reply, content->u.str.s, content->u.str.len);
        c->wrote_any = 1;
    }
    const aae_json *usage = aae_json_get(root, "usage");
    if (usage) {
        int64_t p = 0, g = 0, r = 0;
        double ps = 0, ds = 0, ttft = 0;
        aae_json_get_int64(usage, "prompt_tokens", 0, &p);
        aae_json_get_int64(usage, "completion_tokens", 0, &g);
        const aae_json *x = aae_json_get(usage, "extra");
        aae_json_get_int64(x, "prompt_tokens_reused", 0, &r);
        aae_json_get_double(x, "prefill_tokens_per_s", 0, &ps);
        aae_json_get_double(x, "decode_tokens_per_s", 0, &ds);
        aae_json_get_double(x, "time_to_first_token_s", 0, &ttft);
        snprintf(c->last_usage, sizeof c->last_usage,
                 "prompt %lld tokens (%lld reused from the cache), prefill %.1f tok/s, first token after %.3f s; "
                 "answer %lld tokens, decode %.1f tok/s",
                 (long long)p, (long long)r, ps, ttft, (long long)g, ds);
    }
    aae_json_free(doc);
    return 0;
}

static int add_turn(chat *c, const char *text)
{
    if (c->n_turns == c->cap_turns) {
        size_t cap = c->cap_turns ? 2 * c->cap_turns : 8;
        turn *t = realloc(c->turns, cap * sizeof *t);
        if (!t)
            return 0;
        c->turns = t;
        c->cap_turns = cap;
    }
    char *u = strdup(text);
    if (!u)
        return 0;
    c->turns[c->n_turns++] = (turn){u, NULL};
    return 1;
}

static void drop_first_turn(chat *c)
{
    free(c->turns[0].user);
    free(c->turns[0].assistant);
    memmove(c->turns, c->turns + 1, (c->n_turns - 1) * sizeof *c->turns);
    c->n_turns--;
}

static void reset(chat *c)
{
    while (c->n_turns)
        drop_first_turn(c);
    aae_engine_reset_chat(c->engine);
}

/* One user message -> one streamed answer. Returns an exit code (0 = go on). */
static int answer(chat *c, const char *text, aae_buf *req)
{
    if (!add_turn(c, text)) {
        aae_cli_error("chat", "out of memory");
        return AAE_EXIT_FAIL;
    }
    for (;;) {
        build_request(c, req);
        aae_buf_reset(&c->reply);
        c->wrote_any = 0;
        g_generating = 1;
        aae_status st = aae_engine_chat_completion(c->engine, req->data, on_chunk, c);
        g_generating = 0;
        if (st == AAE_ERR_LIMIT && c->n_turns > 1 && !c->wrote_any) {
            drop_first_turn(c); /* the conversation outgrew the window: forget the oldest turn */
            if (c->interactive)
                fprintf(stderr, "[the conversation is longer than the context window: dropped the oldest turn]\n");
            continue;
        }
        if (st != AAE_OK && st != AAE_ERR_ABORTED) {
            fputc('\n', stdout);
            aae_cli_error("chat", "%s", aae_engine_errmsg(c->engine));
            free(c->turns[c->n_turns - 1].user);
            c->n_turns--;
            return c->interactive ? 0 : aae_cli_exit_for(st);
        }
        if (st == AAE_ERR_ABORTED && c->interactive)
            fprintf(stderr, " [stopped]");
        break;
    }
    fputc('\n', stdout);
    fflush(stdout);
    char *a = strdup(aae_buf_ok(&c->reply) && c->reply.data ? c->reply.data : "");
    c->turns[c->n_turns - 1].assistant = a ? a : strdup("");
    return 0;
}

/* A /command; returns 1 to exit, 0 when handled, -1 when not a command. */
static int command(chat *c, const char *line)
{
    if (line[0] != '/')
        return -1;
    if (strcmp(line, "/exit") == 0 || strcmp(line, "/quit") == 0)
        return 1;
    if (strcmp(line, "/reset") == 0) {
        reset(c);
        fprintf(stderr, "[the conversation was reset]\n");
    } else if (strcmp(line, "/stats") == 0) {
        fprintf(stderr, "%s\n", c->last_usage[0] ? c->last_usage : "no answer yet");
    } else if (strcmp(line, "/help") == 0) {
        fprintf(stderr, "/reset  forget the conversation\n/stats  speed of the last answer\n/exit   quit\n");
    } else {
        return -1; /* e.g. a path: a message like any other */
    }
    return 0;
}

static int loop(chat *c)
{
    aae_buf req;
    aae_buf_init(&req);
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    for (;;) {
        if (c->interactive) {
            fputs(">>> ", stdout);
            fflush(stdout);
        }
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0)
            break;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        int cmd = command(c, line);
        if (cmd == 1)
            break;
        if (cmd == 0)
            continue;
        rc = answer(c, line, &req);
        if (rc)
            break;
    }
    if (c->interactive && rc == 0)
        fputc('\n', stdout);
    free(line);
    aae_buf_free(&req);
    return rc;
}

int aae_cmd_chat(int argc, char **argv)
{
    chat c;
    memset(&c, 0, sizeof c);
    int rc = parse_args(argc, argv, &c.o);
    if (rc)
        return rc < 0 ? AAE_EXIT_OK : rc;
    if (!check_number("--temperature", c.o.temperature) || !check_number("--top-p", c.o.top_p) ||
        !check_number("--seed", c.o.seed) || !check_number("--max-tokens", c.o.max_tokens))
        return AAE_EXIT_USAGE;
    aae_engine_params p;
    aae_engine_default_params(&p);
    p.n_threads = c.o.threads;
    p.context_window_size = c.o.context_window;
    aae_status st = aae_engine_create(&p, &c.engine);
    if (st != AAE_OK) {
        aae_cli_error("chat", "cannot create the engine: %s", aae_strerror(st));
        return AAE_EXIT_FAIL;
    }
    st = aae_engine_reload(c.engine, c.o.model_dir, c.o.model_lib);
    if (st != AAE_OK) {
        aae_cli_error("chat", "%s", aae_engine_errmsg(c.engine));
        aae_engine_destroy(c.engine);
        return aae_cli_exit_for(st) == AAE_EXIT_USAGE ? AAE_EXIT_INPUT : aae_cli_exit_for(st);
    }
    c.interactive = isatty(STDIN_FILENO);
    aae_buf_init(&c.reply);
    g_engine = c.engine;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    if (c.interactive)
        fprintf(stderr, "[%s loaded; /help for commands, Ctrl-D to quit]\n", c.o.model_dir);
    rc = loop(&c);
    g_engine = NULL;
    reset(&c);
    free(c.turns);
    aae_buf_free(&c.reply);
    aae_engine_destroy(c.engine);
    return rc;
}
