/* pool.c - the worker thread pool (see pool.h). */
#include "loader/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Between jobs a worker spins this many pause instructions (tens of
 * microseconds: a decode step's jobs come back to back), then sleeps. */
#define SPIN_ITERS 4000

struct aae_pool {
    int32_t n_threads;
    pthread_t *workers;
    int32_t n_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;       /* bumped for each job */
    atomic_int stop;
    atomic_int sleeping;   /* workers blocked on cv */
    /* the current job */
    aae_task_fn fn;
    void *arg;
    int32_t n_tasks;
    /* claims: job generation in the high 32 bits, next task index in the low
     * 32, so a worker still finishing an old job can never claim a task of the
     * next one */
    _Atomic uint64_t next;
    atomic_int done;       /* tasks finished */
};

static void run_tasks(aae_pool *p, unsigned gen, int32_t thread)
{
    for (;;) {
        uint64_t v = atomic_load_explicit(&p->next, memory_order_acquire);
        if ((unsigned)(v >> 32) != gen || (int32_t)(uint32_t)v >= p->n_tasks)
            return;
        if (!atomic_compare_exchange_weak_explicit(&p->next, &v, v + 1, memory_order_acq_rel, memory_order_acquire))
            continue;
        p->fn(p->arg, (int32_t)(uint32_t)v, thread);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel);
    }
}

typedef struct worker_arg {
    aae_pool *pool;
    int32_t index;
} worker_arg;

static void *worker(void *arg)
{
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    aae_pool *p = wa.pool;
    unsigned seen = atomic_load(&p->gen);
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen && !atomic_load(&p->stop)) {
            if (++spins < SPIN_ITERS) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#elif defined(__aarch64__)
                __asm__ __volatile__("yield");
#endif
                continue;
            }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleeping, 1);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleeping, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = g;
        run_tasks(p, g, wa.index);
    }
}

aae_status aae_pool_create(int32_t n_threads, aae_pool **out, aae_error *err)
{
    if (n_threads < 1)
        n_threads = 1;
    aae_pool *p = calloc(1, sizeof *p);
    if (!p)
        return aae_error_set(err, AAE_ERR_NOMEM, "out of memory creating a thread pool");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (n_threads > 1) {
        p->workers = calloc((size_t)n_threads - 1, sizeof *p->workers);
        if (!p->workers) {
            aae_pool_free(p);
            return aae_error_set(err, AAE_ERR_NOMEM, "out of memory creating a thread pool");
        }
        for (int32_t i = 0; i < n_threads - 1; i++) {
            worker_arg *wa = malloc(sizeof *wa);
            if (wa)
                *wa = (worker_arg){p, i + 1};
            if (!wa || pthread_create(&p->workers[i], NULL, worker, wa) != 0) {
                free(wa);
                aae_pool_free(p);
                return aae_error_set(err, AAE_ERR_NOMEM, "cannot start worker thread %d of %d", i + 1,
                                     n_threads - 1);
            }
            p->n_started++;
        }
    }
    *out = p;
    return AAE_OK;
}

void aae_pool_free(aae_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int32_t i = 0; i < p->n_started; i++)
        pthread_join(p->workers[i], NULL);
    free(p->workers);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

void aae_pool_parallel_for(void *pool, aae_task_fn fn, void *arg, int32_t n_tasks)
{
    aae_pool *p = pool;
    if (!p || p->n_started == 0 || n_tasks <= 1) {
        for (int32_t t = 0; t < n_tasks; t++)
            fn(arg, t, 0);
        return;
    }
    unsigned gen = atomic_load(&p->gen) + 1;
    /* Close the previous job's claims first: a worker that read its (exhausted)
     * claim word before the fields below change could otherwise pass the bound
     * check with the new n_tasks and claim a task twice. Its compare-exchange
     * now fails, since the word has moved on. */
    atomic_store(&p->next, ((uint64_t)gen << 32) | 0x7fffffffu);
    p->fn = fn;
    p->arg = arg;
    p->n_tasks = n_tasks;
    atomic_store(&p->done, 0);
    atomic_store_explicit(&p->next, (uint64_t)gen << 32, memory_order_release);
    atomic_store_explicit(&p->gen, gen, memory_order_release);
    if (atomic_load(&p->sleeping) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    run_tasks(p, gen, 0);
    /* the last tasks run on other threads: spin briefly, then give the CPU to
     * them (on a busy machine the thread we wait for may need it) */
    for (int spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) < n_tasks; spins++) {
        if (spins > 2000) {
            sched_yield();
            continue;
        }
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
    }
}

void aae_pool_threads(aae_pool *p, aae_threads *th)
{
    memset(th, 0, sizeof *th);
    th->n_threads = p ? p->n_threads : 1;
    th->pool = p;
    th->parallel_for = aae_pool_parallel_for;
}
