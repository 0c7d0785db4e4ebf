/*
 * LogListener.java - receives the runtime's log lines (AAEEngine.setLogListener).
 * Called from any thread the runtime runs, including threads the JVM did not start.
 */
package ai.sphere_aae;

@FunctionalInterface
public interface LogListener {
    /** level: 0 debug, 1 info, 2 warn, 3 error (aae_log_level). */
    void onLog(int level, String message);
}
