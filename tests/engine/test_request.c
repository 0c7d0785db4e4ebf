/*
 * test_request.c - the chat-completions request parser: the fields it reads,
 * and one case per kind of bad request (status + the JSON pointer named).
 */
#include "aae_test.h"
#include "engine/request.h"

static aae_chat_request *ok(const char *json)
{
    aae_chat_request *r = NULL;
    aae_error err;
    aae_status st = aae_chat_request_parse(json, strlen(json), &r, &err);
    AAE_CHECK_EQ_INT(st, AAE_OK);
    if (st != AAE_OK)
        fprintf(stderr, "unexpected error: %s\n", err.msg);
    return r;
}

AAE_TEST(full_request)
{
    aae_chat_request *r =
        ok("{\"model\":\"m\",\"messages\":[{\"role\":\"developer\",\"content\":\"S\"},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}],"
           "\"name\":\"x\"},{\"role\":\"assistant\",\"content\":\"A\"},{\"role\":\"user\",\"content\":\"q\"}],"
           "\"stream\":true,\"stream_options\":{\"include_usage\":false},\"temperature\":0.5,\"top_p\":0.9,"
           "\"max_tokens\":7,\"stop\":[\"x\",\"yz\"],\"seed\":-3,\"frequency_penalty\":0.1,\"presence_penalty\":-0.2,"
           "\"n\":1,\"logit_bias\":{\"5\":-100,\"17\":2.5},\"response_format\":{\"type\":\"text\"},\"user\":\"u\","
           "\"top_k\":40,\"repetition_penalty\":1.1,\"some_future_field\":{\"a\":1}}");
    if (!r)
        return;
    AAE_CHECK_EQ_STR(r->model, "m");
    AAE_CHECK_EQ_INT(r->n_messages, 4);
    AAE_CHECK_EQ_INT(r->messages[0].role, AAE_ROLE_SYSTEM);
    AAE_CHECK_EQ_INT(r->messages[1].len, 2);
    AAE_CHECK(memcmp(r->messages[1].content, "ab", 2) == 0);
    AAE_CHECK_EQ_INT(r->messages[3].role, AAE_ROLE_USER);
    AAE_CHECK(r->stream && !r->include_usage);
    AAE_CHECK(r->has_temperature && r->temperature == 0.5);
    AAE_CHECK(r->has_top_p && r->top_p == 0.9);
    AAE_CHECK_EQ_INT(r->max_tokens, 7);
    AAE_CHECK_EQ_INT(r->n_stop, 2);
    AAE_CHECK(r->stop_len[1] == 2 && memcmp(r->stop[1], "yz", 2) == 0);
    AAE_CHECK(r->has_seed && r->seed == (uint64_t)-3);
    AAE_CHECK(r->has_frequency_penalty && r->has_presence_penalty);
    AAE_CHECK_EQ_INT(r->n_bias, 2);
    AAE_CHECK(r->bias_id[1] == 17 && r->bias[1] == 2.5f);
    AAE_CHECK(r->has_top_k && r->top_k == 40);
    AAE_CHECK(r->has_repetition_penalty);
    aae_chat_request_free(r);
}

AAE_TEST(defaults)
{
    aae_chat_request *r = ok("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":\"END\","
                             "\"max_tokens\":3,\"max_completion_tokens\":9,\"temperature\":null}");
    if (!r)
        return;
    AAE_CHECK(r->model == NULL && !r->stream && r->include_usage && !r->has_temperature && !r->has_seed);
    AAE_CHECK_EQ_INT(r->max_tokens, 9);
    AAE_CHECK_EQ_INT(r->n_stop, 1);
    aae_chat_request_free(r);
}

typedef struct bad_case {
    const char *json;
    aae_status status;
    const char *pointer; /* must appear in the message */
} bad_case;

