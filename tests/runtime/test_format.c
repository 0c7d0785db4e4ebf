/* test_format.c - tensor-cache and chat-config readers: valid files, MLC-LLM's
 * own spellings, and one malformed case per rule (the message must name the
 * JSON pointer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aae_test.h"
#include "format/chat_config.h"
#include "format/tensor_cache.h"

static aae_status tc_parse(const char *text, aae_tensor_cache **tc, aae_error *err)
{
    return aae_tensor_cache_parse(text, strlen(text), "t.json", tc, err);
}

static const char *TC_OK =
    "{\"metadata\":{\"ParamSize\":3},\"records\":[{\"dataPath\":\"params_shard_0.bin\",\"format\":\"raw-shard\","
    "\"nbytes\":64,\"md5sum\":\"0123456789abcdef0123456789ABCDEF\",\"records\":["
    "{\"name\":\"a.q_weight\",\"shape\":[2,4],\"dtype\":\"uint32\",\"format\":\"raw\",\"nbytes\":32,\"byteOffset\":0},"
    "{\"name\":\"a.q_scale\",\"shape\":[2,1],\"dtype\":\"float16\",\"format\":\"raw\",\"nbytes\":4,\"byteOffset\":32},"
    "{\"name\":\"n.weight\",\"shape\":[4],\"dtype\":\"float32\",\"format\":\"f32-to-bf16\",\"nbytes\":8,"
    "\"byteOffset\":40}]}]}";

AAE_TEST(tensor_cache_valid)
{
    aae_tensor_cache *tc = NULL;
    aae_error err = {0};
    AAE_CHECK_EQ_INT(tc_parse(TC_OK, &tc, &err), AAE_OK);
    if (!tc) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    AAE_CHECK_EQ_INT(tc->n_shards, 1);
    AAE_CHECK_EQ_INT(tc->n_tensors, 3);
    AAE_CHECK_EQ_STR(tc->shards[0].md5, "0123456789abcdef0123456789abcdef");
    const aae_tc_tensor *t = aae_tensor_cache_find(tc, "n.weight");
    AAE_CHECK(t && t->format == AAE_RECORD_F32_TO_BF16 && t->dtype == AAE_DTYPE_F32 && t->numel == 4);
    t = aae_tensor_cache_find(tc, "a.q_scale");
    AAE_CHECK(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 1 && t->byte_offset == 32);
    AAE_CHECK(aae_tensor_cache_find(tc, "missing") == NULL);
    aae_tensor_cache_free(tc);
}

/* Replaces the first occurrence of from by to in TC_OK, parses, expects a
 * failure whose message contains want. */
static void expect_tc_error(const char *from, const char *to, const char *want)
{
    char text[4096];
    const char *p = strstr(TC_OK, from);
    AAE_CHECK(p != NULL);
    if (!p)
        return;
    snprintf(text, sizeof text, "%.*s%s%s", (int)(p - TC_OK), TC_OK, to, p + strlen(from));
    aae_tensor_cache *tc = NULL;
    aae_error err = {0};
    aae_status st = tc_parse(text, &tc, &err);
    AAE_CHECK(st != AAE_OK);
    AAE_CHECK(tc == NULL);
    AAE_CHECK_CONTAINS(err.msg, want);
    aae_tensor_cache_free(tc);
}

AAE_TEST(tensor_cache_rejects)
{
    expect_tc_error("params_shard_0.bin", "../etc/passwd", "/records/0/dataPath");
    expect_tc_error("params_shard_0.bin", "a/b.bin", "/records/0/dataPath");
    expect_tc_error("params_shard_0.bin", "..", "/records/0/dataPath");
    expect_tc_error("\"nbytes\":32", "\"nbytes\":31", "/records/0/records/0/nbytes");
    expect_tc_error("\"byteOffset\":40", "\"byteOffset\":60", "/records/0/records/2/byteOffset");
    expect_tc_error("\"byteOffset\":40", "\"byteOffset\":-1", "/records/0/records/2/byteOffset");
    expect_tc_error("[2,4]", "[2,0]", "/records/0/records/0/shape/1");
    expect_tc_error("[2,4]", "[4294967296,4294967296,4294967296]", "/records/0/records/0/shape");
    expect_tc_error("\"uint32\"", "\"int8\"", "/records/0/records/0/dtype");
    expect_tc_error("\"f32-to-bf16\"", "\"zip\"", "/records/0/records/2/format");
    expect_tc_error("\"a.q_scale\"", "\"a.q_weight\"", "appears twice");
    expect_tc_error("\"md5sum\":\"0123", "\"md5sum\":\"x123", "/records/0/md5sum");
    expect_tc_error("\"nbytes\":64", "\"nbytes\":\"64\"", "/records/0/nbytes");
    expect_tc_error("{\"metadata\"", "[{\"metadata\"", "t.json");
    expect_tc_error("\"float16\"", "\"float32\"", "/records/0/records/1/nbytes");
}

