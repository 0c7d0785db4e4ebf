/*
 * Utf8.java - standard UTF-8 both ways (JNI's "modified UTF-8" is not used).
 */
package ai.sphere_aae;

import java.nio.charset.StandardCharsets;

final class Utf8 {
    private Utf8() {}

    static byte[] encode(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    static String decode(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }
}
