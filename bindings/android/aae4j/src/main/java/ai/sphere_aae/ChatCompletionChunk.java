/*
 * ChatCompletionChunk.java - one "chat.completion.chunk" object of a stream, read
 * from the engine's JSON (docs/engine.md, "Walkthrough"): choices[0].delta carries
 * the new text; the last choice carries finish_reason ("stop", "length", "abort");
 * the final chunk has no choices and carries usage.
 */
package ai.sphere_aae;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

public final class ChatCompletionChunk {
    public static final class Delta {
        public final String role;    /* "assistant" in the first chunk, else null */
        public final String content; /* new text (whole characters), or null */

        Delta(String role, String content) {
            this.role = role;
            this.content = content;
        }
    }

    public static final class Choice {
        public final int index;
        public final Delta delta;
        public final String finishReason; /* null until the last choice chunk */

        Choice(int index, Delta delta, String finishReason) {
            this.index = index;
            this.delta = delta;
            this.finishReason = finishReason;
        }
    }

    public static final class Usage {
        public final long promptTokens;
        public final long completionTokens;
        public final long totalTokens;
        public final Map<String, Object> extra; /* prefill_tokens_per_s, decode_tokens_per_s, ... */

        Usage(Map<String, Object> u) {
            promptTokens = Json.num(u, "prompt_tokens", 0);
            completionTokens = Json.num(u, "completion_tokens", 0);
            totalTokens = Json.num(u, "total_tokens", 0);
            Map<String, Object> e = Json.obj(u.get("extra"));
            extra = e == null ? Collections.<String, Object>emptyMap() : Collections.unmodifiableMap(e);
        }
    }

    public final String id;
    public final String object;
    public final long created;
    public final String model;
    public final String systemFingerprint;
    public final List<Choice> choices;
    public final Usage usage; /* null except in the last chunk */
    public final String json; /* the object as the engine sent it */

    private ChatCompletionChunk(String json, Map<String, Object> m) {
        this.json = json;
        id = Json.str(m, "id");
        object = Json.str(m, "object");
        created = Json.num(m, "created", 0);
        model = Json.str(m, "model");
        systemFingerprint = Json.str(m, "system_fingerprint");
        List<Choice> cs = new ArrayList<>();
        List<Object> a = Json.arr(m.get("choices"));
        if (a != null) {
            for (Object o : a) {
                Map<String, Object> c = Json.obj(o);
                Map<String, Object> d = c == null ? null : Json.obj(c.get("delta"));
                if (c == null) continue;
                cs.add(new Choice((int) Json.num(c, "index", 0),
                        d == null ? new Delta(null, null) : new Delta(Json.str(d, "role"), Json.str(d, "content")),
                        Json.str(c, "finish_reason")));
            }
        }
        choices = Collections.unmodifiableList(cs);
        Map<String, Object> u = Json.obj(m.get("usage"));
        usage = u == null ? null : new Usage(u);
    }

    /** Reads one chunk object; IllegalArgumentException if it is not one. */
    public static ChatCompletionChunk parse(String json) {
        Map<String, Object> m = Json.obj(Json.parse(json));
        if (m == null) {
            throw new IllegalArgumentException("a chat.completion.chunk must be a JSON object");
        }
        return new ChatCompletionChunk(json, m);
    }

    /** The new text of choice 0, or "" when none. */
    public String content() {
        if (choices.isEmpty() || choices.get(0).delta.content == null) return "";
        return choices.get(0).delta.content;
    }

    /** finish_reason of choice 0, or null. */
    public String finishReason() {
        return choices.isEmpty() ? null : choices.get(0).finishReason;
    }
}
