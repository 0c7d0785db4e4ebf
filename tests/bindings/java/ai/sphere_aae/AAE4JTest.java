/*
 * AAE4JTest.java - the aae4j Java API and its JNI library on the host JVM, against
 * a tiny converted model and `sphere_aae generate` (the independent path: the CLI
 * drives the model API directly, without the engine, the JNI layer or Java).
 *
 *   java -Xcheck:jni -Dai.sphere_aae.library=/path/libaae4j.so -cp CLASSES \
 *        ai.sphere_aae.AAE4JTest SPHERE_AAE_CLI MODEL_DIR [MODEL_LIB]
 *
 * MODEL_LIB (optional) is passed to reload(): the name of a model library linked
 * into libaae4j.so (test_aae4j_packaged.py: a model `sphere_aae package` bundled,
 * with its libmodel_linux.a); without it the runtime's generic code runs.
 * MODEL_DIR must use the llama-2 conversation template (tiny-llama-*): the test
 * renders that template by hand (docs/engine.md) to get the prompt ids. Prints one
 * line per check and "N passed, N failed"; exits 1 on a failure. Run under
 * -Xcheck:jni so the JVM reports unchecked exceptions and local-reference overflows
 * (ctest fails on its warnings).
 */
package ai.sphere_aae;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

public final class AAE4JTest {
    private static int passed;
    private static int failed;
    private static String modelLib;

    private static void check(boolean ok, String what, Object detail) {
        if (ok) {
            passed++;
            System.out.println("ok   " + what);
        } else {
            failed++;
            System.out.println("FAIL " + what + (detail == null ? "" : ": " + detail));
        }
    }

    private static String llama2Prompt(String user) {
        return "<s>[INST] " + user.strip() + " [/INST]";
    }

    private static ChatCompletionRequest greedy(String user, int maxTokens) {
        return new ChatCompletionRequest().message(ChatCompletionMessage.user(user)).temperature(0)
                .ignoreEos(true).maxTokens(maxTokens);
    }

    /** `sphere_aae generate --json` for prompt ids (greedy, EOS ignored). */
    private static Map<String, Object> generate(String cli, String model, int[] ids, int n) throws Exception {
        StringBuilder csv = new StringBuilder();
        for (int k = 0; k < ids.length; k++) {
            csv.append(k == 0 ? "" : ",").append(ids[k]);
        }
        ProcessBuilder pb = new ProcessBuilder(cli, "generate", model, "--prompt-ids", csv.toString(),
                "--max-new-tokens", Integer.toString(n), "--temperature", "0", "--ignore-eos", "--json");
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process p = pb.start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        if (p.waitFor() != 0) {
            throw new IllegalStateException("sphere_aae generate failed");
        }
        return Json.obj(Json.parse(new String(out.toByteArray(), StandardCharsets.UTF_8)));
    }

    private static int[] ints(Object list) {
        List<Object> a = Json.arr(list);
        int[] r = new int[a.size()];
        for (int k = 0; k < r.length; k++) {
            r[k] = ((Number) a.get(k)).intValue();
        }
        return r;
    }

    private static int argmax(float[] l) {
        int best = 0;
        for (int k = 1; k < l.length; k++) {
            if (l[k] > l[best]) {
                best = k; /* strict: the lowest id wins a tie, as the engine's greedy */
            }
        }
        return best;
    }

    /* ------------------------------------------------------------------ checks --- */

    private static boolean throwsOn(String json) {
        try {
            Json.parse(json);
            return false;
        } catch (IllegalArgumentException ex) {
            return true;
        }
    }

