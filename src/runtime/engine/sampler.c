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

/* Two passes: the largest value, in 8 lanes (lane l over the ids i = l mod
 * 8: 8 independent chains of compares where one chain waited on each; a
 * 32000-entry vocabulary was 1% of a 110M decode step at 1 thread), then the
 * first id that holds it. NaN is never larger and never equal. */
#define ARGMAX_LANES 8
int32_t aae_argmax(const float *logits, int32_t n)
{
    float mx[ARGMAX_LANES];
    for (int l = 0; l < ARGMAX_LANES; l++)
        mx[l] = -INFINITY;
    int32_t i = 0;
    for (; i + ARGMAX_LANES <= n; i += ARGMAX_LANES)
        for (int l = 0; l < ARGMAX_LANES; l++)
            mx[l] = logits[i + l] > mx[l] ? logits[i + l] : mx[l];
    for (; i < n; i++)
        mx[0] = logits[i] > mx[0] ? logits[i] : mx[0];
    float m = mx[0];
    for (int l = 1; l < ARGMAX_LANES; l++)
        m = mx[l] > m ? mx[l] : m;
    for (i = 0; i < n; i++)
        if (logits[i] == m)
            return i;
    return 0; /* every logit NaN */
}

/* The order of candidates: value descending, then id ascending. */
static int before(float va, int32_t ia, float vb, int32_t ib)
{
    return va > vb || (va == vb && ia < ib);
}

/* A binary heap over ids keyed by key[id]: best_top = 1 keeps the first in
 * `before` order at the root, 0 the last. */
static void sift_down(int32_t *h, size_t n, size_t i, const float *key, int best_top)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && before(key[h[l]], h[l], key[h[m]], h[m]) == best_top)
            m = l;
        if (r < n && before(key[h[r]], h[r], key[h[m]], h[m]) == best_top)
            m = r;
        if (m == i)
            return;
        int32_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heapify(int32_t *h, size_t n, const float *key, int best_top)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(h, n, i, key, best_top);
}

/* Moves the best of h[0..n) to h[n - 1] (heap with the best on top). */
static void pop_best(int32_t *h, size_t n, const float *key)
{
    int32_t t = h[0];
    h[0] = h[n - 1];
    h[n - 1] = t;
    sift_down(h, n - 1, 0, key, 1);
}

/* After k pops the best k sit at idx[n-k..n), best last: reverse them to the front. */
static void tail_to_front(int32_t *idx, size_t n, size_t k)
{
    for (size_t j = 0; j < k / 2; j++) {
        int32_t t = idx[n - k + j];
        idx[n - k + j] = idx[n - 1 - j];
        idx[n - 1 - j] = t;
    }
    memmove(idx, idx + (n - k), k * sizeof *idx);
}

/* Puts the first k of idx[0..n) in `before` order at idx[0..k), sorted. */
static void take_best(int32_t *idx, size_t n, size_t k, const float *key)
{
    heapify(idx, n, key, 1);
    for (size_t j = 0; j < k; j++)
        pop_best(idx, n - j, key);
    tail_to_front(idx, n, k);
}

/* The k best ids by logit into idx[0..k), sorted (a k-heap with the worst on top). */
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
                heapify(h, n, logits, 0);
        } else if (before(logits[i], i, logits[h[0]], h[0])) {
            h[0] = i;
            sift_down(h, n, 0, logits, 0);
        }
    }
    if (n < k)
        heapify(h, n, logits, 0);
    take_best(h, n, n, logits);
    return n;
}

/* exp for sampling weights, in 4-lane vectors (GCC/Clang vector extensions:
 * SSE on x86_64, NEON on aarch64, plain code elsewhere) and in scalar form with
 * the very same operations, so a weight does not depend on its lane. Range
 * reduction x = n ln2 + r, |r| <= ln2/2, Taylor to degree 7 (relative error
 * < 1e-6); inputs are clamped to [-87, 88] (weights are <= 1 here). */
