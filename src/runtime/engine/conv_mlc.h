/*
 * conv_mlc.h - conversation templates given in full inside an MLC-LLM
 * mlc-chat-config.json ("conv_template": {...}), for published *-MLC weights
 * whose template name is not one of ours (e.g. "llama-3_1", "tinyllama_v1_0").
 *
 * The object's fields and MLC-LLM's rendering rules (its Conversation.as_prompt):
 *   system_template   text with "{system_message}", which becomes the request's
 *                     system message or else system_message
 *   roles             {"user": ..., "assistant": ...} role markers
 *   role_templates    optional {"user": "...{user_message}...", ...}
 *   seps              1 or 2 separators: after user turns, after assistant turns
 *   role_content_sep  between a role marker and its text
 *   role_empty_sep    after the final assistant marker (the generation prompt)
 *   add_role_after_system_message  false: the first user turn has no marker
 *                     when a system text was written
 *   system_prefix_token_ids  ids put in front of the tokenized prompt (BOS)
 *   stop_str, stop_token_ids
 * prompt = system_template(S) + for each turn i: (marker + role_content_sep,
 * unless the rule above) + text + sep + roles.assistant + role_empty_sep.
 * "{function_string}" placeholders are removed (no function calling).
 * A template whose name is one of ours uses ours instead (exactly the family's
 * Hugging Face template).
 */
#ifndef AAE_ENGINE_CONV_MLC_H
#define AAE_ENGINE_CONV_MLC_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/json.h"
#include "engine/conv_template.h"

#define AAE_MLC_MAX_PREFIX 8
#define AAE_MLC_MAX_STOPS 8

typedef struct aae_conv_mlc {
    char *name;
    char *system_template, *system_message;
    char *role_user, *role_assistant;
    char *tmpl_user, *tmpl_assistant;
    char *sep_user, *sep_assistant;
    char *role_content_sep, *role_empty_sep;
    int add_role_after_system_message;
    int32_t prefix_ids[AAE_MLC_MAX_PREFIX];
    size_t n_prefix;
    char *stop_str[AAE_MLC_MAX_STOPS];
    size_t n_stop_str;
    int32_t stop_ids[AAE_MLC_MAX_STOPS];
    size_t n_stop_ids;
} aae_conv_mlc;

/* Reads the conv_template object; label (the file) and "/conv_template/..."
 * pointers name what is wrong. */
aae_status aae_conv_mlc_parse(const aae_json *obj, const char *label, aae_conv_mlc **out, aae_error *err);
void aae_conv_mlc_free(aae_conv_mlc *t);

/* Appends the prompt text (without the prefix ids) for msgs (checked as in
 * conv_template.h) to out. */
aae_status aae_conv_mlc_render(const aae_conv_mlc *t, const aae_conv_message *msgs, size_t n, aae_buf *out,
                               aae_error *err);

#endif
