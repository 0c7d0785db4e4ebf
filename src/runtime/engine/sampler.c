/* sampler.c - logit processing and token sampling; see sampler.h for the order. */
#include "engine/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct aae_sampler {
    int32_t vocab;
    aae_sampling p;
    int32_t *count;    /* [vocab] times generated */
    uint8_t *seen;     /* [vocab] 1 = in the prompt or the output */
    int32_t *seen_ids; /* distinct seen ids, n_seen of them */
    int32_t n_seen;
    int32_t *idx; /* [vocab] candidate ids */
    float *prob;  /* [vocab] candidate probabilities */
    aae_rng rng;
};

/* ------------------------------------------------------------------ PRNG --- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void aae_rng_seed(aae_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t aae_rng_next(aae_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double aae_rng_uniform(aae_rng *r)
{
    return (double)(aae_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* -------------------------------------------------------------- lifetime --- */

void aae_sampling_defaults(aae_sampling *p)
{
    memset(p, 0, sizeof *p);
    p->temperature = 1.0f;
    p->top_p = 1.0f;
    p->repetition_penalty = 1.0f;
}

aae_status aae_sampler_create(int32_t vocab_size, aae_sampler **out, aae_error *err)
{
    if (vocab_size <= 0 || !out)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "sampler: vocabulary size %d must be positive",
                             (int)vocab_size);
    aae_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return aae_error_set(err, AAE_ERR_NOMEM, "sampler: out of memory");
    size_t v = (size_t)vocab_size;
    s->vocab = vocab_size;
    s->count = calloc(v, sizeof *s->count);
    s->seen = calloc(v, 1);
    s->seen_ids = calloc(v, sizeof *s->seen_ids);
    s->idx = calloc(v, sizeof *s->idx);
    s->prob = calloc(v, sizeof *s->prob);
    if (!s->count || !s->seen || !s->seen_ids || !s->idx || !s->prob) {
        aae_sampler_destroy(s);
        return aae_error_set(err, AAE_ERR_NOMEM, "sampler: out of memory for a vocabulary of %d", (int)vocab_size);
    }
    aae_sampling_defaults(&s->p);
    aae_rng_seed(&s->rng, 0x5EED);
    *out = s;
    return AAE_OK;
}

void aae_sampler_destroy(aae_sampler *s)
{
    if (!s)
        return;
    free(s->count);
    free(s->seen);
    free(s->seen_ids);
    free(s->idx);
    free(s->prob);
    free(s);
}

aae_status aae_sampler_reset(aae_sampler *s, const aae_sampling *params, int has_seed, uint64_t seed,
                             aae_error *err)
{
    if (params->n_bias > AAE_SAMPLER_MAX_BIAS)
        return aae_error_set(err, AAE_ERR_LIMIT, "/logit_bias: at most %d entries", AAE_SAMPLER_MAX_BIAS);
    for (size_t i = 0; i < params->n_bias; i++)
        if (params->bias_id[i] < 0 || params->bias_id[i] >= s->vocab)
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                                 "/logit_bias/%d: token id out of range (the vocabulary has %d tokens)",
                                 (int)params->bias_id[i], (int)s->vocab);
    for (int32_t i = 0; i < s->n_seen; i++) {
        s->count[s->seen_ids[i]] = 0;
        s->seen[s->seen_ids[i]] = 0;
    }
    s->n_seen = 0;
    s->p = *params;
    if (has_seed)
        aae_rng_seed(&s->rng, seed);
    return AAE_OK;
}

static void mark_seen(aae_sampler *s, int32_t id)
{
    if (!s->seen[id]) {
        s->seen[id] = 1;
        s->seen_ids[s->n_seen++] = id;
    }
}

void aae_sampler_add_prompt(aae_sampler *s, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < s->vocab)
            mark_seen(s, ids[i]);
}

void aae_sampler_accept(aae_sampler *s, int32_t id)
{
    if (id < 0 || id >= s->vocab)
        return;
    mark_seen(s, id);
    if (s->count[id] < INT32_MAX)
        s->count[id]++;
}

/* ------------------------------------------------------------ penalties --- */

void aae_sampler_apply_penalties(const aae_sampler *s, float *logits)
{
    const aae_sampling *p = &s->p;
    for (size_t i = 0; i < p->n_bias; i++)
        logits[p->bias_id[i]] += p->bias[i];
    int rep = p->repetition_penalty != 1.0f && p->repetition_penalty > 0.0f;
    int pres = p->presence_penalty != 0.0f || p->frequency_penalty != 0.0f;
    if (!rep && !pres)
        return;
    for (int32_t i = 0; i < s->n_seen; i++) {
        int32_t id = s->seen_ids[i];
        float l = logits[id];
        if (rep)
            l = l > 0.0f ? l / p->repetition_penalty : l * p->repetition_penalty;
        int32_t c = s->count[id];
        if (pres && c > 0)
            l -= p->presence_penalty + p->frequency_penalty * (float)c;
        logits[id] = l;
    }
}

/* --------------------------------------------------------------- choice --- */

int32_t aae_argmax(const float *logits, int32_t n)
{
    int32_t best = -1;
    float bv = 0.0f;
    for (int32_t i = 0; i < n; i++) {
        if (isnan(logits[i]))
            continue;
        if (best < 0 || logits[i] > bv) {
            best = i;
            bv = logits[i];
        }
    }
    return best < 0 ? 0 : best;
}

/* Orders (id, value) pairs by value descending, then id ascending. */
static int before(float va, int32_t ia, float vb, int32_t ib)
{
    return va > vb || (va == vb && ia < ib);
}

