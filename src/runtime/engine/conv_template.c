/*
 * conv_template.c - the named conversation templates and their renderer.
 *
 * Each table entry is written from the family's Hugging Face chat_template
 * (Jinja); the expected text of each is spelled out in tests/engine/ and
 * docs/engine.md. Where a family's Jinja has no system role (Llama-2 style,
 * Mistral, Gemma) the system text is glued in front of the first user message
 * the way the family's later templates do it.
 */
#include "engine/conv_template.h"

#include <string.h>

#include "base/utf8.h"

static const aae_conv_template k_templates[] = {
    {
        /* Llama-2-chat: <s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST] A </s><s>[INST] ... */
        .name = "llama-2",
        .bos_each_user = 1,
        .system_mode = AAE_SYSTEM_IN_FIRST_USER,
        .trim = AAE_TRIM_MERGED,
        .default_system = "",
        .system_prefix = "<<SYS>>\n",
        .system_suffix = "\n<</SYS>>\n\n",
        .user_prefix = "[INST] ",
        .user_suffix = " [/INST]",
        .assistant_prefix = " ",
        .assistant_suffix = " ",
        .eos_after_assistant = 1,
        .generation_prompt = "",
        .stop_str = {"[INST]", NULL},
        .stop_token_str = {"</s>", NULL},
    },
    {
        /* Llama-3-Instruct. */
        .name = "llama-3",
        .bos_at_start = 1,
        .system_mode = AAE_SYSTEM_TURN,
        .trim = AAE_TRIM_CONTENT,
        .default_system = "",
        .system_prefix = "<|start_header_id|>system<|end_header_id|>\n\n",
        .system_suffix = "<|eot_id|>",
        .user_prefix = "<|start_header_id|>user<|end_header_id|>\n\n",
        .user_suffix = "<|eot_id|>",
        .assistant_prefix = "<|start_header_id|>assistant<|end_header_id|>\n\n",
        .assistant_suffix = "<|eot_id|>",
        .generation_prompt = "<|start_header_id|>assistant<|end_header_id|>\n\n",
        .stop_str = {"<|eot_id|>", "<|end_of_text|>", NULL},
        .stop_token_str = {"<|eot_id|>", "<|end_of_text|>", NULL},
    },
    {
        /* Mistral-7B-Instruct v0.1/v0.2 (tokenizer V1):
         * <s> [INST] S\n\nU [/INST] A</s> [INST] U2 [/INST] */
        .name = "mistral_default",
        .bos_at_start = 1,
        .system_mode = AAE_SYSTEM_IN_FIRST_USER,
        .trim = AAE_TRIM_NONE,
        .default_system = "",
        .system_prefix = "",
        .system_suffix = "\n\n",
        .user_prefix = " [INST] ",
        .user_suffix = " [/INST]",
        .assistant_prefix = " ",
        .assistant_suffix = "",
        .eos_after_assistant = 1,
        .generation_prompt = "",
        .stop_str = {"</s>", NULL},
        .stop_token_str = {"</s>", NULL},
    },
    {
        /* Gemma instruction tuned: <bos><start_of_turn>user\nU<end_of_turn>\n<start_of_turn>model\n */
        .name = "gemma_instruction",
        .bos_at_start = 1,
        .system_mode = AAE_SYSTEM_IN_FIRST_USER,
        .trim = AAE_TRIM_CONTENT,
        .default_system = "",
        .system_prefix = "",
        .system_suffix = "\n\n",
        .user_prefix = "<start_of_turn>user\n",
        .user_suffix = "<end_of_turn>\n",
        .assistant_prefix = "<start_of_turn>model\n",
        .assistant_suffix = "<end_of_turn>\n",
        .generation_prompt = "<start_of_turn>model\n",
        .stop_str = {"<end_of_turn>", NULL},
        .stop_token_str = {"<end_of_turn>", "<eos>", NULL},
    },
    {
        /* Phi-2's QA format: Instruct: U\nOutput: */
        .name = "phi-2",
        .system_mode = AAE_SYSTEM_TURN,
        .trim = AAE_TRIM_NONE,
        .default_system = "",
        .system_prefix = "",
        .system_suffix = "\n",
        .user_prefix = "Instruct: ",
        .user_suffix = "\n",
        .assistant_prefix = "Output: ",
        .assistant_suffix = "\n",
        .generation_prompt = "Output:",
        .stop_str = {"<|endoftext|>", NULL},
        .stop_token_str = {"<|endoftext|>", NULL},
    },
    {
        /* Qwen2-Instruct: ChatML with a default system message. */
        .name = "qwen2",
        .system_mode = AAE_SYSTEM_TURN,
        .trim = AAE_TRIM_NONE,
        .default_system = "You are a helpful assistant.",
        .system_prefix = "<|im_start|>system\n",
        .system_suffix = "<|im_end|>\n",
        .user_prefix = "<|im_start|>user\n",
        .user_suffix = "<|im_end|>\n",
        .assistant_prefix = "<|im_start|>assistant\n",
        .assistant_suffix = "<|im_end|>\n",
        .generation_prompt = "<|im_start|>assistant\n",
        .stop_str = {"<|im_end|>", "<|endoftext|>", NULL},
        .stop_token_str = {"<|im_end|>", "<|endoftext|>", NULL},
    },
    {
        /* ChatML (Qwen3's template without tools or reasoning): no default system. */
        .name = "chatml",
        .system_mode = AAE_SYSTEM_TURN,
        .trim = AAE_TRIM_NONE,
        .default_system = "",
        .system_prefix = "<|im_start|>system\n",
        .system_suffix = "<|im_end|>\n",
        .user_prefix = "<|im_start|>user\n",
        .user_suffix = "<|im_end|>\n",
        .assistant_prefix = "<|im_start|>assistant\n",
        .assistant_suffix = "<|im_end|>\n",
        .generation_prompt = "<|im_start|>assistant\n",
        .stop_str = {"<|im_end|>", NULL},
        .stop_token_str = {"<|im_end|>", NULL},
    },
    {
        /* RedPajama-INCITE-Chat: <human>: U\n<bot>: */
        .name = "redpajama_chat",
        .system_mode = AAE_SYSTEM_TURN,
        .trim = AAE_TRIM_NONE,
        .default_system = "",
        .system_prefix = "",
        .system_suffix = "\n",
        .user_prefix = "<human>: ",
        .user_suffix = "\n",
        .assistant_prefix = "<bot>: ",
        .assistant_suffix = "\n",
        .generation_prompt = "<bot>:",
        .stop_str = {"<human>", NULL},
        .stop_token_str = {"<|endoftext|>", NULL},
    },
    {
        /* No template: the messages' text as is; the tokenizer adds its BOS. */
        .name = "LM",
        .tokenizer_adds_special = 1,
        .system_mode = AAE_SYSTEM_TURN,
        .trim = AAE_TRIM_NONE,
        .default_system = "",
        .system_prefix = "",
        .system_suffix = "",
        .user_prefix = "",
        .user_suffix = "",
        .assistant_prefix = "",
        .assistant_suffix = "",
        .generation_prompt = "",
        .stop_str = {NULL},
        .stop_token_str = {NULL},
    },
};

