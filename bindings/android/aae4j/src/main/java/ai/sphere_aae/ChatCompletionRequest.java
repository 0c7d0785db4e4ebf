/*
 * ChatCompletionRequest.java - an OpenAI chat-completions request (the members
 * docs/engine.md lists). A null field is left out, so the model's chat config
 * gives the default. create() always streams.
 *
 *   ChatCompletionRequest r = new ChatCompletionRequest()
 *       .message(ChatCompletionMessage.user("Hi")).temperature(0.7).maxTokens(128);
 */
package ai.sphere_aae;

import java.util.ArrayList;
import java.util.List;

public final class ChatCompletionRequest {
    public final List<ChatCompletionMessage> messages = new ArrayList<>();
    public String model;
    public Double temperature;
    public Double topP;
    public Integer topK;
    public Integer maxTokens;
    public Long seed;
    public List<String> stop;
    public Double frequencyPenalty;
    public Double presencePenalty;
    public Double repetitionPenalty;
    public Boolean ignoreEos;
    public boolean includeUsage = true;

    public ChatCompletionRequest message(ChatCompletionMessage m) { messages.add(m); return this; }
    public ChatCompletionRequest messages(List<ChatCompletionMessage> ms) { messages.addAll(ms); return this; }
    public ChatCompletionRequest model(String v) { model = v; return this; }
    public ChatCompletionRequest temperature(double v) { temperature = v; return this; }
    public ChatCompletionRequest topP(double v) { topP = v; return this; }
    public ChatCompletionRequest topK(int v) { topK = v; return this; }
    public ChatCompletionRequest maxTokens(int v) { maxTokens = v; return this; }
    public ChatCompletionRequest seed(long v) { seed = v; return this; }
    public ChatCompletionRequest stop(List<String> v) { stop = v; return this; }
    public ChatCompletionRequest frequencyPenalty(double v) { frequencyPenalty = v; return this; }
    public ChatCompletionRequest presencePenalty(double v) { presencePenalty = v; return this; }
    public ChatCompletionRequest repetitionPenalty(double v) { repetitionPenalty = v; return this; }
    public ChatCompletionRequest ignoreEos(boolean v) { ignoreEos = v; return this; }
    public ChatCompletionRequest includeUsage(boolean v) { includeUsage = v; return this; }

    /** The request as JSON with "stream": true. */
    public String toJson() {
        StringBuilder b = new StringBuilder("{\"stream\":true,\"stream_options\":{\"include_usage\":");
        b.append(includeUsage).append("},\"messages\":[");
        for (int k = 0; k < messages.size(); k++) {
            ChatCompletionMessage m = messages.get(k);
            b.append(k == 0 ? "{\"role\":" : ",{\"role\":");
            Json.quote(b, m.role).append(",\"content\":");
            Json.quote(b, m.content).append('}');
        }
        b.append(']');
        if (model != null) Json.quote(b.append(",\"model\":"), model);
        num(b, "temperature", temperature);
        num(b, "top_p", topP);
        num(b, "top_k", topK);
        num(b, "max_tokens", maxTokens);
        num(b, "seed", seed);
        num(b, "frequency_penalty", frequencyPenalty);
        num(b, "presence_penalty", presencePenalty);
        num(b, "repetition_penalty", repetitionPenalty);
        if (ignoreEos != null) b.append(",\"ignore_eos\":").append(ignoreEos);
        if (stop != null) {
            b.append(",\"stop\":[");
            for (int k = 0; k < stop.size(); k++) {
                Json.quote(b.append(k == 0 ? "" : ","), stop.get(k));
            }
            b.append(']');
        }
        return b.append('}').toString();
    }

    private static void num(StringBuilder b, String name, Number v) {
        if (v == null) return;
        if (v instanceof Double && (((Double) v).isNaN() || ((Double) v).isInfinite())) {
            throw new IllegalArgumentException(name + ": not a finite number");
        }
        b.append(",\"").append(name).append("\":").append(v);
    }
}
