package jdiffusion.sweep;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.AtomicFiles;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.SafeTensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A sweep's folder: {@code rows.jsonl} (one finished configuration per line, appended and flushed as
 * each one finishes, so an interrupted sweep loses at most the configuration it was running),
 * {@code sweep.json} (the settings that define the
 * images; a resumed sweep must match them) and {@code cache/} (reference images, grid samples).
 * A line cut short by an interruption is ignored when reading.
 */
public final class ResultStore {
    static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final Path dir;
    private final Map<String, SweepRow> rows = new LinkedHashMap<>();

    private ResultStore(Path dir) {
        this.dir = dir;
    }

    /** Opens (or creates) the folder and reads what is there. */
    public static ResultStore open(Path dir) {
        ResultStore s = new ResultStore(dir);
        try {
            Files.createDirectories(dir.resolve("cache"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
        }
        terminateLastLine(dir.resolve("rows.jsonl"));
        for (JsonNode n : readLines(dir.resolve("rows.jsonl"))) {
            try {
                SweepRow r = row(n);
                s.rows.put(r.id(), r);   // a later line for the same id wins
            } catch (IOException | IllegalArgumentException e) {
                System.err.println("note: ignoring an unreadable row in " + dir.resolve("rows.jsonl") + ": " + e.getMessage());
            }
        }
        return s;
    }

    /** Reads the rows of a finished sweep (rows.jsonl, else results.json) without creating anything. */
    public static List<SweepRow> readRows(Path dirOrFile) {
        Path f = dirOrFile;
        if (Files.isDirectory(dirOrFile)) {
            f = dirOrFile.resolve("rows.jsonl");
            if (!Files.isRegularFile(f)) f = dirOrFile.resolve("results.json");
        }
        if (!Files.isRegularFile(f)) throw new IllegalArgumentException("no sweep results at " + dirOrFile + " (expected rows.jsonl or results.json)");
        List<SweepRow> out = new ArrayList<>();
        try {
            if (f.getFileName().toString().endsWith(".jsonl")) {
                Map<String, SweepRow> byId = new LinkedHashMap<>();
                for (JsonNode n : readLines(f)) {
                    SweepRow r = row(n);
                    byId.put(r.id(), r);
                }
                out.addAll(byId.values());
            } else {
                JsonNode root = JSON.readTree(f.toFile());
                JsonNode arr = root == null ? null : root.isArray() ? root : root.get("rows");
                if (arr == null || !arr.isArray()) throw new IllegalArgumentException(f + ": expected a list of sweep rows (or an object with \"rows\")");
                for (JsonNode n : arr) out.add(row(n));
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException | java.io.CharConversionException e) {
            // malformed JSON or text, or a row whose fields have the wrong types: the user's file, not an I/O failure
            throw new IllegalArgumentException(f + ": not a sweep result file: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** A write cut short leaves a line without its newline: end it, so that the next row starts a line of its own. */
    private static void terminateLastLine(Path f) {
        try {
            if (!Files.isRegularFile(f) || Files.size(f) == 0) return;
            try (var ch = java.nio.channels.FileChannel.open(f, StandardOpenOption.READ)) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
                ch.read(b, ch.size() - 1);
                if (b.get(0) == '\n') return;
            }
            Files.writeString(f, "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot repair " + f + ": " + e.getMessage(), e);
        }
    }

    /** One row; a line that is JSON but not a row object (e.g. {@code null}) is an IllegalArgumentException. */
    private static SweepRow row(JsonNode n) throws IOException {
        SweepRow r = n.isObject() ? JSON.treeToValue(n, SweepRow.class) : null;
        if (r == null) throw new IllegalArgumentException("a sweep row must be a JSON object, found " + (n.toString().length() > 60 ? n.toString().substring(0, 60) + "..." : n));
        return r;
    }

    private static List<JsonNode> readLines(Path f) {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.isRegularFile(f)) return out;
        try {
            // decoded leniently: a write cut inside a multi-byte character leaves malformed UTF-8 in the
            // last line only, which then fails to parse and is ignored like any cut line
            for (String line : new String(Files.readAllBytes(f), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank()) continue;
                try {
                    out.add(JSON.readTree(line));
                } catch (IOException e) {
                    System.err.println("note: ignoring a truncated line in " + f + " (interrupted write)");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
        return out;
    }

    public Path dir() {
        return dir;
    }

    /**
     * Checks that this folder's sweep was made with the same image-defining settings, and records them
     * on first use, with the command line (unless null). Keys present in both must agree.
     */
    public void checkSettings(ObjectNode settings, String commandLine) {
        Path f = dir.resolve("sweep.json");
        ObjectNode root;
        try {
            if (Files.isRegularFile(f)) {
                if (!(JSON.readTree(f.toFile()) instanceof ObjectNode o))
                    throw new IllegalArgumentException(f + " is not a sweep's settings file (a JSON object); use another --out, or delete the folder to start over");
                root = o;
                JsonNode old = root.path("settings");
                for (Iterator<Map.Entry<String, JsonNode>> it = settings.fields(); it.hasNext(); ) {
                    var e = it.next();
                    if (old.has(e.getKey()) && !old.get(e.getKey()).asText().equals(e.getValue().asText()))
                        throw new IllegalArgumentException(dir + " holds a sweep made with " + e.getKey() + " = " + old.get(e.getKey())
                                + ", not " + e.getValue() + ": its rows would not be comparable. Use another --out, or delete the folder to start over");
                }
            } else {
                root = JSON.createObjectNode();
                root.set("settings", settings);
            }
            if (commandLine != null) root.withArray("commands").add(commandLine);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
        AtomicFiles.write(f, out -> JSON.writerWithDefaultPrettyPrinter().writeValue(out, root));
    }

    /** The command lines that built this folder, oldest first. */
    public List<String> commands() {
        List<String> out = new ArrayList<>();
        try {
            Path f = dir.resolve("sweep.json");
            if (Files.isRegularFile(f)) {
                JsonNode root = JSON.readTree(f.toFile());
                if (root != null) root.path("commands").forEach(n -> out.add(n.asText()));
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException | java.io.CharConversionException e) {
            throw new IllegalArgumentException(dir.resolve("sweep.json") + ": not well-formed JSON: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    public boolean has(String id) {
        return rows.containsKey(id);
    }

    public SweepRow get(String id) {
        return rows.get(id);
    }

    public List<SweepRow> rows() {
        return List.copyOf(rows.values());
    }

    /** Appends a finished row and flushes it to disk at once. */
    public synchronized void append(SweepRow row) {
        rows.put(row.id(), row);
        AtomicFiles.appendLine(dir.resolve("rows.jsonl"), toLine(row));
    }

    private static String toLine(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A file name for a configuration id: ddim/dc-n3-b0-u@50 → ddim_dc-n3-b0-u_50. */
    public static String fileName(String id) {
        return id.replace('/', '_').replace('@', '_').replace('+', '_').replaceAll("[^A-Za-z0-9._-]", "_");
    }

    public Path referenceFile(String scheduler) {
        return dir.resolve("cache").resolve("reference-" + fileName(scheduler) + ".safetensors");
    }

    public Path samplesFile(String id) {
        return dir.resolve("cache").resolve("samples").resolve(fileName(id) + ".safetensors");
    }

    /** Writes the images (atomically, as every safetensors output). */
    public static void writeImages(Path f, Tensor images) {
        new SafeTensorsWriter().put("images", images.shape(), images.data()).write(f);
    }

    /** The images stored in {@code f}, or null when the file is missing. */
    public static Tensor readImages(Path f) {
        if (!Files.isRegularFile(f)) return null;
        try (SafeTensorsFile st = SafeTensorsFile.open(f)) {
            return Tensor.of(st.floats("images"), st.entry("images").intShape());
        }
    }
}
