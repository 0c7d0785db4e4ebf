/*
 * sphere_aae.h - the public API of libsphere_aae, the Astro Agent Edge runtime.
 *
 * If it is not in this header, it is not API.
 *
 * Conventions (stated once, true for every function below):
 *  - Every function that can fail returns aae_status; AAE_OK is 0. Results come
 *    back through OUT pointers, which are written only on success.
 *  - Constructors hand the new handle back through an OUT pointer; destructors
 *    accept NULL.
 *  - A handle keeps a detailed message for its last failure (e.g.
 *    aae_tokenizer_errmsg); it stays valid until the next call on that handle.
 *    aae_strerror gives static text for a status.
 *  - Memory returned to the caller is released with the matching *_free function
 *    named at the call. Buffers passed in are only read during the call unless the
 *    function says otherwise.
 *  - The library never calls exit() and never writes to stdout or stderr; it logs
 *    through the callback set with aae_set_log_callback.
 *  - Handles are not thread-safe unless a function says so: use one handle per
 *    thread, or lock around it.
 */
#ifndef SPHERE_AAE_H
#define SPHERE_AAE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define AAE_API
#else
#define AAE_API __attribute__((visibility("default")))
#endif

/* ---------------------------------------------------------------- base --- */

#define AAE_VERSION_MAJOR 0
#define AAE_VERSION_MINOR 1
#define AAE_VERSION_PATCH 0

/* Status codes. Numbers are never reused; new codes are added at the end. */
typedef enum aae_status {
    AAE_OK = 0,
    AAE_ERR_INVALID_ARGUMENT = 1, /* a NULL handle, an out-of-range value, bad request JSON */
    AAE_ERR_IO = 2,               /* a file could not be opened, read, mapped or written */
    AAE_ERR_FORMAT = 3,           /* a file's content is malformed */
    AAE_ERR_NOMEM = 4,            /* an allocation failed */
    AAE_ERR_UNSUPPORTED = 5,      /* valid, but not supported (architecture, dtype, ...) */
    AAE_ERR_MISMATCH = 6,         /* parts do not fit together (library vs weights, shapes) */
    AAE_ERR_ABORTED = 7,          /* the caller aborted the operation */
    AAE_ERR_NOT_FOUND = 8,        /* a named thing (file, tensor, model library) is missing */
    AAE_ERR_STATE = 9,            /* the call is not valid in the handle's current state */
    AAE_ERR_LIMIT = 10,           /* a size limit was reached (context window, input size) */
    AAE_ERR_INTERNAL = 11         /* a bug: please report it */
} aae_status;

/* Static, human-readable text for a status. Never NULL. */
AAE_API const char *aae_strerror(aae_status status);

/* "0.1.0" */
AAE_API const char *aae_version(void);

typedef enum aae_log_level {
    AAE_LOG_DEBUG = 0,
    AAE_LOG_INFO = 1,
    AAE_LOG_WARN = 2,
    AAE_LOG_ERROR = 3
} aae_log_level;

/* Receives every log line of the library (no trailing newline). The default is
 * to drop them. The callback may be called from any thread the library runs. */
typedef void (*aae_log_callback)(aae_log_level level, const char *message, void *user_data);
AAE_API void aae_set_log_callback(aae_log_callback callback, void *user_data);

/* ----------------------------------------------------------- tokenizer --- */
/* (section owned by the tokenizer; see docs/tokenizer.md) */

