/*
 * aae4j_jni.c - the JNI glue of the aae4j Java API (ai.sphere_aae) over the engine
 * and tokenizer sections of sphere_aae.h. The Java side is ai/sphere_aae/Native.java;
 * the methods are bound with RegisterNatives in JNI_OnLoad (table at the bottom).
 *
 * Rules kept in this file:
 *  - Text crosses as byte[] holding standard UTF-8 (Java encodes and decodes with
 *    StandardCharsets.UTF_8). NewStringUTF / GetStringUTFChars are never used: their
 *    "modified UTF-8" writes U+0000 as two bytes and a character outside the BMP as
 *    two 3-byte surrogates, which is not what the runtime reads or writes.
 *  - Callbacks (chunks, log lines) get their JNIEnv with GetEnv. A thread the JVM
 *    does not know (a native worker) is attached for the call and detached after it.
 *  - Each callback runs inside PushLocalFrame / PopLocalFrame, so a stream of any
 *    length leaves no local references behind.
 *  - After every call into Java the pending exception is checked. In the chunk
 *    callback it stops the completion (the engine still ends the stream; nothing
 *    more is sent to Java) and the exception reaches the Java caller when the
 *    native method returns. In the log callback it is cleared (logging never throws).
 *  - Handles are jlong holding the C pointer; the Java side serialises calls (one
 *    call at a time per engine, abort from any thread) and never passes a freed one.
 */
#include <jni.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sphere_aae.h"

#define NATIVE_CLASS "ai/sphere_aae/Native"
#define SINK_CLASS "ai/sphere_aae/Native$ChunkSink"

static JavaVM *g_vm;
static jclass g_native_class;   /* global ref */
static jmethodID g_on_log;      /* static void onLog(int, byte[]) */
static jmethodID g_on_chunk;    /* boolean ChunkSink.onChunk(byte[]) */

/* ------------------------------------------------------------------ helpers --- */

static aae_engine *engine_of(jlong h)
{
    return (aae_engine *)(intptr_t)h;
}

/* byte[] -> malloc'd NUL-terminated copy (NULL for a null array, or on failure;
 * *failed is set on failure, with an OutOfMemoryError pending when the JVM made one). */
static char *bytes_to_cstr(JNIEnv *env, jbyteArray a, size_t *len, int *failed)
{
    *failed = 0;
    if (len)
        *len = 0;
    if (!a)
        return NULL;
    jsize n = (*env)->GetArrayLength(env, a);
    char *s = malloc((size_t)n + 1);
    if (!s) {
        *failed = 1;
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, a, 0, n, (jbyte *)s);
    if ((*env)->ExceptionCheck(env)) {
        free(s);
        *failed = 1;
        return NULL;
    }
    s[n] = '\0';
    if (len)
        *len = (size_t)n;
    return s;
}

/* C bytes -> new byte[] (a local ref), NULL with an exception pending on failure. */
static jbyteArray cstr_to_bytes(JNIEnv *env, const char *s, size_t len)
{
    if (len > (size_t)INT32_MAX)
        len = (size_t)INT32_MAX;
    jbyteArray a = (*env)->NewByteArray(env, (jsize)len);
    if (!a)
        return NULL;
    if (len)
        (*env)->SetByteArrayRegion(env, a, 0, (jsize)len, (const jbyte *)s);
    if ((*env)->ExceptionCheck(env)) {
        (*env)->DeleteLocalRef(env, a);
        return NULL;
    }
    return a;
}

/* The JNIEnv of the current thread; attaches a thread the JVM does not know
 * (*attached is then 1 and the caller must call callback_done). */
static JNIEnv *callback_env(int *attached)
{
    JNIEnv *env = NULL;
    *attached = 0;
    if (!g_vm)
        return NULL;
    jint r = (*g_vm)->GetEnv(g_vm, (void **)&env, JNI_VERSION_1_6);
    if (r == JNI_OK)
        return env;
    if (r != JNI_EDETACHED)
        return NULL;
    JavaVMAttachArgs args = {JNI_VERSION_1_6, (char *)"aae-native", NULL};
    /* The NDK's jni.h takes JNIEnv ** here, OpenJDK's void **: a void * converts to both. */
    void *penv = NULL;
    r = (*g_vm)->AttachCurrentThreadAsDaemon(g_vm, (void *)&penv, &args);
    if (r != JNI_OK || !penv)
        return NULL;
    *attached = 1;
    return (JNIEnv *)penv;
}