#define U "{\"role\":\"user\",\"content\":\"hi\"}"
static const bad_case k_bad[] = {
    {"", AAE_ERR_INVALID_ARGUMENT, "request JSON"},
    {"{\"messages\":[" U "],}", AAE_ERR_INVALID_ARGUMENT, "byte"},
    {"[1,2]", AAE_ERR_INVALID_ARGUMENT, "must be a JSON object"},
    {"{}", AAE_ERR_INVALID_ARGUMENT, "/messages: missing"},
    {"{\"messages\":{}}", AAE_ERR_INVALID_ARGUMENT, "/messages: expected an array"},
    {"{\"messages\":[]}", AAE_ERR_INVALID_ARGUMENT, "/messages: the array is empty"},
    {"{\"messages\":[7]}", AAE_ERR_INVALID_ARGUMENT, "/messages/0: expected an object"},
    {"{\"messages\":[{\"content\":\"x\"}]}", AAE_ERR_INVALID_ARGUMENT, "/messages/0/role"},
    {"{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", AAE_ERR_INVALID_ARGUMENT, "/messages/0/role"},
    {"{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", AAE_ERR_UNSUPPORTED, "/messages/0/role"},
    {"{\"messages\":[{\"role\":\"user\",\"content\":5}]}", AAE_ERR_INVALID_ARGUMENT, "/messages/0/content"},
    {"{\"messages\":[{\"role\":\"user\"}]}", AAE_ERR_INVALID_ARGUMENT, "/messages/0/content"},
    {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":\"x\"}]}]}",
     AAE_ERR_UNSUPPORTED, "/messages/0/content/0/type"},
    {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}", AAE_ERR_INVALID_ARGUMENT,
     "/messages/0/content/0/text"},
    {"{\"messages\":[{\"role\":\"user\",\"content\":[3]}]}", AAE_ERR_INVALID_ARGUMENT, "/messages/0/content/0"},
    {"{\"messages\":[" U "," U "]}", AAE_ERR_INVALID_ARGUMENT, "/messages/1/role"},
    {"{\"messages\":[" U ",{\"role\":\"assistant\",\"content\":\"a\"}]}", AAE_ERR_INVALID_ARGUMENT,
     "/messages/1/role"},
    {"{\"messages\":[{\"role\":\"user\",\"role\":\"user\",\"content\":\"x\"}]}", AAE_ERR_INVALID_ARGUMENT,
     "/messages/0/role: the member appears twice"},
    {"{\"messages\":[" U "],\"messages\":[" U "]}", AAE_ERR_INVALID_ARGUMENT, "/messages: the member appears twice"},
    {"{\"messages\":[" U "],\"temperature\":2.5}", AAE_ERR_INVALID_ARGUMENT, "/temperature"},
    {"{\"messages\":[" U "],\"temperature\":\"hot\"}", AAE_ERR_INVALID_ARGUMENT, "/temperature"},
    {"{\"messages\":[" U "],\"top_p\":0}", AAE_ERR_INVALID_ARGUMENT, "/top_p"},
    {"{\"messages\":[" U "],\"top_p\":1.5}", AAE_ERR_INVALID_ARGUMENT, "/top_p"},
    {"{\"messages\":[" U "],\"max_tokens\":0}", AAE_ERR_INVALID_ARGUMENT, "/max_tokens"},
    {"{\"messages\":[" U "],\"max_tokens\":1.5}", AAE_ERR_INVALID_ARGUMENT, "/max_tokens"},
    {"{\"messages\":[" U "],\"max_completion_tokens\":-1}", AAE_ERR_INVALID_ARGUMENT, "/max_completion_tokens"},
    {"{\"messages\":[" U "],\"n\":2}", AAE_ERR_UNSUPPORTED, "/n"},
    {"{\"messages\":[" U "],\"n\":\"1\"}", AAE_ERR_INVALID_ARGUMENT, "/n"},
    {"{\"messages\":[" U "],\"stop\":7}", AAE_ERR_INVALID_ARGUMENT, "/stop"},
    {"{\"messages\":[" U "],\"stop\":[\"a\",\"\"]}", AAE_ERR_INVALID_ARGUMENT, "/stop/1"},
    {"{\"messages\":[" U "],\"stop\":[\"a\",null]}", AAE_ERR_INVALID_ARGUMENT, "/stop/1"},
    {"{\"messages\":[" U "],\"stop\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\","
     "\"13\",\"14\",\"15\",\"16\",\"17\"]}",
     AAE_ERR_LIMIT, "/stop"},
    {"{\"messages\":[" U "],\"seed\":1.5}", AAE_ERR_INVALID_ARGUMENT, "/seed"},
    {"{\"messages\":[" U "],\"seed\":123456789012345678901234}", AAE_ERR_INVALID_ARGUMENT, "/seed"},
    {"{\"messages\":[" U "],\"frequency_penalty\":3}", AAE_ERR_INVALID_ARGUMENT, "/frequency_penalty"},
    {"{\"messages\":[" U "],\"presence_penalty\":-2.01}", AAE_ERR_INVALID_ARGUMENT, "/presence_penalty"},
    {"{\"messages\":[" U "],\"logit_bias\":[1]}", AAE_ERR_INVALID_ARGUMENT, "/logit_bias"},
    {"{\"messages\":[" U "],\"logit_bias\":{\"abc\":1}}", AAE_ERR_INVALID_ARGUMENT, "/logit_bias/abc"},
    {"{\"messages\":[" U "],\"logit_bias\":{\"-1\":1}}", AAE_ERR_INVALID_ARGUMENT, "/logit_bias/-1"},
    {"{\"messages\":[" U "],\"logit_bias\":{\"99999999999\":1}}", AAE_ERR_INVALID_ARGUMENT, "/logit_bias/9999"},
    {"{\"messages\":[" U "],\"logit_bias\":{\"5\":101}}", AAE_ERR_INVALID_ARGUMENT, "/logit_bias/5"},
    {"{\"messages\":[" U "],\"logit_bias\":{\"a/b\":1}}", AAE_ERR_INVALID_ARGUMENT, "/logit_bias/a~1b"},
    {"{\"messages\":[" U "],\"response_format\":{\"type\":\"json_object\"}}", AAE_ERR_UNSUPPORTED,
     "/response_format/type"},
    {"{\"messages\":[" U "],\"response_format\":\"text\"}", AAE_ERR_INVALID_ARGUMENT, "/response_format"},
    {"{\"messages\":[" U "],\"stream\":\"yes\"}", AAE_ERR_INVALID_ARGUMENT, "/stream"},
    {"{\"messages\":[" U "],\"stream_options\":{\"include_usage\":1}}", AAE_ERR_INVALID_ARGUMENT,
     "/stream_options/include_usage"},
    {"{\"messages\":[" U "],\"model\":5}", AAE_ERR_INVALID_ARGUMENT, "/model"},
    {"{\"messages\":[" U "],\"user\":{}}", AAE_ERR_INVALID_ARGUMENT, "/user"},
    {"{\"messages\":[" U "],\"logprobs\":true}", AAE_ERR_UNSUPPORTED, "/logprobs"},
    {"{\"messages\":[" U "],\"tools\":[{\"type\":\"function\"}]}", AAE_ERR_UNSUPPORTED, "/tools"},
    {"{\"messages\":[" U "],\"top_k\":-1}", AAE_ERR_INVALID_ARGUMENT, "/top_k"},
    {"{\"messages\":[" U "],\"repetition_penalty\":0}", AAE_ERR_INVALID_ARGUMENT, "/repetition_penalty"},
    {"{\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}", AAE_ERR_INVALID_ARGUMENT, "/messages"},
    {"{\"messages\":[" U "]} trailing", AAE_ERR_INVALID_ARGUMENT, "request JSON"},
};

AAE_TEST(bad_requests)
{
    for (size_t i = 0; i < sizeof k_bad / sizeof k_bad[0]; i++) {
        aae_chat_request *r = NULL;
        aae_error err;
        memset(&err, 0, sizeof err);
        aae_status st = aae_chat_request_parse(k_bad[i].json, strlen(k_bad[i].json), &r, &err);
        if (st != k_bad[i].status || !strstr(err.msg, k_bad[i].pointer) || r != NULL) {
            fprintf(stderr, "case %zu (%s): status %d, message \"%s\"; expected %d with \"%s\"\n", i, k_bad[i].json,
                    (int)st, err.msg, (int)k_bad[i].status, k_bad[i].pointer);
            AAE_CHECK(0);
        }
        aae_chat_request_free(r);
    }
}

int main(void)
{
    return aae_test_run_all();
}