/*
 * A tokenizer reads a Hugging Face tokenizer.json (and, beside it, the optional
 * tokenizer_config.json) and turns UTF-8 text into token ids and back. Ids are
 * int32_t in [0, aae_tokenizer_vocab_size()).
 *
 * Ownership and lifetime:
 *  - Loaders return a new handle through `out`; free it with aae_tokenizer_destroy
 *    (accepts NULL). On failure `out` is untouched and, if `errbuf` is not NULL, a
 *    message (file, JSON pointer, what was expected) is written there, NUL-terminated
 *    and truncated to `errbuf_size` bytes.
 *  - Buffers the library allocates for the caller (aae_tokenizer_encode_alloc,
 *    aae_tokenizer_decode) are released with aae_tokenizer_free.
 *  - Strings returned as `const char *` (aae_tokenizer_id_to_token, the streaming
 *    decoder's output) belong to the library; their lifetime is stated at the call.
 *  - A detokenizer keeps a pointer to its tokenizer: destroy it first.
 *
 * Threads: encode, decode and the lookups may run on one handle from several
 * threads at once (a loaded tokenizer only changes an internal lock-free cache);
 * aae_tokenizer_errmsg then reports the failure of any one of them. A detokenizer
 * is used by one thread at a time.
 */
typedef struct aae_tokenizer aae_tokenizer;
typedef struct aae_detokenizer aae_detokenizer;

/* Loads a tokenizer.json file. A tokenizer_config.json in the same folder, if any,
 * is read too (added tokens, bos/eos names). */
AAE_API aae_status aae_tokenizer_load_file(const char *tokenizer_json_path, aae_tokenizer **out, char *errbuf,
                                           size_t errbuf_size);
/* Loads MODEL_DIR/tokenizer.json (+ MODEL_DIR/tokenizer_config.json if present). */
AAE_API aae_status aae_tokenizer_load_dir(const char *model_dir, aae_tokenizer **out, char *errbuf,
                                          size_t errbuf_size);
/* Loads from memory. `config_json` may be NULL (config_len is then ignored). The
 * buffers are only read during the call. */
AAE_API aae_status aae_tokenizer_load_memory(const char *tokenizer_json, size_t len, const char *config_json,
                                             size_t config_len, aae_tokenizer **out, char *errbuf,
                                             size_t errbuf_size);
AAE_API void aae_tokenizer_destroy(aae_tokenizer *tok);

/* The detailed message of the last failure on this handle ("" if none). Valid until
 * the next call on the handle. Never NULL (also for a NULL handle). */
AAE_API const char *aae_tokenizer_errmsg(const aae_tokenizer *tok);

/* Flags of aae_tokenizer_encode*. */
#define AAE_ENCODE_ADD_SPECIAL_TOKENS 1u /* apply the post-processor (e.g. prepend BOS) */

/* Encodes `len` bytes of UTF-8 text (invalid UTF-8 -> AAE_ERR_INVALID_ARGUMENT).
 * Special-token strings inside the text (e.g. "<|im_start|>") always become their
 * ids, as in Hugging Face tokenizers.
 * Caller-owned output: up to `capacity` ids are written to `ids`. On AAE_OK,
 * *n_ids is the count. If `capacity` is too small, returns AAE_ERR_LIMIT and sets
 * *n_ids to the count needed (the only case where an OUT value is written on
 * failure); call again with a larger buffer. `ids` may be NULL when capacity is 0. */
AAE_API aae_status aae_tokenizer_encode(const aae_tokenizer *tok, const char *text, size_t len, uint32_t flags,
                                        int32_t *ids, size_t capacity, size_t *n_ids);
/* Library-allocated output: *ids is malloc'd (free with aae_tokenizer_free). */
AAE_API aae_status aae_tokenizer_encode_alloc(const aae_tokenizer *tok, const char *text, size_t len,
                                              uint32_t flags, int32_t **ids, size_t *n_ids);

/* Flags of aae_tokenizer_decode and aae_detokenizer_create. */
#define AAE_DECODE_SKIP_SPECIAL_TOKENS 1u /* drop special tokens (BOS, EOS, ...) */

/* Decodes ids into UTF-8 text through the tokenizer's decoder chain. *text is
 * malloc'd and NUL-terminated (free with aae_tokenizer_free); *len excludes the NUL.
 * Bytes that do not form valid UTF-8 come out as U+FFFD. An id outside
 * [0, vocab_size) gives AAE_ERR_INVALID_ARGUMENT. No "clean up tokenization spaces". */
