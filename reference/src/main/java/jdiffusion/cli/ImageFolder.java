package jdiffusion.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.image.Images;
import jdiffusion.sample.Trace;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.AtomicFiles;

import javax.imageio.ImageIO;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * Bulk generation's output folder: {@code images/NNNNNN.png} (one per image, written atomically) and
 * {@code manifest.jsonl}, one line per image appended after its PNG: image index, file, seed and noise
 * stream, class or prompt, the settings, a summary of its batch's trace, and SHA-256 checksums of the
 * PNG file and of the image's float32 data (little-endian; the bits the engine computed). Rerunning into
 * the folder with the same settings skips the images already listed; other settings are an error.
 */
final class ImageFolder {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final ObjectNode settings;
    private final Set<Integer> done = new HashSet<>();

    /** Whether --out names a folder (anything not ending in .png). */
    static boolean isFolder(Path out) {
        return !out.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".png");
    }

    /** Opens (or creates) the folder; the images listed with the same settings count as done. */
    ImageFolder(Path dir, ObjectNode settings) {
        this.dir = dir;
        this.settings = settings;
        if (Files.isRegularFile(dir)) throw new IllegalArgumentException("--out " + dir + " is a file; bulk generation writes a folder (or give a .png for a grid)");
        try {
            Files.createDirectories(dir.resolve("images"));
            Path m = manifest();
            if (!Files.isRegularFile(m)) return;
            for (String line : Files.readAllLines(m, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (IOException e) {
                    continue;   // a line cut short by an interruption: that image is generated again
                }
                for (Iterator<Map.Entry<String, JsonNode>> it = settings.fields(); it.hasNext(); ) {
                    var e = it.next();
                    JsonNode old = n.path("settings").get(e.getKey());
                    if (old == null || !old.equals(e.getValue()))
                        throw new IllegalArgumentException(dir + " holds images made with " + e.getKey() + " = " + old + ", not " + e.getValue()
                                + ": use another --out, or delete the folder to start over");
                }
                if (Files.isRegularFile(dir.resolve(n.path("file").asText()))) done.add(n.path("image").asInt());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir + ": " + e.getMessage(), e);
        }
    }

    Path manifest() {
        return dir.resolve("manifest.jsonl");
    }

    /** Whether images [first, first + count) are all in the folder already. */
    boolean has(int first, int count) {
        for (int j = first; j < first + count; j++) if (!done.contains(j)) return false;
        return true;
    }

    int done() {
        return done.size();
    }

    /**
     * Writes images [first, first + n): PNGs first, then their manifest lines in one append.
     *
     * @param traces one per batch of {@code batch} images, the first batch starting at {@code first}
     * @param label  what image j is conditioned on ({"class", name} / {"prompt", file}), or null
     */
    void write(int first, Tensor images, java.util.List<Trace> traces, int batch, long seed, IntFunction<String[]> label) {
        StringBuilder lines = new StringBuilder();
        int n = images.dim(0);
        for (int i = 0; i < n; i++) {
            int j = first + i;
            Tensor one = images.slice0(i, 1);
            byte[] png = png(one);
            String file = String.format("images/%06d.png", j);
            AtomicFiles.write(dir.resolve(file), out -> out.write(png));
            ObjectNode line = JSON.createObjectNode();
            line.put("image", j);
            line.put("file", file);
            line.put("seed", seed);
            line.put("noise", "image-" + j);
            String[] l = label.apply(j);
            if (l != null) line.put(l[0], l[1]);
            line.set("settings", settings);
            Trace t = traces.get(i / batch);
            int k = Math.min(batch, n - i / batch * batch);
            ObjectNode tr = line.putObject("trace");
            tr.put("batch", (first + i) / batch);
            tr.put("batch_images", k);
            tr.put("pattern", t.pattern());
            tr.put("unet_calls", t.unetCalls());
            tr.put("partial_calls", t.partialCalls());
            tr.put("skipped_steps", t.skippedSteps());
            tr.put("macs_per_image", t.totalMacs() / k);
            tr.put("ms_per_image", t.totalMs() / k);
            line.put("sha256", sha256(png));
            line.put("data_sha256", sha256(floatBytes(one)));
            lines.append(line).append('\n');
            done.add(j);
        }
        try {
            Files.writeString(manifest(), lines, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.SYNC);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + manifest() + ": " + e.getMessage(), e);
        }
    }

    private static byte[] png(Tensor one) {
        try {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            if (!ImageIO.write(Images.image(one, 0), "png", b)) throw new IOException("no PNG writer");
            return b.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] floatBytes(Tensor t) {
        ByteBuffer b = ByteBuffer.allocate(4 * t.numel()).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(t.data(), 0, t.numel());
        return b.array();
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
