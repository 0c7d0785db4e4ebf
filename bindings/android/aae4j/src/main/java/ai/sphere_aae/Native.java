/*
 * Native.java - the JNI surface of libaae4j (src/main/cpp/aae4j_jni.c), one static
 * method per C call. Package-private: apps use AAEEngine.
 *
 * Text crosses as byte[] of standard UTF-8 (see Utf8), never as a jstring, so
 * characters outside the BMP and U+0000 survive exactly. Statuses are the
 * aae_status numbers of sphere_aae.h.
 *
 * The library is loaded with System.loadLibrary("aae4j") (the Android build names
 * it libaae4j.so), or from the absolute path in the system property
 * "ai.sphere_aae.library" when set (host tests).
 */
package ai.sphere_aae;

final class Native {
    private Native() {}

    /** Receives each chunk's UTF-8 JSON; returns false to stop the completion. */
    interface ChunkSink {
        boolean onChunk(byte[] json);
    }

    static {
        String path = System.getProperty("ai.sphere_aae.library");
        if (path != null && !path.isEmpty()) {
            System.load(path);
        } else {
            System.loadLibrary("aae4j");
        }
    }

    static native long create(int nThreads, int contextWindow, int prefillChunk, boolean reuseKv);
    static native void destroy(long engine);
    static native int reload(long engine, byte[] modelDir, byte[] modelLib);
    static native void unload(long engine);
    static native void abort(long engine);
    static native void resetChat(long engine);
    static native byte[] errmsg(long engine);
    static native byte[] strerror(int status);
    static native byte[] version();
    static native int chatCompletion(long engine, byte[] request, ChunkSink sink);
    static native int[] tokenize(long engine, byte[] text, boolean addSpecialTokens);
    static native byte[] detokenize(long engine, int[] ids, boolean skipSpecialTokens);
    static native int prefill(long engine, int[] ids);
    static native int decode(long engine, int id);
    static native float[] logits(long engine);
    static native long kvLength(long engine);
    static native long contextWindow(long engine);
    static native void setLogEnabled(boolean on);
    static native int logFromNativeThread(int level, byte[] message);

    /** Called by the library (any thread) for each log line. */
    static void onLog(int level, byte[] message) {
        LogListener l = AAEEngine.logListener;
        if (l != null) {
            l.onLog(level, Utf8.decode(message));
        }
    }
}