/* A heap over ids whose root is the worst element in `before` order. */
static void sift_down_min(int32_t *h, size_t n, size_t i, const float *key)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && before(key[h[m]], h[m], key[h[l]], h[l]))
            m = l;
        if (r < n && before(key[h[m]], h[m], key[h[r]], h[r]))
            m = r;
        if (m == i)
            return;
        int32_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Sorts idx[0..n) by key[idx] in `before` order (heap sort: no recursion, no malloc). */
static void sort_desc(int32_t *idx, size_t n, const float *key)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down_min(idx, n, i, key);
    for (size_t end = n; end > 1; end--) {
        int32_t t = idx[0];
        idx[0] = idx[end - 1];
        idx[end - 1] = t;
        sift_down_min(idx, end - 1, 0, key);
    }
    /* the root is the worst element: each pass moves the worst left to the end */
}

/* The k best ids by logit into idx[0..k), sorted. */
static size_t select_top_k(aae_sampler *s, const float *logits, size_t k)
{
    int32_t *h = s->idx;
    size_t n = 0;
    for (int32_t i = 0; i < s->vocab; i++) {
        if (isnan(logits[i]))
            continue;
        if (n < k) {
            h[n++] = i;
            if (n == k)
                for (size_t j = k / 2 + 1; j-- > 0;)
                    sift_down_min(h, n, j, logits);
        } else if (before(logits[i], i, logits[h[0]], h[0])) {
            h[0] = i;
            sift_down_min(h, n, 0, logits);
        }
    }
    sort_desc(h, n, logits);
    return n;
}

/* Keeps the nucleus of idx/prob[0..n) (sorted, unnormalised, total mass sum). */
static size_t nucleus(aae_sampler *s, size_t n, double sum, int sorted, const float *w)
{
    double target = (double)s->p.top_p * sum;
    if (!sorted) {
        /* A token with probability below (1 - top_p) / (n - 1) is never in the
         * nucleus; drop those before sorting (exact; falls back when it keeps too little). */
        double cut = n > 1 ? (1.0 - (double)s->p.top_p) / (double)(n - 1) * sum : 0.0;
        size_t m = 0;
        double kept = 0.0;
        for (size_t i = 0; i < n; i++)
            if ((double)w[s->idx[i]] >= cut) {
                kept += w[s->idx[i]];
                s->idx[m++] = s->idx[i];
            }
        if (kept < target) {
            m = 0;
            for (int32_t i = 0; i < s->vocab; i++)
                if (!isnan(w[i]) && w[i] > 0.0f)
                    s->idx[m++] = i;
        }
        sort_desc(s->idx, m, w);
        n = m;
    }
    double cum = 0.0;
    size_t keep = n;
    for (size_t i = 0; i < n; i++) {
        cum += w[s->idx[i]];
        if (cum >= target) {
            keep = i + 1;
            break;
        }
    }
    return keep ? keep : (n ? 1 : 0);
}

size_t aae_sampler_distribution(aae_sampler *s, float *logits, const int32_t **ids, const float **probs)
{
    aae_sampler_apply_penalties(s, logits);
    const aae_sampling *p = &s->p;
    size_t n;
    if (p->temperature <= 0.0f || p->top_k == 1) {
        s->idx[0] = aae_argmax(logits, s->vocab);
        s->prob[0] = 1.0f;
        *ids = s->idx;
        *probs = s->prob;
        return 1;
    }
    int sorted = 0;
    if (p->top_k > 0 && p->top_k < s->vocab) {
        n = select_top_k(s, logits, (size_t)p->top_k);
        sorted = 1;
    } else {
        n = 0;
        for (int32_t i = 0; i < s->vocab; i++)
            if (!isnan(logits[i]))
                s->idx[n++] = i;
    }
    float mx = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (logits[s->idx[i]] > mx)
            mx = logits[s->idx[i]];
    float inv_t = 1.0f / p->temperature;
    double sum = 0.0;
    /* weights go into logits[] itself (the caller's row is scratch from here on);
     * with top_k only the k candidates are computed */
    if (sorted) {
        for (size_t i = 0; i < n; i++) {
            float *l = &logits[s->idx[i]];
            *l = mx != -INFINITY ? expf((*l - mx) * inv_t) : 0.0f;
            sum += *l;
        }
    } else {
        for (int32_t i = 0; i < s->vocab; i++) {
            float w = 0.0f;
            if (!isnan(logits[i]) && mx != -INFINITY)
                w = expf((logits[i] - mx) * inv_t);
            logits[i] = w;
            sum += w;
        }
    }
    if (p->top_p < 1.0f && n > 1)
        n = nucleus(s, n, sum, sorted, logits);
    /* without top_k / top_p every token stays a candidate, in id order: no sort */
    double kept = 0.0;
    for (size_t i = 0; i < n; i++)
        kept += logits[s->idx[i]];
    for (size_t i = 0; i < n; i++)
        s->prob[i] = kept > 0.0 ? (float)(logits[s->idx[i]] / kept) : (i == 0 ? 1.0f : 0.0f);
    *ids = s->idx;
    *probs = s->prob;
    return n;
}

int32_t aae_sampler_sample(aae_sampler *s, float *logits)
{
    const int32_t *ids;
    const float *probs;
    size_t n = aae_sampler_distribution(s, logits, &ids, &probs);
    if (n <= 1)
        return n ? ids[0] : 0;
    double u = aae_rng_uniform(&s->rng), cum = 0.0;
    for (size_t i = 0; i < n; i++) {
        cum += probs[i];
        if (u < cum)
            return ids[i];
    }
    return ids[n - 1];
}