static void callback_done(JNIEnv *env, int attached)
{
    if (!attached)
        return;
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env); /* nobody above us on a native thread to receive it */
    (*g_vm)->DetachCurrentThread(g_vm);
}

/* -------------------------------------------------------------------- log --- */

static void log_trampoline(aae_log_level level, const char *message, void *user)
{
    (void)user;
    int attached;
    JNIEnv *env = callback_env(&attached);
    if (!env)
        return;
    /* A thread with an exception pending may make no JNI calls but a few: drop the line. */
    if (!attached && (*env)->ExceptionCheck(env))
        return;
    if ((*env)->PushLocalFrame(env, 2) == 0) {
        jbyteArray b = cstr_to_bytes(env, message, strlen(message));
        if (b)
            (*env)->CallStaticVoidMethod(env, g_native_class, g_on_log, (jint)level, b);
        if ((*env)->ExceptionCheck(env))
            (*env)->ExceptionClear(env);
        (*env)->PopLocalFrame(env, NULL);
    } else {
        (*env)->ExceptionClear(env);
    }
    callback_done(env, attached);
}

static void n_set_log_enabled(JNIEnv *env, jclass cls, jboolean on)
{
    (void)env;
    (void)cls;
    aae_set_log_callback(on ? log_trampoline : NULL, NULL);
}

typedef struct log_job {
    const char *msg;
    int level;
} log_job;

static void *log_thread(void *p)
{
    log_job *j = p;
    log_trampoline((aae_log_level)j->level, j->msg, NULL);
    return NULL;
}

/* Delivers one log line from a new native thread (unknown to the JVM): the path a
 * runtime worker thread takes. For tests; returns 0 when the thread ran. */
static jint n_log_from_native_thread(JNIEnv *env, jclass cls, jint level, jbyteArray msg)
{
    (void)cls;
    int failed;
    char *m = bytes_to_cstr(env, msg, NULL, &failed);
    if (!m)
        return -1;
    log_job j = {m, level};
    pthread_t t;
    int rc = pthread_create(&t, NULL, log_thread, &j);
    if (rc == 0)
        rc = pthread_join(t, NULL);
    free(m);
    return rc;
}

/* ----------------------------------------------------------------- engine --- */

static jlong n_create(JNIEnv *env, jclass cls, jint n_threads, jint context_window, jint prefill_chunk,
                      jboolean reuse_kv)
{
    (void)env;
    (void)cls;
    aae_engine_params p;
    aae_engine_default_params(&p);
    p.n_threads = n_threads;
    p.context_window_size = context_window;
    p.prefill_chunk_size = prefill_chunk;
    p.reuse_kv_prefix = reuse_kv ? 1 : 0;
    aae_engine *e = NULL;
    if (aae_engine_create(&p, &e) != AAE_OK)
        return 0;
    return (jlong)(intptr_t)e;
}

static void n_destroy(JNIEnv *env, jclass cls, jlong h)
{
    (void)env;
    (void)cls;
    aae_engine_destroy(engine_of(h));
}

static jint n_reload(JNIEnv *env, jclass cls, jlong h, jbyteArray dir, jbyteArray lib)
{
    (void)cls;
    int f1, f2;
    char *d = bytes_to_cstr(env, dir, NULL, &f1);
    char *l = bytes_to_cstr(env, lib, NULL, &f2);
    jint st = AAE_ERR_NOMEM;
    if (!f1 && !f2 && d)
        st = (jint)aae_engine_reload(engine_of(h), d, l);
    else if (!f1 && !f2)
        st = AAE_ERR_INVALID_ARGUMENT;
    free(d);
    free(l);
    return st;
}

static void n_unload(JNIEnv *env, jclass cls, jlong h)
{
    (void)env;
    (void)cls;
    aae_engine_unload(engine_of(h));
}

static void n_abort(JNIEnv *env, jclass cls, jlong h)
{
    (void)env;
    (void)cls;
    aae_engine_abort(engine_of(h));
}

static void n_reset_chat(JNIEnv *env, jclass cls, jlong h)
{
    (void)env;
    (void)cls;
    aae_engine_reset_chat(engine_of(h));
}

