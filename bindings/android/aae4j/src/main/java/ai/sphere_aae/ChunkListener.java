/*
 * ChunkListener.java - receives the chunks of a blocking completion
 * (engine.chat.completions.create(request, listener)) on the caller's thread.
 * Throwing stops the completion; the exception then comes out of create().
 */
package ai.sphere_aae;

@FunctionalInterface
public interface ChunkListener {
    void onChunk(ChatCompletionChunk chunk);
}
