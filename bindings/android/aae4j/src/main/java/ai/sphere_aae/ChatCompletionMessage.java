/*
 * ChatCompletionMessage.java - one message of a request: role ("system", "user",
 * "assistant") and its text.
 */
package ai.sphere_aae;

public final class ChatCompletionMessage {
    public final String role;
    public final String content;

    public ChatCompletionMessage(String role, String content) {
        this.role = role;
        this.content = content;
    }

    public static ChatCompletionMessage system(String text) {
        return new ChatCompletionMessage("system", text);
    }

    public static ChatCompletionMessage user(String text) {
        return new ChatCompletionMessage("user", text);
    }

    public static ChatCompletionMessage assistant(String text) {
        return new ChatCompletionMessage("assistant", text);
    }
}
