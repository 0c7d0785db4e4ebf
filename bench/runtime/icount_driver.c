/*
 * icount_driver.c - loads a converted model on one thread, prefills a prompt
 * of PROMPT_LEN ids and decodes GEN_LEN tokens greedily through the public
 * API, then prints the kernel path (aarch64_icount.sh counts what this
 * executes under qemu-aarch64).
 *   icount_driver MODEL_DIR PROMPT_LEN GEN_LEN [USE_SIMD]
 */
#include <stdio.h>
#include <stdlib.h>

#include "sphere_aae.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: icount_driver MODEL_DIR PROMPT_LEN GEN_LEN [USE_SIMD]\n");
        return 2;
    }
    int n_prompt = atoi(argv[2]), n_gen = atoi(argv[3]);
    if (n_prompt < 1 || n_gen < 0) {
        fprintf(stderr, "icount_driver: PROMPT_LEN must be 1 or more, GEN_LEN 0 or more\n");
        return 2;
    }
    aae_model_params p;
    aae_model_default_params(&p);
    p.n_threads = 1;
    if (argc > 4)
        p.use_simd = atoi(argv[4]);
    aae_model *m = NULL;
    if (aae_model_load(argv[1], &p, &m) != AAE_OK) {
        if (m)
            fprintf(stderr, "icount_driver: %s\n", aae_model_errmsg(m));
        else
            fprintf(stderr, "icount_driver: %s: cannot load\n", argv[1]);
        aae_model_free(m);
        return 1;
    }
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)n_prompt);
    if (!ids)
        return 1;
    int32_t n_vocab = aae_model_n_vocab(m);
    for (int i = 0; i < n_prompt; i++) /* spread over the vocabulary, the same every run */
        ids[i] = (int32_t)(((int64_t)i * 7919 + 100) % n_vocab);
    int32_t t = ids[n_prompt - 1];
    int ok = aae_model_prefill(m, ids, (size_t)n_prompt) == AAE_OK;
    for (int i = 0; ok && i <= n_gen; i++) {
        const float *lg;
        size_t nv;
        ok = aae_model_logits(m, &lg, &nv) == AAE_OK;
        size_t best = 0;
        for (size_t v = 1; ok && v < nv; v++)
            if (lg[v] > lg[best])
                best = v;
        t = (int32_t)best;
        if (ok && i < n_gen)
            ok = aae_model_decode(m, t) == AAE_OK;
    }
    if (!ok) {
        fprintf(stderr, "icount_driver: %s\n", aae_model_errmsg(m));
        return 1;
    }
    aae_model_info info;
    aae_model_get_info(m, &info);
    printf("path %s last %d\n", info.kernel_path, t);
    aae_model_free(m);
    free(ids);
    return 0;
}
