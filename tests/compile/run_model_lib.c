/*
 * run_model_lib.c - a test program that links the runtime and model libraries
 * statically and runs models by model_lib name (or with the generic code).
 *
 *   run_model_lib MODEL_DIR MODEL_LIB PROMPT_IDS N_NEW [MODEL_DIR MODEL_LIB PROMPT_IDS N_NEW ...]
 *
 * MODEL_LIB "-" runs the generic code. For each model, prints one line: the greedy
 * continuation ids, space-separated. Exits 1 with the runtime's message on failure.
 * Built by tests/compile/test_compile.py against libmodel_<device>.a with
 * -u aae_model_lib_registry (no --whole-archive).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sphere_aae.h"

static int parse_ids(const char *s, int32_t *ids, int cap)
{
    int n = 0;
    while (*s && n < cap) {
        char *end;
        ids[n++] = (int32_t)strtol(s, &end, 10);
        if (end == s)
            return -1;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

static int argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return (int)best;
}

static int run(const char *dir, const char *lib, const char *prompt, int n_new)
{
    int32_t ids[512];
    int n = parse_ids(prompt, ids, 512);
    if (n <= 0) {
        fprintf(stderr, "bad prompt ids '%s'\n", prompt);
        return 1;
    }
    aae_model_params p;
    aae_model_default_params(&p);
    p.n_threads = 1;
    p.model_lib = strcmp(lib, "-") == 0 ? NULL : lib;
    aae_model *m = NULL;
    if (aae_model_load(dir, &p, &m) != AAE_OK) {
        fprintf(stderr, "%s\n", aae_model_errmsg(m));
        aae_model_free(m);
        return 1;
    }
    aae_status st = aae_model_prefill(m, ids, (size_t)n);
    for (int i = 0; i < n_new && st == AAE_OK; i++) {
        const float *logits;
        size_t nv;
        if ((st = aae_model_logits(m, &logits, &nv)) != AAE_OK)
            break;
        int next = argmax(logits, nv);
        printf("%s%d", i ? " " : "", next);
        st = aae_model_decode(m, next);
    }
    printf("\n");
    if (st != AAE_OK)
        fprintf(stderr, "%s\n", aae_model_errmsg(m));
    aae_model_free(m);
    return st == AAE_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 5 || (argc - 1) % 4 != 0) {
        fprintf(stderr, "usage: run_model_lib MODEL_DIR MODEL_LIB PROMPT_IDS N_NEW [...]\n");
        return 2;
    }
    for (int i = 1; i + 3 < argc; i += 4)
        if (run(argv[i], argv[i + 1], argv[i + 2], atoi(argv[i + 3])) != 0)
            return 1;
    return 0;
}