AAE_API aae_status aae_tokenizer_decode(const aae_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                        uint32_t flags, char **text, size_t *len);

/* Releases a buffer returned by aae_tokenizer_encode_alloc or aae_tokenizer_decode. */
AAE_API void aae_tokenizer_free(void *p);

/* Streaming decode: feed ids one at a time; each push hands back the text that
 * became final (only complete UTF-8 characters). The concatenation of all pushes
 * and the final aae_detokenizer_finish equals aae_tokenizer_decode of all ids.
 * The returned text (not NUL-terminated; *len may be 0) is owned by the
 * detokenizer and valid until the next call on it. */
AAE_API aae_status aae_detokenizer_create(const aae_tokenizer *tok, uint32_t flags, aae_detokenizer **out);
AAE_API aae_status aae_detokenizer_push(aae_detokenizer *d, int32_t id, const char **text, size_t *len);
/* Flushes held bytes (an incomplete character becomes U+FFFD). The detokenizer is
 * then reset and can decode a new stream. */
AAE_API aae_status aae_detokenizer_finish(aae_detokenizer *d, const char **text, size_t *len);
AAE_API void aae_detokenizer_reset(aae_detokenizer *d);
AAE_API void aae_detokenizer_destroy(aae_detokenizer *d);

/* Number of ids (the largest id + 1, added tokens included). */
AAE_API int32_t aae_tokenizer_vocab_size(const aae_tokenizer *tok);
/* The token's string as stored in tokenizer.json (e.g. "Ġthe", "▁the", "<0x0A>"),
 * not NUL-terminated; valid until the tokenizer is destroyed. AAE_ERR_NOT_FOUND for
 * an unused id inside the range, AAE_ERR_INVALID_ARGUMENT outside it. */
AAE_API aae_status aae_tokenizer_id_to_token(const aae_tokenizer *tok, int32_t id, const char **token,
                                             size_t *len);
/* Exact lookup of a token string (vocab and added tokens); AAE_ERR_NOT_FOUND if absent. */
AAE_API aae_status aae_tokenizer_token_to_id(const aae_tokenizer *tok, const char *token, size_t len,
                                             int32_t *id);
/* BOS / EOS ids from tokenizer_config.json (bos_token, eos_token), or -1 if unset. */
AAE_API int32_t aae_tokenizer_bos_id(const aae_tokenizer *tok);
AAE_API int32_t aae_tokenizer_eos_id(const aae_tokenizer *tok);
/* 1 if add_special_tokens puts BOS in front of the text (the post-processor does). */
AAE_API int aae_tokenizer_adds_bos(const aae_tokenizer *tok);
/* 1 if id is a special added token (what AAE_DECODE_SKIP_SPECIAL_TOKENS drops). */
AAE_API int aae_tokenizer_is_special(const aae_tokenizer *tok, int32_t id);

/* -------------------------------------------------------------- model --- */
/* (section owned by the runtime core; see docs/runtime.md) */

/*
 * The low-level model API: one converted model directory, its KV cache, and the
 * forward pass. The engine's chat API is built on it; tests and power users may
 * call it directly.
 *
 *   aae_model_params p;
 *   aae_model_default_params(&p);
 *   aae_model *m = NULL;
 *   if (aae_model_load("/path/to/Model-q4f16_1-AAE", &p, &m) != AAE_OK) {
 *       fprintf(stderr, "%s\n", aae_model_errmsg(m));  // m may be NULL: then "out of memory"
 *       aae_model_free(m);
 *   }
 *   aae_model_prefill(m, prompt_ids, n_prompt);        // logits of the last prompt token
 *   const float *logits; size_t n_vocab;
 *   aae_model_logits(m, &logits, &n_vocab);
 *   aae_model_decode(m, next_id);                       // one more token
 *   aae_model_free(m);
 *
 * Ownership: the weights are memory-mapped read-only from the model directory
 * (never copied); the handle owns the KV cache, the activations, the logits and
 * a thread pool. The logits pointer is owned by the handle and valid until the
 * next prefill/decode/reset/free on it. Like every handle, one thread at a time.
 *
 * Positions: every prefill/decode appends after what the cache holds; reset
 * empties it; truncate keeps a prefix of it. Without a sliding window the
 * cache holds context_window_size tokens and going past it is AAE_ERR_LIMIT;
 * with one, it keeps the first attention_sink_size and the last
 * sliding_window_size positions, and runs on.
 */
