package jdiffusion.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Outputs are never lost: a failed write keeps the previous file, leaves no temporary file, and never replaces a directory. */
class AtomicFilesTest {
    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aWriteThatFailsHalfWayKeepsThePreviousFile() throws IOException {
        Path f = Files.writeString(dir.resolve("out.json"), "previous");
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> AtomicFiles.write(f, out -> {
            out.write("half of the new".getBytes(StandardCharsets.UTF_8));
            throw new IOException("No space left on device");
        }));
        assertTrue(e.getMessage().contains("cannot write " + f + ": No space left on device"), e.getMessage());
        assertEquals("previous", Files.readString(f));
        assertEquals(List.of("out.json"), names(), "no temporary file left behind");
        AtomicFiles.writeString(f, "new");
        assertEquals("new", Files.readString(f));
        assertEquals(List.of("out.json"), names());
    }

    /** Jackson closes the stream it writes to: the bytes must still be forced and renamed into place. */
    @Test
    void aWriterThatClosesItsStreamStillGetsItsFileWritten() throws IOException {
        Path f = dir.resolve("closed.txt");
        AtomicFiles.write(f, out -> {
            out.write('x');
            out.close();
        });
        assertEquals("x", Files.readString(f));
    }

    @Test
    void directoriesAreNeitherReplacedNorAcceptedAsOutputs() throws IOException {
        Path d = Files.createDirectories(dir.resolve("empty"));
        assertThrows(UncheckedIOException.class, () -> AtomicFiles.writeString(d, "x"));
        assertTrue(Files.isDirectory(d));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.checkWritable(d, "--out"));
        assertEquals("--out " + d + " is a directory; give a file name", e.getMessage());
        Path file = Files.writeString(dir.resolve("file"), "x");
        e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.checkWritable(file.resolve("a/b.png"), "--out"));
        assertEquals("--out " + file.resolve("a/b.png") + ": " + file + " is not a directory", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.checkWritableDirectory(file, "--out"));
        assertEquals("--out " + file + " exists and is not a directory", e.getMessage());
        AtomicFiles.checkWritable(dir.resolve("new/deeper/out.png"), "--out");
        assertTrue(Files.notExists(dir.resolve("new")), "a check creates nothing");
    }

    @Test
    void appendedLinesNeverTouchEarlierOnes() throws IOException {
        Path f = dir.resolve("rows.jsonl");
        AtomicFiles.appendLine(f, "{\"a\":1}");
        AtomicFiles.appendLine(f, "{\"b\":2}");
        assertEquals(List.of("{\"a\":1}", "{\"b\":2}"), Files.readAllLines(f));
    }
}
