/*
 * e2e_app.c - a minimal app built ONLY from a packaged dist/ (include and link flags
 * from dist/lib/pkgconfig/sphere_aae.pc): loads one model of the app config by its
 * model_lib and model_path and prints the greedy continuation of a prompt as a JSON
 * array of ids.
 *
 *   e2e_app MODEL_DIR MODEL_LIB N_NEW ID,ID,...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sphere_aae.h"

static size_t argmax(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: e2e_app MODEL_DIR MODEL_LIB N_NEW ID,ID,...\n");
        return 2;
    }
    int32_t ids[256];
    size_t n = 0;
    for (char *s = strtok(argv[4], ","); s && n < 256; s = strtok(NULL, ","))
        ids[n++] = (int32_t)atoi(s);
    aae_model_params p;
    aae_model_default_params(&p);
    p.model_lib = argv[2];
    p.n_threads = 1;
    aae_model *m = NULL;
    if (aae_model_load(argv[1], &p, &m) != AAE_OK) {
        fprintf(stderr, "load %s with %s: %s\n", argv[1], argv[2], aae_model_errmsg(m));
        aae_model_free(m);
        return 1;
    }
    int n_new = atoi(argv[3]);
    aae_status st = aae_model_prefill(m, ids, n);
    printf("[");
    for (int i = 0; i < n_new && st == AAE_OK; i++) {
        const float *logits;
        size_t nv;
        if ((st = aae_model_logits(m, &logits, &nv)) != AAE_OK)
            break;
        int32_t next = (int32_t)argmax(logits, nv);
        printf("%s%d", i ? ", " : "", next);
        st = aae_model_decode(m, next);
    }
    printf("]\n");
    if (st != AAE_OK)
        fprintf(stderr, "run: %s\n", aae_model_errmsg(m));
    aae_model_free(m);
    return st == AAE_OK ? 0 : 1;
}