#define N_TEMPLATES (sizeof k_templates / sizeof k_templates[0])

const aae_conv_template *aae_conv_template_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < N_TEMPLATES; i++)
        if (strcmp(k_templates[i].name, name) == 0)
            return &k_templates[i];
    return NULL;
}

static const char *const k_names[] = {"llama-2", "llama-3", "mistral_default", "gemma_instruction", "phi-2",
                                      "qwen2", "chatml", "redpajama_chat", "LM", NULL};

const char *const *aae_conv_template_names(void)
{
    return k_names;
}

const char *aae_conv_template_names_joined(void)
{
    return "llama-2, llama-3, mistral_default, gemma_instruction, phi-2, qwen2, chatml, "
           "redpajama_chat, LM";
}

/* Python's str.isspace() for one code point. */
static int is_py_space(uint32_t cp)
{
    if ((cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20))
        return 1;
    if (cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A))
        return 1;
    return cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Length of the UTF-8 character that ends at s[end-1], or 0 if invalid. */
static size_t last_char_len(const unsigned char *s, size_t end, uint32_t *cp)
{
    for (size_t n = 1; n <= 4 && n <= end; n++) {
        if ((s[end - n] & 0xC0) != 0x80)
            return aae_utf8_decode(s + end - n, n, cp) == n ? n : 0;
    }
    return 0;
}

void aae_conv_strip(const char **start, size_t *len)
{
    const unsigned char *s = (const unsigned char *)*start;
    size_t b = 0, e = *len;
    while (b < e) {
        uint32_t cp;
        size_t n = aae_utf8_decode(s + b, e - b, &cp);
        if (n == 0 || !is_py_space(cp))
            break;
        b += n;
    }
    while (e > b) {
        uint32_t cp;
        size_t n = last_char_len(s, e, &cp);
        if (n == 0 || e - n < b || !is_py_space(cp))
            break;
        e -= n;
    }
    *start = (const char *)s + b;
    *len = e - b;
}

static const char *role_name(aae_conv_role r)
{
    return r == AAE_ROLE_SYSTEM ? "system" : r == AAE_ROLE_USER ? "user" : "assistant";
}

