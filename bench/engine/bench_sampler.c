/*
 * bench_sampler.c - what one decode step's token choice costs, per vocabulary
 * size and sampling setting (microseconds per call, median of 7 rounds). Prints
 * numbers only; compare them with the model's time per token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/sampler.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void run(const char *label, int32_t vocab, const aae_sampling *p, int seen)
{
    aae_sampler *s = NULL;
    if (aae_sampler_create(vocab, &s, NULL) != AAE_OK || aae_sampler_reset(s, p, 1, 1, NULL) != AAE_OK)
        return;
    float *base = malloc((size_t)vocab * sizeof *base), *work = malloc((size_t)vocab * sizeof *work);
    aae_rng r;
    aae_rng_seed(&r, 9);
    for (int32_t i = 0; i < vocab; i++) /* logits of a trained model: a few high, a long low tail */
        base[i] = (float)(aae_rng_uniform(&r) * 6.0 - 3.0) + (i % 97 == 0 ? 8.0f : 0.0f);
    for (int i = 0; i < seen; i++)
        aae_sampler_accept(s, (int32_t)(aae_rng_next(&r) % (uint64_t)vocab));
    enum { ROUNDS = 7, CALLS = 50 };
    double t[ROUNDS];
    volatile int32_t sink = 0;
    for (int k = 0; k < ROUNDS; k++) {
        double t0 = now_us();
        for (int c = 0; c < CALLS; c++) {
            memcpy(work, base, (size_t)vocab * sizeof *work);
            sink += aae_sampler_sample(s, work);
        }
        t[k] = (now_us() - t0) / CALLS;
    }
    qsort(t, ROUNDS, sizeof t[0], cmp_double);
    printf("  %-44s vocab %6d: %8.1f us per token (fastest round %.1f)\n", label, (int)vocab, t[ROUNDS / 2], t[0]);
    (void)sink;
    free(base);
    free(work);
    aae_sampler_destroy(s);
}

int main(void)
{
    static const int32_t vocabs[] = {32000, 128256, 151936};
    printf("sampler cost per token (logits copy included; median of 7 rounds of 50; the fastest round shows the cost without other load)\n");
    for (size_t v = 0; v < sizeof vocabs / sizeof vocabs[0]; v++) {
        aae_sampling p;
        aae_sampling_defaults(&p);
        p.temperature = 0.0f;
        run("greedy", vocabs[v], &p, 0);
        p.temperature = 0.7f;
        run("temperature 0.7", vocabs[v], &p, 0);
        p.top_p = 0.9f;
        run("temperature 0.7, top_p 0.9", vocabs[v], &p, 0);
        p.top_k = 40;
        p.top_p = 0.95f;
        run("temperature 0.7, top_k 40, top_p 0.95", vocabs[v], &p, 0);
        p.top_k = 0;
        p.top_p = 0.9f;
        p.repetition_penalty = 1.1f;
        p.presence_penalty = 0.5f;
        p.frequency_penalty = 0.5f;
        run("top_p 0.9 + penalties over 512 tokens", vocabs[v], &p, 512);
    }
    return 0;
}
