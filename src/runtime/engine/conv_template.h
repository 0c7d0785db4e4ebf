/*
 * conv_template.h - the named conversation templates: how a list of chat
 * messages becomes the prompt text a model family was trained on.
 *
 * Each template renders exactly the text the family's own Hugging Face Jinja
 * chat_template renders with add_generation_prompt=true (the BOS / EOS token
 * text included, as Jinja's bos_token / eos_token), so that tokenizing the text
 * with special tokens recognised and add_special_tokens=false gives the ids
 * transformers' apply_chat_template(tokenize=True) gives. docs/engine.md lists
 * each template's exact output.
 *
 * Names (gen_config --conv-template accepts exactly these): llama-2, llama-3,
 * mistral_default, gemma_instruction, phi-2, qwen2, chatml, redpajama_chat, LM.
 *
 * Message rules, for every template: at most one system message, and only
 * first; then user and assistant alternate, starting with user; the last
 * message is from the user. Violations are AAE_ERR_INVALID_ARGUMENT with the
 * JSON pointer "/messages/<i>/role".
 */
#ifndef AAE_ENGINE_CONV_TEMPLATE_H
#define AAE_ENGINE_CONV_TEMPLATE_H

#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

#define AAE_CONV_MAX_STOPS 4

typedef enum aae_conv_role {
    AAE_ROLE_SYSTEM = 0,
    AAE_ROLE_USER = 1,
    AAE_ROLE_ASSISTANT = 2
} aae_conv_role;

/* Where the system message goes. */
typedef enum aae_conv_system_mode {
    AAE_SYSTEM_TURN = 0,      /* a turn of its own: system_prefix S system_suffix */
    AAE_SYSTEM_IN_FIRST_USER  /* glued in front of the first user message's text */
} aae_conv_system_mode;

/* Which whitespace trimming (Python str.strip, as Jinja's trim) applies. */
typedef enum aae_conv_trim {
    AAE_TRIM_NONE = 0,
    AAE_TRIM_CONTENT, /* each message's own text (system text glued in front is not) */
    AAE_TRIM_MERGED   /* the first user text after the system text is glued in front */
} aae_conv_trim;

typedef struct aae_conv_template {
    const char *name;
    /* BOS: at the very start (bos_at_start) and/or in front of every user turn
     * (bos_each_user, llama-2). The text used is the tokenizer's BOS token. */
    int bos_at_start;
    int bos_each_user;
    /* 1: the tokenizer adds its own special tokens (add_special_tokens=true);
     * only for the raw "LM" template. 0: the text says everything. */
    int tokenizer_adds_special;
    aae_conv_system_mode system_mode;
    aae_conv_trim trim;
    const char *default_system; /* used when the request has no system message */
    const char *system_prefix, *system_suffix;
    const char *user_prefix, *user_suffix;
    const char *assistant_prefix, *assistant_suffix;
    int eos_after_assistant; /* the tokenizer's EOS text after each assistant turn */
    const char *generation_prompt; /* appended last: the assistant's turn opener */
    /* Stop strings (the text is cut before them) and stop token strings
     * (looked up in the vocabulary; missing ones are ignored). NULL-terminated. */
    const char *stop_str[AAE_CONV_MAX_STOPS + 1];
    const char *stop_token_str[AAE_CONV_MAX_STOPS + 1];
} aae_conv_template;

typedef struct aae_conv_message {
    aae_conv_role role;
    const char *content; /* UTF-8, len bytes (need not be NUL-terminated) */
    size_t len;
} aae_conv_message;

/* The template named name (case-sensitive), or NULL. */
const aae_conv_template *aae_conv_template_find(const char *name);

/* Names of all templates, NULL-terminated, in a stable order. */
const char *const *aae_conv_template_names(void);

/* "llama-2, llama-3, ..." for error messages (static storage). */
const char *aae_conv_template_names_joined(void);

/* Checks the message rules above. */
aae_status aae_conv_check_messages(const aae_conv_message *msgs, size_t n, aae_error *err);

/* Appends the prompt for msgs (checked first) to out. bos_text / eos_text are
 * the tokenizer's BOS / EOS token text (NULL or "" when the model has none). */
aae_status aae_conv_render(const aae_conv_template *t, const aae_conv_message *msgs, size_t n,
                           const char *bos_text, const char *eos_text, aae_buf *out, aae_error *err);

/* Python's str.strip() on UTF-8 text: the [*start, *start + *len) slice
 * without leading and trailing Unicode whitespace (White_Space=yes plus
 * U+001C..U+001F, as Python's str.isspace). */
void aae_conv_strip(const char **start, size_t *len);

#endif
