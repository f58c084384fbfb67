package jdiffusion.fuzz;

import jdiffusion.weights.WeightsException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The invariant every fuzz target checks, and the scratch files targets write their inputs to.
 *
 * <p>Invariant: any input gives either a valid result or a {@link WeightsException} /
 * {@link IllegalArgumentException} with a non-empty message; anything else (another exception, an
 * error, an empty message) escapes to Jazzer, which reports it as a finding and saves the input.
 *
 * <p>A new target is one small class: a method annotated {@code @FuzzTest} that takes {@code byte[]},
 * writes it where the reader expects a file ({@link #write}) and calls {@link #holds} around the read;
 * its seed corpus goes to {@code src/test/resources/jdiffusion/fuzz/<Class>Inputs/<method>/}.
 */
public final class Fuzz {
    private static Path scratch;

    private Fuzz() {
    }

    /** A body that reads an input. */
    public interface Body {
        void run() throws Exception;
    }

    /** Runs {@code body}; returns normally on a valid result or a named error, and rethrows everything else. */
    public static void holds(Body body) throws Exception {
        try {
            body.run();
        } catch (WeightsException | IllegalArgumentException e) {
            String m = e.getMessage();
            if (m == null || m.isBlank()) throw new AssertionError("an error without a message: " + e, e);
        }
    }

    /** This JVM's scratch directory (inputs are written over, not accumulated). */
    public static synchronized Path dir(String name) {
        try {
            if (scratch == null) {
                scratch = Files.createTempDirectory("jdiffusion-fuzz");
                scratch.toFile().deleteOnExit();
            }
            return Files.createDirectories(scratch.resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes {@code data} to {@code dir/file} (replacing it) and returns the path. */
    public static Path write(Path dir, String file, byte[] data) {
        try {
            return Files.write(dir.resolve(file), data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Splits an input in two at its first NUL byte, for targets that read two files (a JSON config,
     * which cannot hold a raw NUL, then a binary file). Without a NUL the second part is empty.
     */
    public static byte[][] split(byte[] data) {
        for (int i = 0; i < data.length; i++)
            if (data[i] == 0) return new byte[][]{Arrays.copyOf(data, i), Arrays.copyOfRange(data, i + 1, data.length)};
        return new byte[][]{data, new byte[0]};
    }
}
