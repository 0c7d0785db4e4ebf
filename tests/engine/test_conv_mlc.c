/*
 * test_conv_mlc.c - conversation templates given as MLC-LLM objects in
 * mlc-chat-config.json, against prompts derived by hand from MLC-LLM's
 * Conversation.as_prompt rules (conv_mlc.h), with the field values of MLC's
 * llama-2, mistral_default and tinyllama_v1_0 templates.
 */
#include <stdlib.h>

#include "aae_test.h"
#include "engine/conv_mlc.h"

#define M(r, s) {r, s, sizeof(s) - 1}

static const aae_conv_message k_chat[] = {M(AAE_ROLE_SYSTEM, "S"), M(AAE_ROLE_USER, "U1"),
                                          M(AAE_ROLE_ASSISTANT, "A1"), M(AAE_ROLE_USER, "U2")};
static const aae_conv_message k_one[] = {M(AAE_ROLE_USER, "Hi")};

static aae_conv_mlc *parse(const char *json, aae_status want, const char *want_msg)
{
    aae_json_doc *doc = NULL;
    AAE_CHECK_EQ_INT(aae_json_parse(json, strlen(json), &doc, NULL), AAE_OK);
    aae_conv_mlc *t = NULL;
    aae_error err;
    memset(&err, 0, sizeof err);
    aae_status st = aae_conv_mlc_parse(aae_json_root(doc), "mlc-chat-config.json", &t, &err);
    AAE_CHECK_EQ_INT(st, want);
    if (want_msg)
        AAE_CHECK_CONTAINS(err.msg, want_msg);
    aae_json_free(doc);
    return t;
}

static void check(const aae_conv_mlc *t, const aae_conv_message *m, size_t n, const char *want)
{
    aae_buf b;
    aae_buf_init(&b);
    AAE_CHECK_EQ_INT(aae_conv_mlc_render(t, m, n, &b, NULL), AAE_OK);
    AAE_CHECK_EQ_STR(b.data ? b.data : "", want);
    aae_buf_free(&b);
}

AAE_TEST(llama2_object)
{
    aae_conv_mlc *t = parse("{\"name\":\"llama-2\",\"system_template\":\"[INST] <<SYS>>\\n{system_message}\\n<</SYS>>\\n\\n\","
                            "\"system_message\":\"You are a helpful, respectful and honest assistant.\","
                            "\"roles\":{\"user\":\"<s>[INST]\",\"assistant\":\"[/INST]\",\"tool\":\"[INST]\"},"
                            "\"seps\":[\" \",\" </s>\"],\"role_content_sep\":\" \",\"role_empty_sep\":\" \","
                            "\"stop_str\":[\"[INST]\"],\"stop_token_ids\":[2],\"system_prefix_token_ids\":[1],"
                            "\"add_role_after_system_message\":false}",
                            AAE_OK, NULL);
    if (!t)
        return;
    check(t, k_chat, 4, "[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 </s><s>[INST] U2 [/INST] ");
    check(t, k_one, 1,
          "[INST] <<SYS>>\nYou are a helpful, respectful and honest assistant.\n<</SYS>>\n\nHi [/INST] ");
    AAE_CHECK_EQ_INT(t->n_prefix, 1);
    AAE_CHECK_EQ_INT(t->prefix_ids[0], 1);
    AAE_CHECK_EQ_INT(t->n_stop_ids, 1);
    AAE_CHECK_EQ_STR(t->stop_str[0], "[INST]");
    aae_conv_mlc_free(t);
}

AAE_TEST(mistral_object_first_user_without_marker)
{
    aae_conv_mlc *t = parse("{\"name\":\"mistral_default\",\"system_template\":\"[INST] {system_message}\","
                            "\"system_message\":\"Be kind.\",\"roles\":{\"user\":\"[INST]\",\"assistant\":\"[/INST]\"},"
                            "\"seps\":[\" \"],\"role_content_sep\":\" \",\"role_empty_sep\":\"\","
                            "\"add_role_after_system_message\":false,\"system_prefix_token_ids\":[1]}",
                            AAE_OK, NULL);
    if (!t)
        return;
    check(t, k_chat, 4, "[INST] SU1 [/INST] A1 [INST] U2 [/INST]");
    aae_conv_mlc_free(t);
}

AAE_TEST(tinyllama_object_and_role_templates)
{
    aae_conv_mlc *t = parse("{\"name\":\"tinyllama_v1_0\",\"system_template\":\"<|system|>\\n{system_message}</s>\","
                            "\"system_message\":\"You are a helpful chatbot.\","
                            "\"roles\":{\"user\":\"<|user|>\",\"assistant\":\"<|assistant|>\"},\"seps\":[\"</s>\"],"
                            "\"role_content_sep\":\"\\n\",\"role_empty_sep\":\"\\n\",\"stop_str\":[\"</s>\"],"
                            "\"stop_token_ids\":[2]}",
                            AAE_OK, NULL);
    if (!t)
        return;
    check(t, k_one, 1, "<|system|>\nYou are a helpful chatbot.</s><|user|>\nHi</s><|assistant|>\n");
    aae_conv_mlc_free(t);
    t = parse("{\"system_template\":\"{system_message}{function_string}\",\"roles\":{\"user\":\"Q\",\"assistant\":\"A\"},"
              "\"role_templates\":{\"user\":\"<<{user_message}>>\"},\"seps\":[\"|\"],\"role_content_sep\":\":\"}",
              AAE_OK, NULL);
    if (!t)
        return;
    check(t, k_one, 1, "Q:<<Hi>>|A");
    aae_conv_mlc_free(t);
}

AAE_TEST(bad_objects)
{
    AAE_CHECK(parse("{\"roles\":{\"user\":\"u\",\"assistant\":\"a\"}}", AAE_ERR_FORMAT, "/conv_template/seps") == NULL);
    AAE_CHECK(parse("{\"seps\":[\"x\"]}", AAE_ERR_FORMAT, "/conv_template/roles") == NULL);
    AAE_CHECK(parse("{\"roles\":{\"user\":\"u\",\"assistant\":\"a\"},\"seps\":[\"a\",\"b\",\"c\"]}", AAE_ERR_FORMAT,
                    "/conv_template/seps") == NULL);
    AAE_CHECK(parse("{\"roles\":{\"user\":\"u\",\"assistant\":\"a\"},\"seps\":[\"a\"],\"stop_token_ids\":[-1]}",
                    AAE_ERR_FORMAT, "/conv_template/stop_token_ids/0") == NULL);
    AAE_CHECK(parse("{\"roles\":{\"user\":5,\"assistant\":\"a\"},\"seps\":[\"a\"]}", AAE_ERR_FORMAT,
                    "/conv_template/roles/user") == NULL);
    AAE_CHECK(parse("{\"roles\":{\"user\":\"u\",\"assistant\":\"a\"},\"seps\":[\"a\"],\"stop_str\":[1]}",
                    AAE_ERR_FORMAT, "/conv_template/stop_str/0") == NULL);
}

int main(void)
{
    return aae_test_run_all();
}
