/*
 * ChatCompletionStream.java - the chunks of one streamed completion, in order, as
 * an Iterator (blocking). The engine's worker thread produces them into a small
 * bounded queue (a slow reader holds the model back instead of piling up chunks).
 * The stream ends after the usage chunk; a failed request throws AAEException
 * from hasNext()/next(). close() (or cancel()) stops the completion and drains it.
 */
package ai.sphere_aae;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

public final class ChatCompletionStream implements Iterator<ChatCompletionChunk>, Iterable<ChatCompletionChunk>,
        AutoCloseable {
    private static final class End {
        final int status;
        final RuntimeException error;

        End(int status, RuntimeException error) {
            this.status = status;
            this.error = error;
        }
    }

    private final AAEEngine engine;
    private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(16);
    private volatile boolean cancelled;
    private volatile boolean running;
    private Object peeked;
    private End end;
    private String finishReason;
    private ChatCompletionChunk.Usage usage;

    ChatCompletionStream(AAEEngine engine) {
        this.engine = engine;
    }

    /* On the worker thread. */
    void produce(String requestJson) {
        End e;
        running = true;
        try {
            int st = cancelled ? AAEException.ABORTED : engine.run(requestJson, json -> {
                if (cancelled) {
                    return false;
                }
                ChatCompletionChunk c = ChatCompletionChunk.parse(Utf8.decode(json));
                try {
                    queue.put(c);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    return false;
                }
                return !cancelled;
            });
            e = new End(st, null);
        } catch (RuntimeException ex) {
            e = new End(ex instanceof AAEException ? ((AAEException) ex).status() : AAEException.INTERNAL, ex);
        }
        running = false;
        while (true) {
            try {
                queue.put(e);
                return;
            } catch (InterruptedException ex) {
                /* keep trying: the reader waits for the end */
            }
        }
    }

    @Override
    public Iterator<ChatCompletionChunk> iterator() {
        return this;
    }

    @Override
    public boolean hasNext() {
        if (peeked == null && end == null) {
            try {
                peeked = queue.take();
            } catch (InterruptedException ex) {
                cancel();
                Thread.currentThread().interrupt();
                throw new AAEException(AAEException.ABORTED, "interrupted while waiting for the next chunk");
            }
            if (peeked instanceof End) {
                end = (End) peeked;
                peeked = null;
            }
        }
        if (end != null && end.error != null) {
            throw end.error;
        }
        return peeked != null;
    }

    @Override
    public ChatCompletionChunk next() {
        if (!hasNext()) {
            throw new NoSuchElementException("the stream has ended");
        }
        ChatCompletionChunk c = (ChatCompletionChunk) peeked;
        peeked = null;
        if (c.finishReason() != null) {
            finishReason = c.finishReason();
        }
        if (c.usage != null) {
            usage = c.usage;
        }
        return c;
    }

    /** Reads the rest of the stream and returns its text. */
    public String collectText() {
        StringBuilder b = new StringBuilder();
        while (hasNext()) {
            b.append(next().content());
        }
        return b.toString();
    }

    /** "stop", "length" or "abort" once read; else null. */
    public String finishReason() {
        return finishReason;
    }

    /** The usage chunk's numbers once read; else null. */
    public ChatCompletionChunk.Usage usage() {
        return usage;
    }

    /** 0, or AAEException.ABORTED, once the stream has ended; -1 before. */
    public int status() {
        return end == null ? -1 : end.status;
    }

    /** Stops this completion (also when it has not started yet). Any thread. */
    public void cancel() {
        cancelled = true;
        if (running) {
            engine.abort(); /* else the sink stops it at its first chunk */
        }
    }

    /** Cancels the completion if it still runs and waits for its end. */
    @Override
    public void close() {
        if (end != null) {
            return;
        }
        cancel();
        while (end == null) {
            try {
                Object o = queue.take();
                if (o instanceof End) {
                    end = (End) o;
                }
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        peeked = null;
    }
}
