/*
 * test_sampler.c - the sampler against hand-derived distributions (logits
 * chosen as logs of simple probabilities), hand-computed penalties, a PRNG
 * stream computed by an independent Python implementation of xoshiro256**,
 * and a chi-square bound on many draws.
 */
#include <math.h>
#include <stdlib.h>

#include "aae_test.h"
#include "engine/sampler.h"

static aae_sampler *make(int32_t v, const aae_sampling *p, uint64_t seed)
{
    aae_sampler *s = NULL;
    AAE_CHECK_EQ_INT(aae_sampler_create(v, &s, NULL), AAE_OK);
    AAE_CHECK_EQ_INT(aae_sampler_reset(s, p, 1, seed, NULL), AAE_OK);
    return s;
}

static void quarter_logits(float *l)
{
    l[0] = logf(0.5f);
    l[1] = logf(0.25f);
    l[2] = logf(0.125f);
    l[3] = logf(0.125f);
}

static int close_to(float a, double b)
{
    return fabs((double)a - b) < 1e-5;
}

/* Checks the distribution against want[id] (0 = not a candidate). */
static void check_dist(const aae_sampling *p, const double *want, size_t want_n)
{
    aae_sampler *s = make(4, p, 1);
    float l[4];
    quarter_logits(l);
    const int32_t *ids;
    const float *probs;
    size_t n = aae_sampler_distribution(s, l, &ids, &probs);
    AAE_CHECK_EQ_INT(n, want_n);
    for (size_t i = 0; i < n; i++) {
        AAE_CHECK(ids[i] >= 0 && ids[i] < 4);
        if (ids[i] >= 0 && ids[i] < 4 && !close_to(probs[i], want[ids[i]])) {
            fprintf(stderr, "id %d: %g != %g\n", ids[i], probs[i], want[ids[i]]);
            AAE_CHECK(0);
        }
    }
    aae_sampler_destroy(s);
}

AAE_TEST(argmax_ties_and_nan)
{
    float l[5] = {1.0f, 3.0f, 3.0f, -INFINITY, NAN};
    AAE_CHECK_EQ_INT(aae_argmax(l, 5), 1);
    float m[3] = {NAN, -2.0f, -1.0f};
    AAE_CHECK_EQ_INT(aae_argmax(m, 3), 2);
    float z[2] = {NAN, NAN};
    AAE_CHECK_EQ_INT(aae_argmax(z, 2), 0);
    /* against the definition, one id at a time: lengths around the lanes,
     * few distinct values (many ties), NaNs and infinities anywhere */
    static float r[100];
    const float vals[6] = {-INFINITY, -1.0f, 0.5f, 2.0f, INFINITY, NAN};
    uint32_t st = 12345u;
    int bad = 0;
    for (int rep = 0; rep < 3000; rep++) {
        int32_t n = 1 + rep % 100;
        for (int32_t i = 0; i < n; i++) {
            st = st * 1664525u + 1013904223u;
            r[i] = vals[(st >> 24) % (rep % 3 == 0 ? 6u : rep % 3 == 1 ? 4u : 3u)];
        }
        int32_t want = -1;
        for (int32_t i = 0; i < n; i++)
            if (!isnan(r[i]) && (want < 0 || r[i] > r[want]))
                want = i;
        bad += aae_argmax(r, n) != (want < 0 ? 0 : want);
    }
    AAE_CHECK_EQ_INT(bad, 0);
}

AAE_TEST(greedy)
{
    aae_sampling p;
    aae_sampling_defaults(&p);
    p.temperature = 0.0f;
    aae_sampler *s = make(4, &p, 1);
    float l[4] = {0.1f, 0.7f, 0.7f, 0.2f};
    AAE_CHECK_EQ_INT(aae_sampler_sample(s, l), 1);
    aae_sampler_destroy(s);
}

AAE_TEST(plain_distribution)
{
    aae_sampling p;
    aae_sampling_defaults(&p);
    double want[4] = {0.5, 0.25, 0.125, 0.125};
    check_dist(&p, want, 4);
}