typedef struct aae_model aae_model;

typedef struct aae_model_params {
    int32_t n_threads;           /* worker threads; 0 = one per online CPU (at most 8) */
    int32_t context_window_size; /* KV capacity in tokens; 0 = the chat config's */
    int32_t prefill_chunk_size;  /* most tokens per forward step; 0 = the chat config's */
    int32_t verify_md5;          /* 1 = check every shard's MD5 at load (reads all weights) */
    int32_t use_simd;            /* 1 (default) = the best kernels the CPU has (AVX-512, AVX2, NEON with or
                                  * without dot product); 2 = the baseline SIMD kernels only (AVX2 + FMA on
                                  * x86-64, NEON without dot product on aarch64), to compare paths;
                                  * 3 = the best kernels without AVX-512 (AVX2, with AVX-VNNI where the
                                  * CPU has it: the path of x86-64 CPUs without AVX-512); 4 = the best
                                  * kernels without AVX2 (SSSE3 on x86-64: the path of x86-64 CPUs without
                                  * AVX2; NEON as 1 on aarch64); 0 = portable C */
    const char *model_lib;       /* NULL = the generic built-in code; else a model library name or .so path */
} aae_model_params;

/* What a loaded model is and what it uses. Strings are owned by the handle. */
typedef struct aae_model_info {
    const char *model_type;      /* "llama", ... */
    const char *quantization;    /* "q4f16_1", ... */
    int32_t n_vocab, n_layers, hidden_size;
    int32_t context_window_size; /* KV capacity in tokens (or -1 with a sliding window) */
    int32_t sliding_window_size; /* -1 = off */
    int32_t attention_sink_size; /* 0 when none */
    int32_t prefill_chunk_size;
    int32_t n_threads;
    uint64_t weight_bytes;       /* bytes of the mapped shards */
    uint64_t weight_bytes_per_token; /* weight bytes one decode step reads */
    uint64_t kv_cache_bytes;
    uint64_t activation_bytes;
    const char *kernel_path;     /* "avx512", "avx2-vnni", "avx2", "ssse3", "neon-dotprod", "neon" or "portable" */
    uint64_t kv_bytes_per_position; /* K and V of one position over all layers: what a decode
                                     * step's attention reads per position it sees */
} aae_model_info;

AAE_API void aae_model_default_params(aae_model_params *params);
/* Loads and checks a converted model directory (chat config, tensor cache, every
 * tensor's name, shape and dtype, shard sizes, MD5 on request). On failure *out
 * is still set when possible, so that aae_model_errmsg(*out) says why; free it. */
AAE_API aae_status aae_model_load(const char *model_dir, const aae_model_params *params, aae_model **out);
/* Runs n >= 1 tokens (in prefill_chunk_size pieces) and keeps the last one's logits. */
AAE_API aae_status aae_model_prefill(aae_model *m, const int32_t *tokens, size_t n);
/* Runs one token (same as a prefill of 1). */
AAE_API aae_status aae_model_decode(aae_model *m, int32_t token);
/* The logits (n_vocab floats) of the last token run; AAE_ERR_STATE before any. */
AAE_API aae_status aae_model_logits(aae_model *m, const float **logits, size_t *n_vocab);
/* Empties the KV cache (position 0 again). */
AAE_API aae_status aae_model_reset(aae_model *m);
/* Keeps the first n_keep positions of the KV cache and drops the rest, so that the
 * next prefill/decode runs at position n_keep (e.g. to reuse a shared prompt
 * prefix). n_keep > n_past (or < 0) is AAE_ERR_INVALID_ARGUMENT; n_keep == n_past
 * changes nothing. With a sliding window the ring cache can be cut only while
 * nothing has been evicted (n_past <= attention_sink_size + sliding_window_size)
 * or to n_keep == 0; otherwise AAE_ERR_STATE (the message says why; reset and
 * prefill again). After a truncation the logits are unavailable (AAE_ERR_STATE)
 * until the next prefill/decode. */
