/*
 * membw.c - read memory bandwidth probe: T threads each sum their slice of a
 * large buffer (far larger than the caches) with wide loads; best of R runs.
 *
 *   aae_membw [--mib N] [--threads T ...] [--runs R] [--json]
 *
 * Prints GB/s (1e9 bytes per second) per thread count: the ceiling for a
 * memory-bound decode step, which reads every weight once per token.
 */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define TGT __attribute__((target("avx2")))
#else
#define TGT
#endif

typedef struct job {
    const uint64_t *p;
    size_t n; /* uint64 words */
    uint64_t sum;
} job;

TGT static uint64_t sum_words(const uint64_t *p, size_t n)
{
#if defined(__x86_64__)
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(p + i + 4)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *)(p + i + 8)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *)(p + i + 12)));
    }
    a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t t[4];
    _mm256_storeu_si256((__m256i *)t, a0);
    uint64_t s = t[0] + t[1] + t[2] + t[3];
    for (; i < n; i++)
        s += p[i];
    return s;
#else
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
    for (; i < n; i++)
        s0 += p[i];
    return s0 + s1 + s2 + s3;
#endif
}

static void *run(void *arg)
{
    job *j = arg;
    j->sum = sum_words(j->p, j->n);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double measure(const uint64_t *buf, size_t words, int threads, int runs)
{
    double best = 0;
    for (int r = 0; r < runs; r++) {
        pthread_t th[64];
        job jobs[64];
        size_t per = words / (size_t)threads / 64 * 64;
        double t0 = now_s();
        for (int i = 0; i < threads; i++) {
            jobs[i] = (job){.p = buf + (size_t)i * per, .n = per};
            pthread_create(&th[i], NULL, run, &jobs[i]);
        }
        uint64_t total = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(th[i], NULL);
            total += jobs[i].sum;
        }
        double dt = now_s() - t0;
        double gbs = (double)(per * (size_t)threads * 8) / dt / 1e9;
        if (gbs > best)
            best = gbs;
        if (total == 42) /* keep the sum alive */
            fputc(' ', stderr);
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t mib = 1024;
    int runs = 5, json = 0, nt = 0, tlist[16];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mib") && i + 1 < argc)
            mib = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc && nt < 16)
            tlist[nt++] = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr, "usage: aae_membw [--mib N] [--threads T ...] [--runs R] [--json]\n");
            return 2;
        }
    }
    if (nt == 0)
        tlist[nt++] = 1, tlist[nt++] = 2;
    size_t bytes = mib << 20, words = bytes / 8;
    uint64_t *buf = NULL;
    if (posix_memalign((void **)&buf, (size_t)2 << 20, bytes) != 0) {
        fprintf(stderr, "aae_membw: cannot allocate %zu MiB\n", mib);
        return 1;
    }
#ifdef MADV_HUGEPAGE
    /* 2 MiB pages where the kernel gives them, as the loader asks for the weights:
     * the bound is the rate the best page size reaches. */
    madvise(buf, bytes, MADV_HUGEPAGE);
#endif
    for (size_t i = 0; i < words; i++)
        buf[i] = i;
    if (json)
        printf("{");
    for (int k = 0; k < nt; k++) {
        int t = tlist[k] < 1 ? 1 : tlist[k] > 64 ? 64 : tlist[k];
        double gbs = measure(buf, words, t, runs);
        if (json)
            printf("%s\"%d\": %.3f", k ? ", " : "", t, gbs);
        else
            printf("read bandwidth, %d thread%s: %.2f GB/s (best of %d, %zu MiB)\n", t, t > 1 ? "s" : "", gbs, runs,
                   mib);
    }
    if (json)
        printf("}\n");
    free(buf);
    return 0;
}