    /** The module's JSON reader and writer against hand-written expectations. */
    private static void json() {
        Map<String, Object> m = Json.obj(Json.parse(
                " {\"a\": \"\\ud83d\\ude00 \\u00e9\\n\\\"\\/\", \"b\": [1, 2.5, -3e2, true, false, null, {}],"
                        + " \"big\": 12345678901234, \"a2\": \"\uD834\uDD1E\"} "));
        List<Object> b = Json.arr(m.get("b"));
        check("\uD83D\uDE00 \u00e9\n\"/".equals(m.get("a")) && "\uD834\uDD1E".equals(m.get("a2"))
                && Long.valueOf(1).equals(b.get(0)) && Double.valueOf(2.5).equals(b.get(1))
                && Double.valueOf(-300.0).equals(b.get(2)) && Boolean.TRUE.equals(b.get(3)) && b.get(5) == null
                && Json.obj(b.get(6)).isEmpty() && Long.valueOf(12345678901234L).equals(m.get("big")),
                "Json.parse: escapes, surrogate pairs, raw non-BMP, numbers, literals", m);
        String deep = "[".repeat(65) + "]".repeat(65);
        check(throwsOn("{\"a\": }") && throwsOn("[1, 2") && throwsOn("\"a\u0001\"") && throwsOn("{\"a\" 1}")
                && throwsOn("tru") && throwsOn("1 2") && throwsOn("\"\\x\"") && throwsOn(deep)
                && !throwsOn("[".repeat(64) + "]".repeat(64)), "Json.parse: malformed input and nesting > 64 throw",
                null);
        String tricky = "q\"uote \\ back\nnl\ttab \u0001 \uD83D\uDE00 \u4E2D";
        ChatCompletionRequest r = new ChatCompletionRequest().message(ChatCompletionMessage.user(tricky))
                .temperature(0.5).maxTokens(3).stop(java.util.Arrays.asList("x\"y")).seed(7);
        Map<String, Object> back = Json.obj(Json.parse(r.toJson()));
        Map<String, Object> msg = Json.obj(Json.arr(back.get("messages")).get(0));
        check(tricky.equals(msg.get("content")) && Boolean.TRUE.equals(back.get("stream"))
                && Double.valueOf(0.5).equals(back.get("temperature")) && Long.valueOf(3).equals(back.get("max_tokens"))
                && "x\"y".equals(Json.arr(back.get("stop")).get(0)) && !back.containsKey("top_p"),
                "ChatCompletionRequest.toJson round-trips text and leaves unset members out", r.toJson());
    }

    private static void nativeThreadLogs() {
        List<String> got = new CopyOnWriteArrayList<>();
        List<String> threads = new CopyOnWriteArrayList<>();
        AAEEngine.setLogListener((level, msg) -> {
            if (msg.startsWith("native thread ")) {
                got.add(msg);
                threads.add(Thread.currentThread().getName());
            }
        });
        String msg = "native thread \uD83D\uDE00 \uD834\uDD1E Gr\u00FC\u00DFe \u4E2D\u6587";
        int before = Thread.activeCount();
        int bad = 0;
        for (int k = 0; k < 200; k++) {
            bad += Native.logFromNativeThread(1, Utf8.encode(msg)) != 0 ? 1 : 0;
        }
        int after = Thread.activeCount();
        check(bad == 0 && got.size() == 200, "log lines from 200 native threads arrive", got.size() + " arrived");
        check(got.stream().allMatch(msg::equals), "non-BMP text from a native thread is exact (UTF-8, not modified UTF-8)",
                got.isEmpty() ? null : got.get(0));
        check(threads.stream().allMatch("aae-native"::equals), "callbacks ran on attached native threads",
                threads.isEmpty() ? null : threads.get(0));
        check(after == before, "native threads are detached after their callback", before + " threads before, " + after
                + " after");
    }

    private static void greedyEqualsGenerate(AAEEngine e, String cli, String model) throws Exception {
        final int n = 16;
        String user = "Hello there, how are you?";
        int[] prompt = e.tokenize(llama2Prompt(user), false);
        Map<String, Object> gen = generate(cli, model, prompt, n);
        int[] genIds = ints(gen.get("output_ids"));

        StringBuilder text = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (ChatCompletionStream s = e.chat.completions.create(greedy(user, n))) {
            for (ChatCompletionChunk c : s) {
                chunks.add(c);
                text.append(c.content());
            }
            check(s.status() == 0 && "length".equals(s.finishReason()), "stream ends with finish_reason length",
                    s.status() + " " + s.finishReason());
            ChatCompletionChunk.Usage u = s.usage();
            check(u != null && u.promptTokens == prompt.length && u.completionTokens == n,
                    "usage: prompt_tokens = ids of the hand-rendered llama-2 prompt, completion_tokens = max_tokens",
                    u == null ? "no usage" : u.promptTokens + "/" + prompt.length + ", " + u.completionTokens);
        }
        boolean shape = chunks.size() >= 3 && "assistant".equals(chunks.get(0).choices.get(0).delta.role)
                && chunks.get(chunks.size() - 1).choices.isEmpty();
        for (ChatCompletionChunk c : chunks) {
            shape &= "chat.completion.chunk".equals(c.object) && c.id != null && c.id.equals(chunks.get(0).id);
        }
        check(shape, "chunks: object chat.completion.chunk, one id, role first, usage last", chunks.size() + " chunks");
        check(text.toString().equals(gen.get("text")), "streamed text equals `sphere_aae generate --temperature 0`",
                "\n    chat     " + Json.quote(new StringBuilder(), text.toString()) + "\n    generate "
                        + Json.quote(new StringBuilder(), String.valueOf(gen.get("text"))));
        check(text.toString().equals(e.detokenize(genIds, true)), "streamed text equals the decode of generate's ids",
                null);
        check(e.kvLength() == prompt.length + n - 1, "KV cache holds the prompt and the fed output ids",
                e.kvLength() + " vs " + (prompt.length + n - 1));

        /* The same ids through the low-level JNI calls, greedy picked in Java. */
        e.resetChat();
        e.prefill(prompt);
        int[] ours = new int[n];
        for (int k = 0; k < n; k++) {
            ours[k] = argmax(e.logits());
            if (k + 1 < n) {
                e.decode(ours[k]);
            }
        }
        check(java.util.Arrays.equals(ours, genIds), "greedy ids via prefill/decode/logits equal generate's ids",
                "\n    jni      " + java.util.Arrays.toString(ours) + "\n    generate "
                        + java.util.Arrays.toString(genIds));
        e.resetChat();
    }

