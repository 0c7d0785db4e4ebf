/*
 * spec.h - how kernels/ and models/ are compiled two ways.
 *
 * Generic (libsphere_aae): nothing is defined; dimensions are read at run time
 * from the model descriptor, external symbols keep their aae_ names.
 *
 * Specialised (a model library made by `sphere_aae compile`): the compiler is
 * given -ffreestanding -DAAE_SPEC -include <config.h>, where config.h defines
 * AAE_SPEC_PREFIX (the library's symbol prefix, e.g. llama_q4f16_1_ab12cd_)
 * and the AAE_SPEC_* constants listed in models/model.h. Every external symbol
 * of kernels/ and models/ is then renamed here to PREFIX + its name without
 * "aae_", so any number of model libraries link into one program next to the
 * generic runtime.
 */
#ifndef AAE_KERNELS_SPEC_H
#define AAE_KERNELS_SPEC_H

#define AAE_CAT_(a, b) a##b
#define AAE_CAT(a, b) AAE_CAT_(a, b)

#if defined(AAE_SPEC)
#ifndef AAE_SPEC_PREFIX
#error "AAE_SPEC needs AAE_SPEC_PREFIX (the model library's symbol prefix)"
#endif
#define AAE_SPEC_SYM(name) AAE_CAT(AAE_SPEC_PREFIX, name)
/* kernels/ */
#define aae_k_matmul_scratch AAE_SPEC_SYM(k_matmul_scratch)
#define aae_k_matmul AAE_SPEC_SYM(k_matmul)
#define aae_k_get_row AAE_SPEC_SYM(k_get_row)
#define aae_k_rmsnorm AAE_SPEC_SYM(k_rmsnorm)
#define aae_k_layernorm AAE_SPEC_SYM(k_layernorm)
#define aae_k_add AAE_SPEC_SYM(k_add)
#define aae_k_scale AAE_SPEC_SYM(k_scale)
#define aae_k_add_bias AAE_SPEC_SYM(k_add_bias)
#define aae_k_glu AAE_SPEC_SYM(k_glu)
#define aae_k_act AAE_SPEC_SYM(k_act)
#define aae_k_act_x86 AAE_SPEC_SYM(k_act_x86)
#define aae_k_rope AAE_SPEC_SYM(k_rope)
#define aae_k_rope_table AAE_SPEC_SYM(k_rope_table)
#define aae_k_attention_scratch AAE_SPEC_SYM(k_attention_scratch)
#define aae_k_attention AAE_SPEC_SYM(k_attention)
#define aae_k_attn_head_x86 AAE_SPEC_SYM(k_attn_head_x86)
#define aae_k_attn_keys_x86 AAE_SPEC_SYM(k_attn_keys_x86)
#define aae_k_attn_x86_ok AAE_SPEC_SYM(k_attn_x86_ok)
#define aae_k_attn_keys_x86_ok AAE_SPEC_SYM(k_attn_keys_x86_ok)
#define aae_k_attn_head_neon AAE_SPEC_SYM(k_attn_head_neon)
#define aae_k_attn_keys_neon AAE_SPEC_SYM(k_attn_keys_neon)
#define aae_k_attn_neon_ok AAE_SPEC_SYM(k_attn_neon_ok)
#define aae_k_f16_to_f32 AAE_SPEC_SYM(k_f16_to_f32)
#define aae_k_f32_to_f16 AAE_SPEC_SYM(k_f32_to_f16)
#define aae_k_f16_row AAE_SPEC_SYM(k_f16_row)
#define aae_k_f16_row_x86 AAE_SPEC_SYM(k_f16_row_x86)
#define aae_k_bf16_to_f32 AAE_SPEC_SYM(k_bf16_to_f32)
#define aae_k_vec_span AAE_SPEC_SYM(k_vec_span)
#define aae_k_matmul_x86 AAE_SPEC_SYM(k_matmul_x86)
#define aae_k_x86_has_vnni AAE_SPEC_SYM(k_x86_has_vnni)
#define aae_k_x86_quantize_x8 AAE_SPEC_SYM(k_x86_quantize_x8)
#define aae_k_x86_quantize_x3 AAE_SPEC_SYM(k_x86_quantize_x3)
#define aae_k_x86_quantize_x8_avx2 AAE_SPEC_SYM(k_x86_quantize_x8_avx2)
#define aae_k_x86_quantize_x8_ssse3 AAE_SPEC_SYM(k_x86_quantize_x8_ssse3)
#define aae_k_x86_quantize_xq AAE_SPEC_SYM(k_x86_quantize_xq)
#define aae_k_quantize_xq_ref AAE_SPEC_SYM(k_quantize_xq_ref)
#define aae_k_x86_quantize_xq_avx2 AAE_SPEC_SYM(k_x86_quantize_xq_avx2)
#define aae_k_x86_quantize_xw_avx2 AAE_SPEC_SYM(k_x86_quantize_xw_avx2)
#define aae_k_quantize_xw_ref AAE_SPEC_SYM(k_quantize_xw_ref)
#define aae_k_x86_quantize_x16q3_avx2 AAE_SPEC_SYM(k_x86_quantize_x16q3_avx2)
#define aae_k_quantize_x16q3_ref AAE_SPEC_SYM(k_quantize_x16q3_ref)
#define aae_k_neon_quantize_xq AAE_SPEC_SYM(k_neon_quantize_xq)
#define aae_k_quantize_x8_ref AAE_SPEC_SYM(k_quantize_x8_ref)
#define aae_k_quantize_x3_ref AAE_SPEC_SYM(k_quantize_x3_ref)
#define aae_k_quantize_x3n_ref AAE_SPEC_SYM(k_quantize_x3n_ref)
#define aae_k_neon_quantize_x8 AAE_SPEC_SYM(k_neon_quantize_x8)
#define aae_k_neon_quantize_x3n AAE_SPEC_SYM(k_neon_quantize_x3n)
#define aae_k_x86_has_vnni_vbmi AAE_SPEC_SYM(k_x86_has_vnni_vbmi)
#define aae_k_matmul_neon AAE_SPEC_SYM(k_matmul_neon)
#define aae_k_matmul_portable AAE_SPEC_SYM(k_matmul_portable)
#define aae_k_attention_expf AAE_SPEC_SYM(k_attention_expf)
/* models/ */
#define aae_model_forward AAE_SPEC_SYM(model_forward)
#define aae_model_plan AAE_SPEC_SYM(model_plan)
#endif

#endif
