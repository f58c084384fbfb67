package jdiffusion.spark;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bulk generation and evaluation on Spark in local mode: the same images, manifest and measures as without Spark. */
class SparkGenerateTest {
    @TempDir
    Path tmp;

    static List<String> generate(Path out) {
        return Runs.args("generate", "--model", Runs.MODEL.toString(), "--num-images", "7", "--batch", "2", "--steps", "8",
                "--accel", "deepcache", "--interval", "2", "--seed", "3", "--out", out.toString());
    }

    @Test
    void bulkGenerationWritesTheSameImagesAndManifest() throws IOException {
        Path a = tmp.resolve("local"), b = tmp.resolve("spark");
        Runs.Result ra = Runs.run(generate(a)), rb = Runs.run(Runs.plus(generate(b), "--spark", "local[2]"));
        assertEquals(0, ra.exit(), ra.err());
        assertEquals(0, rb.exit(), rb.err());
        List<JsonNode> ma = manifest(a), mb = manifest(b);
        assertEquals(7, ma.size(), "a manifest line per image");
        assertEquals(ma, mb, "the manifests (times aside)");
        for (JsonNode n : ma) {
            String f = n.get("file").asText();
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
            assertEquals(n.get("sha256").asText(), sha256(Files.readAllBytes(a.resolve(f))), "the manifest's checksum of " + f);
        }
        assertEquals("PPPP".length(), ma.getFirst().get("trace").get("partial_calls").asInt(), "DeepCache N=2 over 8 steps: every other step partial");

        // resumed: the last batch (images 6) and one more (4, 5) lost from the manifest are generated again, nothing else
        List<String> lines = Files.readAllLines(b.resolve("manifest.jsonl"), StandardCharsets.UTF_8);
        Files.write(b.resolve("manifest.jsonl"), lines.subList(0, 4), StandardCharsets.UTF_8);
        Runs.Result again = Runs.run(Runs.plus(generate(b), "--spark", "local[2]"));
        assertEquals(0, again.exit(), again.err());
        assertEquals(ma, manifest(b), "the resumed manifest");
    }

    @Test
    void evaluationMeasuresTheSame() throws IOException {
        List<String> cmd = Runs.args("evaluate", "--model", Runs.MODEL.toString(), "--num-images", "8", "--batch", "4", "--steps", "8");
        Path a = tmp.resolve("local.json"), b = tmp.resolve("spark.json");
        Runs.Result ra = Runs.run(Runs.plus(cmd, "--out", a.toString())), rb = Runs.run(Runs.plus(cmd, "--out", b.toString(), "--spark", "local[2]"));
        assertEquals(0, ra.exit(), ra.err());
        assertEquals(0, rb.exit(), rb.err());
        JsonNode ja = Runs.JSON.readTree(a.toFile()), jb = Runs.JSON.readTree(b.toFile());
        for (JsonNode r : ja.get("results")) ((com.fasterxml.jackson.databind.node.ObjectNode) r).remove("seconds");
        for (JsonNode r : jb.get("results")) ((com.fasterxml.jackson.databind.node.ObjectNode) r).remove("seconds");
        assertEquals(ja.get("results"), jb.get("results"));
        assertTrue(ja.get("results").get(0).get("fd_vs_test_stats").asDouble() > 0);
        assertTrue(jb.get("ran_on").asText().contains("master local[2]"), jb.get("ran_on").asText());
    }

    static String sha256(byte[] b) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** manifest.jsonl in image order, without the time field. */
    static List<JsonNode> manifest(Path dir) throws IOException {
        List<JsonNode> lines = Runs.lines(dir.resolve("manifest.jsonl"), Set.of());
        for (JsonNode n : lines) ((com.fasterxml.jackson.databind.node.ObjectNode) n.get("trace")).remove("ms_per_image");
        return lines.stream().sorted(Comparator.comparingInt(n -> n.get("image").asInt())).toList();
    }
}
