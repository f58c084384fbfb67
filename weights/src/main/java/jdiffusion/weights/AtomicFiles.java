package jdiffusion.weights;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Every file jdiffusion writes goes through here, so that no output is ever half-written or lost:
 * the bytes go to a temporary file in the target's own directory, which is then moved over the target
 * in one atomic rename. A failed write (disk full, permission, an exception while producing the bytes)
 * leaves the previous file intact and removes the temporary file. A directory is never replaced.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Produces a file's bytes. */
    @FunctionalInterface
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * Checks, before any computation, that {@code target} can be written: it is not a directory, its
     * parent directory exists (or can be created) and is writable. Creates missing parent directories.
     *
     * @param what how the user named the path, e.g. "--out", for the message
     */
    public static void checkWritable(Path target, String what) {
        Path abs = target.toAbsolutePath();
        if (Files.isDirectory(abs))
            throw new IllegalArgumentException(what + " " + target + " is a directory; give a file name");
        Path parent = abs.getParent();
        try {
            if (parent != null) Files.createDirectories(parent);
        } catch (IOException | SecurityException e) {
            throw new IllegalArgumentException(what + " " + target + ": cannot create the directory " + parent + " (" + e.getMessage() + ")");
        }
        if (parent != null && !Files.isWritable(parent))
            throw new IllegalArgumentException(what + " " + target + ": the directory " + parent + " is not writable");
        if (Files.exists(abs) && !Files.isWritable(abs))
            throw new IllegalArgumentException(what + " " + target + " exists and is not writable");
    }

    /** Writes {@code target} atomically with the bytes {@code body} produces. */
    public static void write(Path target, Body body) {
        Path abs = target.toAbsolutePath();
        if (Files.isDirectory(abs)) throw new UncheckedIOException(new IOException(target + " is a directory; refusing to replace it with a file"));
        Path dir = abs.getParent();
        Path tmp = null;
        try {
            if (dir != null) Files.createDirectories(dir);
            // a fresh name beside the target (same file system, so the rename is atomic), created with the
            // default permissions the target itself would get (Files.createTempFile would make it owner-only)
            tmp = abs.resolveSibling("." + abs.getFileName() + "." + Long.toHexString(System.nanoTime() ^ Thread.currentThread().threadId()) + ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                body.writeTo(out);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the write already failed; its exception is the one that matters
                }
            }
        }
    }

    /** Writes {@code text} as UTF-8, atomically. */
    public static void writeString(Path target, String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        write(target, out -> out.write(b));
    }
}