aae_status aae_conv_check_messages(const aae_conv_message *msgs, size_t n, aae_error *err)
{
    if (n == 0)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                             "/messages: expected at least one message (a \"user\" message)");
    size_t i = msgs[0].role == AAE_ROLE_SYSTEM ? 1 : 0;
    if (i == n)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                             "/messages: only a system message; add a \"user\" message after it");
    for (size_t k = i; k < n; k++) {
        aae_conv_role want = ((k - i) % 2 == 0) ? AAE_ROLE_USER : AAE_ROLE_ASSISTANT;
        if (msgs[k].role != want)
            return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                                 "/messages/%zu/role: expected \"%s\", got \"%s\" (a system message may only "
                                 "come first; then user and assistant messages alternate, starting with user)",
                                 k, role_name(want), role_name(msgs[k].role));
    }
    if (msgs[n - 1].role != AAE_ROLE_USER)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT,
                             "/messages/%zu/role: the last message must be from the \"user\"", n - 1);
    return AAE_OK;
}

static void put_text(aae_buf *out, const char *s, size_t len, int trim)
{
    if (trim)
        aae_conv_strip(&s, &len);
    aae_buf_append(out, s, len);
}

/* A user turn; sys (may be NULL) is glued in front for AAE_SYSTEM_IN_FIRST_USER. */
static void render_user(const aae_conv_template *t, const aae_conv_message *m, const char *sys, size_t sys_len,
                        const char *bos, aae_buf *out, aae_buf *tmp)
{
    if (t->bos_each_user)
        aae_buf_puts(out, bos);
    aae_buf_puts(out, t->user_prefix);
    if (!sys) {
        put_text(out, m->content, m->len, t->trim != AAE_TRIM_NONE);
    } else if (t->trim == AAE_TRIM_MERGED) {
        aae_buf_reset(tmp);
        aae_buf_puts(tmp, t->system_prefix);
        aae_buf_append(tmp, sys, sys_len);
        aae_buf_puts(tmp, t->system_suffix);
        aae_buf_append(tmp, m->content, m->len);
        put_text(out, tmp->data ? tmp->data : "", tmp->len, 1);
    } else {
        aae_buf_puts(out, t->system_prefix);
        aae_buf_append(out, sys, sys_len);
        aae_buf_puts(out, t->system_suffix);
        put_text(out, m->content, m->len, t->trim == AAE_TRIM_CONTENT);
    }
    aae_buf_puts(out, t->user_suffix);
}

aae_status aae_conv_render(const aae_conv_template *t, const aae_conv_message *msgs, size_t n,
                           const char *bos_text, const char *eos_text, aae_buf *out, aae_error *err)
{
    if (!t || !out || (n && !msgs))
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "conversation template: NULL argument");
    aae_status st = aae_conv_check_messages(msgs, n, err);
    if (st != AAE_OK)
        return st;
    const char *bos = bos_text ? bos_text : "";
    const char *eos = eos_text ? eos_text : "";
    const char *sys = t->default_system;
    size_t sys_len = strlen(sys);
    size_t i = 0;
    if (msgs[0].role == AAE_ROLE_SYSTEM) {
        sys = msgs[0].content;
        sys_len = msgs[0].len;
        i = 1;
    }
    int has_sys = sys_len > 0 || i == 1;
    if (t->bos_at_start)
        aae_buf_puts(out, bos);
    if (has_sys && t->system_mode == AAE_SYSTEM_TURN) {
        aae_buf_puts(out, t->system_prefix);
        put_text(out, sys, sys_len, t->trim == AAE_TRIM_CONTENT);
        aae_buf_puts(out, t->system_suffix);
    }
    aae_buf tmp;
    aae_buf_init(&tmp);
    for (size_t k = i; k < n; k++) {
        const aae_conv_message *m = &msgs[k];
        if (m->role == AAE_ROLE_USER) {
            int glue = has_sys && t->system_mode == AAE_SYSTEM_IN_FIRST_USER && k == i;
            render_user(t, m, glue ? sys : NULL, sys_len, bos, out, &tmp);
        } else {
            aae_buf_puts(out, t->assistant_prefix);
            put_text(out, m->content, m->len, t->trim != AAE_TRIM_NONE);
            aae_buf_puts(out, t->assistant_suffix);
            if (t->eos_after_assistant)
                aae_buf_puts(out, eos);
        }
    }
    aae_buf_free(&tmp);
    aae_buf_puts(out, t->generation_prompt);
    if (!aae_buf_ok(out))
        return aae_error_set(err, AAE_ERR_NOMEM, "conversation template: out of memory rendering the prompt");
    return AAE_OK;
}