static jbyteArray n_errmsg(JNIEnv *env, jclass cls, jlong h)
{
    (void)cls;
    const char *m = aae_engine_errmsg(engine_of(h));
    return cstr_to_bytes(env, m, strlen(m));
}

static jbyteArray n_strerror(JNIEnv *env, jclass cls, jint st)
{
    (void)cls;
    const char *m = aae_strerror((aae_status)st);
    return cstr_to_bytes(env, m, strlen(m));
}

static jbyteArray n_version(JNIEnv *env, jclass cls)
{
    (void)cls;
    const char *v = aae_version();
    return cstr_to_bytes(env, v, strlen(v));
}

typedef struct chunk_ctx {
    jobject sink;
    int failed; /* an exception was raised (pending on the caller's thread) */
} chunk_ctx;

static int on_chunk(const char *json, size_t len, void *user)
{
    chunk_ctx *c = user;
    if (c->failed)
        return 1;
    int attached;
    JNIEnv *env = callback_env(&attached);
    if (!env) {
        c->failed = 1;
        return 1;
    }
    int stop = 1;
    if ((*env)->PushLocalFrame(env, 2) == 0) {
        jbyteArray b = cstr_to_bytes(env, json, len);
        if (b) {
            jboolean go = (*env)->CallBooleanMethod(env, c->sink, g_on_chunk, b);
            if (!(*env)->ExceptionCheck(env))
                stop = !go;
        }
        (*env)->PopLocalFrame(env, NULL);
    }
    if ((*env)->ExceptionCheck(env))
        c->failed = 1;
    callback_done(env, attached);
    return stop;
}

static jint n_chat_completion(JNIEnv *env, jclass cls, jlong h, jbyteArray request, jobject sink)
{
    (void)cls;
    int failed;
    char *req = bytes_to_cstr(env, request, NULL, &failed);
    if (!req)
        return failed ? AAE_ERR_NOMEM : AAE_ERR_INVALID_ARGUMENT;
    chunk_ctx c = {sink, 0};
    aae_status st = aae_engine_chat_completion(engine_of(h), req, sink ? on_chunk : NULL, &c);
    free(req);
    return (jint)st;
}

/* ------------------------------------------------- tokenizer and low level --- */

static jintArray n_tokenize(JNIEnv *env, jclass cls, jlong h, jbyteArray text, jboolean add_special)
{
    (void)cls;
    const aae_tokenizer *tok = aae_engine_tokenizer(engine_of(h));
    if (!tok)
        return NULL;
    int failed;
    size_t len;
    char *t = bytes_to_cstr(env, text, &len, &failed);
    if (!t)
        return NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    aae_status st = aae_tokenizer_encode_alloc(tok, t, len, add_special ? AAE_ENCODE_ADD_SPECIAL_TOKENS : 0u, &ids,
                                               &n);
    free(t);
    jintArray out = NULL;
    if (st == AAE_OK && n <= (size_t)INT32_MAX && (out = (*env)->NewIntArray(env, (jsize)n)) != NULL && n)
        (*env)->SetIntArrayRegion(env, out, 0, (jsize)n, (const jint *)ids);
    aae_tokenizer_free(ids);
    return out;
}

/* Copies a Java int[] into a malloc'd int32_t array (NULL on failure). */
static int32_t *ints_of(JNIEnv *env, jintArray a, size_t *n)
{
    jsize len = a ? (*env)->GetArrayLength(env, a) : 0;
    int32_t *ids = malloc(((size_t)len ? (size_t)len : 1) * sizeof *ids);
    if (!ids)
        return NULL;
    if (len)
        (*env)->GetIntArrayRegion(env, a, 0, len, (jint *)ids);
    *n = (size_t)len;
    return ids;
}

static jbyteArray n_detokenize(JNIEnv *env, jclass cls, jlong h, jintArray ids_a, jboolean skip_special)
{
    (void)cls;
    const aae_tokenizer *tok = aae_engine_tokenizer(engine_of(h));
    size_t n;
    int32_t *ids = tok ? ints_of(env, ids_a, &n) : NULL;
    if (!ids)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    aae_status st = aae_tokenizer_decode(tok, ids, n, skip_special ? AAE_DECODE_SKIP_SPECIAL_TOKENS : 0u, &text,
                                         &len);
    free(ids);
    jbyteArray out = st == AAE_OK ? cstr_to_bytes(env, text, len) : NULL;
    aae_tokenizer_free(text);
    return out;
}