AAE_API aae_status aae_model_truncate(aae_model *m, int32_t n_keep);
AAE_API int32_t aae_model_n_vocab(const aae_model *m);
/* Positions in the cache: tokens run since load or the last reset, less those
 * dropped by aae_model_truncate. */
AAE_API int32_t aae_model_n_past(const aae_model *m);
AAE_API aae_status aae_model_get_info(const aae_model *m, aae_model_info *out);
/* Changes the number of worker threads (the pool is rebuilt). */
AAE_API aae_status aae_model_set_threads(aae_model *m, int32_t n_threads);
/* The message of the last failure on m ("" if none; "out of memory" if m is NULL). */
AAE_API const char *aae_model_errmsg(const aae_model *m);
AAE_API void aae_model_free(aae_model *m);

/* ------------------------------------------------------------- engine --- */
/* (section owned by the engine; see docs/engine.md for a walkthrough) */

/*
 * An engine holds one loaded model (weights, tokenizer, KV cache) and answers
 * OpenAI-style chat completions:
 *
 *   aae_engine_params p;
 *   aae_engine_default_params(&p);
 *   aae_engine *e;
 *   if (aae_engine_create(&p, &e) != AAE_OK) ...
 *   if (aae_engine_reload(e, "/path/to/Model-q4f16_1-AAE", NULL) != AAE_OK)
 *       puts(aae_engine_errmsg(e));
 *   aae_engine_chat_completion(e, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
 *                                 "\"stream\":true}", on_chunk, app_state);
 *   aae_engine_destroy(e);
 *
 * Ownership and lifetime: strings passed in are only read during the call.
 * Chunk text handed to the callback belongs to the engine and is valid only
 * during the callback. aae_engine_errmsg's text is valid until the next call on
 * the engine.
 *
 * Threads: one engine runs one call at a time (calls from two threads at once
 * get AAE_ERR_STATE). aae_engine_abort is the exception: any thread, and the
 * chunk callback itself, may call it at any time.
 */
typedef struct aae_engine aae_engine;

typedef struct aae_engine_params {
    int32_t n_threads;           /* worker threads for the model; 0 = one per online CPU */
    int32_t context_window_size; /* KV cache capacity in tokens; 0 = the model's chat config */
    int32_t prefill_chunk_size;  /* tokens per prefill step; 0 = the model's chat config */
    int32_t reuse_kv_prefix;     /* 1 (default): keep the KV cache of the longest prompt
                                    prefix shared with the previous call (multi-turn chat
                                    re-runs only the new turn); 0: prefill every prompt */
} aae_engine_params;

/* Fills *params with the defaults (all 0 except reuse_kv_prefix = 1). */
AAE_API void aae_engine_default_params(aae_engine_params *params);

/* Creates an engine with no model loaded. params may be NULL (defaults). */
AAE_API aae_status aae_engine_create(const aae_engine_params *params, aae_engine **out);

/* Loads the converted model in model_dir (sphere-aae-chat-config.json or
 * mlc-chat-config.json, tensor-cache.json, weight shards, tokenizer files),
 * replacing any model loaded before. model_lib: NULL or "" runs the generic
 * model code built into the runtime; otherwise the name (or path) of a compiled
 * model library. On failure the engine has no model loaded. */
AAE_API aae_status aae_engine_reload(aae_engine *engine, const char *model_dir, const char *model_lib);

/* Releases the loaded model (weights, KV cache, tokenizer). No-op if none. */
AAE_API void aae_engine_unload(aae_engine *engine);

