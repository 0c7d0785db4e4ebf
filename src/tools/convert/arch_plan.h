/*
 * arch_plan.h - the list of tensors a converted model holds, per architecture: each
 * AAE tensor with its shape, the HF tensor(s) it is made from, the transform, and
 * whether it is quantized. This is docs/format.md's "Tensor tables" as data.
 */
#ifndef AAE_CONVERT_ARCH_PLAN_H
#define AAE_CONVERT_ARCH_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "hf_config.h"

#define AAE_PLAN_NAME_MAX 160
#define AAE_PLAN_MAX_SRC 3

typedef enum aae_xform {
    AAE_XF_CAST = 0,  /* one source, same shape */
    AAE_XF_CONCAT,    /* sources concatenated along axis 0 */
    AAE_XF_NEOX_QKV,  /* gpt_neox [nq][3][d] rows -> [3][nq][d] */
    AAE_XF_PLUS_ONE   /* gemma norms: 1 + w */
} aae_xform;

typedef enum aae_store {
    AAE_STORE_QUANT = 0, /* group-quantized in q4/q3 modes, model dtype in q0 modes */
    AAE_STORE_MODEL,     /* model dtype */
    AAE_STORE_F32        /* always float32 */
} aae_store;

typedef struct aae_tensor_plan {
    char name[AAE_PLAN_NAME_MAX]; /* AAE name ending in .weight or .bias */
    int ndim;                     /* 1 or 2 */
    int64_t rows, cols;           /* shape [rows, cols]; a 1-D tensor is [rows] with cols = 1 */
    aae_xform xform;
    aae_store store;
    int nsrc;
    char src[AAE_PLAN_MAX_SRC][AAE_PLAN_NAME_MAX];
    int64_t src_rows[AAE_PLAN_MAX_SRC]; /* each source is [src_rows, cols] (or [src_rows]) */
} aae_tensor_plan;

/* Builds the plan for cfg (malloc'd array, free() it). */
aae_status aae_arch_plan(const aae_hf_config *cfg, aae_tensor_plan **out, size_t *count, aae_error *err);

/* 1 if an HF tensor not used by the plan is a known, expected leftover
 * (rotary caches, attention masks, a tied lm_head). */
int aae_arch_ignorable(const aae_hf_config *cfg, const char *hf_name);

#endif
