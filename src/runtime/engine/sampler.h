/*
 * sampler.h - picks the next token from a row of logits.
 *
 * Order of operations (each step skipped when it is off):
 *   1. logit_bias: l[id] += bias                            (OpenAI)
 *   2. repetition_penalty r over every token seen in the prompt or the output:
 *      l = l > 0 ? l / r : l * r                             (Hugging Face)
 *   3. presence_penalty p and frequency_penalty f over the output tokens only,
 *      c = how often the token was generated so far:
 *      l -= p * (c > 0) + f * c                              (OpenAI)
 *   4. temperature 0 (or top_k 1): the argmax (the lowest id among equal maxima).
 *   5. otherwise: l / temperature, keep the top_k largest (0 = all), softmax,
 *      keep the smallest set of most likely tokens whose mass reaches top_p
 *      (1 = all; the token that crosses top_p is kept), renormalise, draw one.
 *
 * The random source is the PRNG below (xoshiro256** seeded through splitmix64),
 * so a seed gives the same draws on every platform. Weights use our own exp
 * (no libm, the same in every SIMD lane), so the same seed gives the same
 * tokens wherever the logits agree.
 *
 * Cost: greedy is one pass; sampling one 4-lane SIMD exp pass; top_p keeps only
 * tokens that can be in the nucleus and pops them from a heap until the mass is
 * reached (O(V + k log V) for a nucleus of k); top_k a k-heap (O(V log k)).
 *
 * Memory: every buffer is sized once from the vocabulary at creation; a step
 * never allocates.
 */
#ifndef AAE_ENGINE_SAMPLER_H
#define AAE_ENGINE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define AAE_SAMPLER_MAX_BIAS 1024 /* logit_bias entries per request */

typedef struct aae_rng {
    uint64_t s[4];
} aae_rng;

void aae_rng_seed(aae_rng *r, uint64_t seed);
uint64_t aae_rng_next(aae_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double aae_rng_uniform(aae_rng *r);

typedef struct aae_sampling {
    float temperature;        /* >= 0; 0 = greedy */
    float top_p;              /* (0, 1]; 1 = off */
    int32_t top_k;            /* >= 0; 0 = off */
    float repetition_penalty; /* > 0; 1 = off */
    float presence_penalty;   /* 0 = off */
    float frequency_penalty;  /* 0 = off */
    size_t n_bias;
    int32_t bias_id[AAE_SAMPLER_MAX_BIAS];
    float bias[AAE_SAMPLER_MAX_BIAS];
} aae_sampling;

/* temperature 1, top_p 1, top_k 0, no penalties, no bias. */
void aae_sampling_defaults(aae_sampling *p);

typedef struct aae_sampler aae_sampler;

aae_status aae_sampler_create(int32_t vocab_size, aae_sampler **out, aae_error *err);
void aae_sampler_destroy(aae_sampler *s);

/* Starts a new generation: forgets the tokens seen, sets the parameters (copied)
 * and reseeds the PRNG (seed used only when has_seed; otherwise the PRNG goes on
 * from its current state). Ids in the bias list must be in range (checked). */
aae_status aae_sampler_reset(aae_sampler *s, const aae_sampling *params, int has_seed, uint64_t seed,
                             aae_error *err);
/* Records prompt tokens (for the repetition penalty); ids out of range are ignored. */
void aae_sampler_add_prompt(aae_sampler *s, const int32_t *ids, size_t n);
/* Records a generated token (for all penalties). */
void aae_sampler_accept(aae_sampler *s, int32_t id);

/* Steps 1-3 in place on logits[vocab_size]. */
void aae_sampler_apply_penalties(const aae_sampler *s, float *logits);

/* The final distribution of step 5 (after steps 1-3 are applied in place on
 * logits): the candidate ids with their renormalised probabilities, in order
 * of decreasing probability when top_k or top_p is active (ties: lower id
 * first), else every id of non-zero weight in id order. Returns the count; the arrays belong to the
 * sampler and stay valid until its next call. For temperature 0 it is the
 * argmax with probability 1. */
size_t aae_sampler_distribution(aae_sampler *s, float *logits, const int32_t **ids, const float **probs);

/* Steps 1-5: modifies logits in place and returns the chosen id. */
int32_t aae_sampler_sample(aae_sampler *s, float *logits);

/* The argmax (lowest id among equal maxima); NaN logits never win. */
int32_t aae_argmax(const float *logits, int32_t n);

#endif
