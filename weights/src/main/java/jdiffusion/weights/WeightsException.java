package jdiffusion.weights;

import java.nio.file.Path;

/**
 * Any problem with a weights or config file. The message always names the file and, where there is
 * one, the key, then says what was expected, so a user can act on it without a stack trace.
 */
public class WeightsException extends RuntimeException {
    public WeightsException(String message) {
        super(message);
    }

    public WeightsException(String message, Throwable cause) {
        super(message, cause);
    }

    public static WeightsException at(Path file, String key, String problem) {
        return new WeightsException(file + (key == null ? "" : ": key '" + key + "'") + ": " + problem);
    }
}