typedef float f4 __attribute__((vector_size(16)));
typedef int32_t i4 __attribute__((vector_size(16)));
#define F4(v) {v, v, v, v}
#define EXP_MAGIC 12582912.0f /* 1.5 * 2^23: adding it rounds to an integer */

static f4 select4(i4 mask, f4 a, f4 b)
{
    return (f4)((mask & (i4)a) | (~mask & (i4)b));
}

static f4 exp4(f4 x)
{
    const f4 lo = F4(-87.0f), hi = F4(88.0f), magic = F4(EXP_MAGIC);
    x = select4(x < lo, lo, x);
    x = select4(x > hi, hi, x);
    f4 n = (x * 1.44269504088896341f + magic) - magic;
    f4 r = x - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    f4 p = r * (1.0f / 5040.0f) + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    i4 e = (__builtin_convertvector(n, i4) + 127) << 23;
    return p * (f4)e;
}

static float exp1(float x)
{
    f4 v = F4(x);
    return exp4(v)[0];
}

/* The largest non-NaN value of w[0..n) (-inf if none), 4 lanes at a time. */
static float max_all(const float *w, int32_t n)
{
    f4 m = F4(-INFINITY);
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f4 v;
        memcpy(&v, w + i, sizeof v);
        m = select4(v > m, v, m);
    }
    float mx = -INFINITY;
    for (int j = 0; j < 4; j++)
        mx = m[j] > mx ? m[j] : mx;
    for (; i < n; i++)
        mx = w[i] > mx ? w[i] : mx;
    return mx;
}

/* w[i] = exp((w[i] - mx) * inv_t) for i < n; NaN (and everything when mx is
 * -inf, i.e. no finite logit) weighs 0. Returns the sum of the weights (four
 * float lanes, added up in a fixed order). */
static double weigh_all(float *w, int32_t n, float mx, float inv_t)
{
    const f4 zero = F4(0.0f);
    i4 finite = F4(mx != -INFINITY ? -1 : 0);
    f4 acc = zero;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f4 v;
        memcpy(&v, w + i, sizeof v);
        f4 x = (v - mx) * inv_t;
        v = select4((x == x) & finite, exp4(x), zero);
        acc += v;
        memcpy(w + i, &v, sizeof v);
    }
    double sum = ((double)acc[0] + (double)acc[1]) + ((double)acc[2] + (double)acc[3]);
    for (; i < n; i++) {
        float x = (w[i] - mx) * inv_t;
        w[i] = x == x && mx != -INFINITY ? exp1(x) : 0.0f;
        sum += w[i];
    }
    return sum;
}

/* The candidates of step 5: ids in s->idx[0..n) (sorted when *sorted) and their
 * weights exp((l - max) / T) written into logits[] (0 for non-candidates when
 * not sorted). Returns n; *sum is the total weight. Needs temperature > 0. */
static size_t weigh(aae_sampler *s, float *logits, int *sorted, double *sum)
{
    const aae_sampling *p = &s->p;
    size_t n = 0;
    *sorted = 0;
    if (p->top_k > 0 && p->top_k < s->vocab) {
        n = select_top_k(s, logits, (size_t)p->top_k);
        *sorted = 1;
    }
    float mx = *sorted ? (n ? logits[s->idx[0]] : -INFINITY) : max_all(logits, s->vocab);
    float inv_t = 1.0f / p->temperature;
    double total = 0.0;
    if (*sorted) {
        for (size_t i = 0; i < n; i++) {
            float *l = &logits[s->idx[i]];
            *l = mx != -INFINITY ? exp1((*l - mx) * inv_t) : 0.0f;
            total += *l;
        }
    } else {
        total = weigh_all(logits, s->vocab, mx, inv_t);
        n = (size_t)s->vocab;
    }
    *sum = total;
    return n;
}

/* Keeps in s->idx[0..k) the nucleus of the candidates (sorted), and returns k;
 * *kept is its weight. */