static jint n_prefill(JNIEnv *env, jclass cls, jlong h, jintArray ids_a)
{
    (void)cls;
    size_t n;
    int32_t *ids = ints_of(env, ids_a, &n);
    if (!ids)
        return AAE_ERR_NOMEM;
    aae_status st = aae_engine_prefill(engine_of(h), ids, n);
    free(ids);
    return (jint)st;
}

static jint n_decode(JNIEnv *env, jclass cls, jlong h, jint id)
{
    (void)env;
    (void)cls;
    return (jint)aae_engine_decode(engine_of(h), id);
}

static jfloatArray n_logits(JNIEnv *env, jclass cls, jlong h)
{
    (void)cls;
    const float *l = NULL;
    int32_t n = 0;
    if (aae_engine_logits(engine_of(h), &l, &n) != AAE_OK || n < 0)
        return NULL;
    jfloatArray out = (*env)->NewFloatArray(env, n);
    if (out && n)
        (*env)->SetFloatArrayRegion(env, out, 0, n, l);
    return out;
}

static jlong n_kv_length(JNIEnv *env, jclass cls, jlong h)
{
    (void)env;
    (void)cls;
    return (jlong)aae_engine_kv_length(engine_of(h));
}

static jlong n_context_window(JNIEnv *env, jclass cls, jlong h)
{
    (void)env;
    (void)cls;
    return (jlong)aae_engine_context_window(engine_of(h));
}

/* ------------------------------------------------------------- registration --- */

#define M(name, sig, fn) {(char *)(name), (char *)(sig), (void *)(fn)}
static const JNINativeMethod k_methods[] = {
    M("create", "(IIIZ)J", n_create),
    M("destroy", "(J)V", n_destroy),
    M("reload", "(J[B[B)I", n_reload),
    M("unload", "(J)V", n_unload),
    M("abort", "(J)V", n_abort),
    M("resetChat", "(J)V", n_reset_chat),
    M("errmsg", "(J)[B", n_errmsg),
    M("strerror", "(I)[B", n_strerror),
    M("version", "()[B", n_version),
    M("chatCompletion", "(J[BLai/sphere_aae/Native$ChunkSink;)I", n_chat_completion),
    M("tokenize", "(J[BZ)[I", n_tokenize),
    M("detokenize", "(J[IZ)[B", n_detokenize),
    M("prefill", "(J[I)I", n_prefill),
    M("decode", "(JI)I", n_decode),
    M("logits", "(J)[F", n_logits),
    M("kvLength", "(J)J", n_kv_length),
    M("contextWindow", "(J)J", n_context_window),
    M("setLogEnabled", "(Z)V", n_set_log_enabled),
    M("logFromNativeThread", "(I[B)I", n_log_from_native_thread),
};
#undef M

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved)
{
    (void)reserved;
    JNIEnv *env = NULL;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK)
        return JNI_ERR;
    jclass native = (*env)->FindClass(env, NATIVE_CLASS);
    jclass sink = native ? (*env)->FindClass(env, SINK_CLASS) : NULL;
    if (!native || !sink)
        return JNI_ERR;
    g_on_log = (*env)->GetStaticMethodID(env, native, "onLog", "(I[B)V");
    g_on_chunk = g_on_log ? (*env)->GetMethodID(env, sink, "onChunk", "([B)Z") : NULL;
    if (!g_on_chunk)
        return JNI_ERR;
    if ((*env)->RegisterNatives(env, native, k_methods, (jint)(sizeof k_methods / sizeof k_methods[0])) != 0)
        return JNI_ERR;
    g_native_class = (*env)->NewGlobalRef(env, native);
    (*env)->DeleteLocalRef(env, sink);
    (*env)->DeleteLocalRef(env, native);
    if (!g_native_class)
        return JNI_ERR;
    g_vm = vm;
    return JNI_VERSION_1_6;
}

JNIEXPORT void JNICALL JNI_OnUnload(JavaVM *vm, void *reserved)
{
    (void)reserved;
    aae_set_log_callback(NULL, NULL);
    JNIEnv *env = NULL;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_6) == JNI_OK && g_native_class)
        (*env)->DeleteGlobalRef(env, g_native_class);
    g_native_class = NULL;
    g_vm = NULL;
}
