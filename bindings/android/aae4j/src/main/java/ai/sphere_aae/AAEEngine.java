/*
 * AAEEngine.java - the app-facing engine: one loaded model answering OpenAI-style
 * chat completions, shaped like MLC-LLM's Android engine:
 *
 *   try (AAEEngine engine = new AAEEngine()) {
 *       engine.reload(modelPath, modelLib);
 *       ChatCompletionRequest req = new ChatCompletionRequest()
 *           .message(ChatCompletionMessage.user("What is the capital of France?"));
 *       try (ChatCompletionStream s = engine.chat.completions.create(req)) {
 *           for (ChatCompletionChunk c : s) show(c.content());
 *       }
 *   }
 *
 * Threads: every method may be called from any thread. Calls run one at a time
 * (a second waits for the first); streams run on the engine's own worker thread.
 * abort() never waits: it stops the running completion at the next token from
 * any thread, including inside a chunk listener. Inside a listener no other
 * engine method may be called (IllegalStateException). close() aborts what runs,
 * waits for it, and frees the native engine.
 *
 * Failures throw AAEException with the runtime's status and message.
 */
package ai.sphere_aae;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

public final class AAEEngine implements AutoCloseable {
    /** Engine settings (aae_engine_params); 0 = the model's chat config / one thread per CPU. */
    public static final class Params {
        public int nThreads;
        public int contextWindowSize;
        public int prefillChunkSize;
        public boolean reuseKvPrefix = true;
    }

    static volatile LogListener logListener;

    private final ReentrantReadWriteLock life = new ReentrantReadWriteLock();
    private final ReentrantLock call = new ReentrantLock();
    private final ExecutorService worker;
    private volatile long handle;

    public final Chat chat = new Chat();

    public AAEEngine() {
        this(new Params());
    }