static size_t nucleus(aae_sampler *s, size_t n, double sum, int sorted, const float *w, double *kept)
{
    double target = (double)s->p.top_p * sum;
    if (!sorted) {
        /* A token with probability below (1 - top_p) / (V - 1) is never in the
         * nucleus: drop those first (falls back to all when it keeps too little). */
        double cut = n > 1 ? (1.0 - (double)s->p.top_p) / (double)(n - 1) * sum : 0.0;
        size_t m = 0;
        double mass = 0.0;
        for (int32_t i = 0; i < s->vocab; i++)
            if (w[i] > 0.0f && (double)w[i] >= cut) {
                mass += w[i];
                s->idx[m++] = i;
            }
        if (mass < target) {
            m = 0;
            for (int32_t i = 0; i < s->vocab; i++)
                if (w[i] > 0.0f)
                    s->idx[m++] = i;
        }
        /* pop the best until the mass is reached: O(m + k log m) */
        heapify(s->idx, m, w, 1);
        double cum = 0.0;
        size_t k = 0;
        while (k < m && cum < target) {
            pop_best(s->idx, m - k, w);
            cum += w[s->idx[m - 1 - k]];
            k++;
        }
        if (k == 0 && m)
            k = 1, cum = w[s->idx[0]];
        tail_to_front(s->idx, m, k);
        *kept = cum;
        return k;
    }
    double cum = 0.0;
    size_t k = 0;
    while (k < n && cum < target)
        cum += w[s->idx[k++]];
    if (k == 0 && n)
        k = 1, cum = w[s->idx[0]];
    *kept = cum;
    return k;
}

/* Steps 1-5 up to the final candidate list: ids in s->idx[0..n), weights in
 * logits[] (unnormalised; *kept is their total). */
static size_t candidates(aae_sampler *s, float *logits, double *kept, int *all_ids)
{
    aae_sampler_apply_penalties(s, logits);
    const aae_sampling *p = &s->p;
    *all_ids = 0;
    if (p->temperature <= 0.0f || p->top_k == 1) {
        s->idx[0] = aae_argmax(logits, s->vocab);
        logits[s->idx[0]] = 1.0f;
        *kept = 1.0;
        return 1;
    }
    int sorted;
    double sum;
    size_t n = weigh(s, logits, &sorted, &sum);
    if (p->top_p < 1.0f && n > 1)
        return nucleus(s, n, sum, sorted, logits, kept);
    *kept = sum;
    *all_ids = !sorted; /* every id is a candidate, in id order (idx not filled) */
    return n;
}

size_t aae_sampler_distribution(aae_sampler *s, float *logits, const int32_t **ids, const float **probs)
{
    double kept;
    int all;
    size_t n = candidates(s, logits, &kept, &all);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = all ? (int32_t)i : s->idx[i];
        if (all && logits[id] == 0.0f)
            continue; /* NaN logits are not candidates */
        s->idx[m] = id;
        s->prob[m] = kept > 0.0 ? (float)(logits[id] / kept) : (m == 0 ? 1.0f : 0.0f);
        m++;
    }
    *ids = s->idx;
    *probs = s->prob;
    return m;
}

int32_t aae_sampler_sample(aae_sampler *s, float *logits)
{
    double kept;
    int all;
    size_t n = candidates(s, logits, &kept, &all);
    if (!all && n <= 1)
        return n ? s->idx[0] : 0; /* 0: every logit was NaN */
    double u = aae_rng_uniform(&s->rng) * kept, cum = 0.0;
    int32_t last = all ? 0 : s->idx[0];
    for (size_t i = 0; i < n; i++) {
        int32_t id = all ? (int32_t)i : s->idx[i];
        float w = logits[id];
        if (w <= 0.0f)
            continue;
        last = id;
        cum += w;
        if (u < cum)
            return id;
    }
    return last; /* rounding: the last candidate with weight */
}