AAE_TEST(top_p)
{
    aae_sampling p;
    aae_sampling_defaults(&p);
    p.top_p = 0.7f; /* 0.5 < 0.7 <= 0.75: {0, 1} */
    double want[4] = {2.0 / 3, 1.0 / 3, 0, 0};
    check_dist(&p, want, 2);
    p.top_p = 0.8f; /* 0.75 < 0.8 <= 0.875: {0, 1, 2}, the tie broken by the lower id */
    double want2[4] = {4.0 / 7, 2.0 / 7, 1.0 / 7, 0};
    check_dist(&p, want2, 3);
    p.top_p = 0.3f;
    double want3[4] = {1, 0, 0, 0};
    check_dist(&p, want3, 1);
}

AAE_TEST(top_k)
{
    aae_sampling p;
    aae_sampling_defaults(&p);
    p.top_k = 3;
    double want[4] = {4.0 / 7, 2.0 / 7, 1.0 / 7, 0};
    check_dist(&p, want, 3);
    p.top_k = 2;
    p.top_p = 0.9f; /* both survive: 0.5, 0.25 of 0.75 */
    double want2[4] = {2.0 / 3, 1.0 / 3, 0, 0};
    check_dist(&p, want2, 2);
}

AAE_TEST(temperature)
{
    aae_sampling p;
    aae_sampling_defaults(&p);
    p.temperature = 0.5f; /* p^2 renormalised: 0.25, 0.0625, 0.015625, 0.015625 of 0.34375 */
    double want[4] = {0.25 / 0.34375, 0.0625 / 0.34375, 0.015625 / 0.34375, 0.015625 / 0.34375};
    check_dist(&p, want, 4);
    p.temperature = 2.0f; /* sqrt(p) renormalised */
    double z = sqrt(0.5) + sqrt(0.25) + 2 * sqrt(0.125);
    double want2[4] = {sqrt(0.5) / z, sqrt(0.25) / z, sqrt(0.125) / z, sqrt(0.125) / z};
    check_dist(&p, want2, 4);
}