/* Receives each output object: NUL-terminated JSON of len bytes, valid during
 * the call only. Return 0 to go on; any other value aborts the completion as
 * aae_engine_abort does. */
typedef int (*aae_chunk_callback)(const char *json, size_t len, void *user_data);

/* Runs one chat completion (blocking). request_json is an OpenAI
 * chat-completions request (docs/engine.md lists the members read, ranges and
 * extensions). With "stream": true the callback receives "chat.completion.chunk"
 * objects: the first with delta {"role": "assistant", "content": ""}, then one
 * per piece of text (never a partial UTF-8 character, never a part of a stop
 * string), then one with "finish_reason" ("stop", "length" or "abort") and an
 * empty delta, then (unless stream_options.include_usage is false) one with
 * empty "choices" and "usage" {prompt_tokens, completion_tokens, total_tokens,
 * extra: {prefill_tokens_per_s, decode_tokens_per_s, ...}}. Without "stream"
 * the callback receives one "chat.completion" object. callback may be NULL.
 *
 * Returns AAE_OK when finished with "stop" or "length"; AAE_ERR_ABORTED when
 * aborted (the stream still ended with finish_reason "abort" and the usage);
 * AAE_ERR_INVALID_ARGUMENT / AAE_ERR_UNSUPPORTED for a bad request (nothing was
 * sent to the callback; errmsg names the member by JSON pointer); AAE_ERR_LIMIT
 * when the prompt does not fit the context window; AAE_ERR_STATE with no model
 * loaded. */
AAE_API aae_status aae_engine_chat_completion(aae_engine *engine, const char *request_json,
                                              aae_chunk_callback callback, void *user_data);

/* Asks the running chat completion (or prefill) to stop at the next token
 * boundary. Thread-safe and async-signal-safe; no-op when nothing runs (it does
 * not affect a later call). */
AAE_API void aae_engine_abort(aae_engine *engine);

/* Forgets the conversation kept in the KV cache (the next call prefills all). */
AAE_API void aae_engine_reset_chat(aae_engine *engine);

/* Changes the number of worker threads (0 = one per online CPU), e.g. fewer
 * while the app is in the background. Kept for later reloads. AAE_ERR_STATE
 * while a call runs. */
AAE_API aae_status aae_engine_set_threads(aae_engine *engine, int32_t n_threads);

/* The detailed message of the last failure ("" if none). Never NULL. */
AAE_API const char *aae_engine_errmsg(const aae_engine *engine);

/* Destroys the engine (unloads the model). Accepts NULL. */
AAE_API void aae_engine_destroy(aae_engine *engine);

/* Low-level access, for tests and power users. */

/* The loaded model's tokenizer (owned by the engine; valid until unload), or NULL. */
AAE_API const aae_tokenizer *aae_engine_tokenizer(const aae_engine *engine);

/* Appends n tokens to the KV cache (in prefill chunks) and computes the logits
 * of the last one. AAE_ERR_LIMIT if they do not fit the context window. */
AAE_API aae_status aae_engine_prefill(aae_engine *engine, const int32_t *ids, size_t n);

/* Appends one token and computes its logits (one decode step). */
AAE_API aae_status aae_engine_decode(aae_engine *engine, int32_t id);

/* The logits of the last token fed (vocab_size floats, owned by the engine,
 * valid until the next call on the engine). AAE_ERR_STATE before any token. */
AAE_API aae_status aae_engine_logits(aae_engine *engine, const float **logits, int32_t *vocab_size);

/* Number of tokens in the KV cache; aae_engine_truncate keeps the first n_keep
 * (0 = clear). */
AAE_API int64_t aae_engine_kv_length(const aae_engine *engine);
AAE_API aae_status aae_engine_truncate(aae_engine *engine, int64_t n_keep);

/* The model's context window (tokens), or 0 with no model loaded. */
AAE_API int64_t aae_engine_context_window(const aae_engine *engine);

#ifdef __cplusplus
}
#endif

#endif /* SPHERE_AAE_H */
