/*
 * pool.h - a fixed pool of worker threads running parallel_for jobs (the
 * aae_threads table the kernels call). The calling thread works too, so a pool
 * of n threads starts n - 1 workers. Workers spin briefly between jobs (a
 * decode step issues hundreds of small jobs), then sleep on a condition variable.
 */
#ifndef AAE_LOADER_POOL_H
#define AAE_LOADER_POOL_H

#include "base/error.h"
#include "kernels/kernels.h"

typedef struct aae_pool aae_pool;

aae_status aae_pool_create(int32_t n_threads, aae_pool **out, aae_error *err);
void aae_pool_free(aae_pool *p);
/* Matches aae_threads.parallel_for; pool is an aae_pool*. */
void aae_pool_parallel_for(void *pool, aae_task_fn fn, void *arg, int32_t n_tasks);
/* Fills th for this pool (n_threads, parallel_for, pool). */
void aae_pool_threads(aae_pool *p, aae_threads *th);

#endif