static const char *CC_OK =
    "{\"version\":\"0.1.0\",\"model_type\":\"llama\",\"quantization\":\"q4f16_1\",\"model_config\":{"
    "\"hidden_size\":64,\"intermediate_size\":128,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
    "\"num_hidden_layers\":2,\"rms_norm_eps\":1e-5,\"vocab_size\":100,\"position_embedding_base\":500000.0,"
    "\"tie_word_embeddings\":false,\"context_window_size\":256,\"prefill_chunk_size\":64},"
    "\"vocab_size\":100,\"context_window_size\":256,\"sliding_window_size\":-1,\"prefill_chunk_size\":32,"
    "\"attention_sink_size\":-1,\"temperature\":0.7,\"top_p\":0.9,\"repetition_penalty\":1.1,"
    "\"tokenizer_files\":[\"tokenizer.json\"],\"conv_template\":{\"name\":\"llama-2\"},"
    "\"bos_token_id\":1,\"eos_token_id\":[2,3],\"pad_token_id\":0}";

AAE_TEST(chat_config_valid)
{
    aae_chat_config *cfg = NULL;
    aae_error err = {0};
    AAE_CHECK_EQ_INT(aae_chat_config_parse(CC_OK, strlen(CC_OK), "c.json", &cfg, &err), AAE_OK);
    if (!cfg) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    AAE_CHECK_EQ_INT(cfg->arch, AAE_ARCH_LLAMA);
    AAE_CHECK_EQ_INT(cfg->quant, AAE_QUANT_Q4F16_1);
    AAE_CHECK_EQ_INT(cfg->dims.head_dim, 16);
    AAE_CHECK_EQ_INT(cfg->dims.num_kv_heads, 2);
    AAE_CHECK_EQ_INT(cfg->dims.rotary_dim, 16);
    AAE_CHECK(cfg->dims.rope_theta == 500000.0);
    AAE_CHECK_EQ_INT(cfg->prefill_chunk_size, 32);
    AAE_CHECK_EQ_INT(cfg->n_eos_token_ids, 2);
    AAE_CHECK_EQ_INT(cfg->eos_token_ids[1], 3);
    AAE_CHECK_EQ_STR(cfg->conv_template, "llama-2");
    AAE_CHECK_EQ_INT(cfg->n_tokenizer_files, 1);
    AAE_CHECK(cfg->top_p == 0.9);
    aae_chat_config_free(cfg);
}

AAE_TEST(chat_config_partial_rotary)
{
    const char *t = "{\"model_type\":\"phi\",\"quantization\":\"q0f32\",\"model_config\":{\"hidden_size\":64,"
                    "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"intermediate_size\":256,\"vocab_size\":50,"
                    "\"partial_rotary_factor\":0.5,\"layer_norm_eps\":1e-5},\"context_window_size\":128,"
                    "\"prefill_chunk_size\":16,\"eos_token_id\":7}";
    aae_chat_config *cfg = NULL;
    aae_error err = {0};
    AAE_CHECK_EQ_INT(aae_chat_config_parse(t, strlen(t), "c.json", &cfg, &err), AAE_OK);
    if (!cfg) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    AAE_CHECK_EQ_INT(cfg->dims.rotary_dim, 8);
    AAE_CHECK_EQ_INT(cfg->dims.use_parallel_residual, 1);
    AAE_CHECK_EQ_INT(cfg->dims.act, AAE_ACT_GELU_TANH);
    AAE_CHECK_EQ_INT(cfg->vocab_size, 50);
    AAE_CHECK_EQ_INT(cfg->eos_token_ids[0], 7);
    aae_chat_config_free(cfg);
}

static void expect_cc_error(const char *from, const char *to, const char *want)
{
    char text[4096];
    const char *p = strstr(CC_OK, from);
    AAE_CHECK(p != NULL);
    if (!p)
        return;
    snprintf(text, sizeof text, "%.*s%s%s", (int)(p - CC_OK), CC_OK, to, p + strlen(from));
    aae_chat_config *cfg = NULL;
    aae_error err = {0};
    AAE_CHECK(aae_chat_config_parse(text, strlen(text), "c.json", &cfg, &err) != AAE_OK);
    AAE_CHECK(cfg == NULL);
    AAE_CHECK_CONTAINS(err.msg, want);
}

AAE_TEST(chat_config_rejects)
{
    expect_cc_error("\"llama\"", "\"bert\"", "/model_type");
    expect_cc_error("\"q4f16_1\"", "\"q8\"", "/quantization");
    expect_cc_error("\"hidden_size\":64", "\"hidden_size\":-64", "/model_config/hidden_size");
    expect_cc_error("\"num_key_value_heads\":2", "\"num_key_value_heads\":3", "multiple of num_key_value_heads");
    expect_cc_error("\"tokenizer.json\"", "\"../x.json\"", "/tokenizer_files/0");
    expect_cc_error("[2,3]", "[2,300]", "/eos_token_id/1");
    expect_cc_error("\"top_p\":0.9", "\"top_p\":\"x\"", "/top_p");
    expect_cc_error("\"model_config\":{", "\"model_config\":[{", "c.json");
    expect_cc_error("\"tie_word_embeddings\":false", "\"rope_scaling\":{\"type\":\"yarn\"}", "rope_scaling");
}

int main(void) { return aae_test_run_all(); }