    private static void unicodeRequest(AAEEngine e) {
        String user = "Gr\u00FC\u00DFe \uD83D\uDE00 \uD834\uDD1E \u4E2D\u6587 \u0000end";
        int[] ids = e.tokenize(llama2Prompt(user), false);
        ChatCompletionChunk.Usage u;
        try (ChatCompletionStream s = e.chat.completions.create(greedy(user, 1))) {
            s.collectText();
            u = s.usage();
        }
        check(u != null && u.promptTokens == ids.length, "a request with non-BMP characters and U+0000 reaches the "
                + "engine byte-exact", u == null ? null : u.promptTokens + " vs " + ids.length);
        String plain = "Gr\u00FC\u00DFe \uD83D\uDE00 \uD834\uDD1E \u4E2D\u6587";
        String back = e.detokenize(e.tokenize(plain, false), true);
        check(plain.equals(back), "tokenize/detokenize round trip of non-BMP text", back);
    }

    private static void abortFromListener(AAEEngine e) {
        final int max = 400;
        int[] contentChunks = {0};
        long[] completion = {-1};
        String[] finish = {null};
        int st = e.chat.completions.create(greedy("Count to a thousand.", max), c -> {
            if (!c.content().isEmpty() && ++contentChunks[0] == 3) {
                Thread t = new Thread(e::abort, "aborter");
                t.start();
                try {
                    t.join();
                } catch (InterruptedException ex) {
                    throw new IllegalStateException(ex);
                }
            }
            if (c.finishReason() != null) finish[0] = c.finishReason();
            if (c.usage != null) completion[0] = c.usage.completionTokens;
        });
        check(st == AAEException.ABORTED && "abort".equals(finish[0]) && completion[0] > 0 && completion[0] < 12,
                "abort from another thread mid-completion (blocking listener)",
                "status " + st + ", finish " + finish[0] + ", " + completion[0] + " tokens");
    }

    private static void abortStream(AAEEngine e) throws Exception {
        final int max = 400;
        int seen = 0;
        CountDownLatch aborted = new CountDownLatch(1);
        try (ChatCompletionStream s = e.chat.completions.create(greedy("Count to a thousand.", max))) {
            for (ChatCompletionChunk c : s) {
                if (!c.content().isEmpty() && ++seen == 3) {
                    new Thread(() -> {
                        e.abort();
                        aborted.countDown();
                    }, "aborter").start();
                    aborted.await(10, TimeUnit.SECONDS);
                }
            }
            ChatCompletionChunk.Usage u = s.usage();
            check(s.status() == AAEException.ABORTED && "abort".equals(s.finishReason()) && u != null
                    && u.completionTokens < max, "abort of a stream from another Java thread ends it with "
                    + "finish_reason abort", s.status() + " " + s.finishReason() + " "
                    + (u == null ? "no usage" : u.completionTokens + " tokens"));
        }
        String t;
        try (ChatCompletionStream s = e.chat.completions.create(greedy("Hello", 4))) {
            t = s.collectText();
            check(s.status() == 0 && "length".equals(s.finishReason()), "the next request after an abort runs", t);
        }
    }

    private static void listenerException(AAEEngine e) {
        RuntimeException boom = new RuntimeException("boom");
        int[] calls = {0};
        RuntimeException got = null;
        try {
            e.chat.completions.create(greedy("Hello", 50), c -> {
                if (++calls[0] == 2) throw boom;
            });
        } catch (RuntimeException ex) {
            got = ex;
        }
        check(got == boom && calls[0] == 2, "an exception in the listener stops the completion and reaches the caller",
                got + ", " + calls[0] + " calls");
        boolean inside = false;
        try {
            e.chat.completions.create(greedy("Hello", 3), c -> e.resetChat());
        } catch (IllegalStateException ex) {
            inside = true;
        }
        check(inside, "engine calls other than abort() inside a listener are refused", null);
        try (ChatCompletionStream s = e.chat.completions.create(greedy("Hello", 3))) {
            s.collectText();
            check(s.status() == 0, "the engine works after a listener threw", s.status());
        }
    }

