/*
 * chat_config.h - reader of sphere-aae-chat-config.json (or MLC-LLM's
 * mlc-chat-config.json, read when the former is absent).
 *
 * Format (version 1; MLC-LLM's mlc-chat-config.json has the same fields):
 *   "version"              string, optional
 *   "model_type"           "llama" | "mistral" | "gemma" | "gpt_neox" | "phi" | "qwen2"
 *   "quantization"         "q0f32" | "q0f16" | "q4f16_1" | "q4f32_1" | "q3f16_1"
 *   "model_config"         object: the architecture's dimensions, with the
 *                          Hugging Face key names (see chat_config.c for the
 *                          keys read per architecture and their fallbacks)
 *   "vocab_size"           int > 0 (falls back to model_config.vocab_size)
 *   "context_window_size"  int > 0 (or -1 = from model_config; see below)
 *   "sliding_window_size"  int, -1 = off
 *   "prefill_chunk_size"   int > 0
 *   "attention_sink_size"  int, -1 = n/a
 *   "temperature", "top_p", "repetition_penalty", "presence_penalty",
 *   "frequency_penalty"    numbers, optional (defaults 1, 1, 1, 0, 0); "top_k" int
 *   "tokenizer_files"      array of plain file names
 *   "conv_template"        a template name, or an object with "name" (MLC >= 0.15)
 *   "bos_token_id", "pad_token_id"  int (optional, -1 when absent)
 *   "eos_token_id"         int or array of ints
 *
 * Every field is checked; errors name the file and the JSON pointer.
 * The parsed JSON stays available (doc, model_config) for tools that need the
 * raw values (e.g. a hash of the normalised config).
 */
#ifndef AAE_FORMAT_CHAT_CONFIG_H
#define AAE_FORMAT_CHAT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/json.h"

/* The architectures (also what the tools' config.json reader maps HF classes to). */
typedef enum aae_arch {
    AAE_ARCH_LLAMA = 0,
    AAE_ARCH_MISTRAL,
    AAE_ARCH_GEMMA,
    AAE_ARCH_GPT_NEOX,
    AAE_ARCH_PHI,
    AAE_ARCH_QWEN2,
    AAE_ARCH_COUNT
} aae_arch;

typedef enum aae_quant {
    AAE_QUANT_Q0F32 = 0,
    AAE_QUANT_Q0F16,
    AAE_QUANT_Q4F16_1,
    AAE_QUANT_Q4F32_1,
    AAE_QUANT_Q3F16_1,
    AAE_QUANT_COUNT
} aae_quant;

typedef enum aae_act {
    AAE_ACT_SILU = 0,      /* SwiGLU: silu(gate) * up */
    AAE_ACT_GELU_TANH,     /* GeGLU with the tanh approximation (gemma), or gelu_new (phi) */
    AAE_ACT_GELU_ERF       /* exact erf GELU (gpt_neox "gelu") */
} aae_act;

/* The dimensions of one architecture, normalised from model_config. */
typedef struct aae_model_dims {
    int64_t hidden_size;
    int64_t intermediate_size;
    int64_t num_layers;
    int64_t num_heads;
    int64_t num_kv_heads;
    int64_t head_dim;
    int64_t rotary_dim;        /* head_dim * partial rotary factor (phi, gpt_neox), else head_dim */
    int64_t vocab_size;
    double norm_eps;
    double rope_theta;
    int tie_word_embeddings;
    int use_parallel_residual; /* gpt_neox (default true) and phi */
    int qkv_bias;              /* qwen2, gpt_neox, phi */
    int mlp_bias;              /* gpt_neox, phi */
    int lm_head_bias;          /* phi */
    int gated_mlp;             /* down(act(gate) * up), else fc2(act(fc1)) */
    int layer_norm;            /* LayerNorm with bias (gpt_neox, phi), else RMSNorm */
    double embedding_scale;    /* gemma: sqrt(hidden), else 1 */
    aae_act act;
    /* rope_scaling {"rope_type": "llama3", ...}; rope_llama3 = 0 when absent */
    int rope_llama3;
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int64_t rope_original_max_pos;
} aae_model_dims;

typedef struct aae_chat_config {
    const char *path;               /* the JSON file read */
    const char *model_type;         /* as written */
    const char *quantization;       /* as written */
    aae_arch arch;
    aae_quant quant;
    aae_model_dims dims;
    int64_t vocab_size;
    int64_t context_window_size;
    int64_t sliding_window_size;    /* -1 = off */
    int64_t prefill_chunk_size;
    int64_t attention_sink_size;    /* -1 = n/a */
    double temperature, top_p, repetition_penalty, presence_penalty, frequency_penalty;
    int64_t top_k;                  /* 0 = off */
    const char **tokenizer_files;
    size_t n_tokenizer_files;
    const char *conv_template;      /* name, or "" */
    int64_t bos_token_id;           /* -1 when absent */
    int64_t pad_token_id;           /* -1 when absent */
    const int64_t *eos_token_ids;
    size_t n_eos_token_ids;
    aae_json_doc *doc;              /* the whole parsed file */
    const aae_json *model_config;   /* its "model_config" object */
} aae_chat_config;

/* Loads <model_dir>/sphere-aae-chat-config.json, else mlc-chat-config.json. */
aae_status aae_chat_config_load(const char *model_dir, aae_chat_config **out, aae_error *err);
/* Parses text; label names it in messages. */
aae_status aae_chat_config_parse(const char *text, size_t len, const char *label, aae_chat_config **out,
                                 aae_error *err);
void aae_chat_config_free(aae_chat_config *cfg);

const char *aae_chat_arch_name(aae_arch a);
const char *aae_chat_quant_name(aae_quant q);
int aae_chat_arch_from_name(const char *s, aae_arch *out);
int aae_chat_quant_from_name(const char *s, aae_quant *out);

#endif
