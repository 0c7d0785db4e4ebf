/*
 * AAEException.java - a failed runtime call: the aae_status number and the
 * engine's detailed message (file, JSON pointer, what to do).
 */
package ai.sphere_aae;

public class AAEException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public static final int INVALID_ARGUMENT = 1;
    public static final int IO = 2;
    public static final int FORMAT = 3;
    public static final int NOMEM = 4;
    public static final int UNSUPPORTED = 5;
    public static final int MISMATCH = 6;
    public static final int ABORTED = 7;
    public static final int NOT_FOUND = 8;
    public static final int STATE = 9;
    public static final int LIMIT = 10;
    public static final int INTERNAL = 11;

    private final int status;

    public AAEException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The aae_status number (sphere_aae.h). */
    public int status() {
        return status;
    }
}
