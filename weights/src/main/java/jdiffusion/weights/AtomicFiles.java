package jdiffusion.weights;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Every file jdiffusion writes goes through here, so that no output is ever half-written or lost:
 * the bytes go to a temporary file in the target's own directory, are forced to the device, and the
 * temporary file is then moved over the target in one atomic rename. A failed write (disk full,
 * permission, an exception while producing the bytes) leaves the previous file intact and removes the
 * temporary file. A directory is never replaced. Append-only logs ({@link #appendLine}) only ever add
 * whole lines after the existing bytes.
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
     * Checks, before any computation, that {@code target} can be written as a file: it is not a directory
     * (nor anything else that is not a regular file), and its nearest existing ancestor is a writable
     * directory (missing directories are created when the file is written, not now: a check leaves
     * nothing behind).
     *
     * @param what how the user named the path, e.g. "--out", for the message
     */
    public static void checkWritable(Path target, String what) {
        Path abs = target.toAbsolutePath().normalize();
        if (Files.isDirectory(abs))
            throw new IllegalArgumentException(what + " " + target + " is a directory; give a file name");
        if (Files.exists(abs) && !Files.isRegularFile(abs))
            throw new IllegalArgumentException(what + " " + target + " exists and is not a regular file");
        if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS) && !Files.exists(abs))
            throw new IllegalArgumentException(what + " " + target + " is a dangling symbolic link");
        checkParent(abs.getParent(), target, what);
        if (Files.exists(abs) && !Files.isWritable(abs))
            throw new IllegalArgumentException(what + " " + target + " exists and is not writable");
    }

    /**
     * Checks, before any computation, that {@code dir} can hold output files: it is a writable directory,
     * or it does not exist yet and its nearest existing ancestor is a writable directory.
     */
    public static void checkWritableDirectory(Path dir, String what) {
        Path abs = dir.toAbsolutePath().normalize();
        if (Files.exists(abs)) {
            if (!Files.isDirectory(abs)) throw new IllegalArgumentException(what + " " + dir + " exists and is not a directory");
            if (!Files.isWritable(abs)) throw new IllegalArgumentException(what + " " + dir + ": the directory is not writable");
            return;
        }
        checkParent(abs.getParent(), dir, what);
    }

    private static void checkParent(Path parent, Path target, String what) {
        Path p = parent;
        while (p != null && !Files.exists(p)) p = p.getParent();
        if (p == null) return;
        if (!Files.isDirectory(p))
            throw new IllegalArgumentException(what + " " + target + ": " + p + " is not a directory");
        if (!Files.isWritable(p))
            throw new IllegalArgumentException(what + " " + target + ": the directory " + p + " is not writable");
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
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                body.writeTo(new FilterOutputStream(out) {
                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        out.write(b, off, len);
                    }

                    @Override
                    public void close() throws IOException {
                        out.flush();   // writers that close their stream (Jackson does) must not close the channel before it is forced
                    }
                });
                out.flush();
                ch.force(true);   // the bytes are on the device before the rename makes them the file
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

    /**
     * Appends {@code line} and a newline to {@code file} (created if missing) and forces it to the device.
     * The bytes already in the file are never touched; if the append fails part way, the file is cut back
     * to its previous length, so that no partial line is left for the next append to run into.
     */
    public static void appendLine(Path file, String line) {
        ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        try {
            Path dir = file.toAbsolutePath().getParent();
            if (dir != null) Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + file + ": " + e.getMessage(), e);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            long before = ch.size();
            try {
                ch.position(before);
                while (b.hasRemaining()) ch.write(b);
                ch.force(false);
            } catch (IOException e) {
                try {
                    ch.truncate(before);
                } catch (IOException ignored) {
                    // the append already failed; its exception is the one that matters
                }
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + file + ": " + e.getMessage(), e);
        }
    }
}
