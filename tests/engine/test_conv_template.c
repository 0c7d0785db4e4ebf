/*
 * test_conv_template.c - each named template against the text its family's
 * Hugging Face Jinja chat_template renders (add_generation_prompt=true). The
 * expected strings are written by hand from those templates; test_conv_jinja.py
 * checks many more conversations against a real Jinja renderer.
 */
#include <string.h>

#include "aae_test.h"
#include "engine/conv_template.h"

#define M(r, s) {r, s, sizeof(s) - 1}

static const aae_conv_message k_sys_chat[] = {
    M(AAE_ROLE_SYSTEM, " Be brief. "), M(AAE_ROLE_USER, "Hi\n"), M(AAE_ROLE_ASSISTANT, "Hello!"),
    M(AAE_ROLE_USER, "2+2?")};
static const aae_conv_message k_one[] = {M(AAE_ROLE_USER, "Hi")};

static void check(const char *name, const aae_conv_message *m, size_t n, const char *bos, const char *eos,
                  const char *want)
{
    const aae_conv_template *t = aae_conv_template_find(name);
    AAE_CHECK(t != NULL);
    if (!t)
        return;
    aae_buf b;
    aae_buf_init(&b);
    aae_error err;
    aae_status st = aae_conv_render(t, m, n, bos, eos, &b, &err);
    AAE_CHECK_EQ_INT(st, AAE_OK);
    if (st != AAE_OK)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    AAE_CHECK_EQ_STR(b.data ? b.data : "", want);
    aae_buf_free(&b);
}

AAE_TEST(llama3)
{
    check("llama-3", k_sys_chat, 4, "<|begin_of_text|>", "<|end_of_text|>",
          "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
          "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
          "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\n");
    check("llama-3", k_one, 1, "<|begin_of_text|>", "",
          "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

AAE_TEST(llama2)
{
    check("llama-2", k_sys_chat, 4, "<s>", "</s>",
          "<s>[INST] <<SYS>>\n Be brief. \n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] 2+2? [/INST]");
    check("llama-2", k_one, 1, "<s>", "</s>", "<s>[INST] Hi [/INST]");
}

AAE_TEST(mistral)
{
    check("mistral_default", k_sys_chat, 4, "<s>", "</s>",
          "<s> [INST]  Be brief. \n\nHi\n [/INST] Hello!</s> [INST] 2+2? [/INST]");
    check("mistral_default", k_one, 1, "<s>", "</s>", "<s> [INST] Hi [/INST]");
}

AAE_TEST(gemma)
{
    check("gemma_instruction", k_sys_chat, 4, "<bos>", "<eos>",
          "<bos><start_of_turn>user\n Be brief. \n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
          "<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n");
    check("gemma_instruction", k_one, 1, "<bos>", "<eos>",
          "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
}

AAE_TEST(qwen2_and_chatml)
{
    check("qwen2", k_one, 1, NULL, NULL,
          "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
          "<|im_start|>assistant\n");
    check("chatml", k_one, 1, NULL, NULL, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    check("chatml", k_sys_chat, 4, NULL, NULL,
          "<|im_start|>system\n Be brief. <|im_end|>\n<|im_start|>user\nHi\n<|im_end|>\n"
          "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n");
}

AAE_TEST(phi2_redpajama_lm)
{
    check("phi-2", k_one, 1, NULL, NULL, "Instruct: Hi\nOutput:");
    check("phi-2", k_sys_chat, 4, NULL, NULL, " Be brief. \nInstruct: Hi\n\nOutput: Hello!\nInstruct: 2+2?\nOutput:");
    check("redpajama_chat", k_one, 1, NULL, NULL, "<human>: Hi\n<bot>:");
    check("LM", k_one, 1, "<s>", NULL, "Hi");
    check("LM", k_sys_chat, 4, "<s>", NULL, " Be brief. Hi\nHello!2+2?");
}

AAE_TEST(strip_is_python_strip)
{
    const char *s = "\xe3\x80\x80 \t\x1c" "a b\xc2\xa0\n";
    size_t len = strlen(s);
    aae_conv_strip(&s, &len);
    AAE_CHECK_EQ_INT(len, 3);
    AAE_CHECK(memcmp(s, "a b", 3) == 0);
    const char *e = " \n ";
    size_t el = 3;
    aae_conv_strip(&e, &el);
    AAE_CHECK_EQ_INT(el, 0);
}

AAE_TEST(names_and_lookup)
{
    const char *const *names = aae_conv_template_names();
    int n = 0;
    for (; names[n]; n++)
        AAE_CHECK(aae_conv_template_find(names[n]) != NULL);
    AAE_CHECK_EQ_INT(n, 9);
    AAE_CHECK(aae_conv_template_find("llama2") == NULL);
    AAE_CHECK(aae_conv_template_find(NULL) == NULL);
}

AAE_TEST(message_rules)
{
    aae_error err;
    aae_conv_message bad1[] = {M(AAE_ROLE_ASSISTANT, "x")};
    AAE_CHECK_EQ_INT(aae_conv_check_messages(bad1, 1, &err), AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK_CONTAINS(err.msg, "/messages/0/role");
    aae_conv_message bad2[] = {M(AAE_ROLE_USER, "x"), M(AAE_ROLE_USER, "y")};
    AAE_CHECK_EQ_INT(aae_conv_check_messages(bad2, 2, &err), AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK_CONTAINS(err.msg, "/messages/1/role");
    aae_conv_message bad3[] = {M(AAE_ROLE_USER, "x"), M(AAE_ROLE_ASSISTANT, "y")};
    AAE_CHECK_EQ_INT(aae_conv_check_messages(bad3, 2, &err), AAE_ERR_INVALID_ARGUMENT);
    aae_conv_message bad4[] = {M(AAE_ROLE_SYSTEM, "x")};
    AAE_CHECK_EQ_INT(aae_conv_check_messages(bad4, 1, &err), AAE_ERR_INVALID_ARGUMENT);
    AAE_CHECK_EQ_INT(aae_conv_check_messages(NULL, 0, &err), AAE_ERR_INVALID_ARGUMENT);
    aae_conv_message bad5[] = {M(AAE_ROLE_USER, "x"), M(AAE_ROLE_SYSTEM, "y"), M(AAE_ROLE_USER, "z")};
    AAE_CHECK_EQ_INT(aae_conv_check_messages(bad5, 3, &err), AAE_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    return aae_test_run_all();
}
