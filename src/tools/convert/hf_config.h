/*
 * hf_config.h - a Hugging Face config.json, read into the architecture dimensions
 * that convert_weight and gen_config need (docs/format.md, "model_config" and
 * "Architecture detection").
 */
#ifndef AAE_CONVERT_HF_CONFIG_H
#define AAE_CONVERT_HF_CONFIG_H

#include <stdint.h>

#include "base/error.h"
#include "base/json.h"
#include "format/chat_config.h" /* aae_arch, aae_chat_arch_name: one enum for runtime and tools */



typedef struct aae_hf_config {
    aae_arch arch;
    const char *model_type; /* "llama", ... (static) */
    int64_t hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, num_key_value_heads;
    int64_t head_dim, vocab_size, rotary_dim;
    double norm_eps, rope_theta, partial_rotary_factor;
    char hidden_act[64];
    int norm_rms;           /* 1 rms_norm, 0 layer_norm */
    int gated_mlp;          /* gate_up_proj + down_proj, else fc1/fc2 */
    int tie_word_embeddings, parallel_residual, qkv_bias, mlp_bias, lm_head_bias;
    double embedding_scale;
    int64_t max_position_embeddings; /* -1 if config.json has none */
    int64_t sliding_window;          /* -1 off */
    const aae_json *rope_scaling;    /* NULL or the object, inside doc */
    aae_json_doc *doc;               /* config.json */
    char path[4096];                 /* of config.json, for messages */
} aae_hf_config;

/* Reads HF_DIR/config.json. Errors name the file and the JSON pointer. */
aae_status aae_hf_config_load(const char *hf_dir, aae_hf_config *out, aae_error *err);
void aae_hf_config_free(aae_hf_config *c);


#endif