    private static void badRequest(AAEEngine e) {
        AAEException got = null;
        try (ChatCompletionStream s = e.chat.completions.create("{\"messages\": 3, \"stream\": true}")) {
            s.hasNext();
        } catch (AAEException ex) {
            got = ex;
        }
        check(got != null && got.status() == AAEException.INVALID_ARGUMENT && got.getMessage().contains("/messages"),
                "a bad request throws AAEException naming the member", got == null ? null : got.getMessage());
    }

    private static void longStream(AAEEngine e) {
        final int n = 300;
        int chunks = 0;
        try (ChatCompletionStream s = e.chat.completions.create(greedy("Tell me a long story.", n))) {
            for (ChatCompletionChunk c : s) {
                chunks++;
            }
            ChatCompletionChunk.Usage u = s.usage();
            check(u != null && u.completionTokens == n && chunks > n / 4,
                    "a " + n + "-token stream (no local-reference growth under -Xcheck:jni)",
                    chunks + " chunks, " + (u == null ? "no usage" : u.completionTokens + " tokens"));
        }
    }

    private static void twoStreams(AAEEngine e) {
        ChatCompletionStream a = e.chat.completions.create(greedy("Hi", 8));
        ChatCompletionStream b = e.chat.completions.create(greedy("Hi", 8));
        String tb = b.collectText(); /* b waits for a, which waits for its reader: a must not block b's reader */
        String ta = a.collectText();
        a.close();
        b.close();
        check(ta.equals(tb) && a.status() == 0 && b.status() == 0, "two streams created at once run one after the other",
                ta + " | " + tb);
    }

    private static void unloadAndClose(AAEEngine e, String model) {
        e.unload();
        AAEException got = null;
        try (ChatCompletionStream s = e.chat.completions.create(greedy("Hi", 2))) {
            s.collectText();
        } catch (AAEException ex) {
            got = ex;
        }
        check(got != null && got.status() == AAEException.STATE, "a request after unload() fails with STATE",
                got == null ? null : got.status() + " " + got.getMessage());
        e.reload(model, modelLib);
        try (ChatCompletionStream s = e.chat.completions.create(greedy("Hi", 2))) {
            s.collectText();
            check(s.status() == 0, "reload after unload works", s.status());
        }
        AAEException bad = null;
        try {
            e.reload(model + "/does-not-exist", modelLib);
        } catch (AAEException ex) {
            bad = ex;
        }
        check(bad != null && bad.status() != 0 && !bad.getMessage().isEmpty(), "reload of a missing folder throws "
                + "with the runtime's message", bad == null ? null : bad.getMessage());
        if (modelLib != null) {
            AAEException lib = null;
            try {
                e.reload(model, "no_such_model_lib");
            } catch (AAEException ex) {
                lib = ex;
            }
            check(lib != null && lib.getMessage().contains("no_such_model_lib"), "reload with a model_lib that is "
                    + "not linked in throws, naming it", lib == null ? null : lib.getMessage());
        }
        e.close();
        e.close();
        boolean closed = false;
        try {
            e.tokenize("x", false);
        } catch (IllegalStateException ex) {
            closed = true;
        }
        check(closed, "a closed engine refuses calls; close() twice is fine", null);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2 && args.length != 3) {
            System.err.println("usage: AAE4JTest SPHERE_AAE_CLI MODEL_DIR [MODEL_LIB]");
            System.exit(2);
        }
        String cli = args[0];
        String model = args[1];
        modelLib = args.length == 3 ? args[2] : null;
        System.out.println("model " + model + (modelLib == null ? " (generic code)" : " with model library "
                + modelLib));
        long t0 = System.nanoTime();
        check(!AAEEngine.version().isEmpty(), "version " + AAEEngine.version(), null);
        json();
        nativeThreadLogs();
        AAEEngine.Params p = new AAEEngine.Params();
        p.nThreads = 2;
        AAEEngine e = new AAEEngine(p);
        try {
            e.reload(model, modelLib);
            greedyEqualsGenerate(e, cli, model);
            unicodeRequest(e);
            abortFromListener(e);
            abortStream(e);
            listenerException(e);
            badRequest(e);
            longStream(e);
            twoStreams(e);
            unloadAndClose(e, model);
        } catch (Throwable ex) {
            failed++;
            System.out.println("FAIL unexpected " + ex);
            ex.printStackTrace(System.out);
        } finally {
            e.close();
            AAEEngine.setLogListener(null);
        }
        System.out.printf("(%.1f s)%n", (System.nanoTime() - t0) / 1e9);
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
