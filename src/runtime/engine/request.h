/*
 * request.h - the OpenAI chat-completions request, parsed from untrusted JSON.
 *
 * Accepted members (OpenAI's names and ranges):
 *   model                  string (informational: the loaded model answers)
 *   messages               required, non-empty array of
 *                          {role: "system"|"developer"|"user"|"assistant",
 *                           content: string | [{type: "text", text: string}, ...],
 *                           name: string (ignored)}
 *                          ("developer" is the newer name of "system"; array parts
 *                          are joined without a separator)
 *   stream                 bool (default false)
 *   stream_options         {include_usage: bool}; default true here (OpenAI's
 *                          default is false): the last chunk carries usage
 *   temperature            number in [0, 2]      (0 = greedy)
 *   top_p                  number in (0, 1]
 *   max_tokens, max_completion_tokens   int >= 1 (the latter wins if both)
 *   stop                   string or array of up to 16 non-empty strings
 *   seed                   integer
 *   frequency_penalty, presence_penalty  number in [-2, 2]
 *   n                      1 only
 *   logit_bias             {"<token id>": number in [-100, 100]}, up to 1024
 *   response_format        {type: "text"} only
 *   logprobs               false only; top_logprobs 0 only
 *   tools                  absent, null or [] only
 *   user                   string (ignored)
 * Extensions (not OpenAI; names as in MLC-LLM and Hugging Face):
 *   top_k                  int >= 0 (0 = off)
 *   repetition_penalty     number > 0 (1 = off)
 *   ignore_eos             bool: generate max_tokens, ignoring stop tokens
 * Unknown members are ignored, as OpenAI-compatible servers commonly do, so
 * newer clients keep working; a duplicate member is an error (the meaning
 * would be ambiguous). Every error names the member with an RFC 6901 JSON
 * pointer: "/messages/2/content: expected ...".
 */
#ifndef AAE_ENGINE_REQUEST_H
#define AAE_ENGINE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/json.h"
#include "engine/conv_template.h"
#include "engine/sampler.h"

#define AAE_REQ_MAX_STOP 16
#define AAE_REQ_MAX_TEXT (64u << 20) /* bytes of message text per request */

typedef struct aae_chat_request {
    aae_json_doc *doc; /* owns the strings below that point into it */
    aae_buf joined;    /* owns the text of array-of-parts contents */
    const char *model; /* NULL when absent */
    aae_conv_message *messages;
    size_t n_messages;
    int stream;
    int include_usage;
    int has_temperature, has_top_p, has_top_k, has_repetition_penalty, has_presence_penalty,
        has_frequency_penalty;
    double temperature, top_p, repetition_penalty, presence_penalty, frequency_penalty;
    int64_t top_k;
    int64_t max_tokens; /* -1 when absent */
    const char *stop[AAE_REQ_MAX_STOP];
    size_t stop_len[AAE_REQ_MAX_STOP];
    size_t n_stop;
    int has_seed;
    uint64_t seed;
    int ignore_eos;
    size_t n_bias;
    int32_t bias_id[AAE_SAMPLER_MAX_BIAS];
    float bias[AAE_SAMPLER_MAX_BIAS];
} aae_chat_request;

/* Parses and validates len bytes of JSON. On failure err holds "<pointer>: <what>"
 * with status AAE_ERR_INVALID_ARGUMENT (malformed) or AAE_ERR_UNSUPPORTED (valid
 * OpenAI, not supported here: n > 1, images, tools, ...). */
aae_status aae_chat_request_parse(const char *json, size_t len, aae_chat_request **out, aae_error *err);
void aae_chat_request_free(aae_chat_request *r);

#endif
