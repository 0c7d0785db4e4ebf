/* test_pkg_util.c - unit tests of the packager's small helpers and of the memory
 * estimate, against values worked out by hand. */
#include <stdlib.h>
#include <string.h>

#include "aae_test.h"
#include "did_you_mean.h"
#include "package/pkg_config.h"
#include "package/pkg_manifest.h"
#include "package/pkg_util.h"

AAE_TEST(edit_distance)
{
    AAE_CHECK_EQ_INT(aae_edit_distance("kitten", "sitting"), 3);
    AAE_CHECK_EQ_INT(aae_edit_distance("", "abc"), 3);
    AAE_CHECK_EQ_INT(aae_edit_distance("same", "same"), 0);
}

AAE_TEST(did_you_mean)
{
    static const char *const keys[] = {"model", "model_id", "estimated_vram_bytes", "bundle_weight", "overrides"};
    AAE_CHECK_EQ_STR(aae_did_you_mean("bundle_weights", keys, 5), "bundle_weight");
    AAE_CHECK_EQ_STR(aae_did_you_mean("overide", keys, 5), "overrides");
    AAE_CHECK_EQ_STR(aae_did_you_mean("MODEL_ID", keys, 5), "model_id");
    AAE_CHECK(aae_did_you_mean("zzzzzzzz", keys, 5) == NULL);
    static const char *const ov[] = {"context_window_size", "prefill_chunk_size"};
    AAE_CHECK_EQ_STR(aae_did_you_mean("context_window", ov, 2), "context_window_size");
}

AAE_TEST(safe_names)
{
    AAE_CHECK(aae_pkg_is_safe_name("gemma-2b-q4f16_1"));
    AAE_CHECK(!aae_pkg_is_safe_name(""));
    AAE_CHECK(!aae_pkg_is_safe_name(".."));
    AAE_CHECK(!aae_pkg_is_safe_name(".hidden"));
    AAE_CHECK(!aae_pkg_is_safe_name("a/b"));
    AAE_CHECK(!aae_pkg_is_safe_name("a\\b"));
    AAE_CHECK(!aae_pkg_is_safe_name("a\nb"));
    AAE_CHECK(!aae_pkg_is_safe_name("C:x"));
}

AAE_TEST(scrub_removes_every_copy)
{
    char s[128] = "token hf_abc in hf_abc and hf_abcd";
    aae_pkg_scrub(s, "hf_abc");
    AAE_CHECK_EQ_STR(s, "token *** in *** and ***d");
    char t[16] = "nothing";
    aae_pkg_scrub(t, "");
    AAE_CHECK_EQ_STR(t, "nothing");
}

AAE_TEST(config_relative_paths_and_normalised_model_lib)
{
    const char *text = "{\"device\": \"android\", \"model_list\": [{\"model\": \"HF://u/r-AAE\", \"model_id\": \"m\","
                       " \"estimated_vram_bytes\": 5, \"model_lib\": \"my-lib\","
                       " \"overrides\": {\"sliding_window_size\": -1}}]}";
    aae_pkg_config *cfg = NULL;
    aae_error err;
    AAE_CHECK_EQ_INT(aae_pkg_config_parse("/app/cfg.json", text, strlen(text), &cfg, &err), AAE_OK);
    if (!cfg)
        return;
    AAE_CHECK_EQ_STR(cfg->dir, "/app");
    AAE_CHECK_EQ_STR(cfg->models[0].model_lib, "my_lib");
    AAE_CHECK_EQ_STR(cfg->models[0].hub_user, "u");
    AAE_CHECK_EQ_STR(cfg->models[0].hub_repo, "r-AAE");
    AAE_CHECK_EQ_INT(cfg->models[0].overrides.sliding_window_size, -1);
    AAE_CHECK(cfg->models[0].overrides.context_window_size == AAE_PKG_UNSET);
    aae_pkg_config_free(cfg);
}

/* The fallback estimate (used when no library plan can be made), by hand: 2 layers,
 * 2 KV heads of 16, context 512 (override), f16 -> KV = 2*2*2*16*512*2 = 131072. */
AAE_TEST(memory_estimate_by_hand)
{
    aae_pkg_manifest m;
    memset(&m, 0, sizeof m);
    strcpy(m.info.quantization, "q4f16_1");
    m.weight_bytes = 1000;
    m.info.num_layers = 2;
    m.info.num_heads = 4;
    m.info.num_kv_heads = 2;
    m.info.head_dim = 16;
    m.info.hidden_size = 64;
    m.info.intermediate_size = 128;
    m.info.vocab_size = 256;
    m.info.context_window_size = 2048;
    m.info.prefill_chunk_size = 1024;
    m.info.sliding_window_size = -1;
    m.info.attention_sink_size = -1;
    aae_pkg_overrides ov = {512, AAE_PKG_UNSET, AAE_PKG_UNSET, AAE_PKG_UNSET, AAE_PKG_UNSET};
    aae_pkg_memory mem;
    aae_pkg_memory_estimate(&m, &ov, &mem);
    AAE_CHECK_EQ_INT(mem.kv_len, 512);
    AAE_CHECK_EQ_INT(mem.prefill_chunk, 512); /* clamped to the context window */
    AAE_CHECK_EQ_INT(mem.kv_cache, 131072);
    AAE_CHECK_EQ_INT(mem.total, mem.weights + mem.kv_cache + mem.activations);
}

int main(void) { return aae_test_run_all(); }