    public AAEEngine(Params p) {
        handle = Native.create(p.nThreads, p.contextWindowSize, p.prefillChunkSize, p.reuseKvPrefix);
        if (handle == 0) {
            throw new AAEException(AAEException.NOMEM, "cannot create the engine: out of memory");
        }
        worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "aae4j-engine");
            t.setDaemon(true);
            return t;
        });
    }

    /** The runtime's version, e.g. "0.1.0". */
    public static String version() {
        return Utf8.decode(Native.version());
    }

    /** Sends the runtime's log lines to l (null: drop them, the default). */
    public static void setLogListener(LogListener l) {
        logListener = l;
        Native.setLogEnabled(l != null);
    }

    /**
     * Loads the converted model in modelPath (a folder of the app's bundle, e.g.
     * filesDir + "/" + model_path from sphere-aae-app-config.json), replacing any
     * loaded one. modelLib: the app config's model_lib (linked into the app from
     * libmodel_android.a), or null for the runtime's generic model code.
     */
    public void reload(String modelPath, String modelLib) {
        locked(h -> check(h, Native.reload(h, Utf8.encode(modelPath), Utf8.encode(modelLib))));
    }

    /** Releases the loaded model. */
    public void unload() {
        locked(h -> { Native.unload(h); return 0; });
    }

    /** Forgets the conversation kept in the KV cache. */
    public void resetChat() {
        locked(h -> { Native.resetChat(h); return 0; });
    }

    /** Stops the running completion at the next token boundary; any thread; never waits. */
    public void abort() {
        if (!life.readLock().tryLock()) {
            return; /* close() is running: it aborts */
        }
        try {
            long h = handle;
            if (h != 0) {
                Native.abort(h);
            }
        } finally {
            life.readLock().unlock();
        }
    }

    @Override
    public void close() {
        if (call.isHeldByCurrentThread()) {
            throw new IllegalStateException("close() inside a chunk listener; call abort() there");
        }
        if (handle == 0) {
            return;
        }
        abort();
        worker.shutdown();
        life.writeLock().lock();
        try {
            if (handle != 0) {
                Native.destroy(handle);
                handle = 0;
            }
        } finally {
            life.writeLock().unlock();
        }
        try {
            worker.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public final class Chat {
        public final Completions completions = new Completions();
    }

    public final class Completions {
        /** Starts a streamed completion on the engine's worker thread. */
        public ChatCompletionStream create(ChatCompletionRequest request) {
            return create(request.toJson());
        }

        /** The same with a request written as JSON (docs/engine.md lists the members). */
        public ChatCompletionStream create(String requestJson) {
            ChatCompletionStream s = new ChatCompletionStream(AAEEngine.this);
            worker.execute(() -> s.produce(requestJson));
            return s;
        }

        /**
         * Runs a completion on the calling thread, handing each chunk to listener.
         * Returns AAEException-free status: 0 when finished ("stop"/"length"),
         * AAEException.ABORTED when aborted.
         */
        public int create(ChatCompletionRequest request, ChunkListener listener) {
            return run(request.toJson(), json -> {
                listener.onChunk(ChatCompletionChunk.parse(Utf8.decode(json)));
                return true;
            });
        }
    }

    /* -------------------------------------------------- low level (tests, tools) --- */

    /** Token ids of text with the loaded model's tokenizer. */
    public int[] tokenize(String text, boolean addSpecialTokens) {
        return locked(h -> {
            int[] ids = Native.tokenize(h, Utf8.encode(text), addSpecialTokens);
            if (ids == null) {
                throw new AAEException(AAEException.INVALID_ARGUMENT, "tokenize failed (no model loaded?)");
            }
            return ids;
        });
    }

    /** Text of ids with the loaded model's tokenizer. */
    public String detokenize(int[] ids, boolean skipSpecialTokens) {
        return locked(h -> {
            byte[] b = Native.detokenize(h, ids, skipSpecialTokens);
            if (b == null) {
                throw new AAEException(AAEException.INVALID_ARGUMENT, "detokenize failed (an id out of range?)");
            }
            return Utf8.decode(b);
        });
    }

    /** Appends ids to the KV cache and computes the last one's logits. */
    public void prefill(int[] ids) {
        locked(h -> check(h, Native.prefill(h, ids)));
    }

    /** Appends one id (one decode step). */
    public void decode(int id) {
        locked(h -> check(h, Native.decode(h, id)));
    }

    /** A copy of the logits of the last id fed. */
    public float[] logits() {
        return locked(h -> {
            float[] l = Native.logits(h);
            if (l == null) {
                throw new AAEException(AAEException.STATE, "no logits yet: prefill or decode first");
            }
            return l;
        });
    }

    public long kvLength() {
        return locked(Native::kvLength);
    }

    public long contextWindow() {
        return locked(Native::contextWindow);
    }

    /* ------------------------------------------------------------------ inside --- */

    private interface Call<T> {
        T run(long h);
    }

    private <T> T locked(Call<T> c) {
        if (call.isHeldByCurrentThread()) {
            throw new IllegalStateException("only abort() may be called inside a chunk listener");
        }
        life.readLock().lock();
        try {
            long h = handle;
            if (h == 0) {
                throw new IllegalStateException("the engine is closed");
            }
            call.lock();
            try {
                return c.run(h);
            } finally {
                call.unlock();
            }
        } finally {
            life.readLock().unlock();
        }
    }

    private static Integer check(long h, int status) {
        if (status != 0) {
            throw new AAEException(status, message(h, status));
        }
        return 0;
    }

    private static String message(long h, int status) {
        String m = Utf8.decode(Native.errmsg(h));
        return m == null || m.isEmpty() ? Utf8.decode(Native.strerror(status)) : m;
    }

    /** One completion with sink; returns 0 or ABORTED, throws for anything else. */
    int run(String requestJson, Native.ChunkSink sink) {
        return locked(h -> {
            int st = Native.chatCompletion(h, Utf8.encode(requestJson), sink);
            if (st != 0 && st != AAEException.ABORTED) {
                throw new AAEException(st, message(h, st));
            }
            return st;
        });
    }
}