AAE_TEST(penalties_and_bias)
{
    aae_sampling p;
    aae_sampling_defaults(&p);
    p.repetition_penalty = 2.0f;
    p.presence_penalty = 0.5f;
    p.frequency_penalty = 0.25f;
    p.n_bias = 1;
    p.bias_id[0] = 2;
    p.bias[0] = 10.0f;
    aae_sampler *s = make(5, &p, 1);
    int32_t prompt[2] = {0, 99};
    aae_sampler_add_prompt(s, prompt, 2);
    aae_sampler_accept(s, 3);
    aae_sampler_accept(s, 1);
    aae_sampler_accept(s, 3);
    float l[5] = {2.0f, -1.0f, 0.5f, 3.0f, 7.0f};
    aae_sampler_apply_penalties(s, l);
    AAE_CHECK(close_to(l[0], 1.0));   /* prompt only: 2 / 2 */
    AAE_CHECK(close_to(l[1], -2.75)); /* -1 * 2 - 0.5 - 0.25 * 1 */
    AAE_CHECK(close_to(l[2], 10.5));  /* bias only */
    AAE_CHECK(close_to(l[3], 0.5));   /* 3 / 2 - 0.5 - 0.25 * 2 */
    AAE_CHECK(close_to(l[4], 7.0));   /* untouched */
    /* a reset forgets the tokens */
    aae_sampling_defaults(&p);
    p.repetition_penalty = 2.0f;
    AAE_CHECK_EQ_INT(aae_sampler_reset(s, &p, 0, 0, NULL), AAE_OK);
    float m[5] = {2.0f, -1.0f, 0.5f, 3.0f, 7.0f};
    aae_sampler_apply_penalties(s, m);
    AAE_CHECK(close_to(m[0], 2.0) && close_to(m[3], 3.0));
    /* a bias id out of range is refused */
    p.n_bias = 1;
    p.bias_id[0] = 5;
    aae_error err;
    AAE_CHECK_EQ_INT(aae_sampler_reset(s, &p, 0, 0, &err), AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK_CONTAINS(err.msg, "/logit_bias/5");
    aae_sampler_destroy(s);
}

AAE_TEST(prng_stream)
{
    aae_rng r;
    aae_rng_seed(&r, 42);
    AAE_CHECK(aae_rng_next(&r) == 0x15780b2e0c2ec716ull);
    AAE_CHECK(aae_rng_next(&r) == 0x6104d9866d113a7eull);
    AAE_CHECK(aae_rng_next(&r) == 0xae17533239e499a1ull);
    for (int i = 0; i < 1000; i++) {
        double u = aae_rng_uniform(&r);
        AAE_CHECK(u >= 0.0 && u < 1.0);
    }
}

AAE_TEST(chi_square_and_seed)
{
    aae_sampling p;
    aae_sampling_defaults(&p);
    aae_sampler *s = make(4, &p, 7);
    int count[4] = {0};
    const int n = 40000;
    int32_t first[16];
    for (int i = 0; i < n; i++) {
        float l[4];
        quarter_logits(l);
        int32_t id = aae_sampler_sample(s, l);
        AAE_CHECK(id >= 0 && id < 4);
        if (id >= 0 && id < 4)
            count[id]++;
        if (i < 16)
            first[i] = id;
    }
    double want[4] = {0.5, 0.25, 0.125, 0.125}, chi = 0;
    for (int i = 0; i < 4; i++) {
        double e = want[i] * n;
        chi += (count[i] - e) * (count[i] - e) / e;
    }
    AAE_CHECK(chi < 16.27); /* 3 degrees of freedom, p = 0.001 */
    /* the same seed replays the same draws */
    AAE_CHECK_EQ_INT(aae_sampler_reset(s, &p, 1, 7, NULL), AAE_OK);
    int same = 1;
    for (int i = 0; i < 16; i++) {
        float l[4];
        quarter_logits(l);
        same &= aae_sampler_sample(s, l) == first[i];
    }
    AAE_CHECK(same);
    aae_sampler_destroy(s);
}

/* top_p over a large vocabulary (the pre-filter path) against a brute-force nucleus. */
static int by_prob_desc(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return x[0] < y[0] ? 1 : x[0] > y[0] ? -1 : (x[1] > y[1]) - (x[1] < y[1]);
}

AAE_TEST(top_p_large_vocab)
{
    enum { V = 3000 };
    static float l[V], l2[V];
    static double pairs[V][2];
    aae_rng r;
    aae_rng_seed(&r, 3);
    for (int trial = 0; trial < 5; trial++) {
        aae_sampling p;
        aae_sampling_defaults(&p);
        p.top_p = 0.5f + 0.1f * (float)trial;
        aae_sampler *s = make(V, &p, 1);
        double mx = -1e30, z = 0;
        for (int i = 0; i < V; i++) {
            l[i] = (float)(aae_rng_uniform(&r) * 8.0);
            l2[i] = l[i];
            if (l[i] > mx)
                mx = l[i];
        }
        for (int i = 0; i < V; i++) {
            pairs[i][0] = exp((double)l[i] - mx);
            pairs[i][1] = i;
            z += pairs[i][0];
        }
        qsort(pairs, V, sizeof pairs[0], by_prob_desc);
        size_t want_n = 0;
        double cum = 0;
        while (want_n < V && cum < p.top_p * z)
            cum += pairs[want_n++][0];
        const int32_t *ids;
        const float *probs;
        size_t n = aae_sampler_distribution(s, l2, &ids, &probs);
        AAE_CHECK_EQ_INT(n, want_n);
        for (size_t i = 0; i < n && i < want_n; i++) {
            AAE_CHECK_EQ_INT(ids[i], (int)pairs[i][1]);
            AAE_CHECK(fabs(probs[i] - pairs[i][0] / cum) < 1e-5);
        }
        aae_sampler_destroy(s);
    }
}

int main(void)
{
    return aae_test_run_all();
}
