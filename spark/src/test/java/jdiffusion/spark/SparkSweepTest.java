package jdiffusion.spark;

import com.fasterxml.jackson.databind.JsonNode;
import jdiffusion.sweep.ResultStore;
import jdiffusion.tensor.Tensor;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sweep on Spark in local mode gives the rows and images of the sweep without Spark, bit for bit,
 * whatever the number of executor threads, with a task that dies on its first attempt, and when resumed.
 * A small grid on the bundled 1.1 M-parameter model: every kind of configuration (a reference, fewer
 * steps, DeepCache, AdaptiveDiffusion with its one-image runs, mixed resolution, a combination), 4 images in tasks of 2, so that configurations span several tasks.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SparkSweepTest {
    /** Fields that are times (or when the row was written): the only ones allowed to differ. */
    static final Set<String> TIMES = Set.of("msPerImage", "latencyMs", "refLatencyMs", "timeSpeedup", "seconds", "finished");
    static final String CONFIGS = "full@10,dc-n3-b0-u@20,ad-d0.01-c4@20,mr-b0.5-s0.5@20,ad-d0.05-c2+dc-n2-b0-u@20";
    static final int ROWS = 6;   // the ddim reference full@20 and the five above

    @TempDir
    static Path tmp;
    static Path local;

    static List<String> sweep(Path out) {
        return Runs.args("sweep", "--model", Runs.MODEL.toString(), "--configs", CONFIGS, "--schedulers", "ddim", "--reference-steps", "20",
                "--seeds", "4", "--batch", "2", "--task-batches", "1", "--out", out.toString());
    }

    @BeforeAll
    static void sweepWithoutSpark() {
        local = tmp.resolve("local");
        Runs.Result r = Runs.run(sweep(local));
        assertEquals(0, r.exit(), r.err());
    }

    @Order(1)
    @ParameterizedTest(name = "local[{0}]")
    @ValueSource(ints = {1, 2, 4})
    void sameRowsAndImagesAsWithoutSpark(int threads) throws IOException {
        Path dir = tmp.resolve("spark-" + threads);
        Runs.Result r = Runs.run(Runs.plus(sweep(dir), "--spark", "local[" + threads + "]"));
        assertEquals(0, r.exit(), r.err());
        assertSameSweep(local, dir);
        String md = Files.readString(dir.resolve("results.md"));
        assertTrue(md.contains("on Spark") && md.contains("master local[" + threads + "]"), "the report says where the sweep ran");
    }

    @Order(2)
    @Test
    void aTaskThatDiesIsRetriedAndTheRowsAreTheSame() throws IOException {
        AtomicInteger failed = new AtomicInteger();
        Tasks.failFirstAttempt = t -> t.unit().equals("ddim/ad-d0.01-c4@20") && t.first() == 2 && failed.incrementAndGet() > 0;
        try {
            Path dir = tmp.resolve("retried");
            Runs.Result r = Runs.run(Runs.plus(sweep(dir), "--spark", "local[2,3]"));
            assertEquals(0, r.exit(), r.err());
            assertEquals(1, failed.get(), "the injected failure happened once");
            assertSameSweep(local, dir);
        } finally {
            Tasks.failFirstAttempt = null;
        }
    }

    @Order(3)
    @Test
    void aRerunSkipsWhatIsDoneAndResumesWhatIsNot() throws IOException {
        Path dir = tmp.resolve("spark-2");
        Path rows = dir.resolve("rows.jsonl");
        List<String> all = Files.readAllLines(rows, StandardCharsets.UTF_8);
        Runs.Result again = Runs.run(Runs.plus(sweep(dir), "--spark", "local[2]"));
        assertEquals(0, again.exit(), again.err());
        assertEquals(all, Files.readAllLines(rows, StandardCharsets.UTF_8), "nothing recomputed");
        Files.write(rows, all.subList(0, all.size() - 2), StandardCharsets.UTF_8);   // as if interrupted two configurations before the end
        Runs.Result resumed = Runs.run(Runs.plus(sweep(dir), "--spark", "local[2]"));
        assertEquals(0, resumed.exit(), resumed.err());
        assertSameSweep(local, dir);
    }

    @Order(4)
    @Test
    void theRowsAreAParquetTable() {
        Path table = tmp.resolve("spark-1").resolve("rows.parquet");
        assertTrue(Files.isDirectory(table), table + " written");
        SparkSession s = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try {
            List<Row> rows = s.read().parquet(table.toString()).orderBy("id").select("id", "macsPerImage", "fullSteps").collectAsList();
            List<String> ids = rows.stream().map(r -> r.getString(0)).toList();
            assertEquals(List.of("ddim/ad-d0.01-c4@20", "ddim/ad-d0.05-c2+dc-n2-b0-u@20", "ddim/dc-n3-b0-u@20", "ddim/full@10", "ddim/full@20",
                    "ddim/mr-b0.5-s0.5@20"), ids);
            double refMacs = rows.get(4).getDouble(1);
            assertTrue(refMacs > 0 && rows.get(2).getDouble(1) < refMacs, "DeepCache costs fewer MACs than the reference");
            assertEquals(20.0, rows.get(4).getDouble(2), "the reference calls the UNet at every step");
        } finally {
            s.stop();
        }
    }

    /** A configuration that cannot run is a failed row, as without Spark: the sweep finishes the others and exits 6 naming it. */
    @Order(5)
    @Test
    void aConfigurationThatCannotRunFailsTheSweepByName() {
        Runs.Result r = Runs.run(Runs.args("sweep", "--model", Runs.MODEL.toString(), "--configs", "full@10,xa@20", "--schedulers", "ddim",
                "--reference-steps", "20", "--seeds", "2", "--batch", "2", "--out", tmp.resolve("failing").toString(), "--spark", "local[2]"));
        assertEquals(jdiffusion.cli.Main.SWEEP_FAILURES, r.exit(), r.err());
        assertTrue(r.err().contains("ddim/xa@20") && r.err().contains("needs a conditional model"), r.err());
    }

    @Order(6)
    @Test
    void aBadConfigurationIdFailsBeforeSparkStarts() {
        Runs.Result r = Runs.run(Runs.args("sweep", "--model", Runs.MODEL.toString(), "--configs", "full@10,dc-n3-bX@20", "--schedulers", "ddim",
                "--out", tmp.resolve("bad").toString(), "--spark", "local[2]"));
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("dc-n3-bX"), "the error names the configuration: " + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertTrue(SparkSession.getActiveSession().isEmpty() && SparkSession.getDefaultSession().isEmpty(), "no Spark session was started");
    }

    /** rows.jsonl with the same rows in the same order (times aside), once each; the same reference and sample images. */
    static void assertSameSweep(Path expected, Path actual) throws IOException {
        List<JsonNode> want = Runs.lines(expected.resolve("rows.jsonl"), TIMES), got = Runs.lines(actual.resolve("rows.jsonl"), TIMES);
        assertEquals(ROWS, want.size(), "the sweep without Spark has a row per configuration");
        assertEquals(want, got, "rows.jsonl of " + actual + " vs " + expected);
        assertTrue(want.stream().noneMatch(n -> n.has("error")), "every configuration of the grid runs on this model");
        List<Path> images = new ArrayList<>();
        try (Stream<Path> s = Files.walk(expected.resolve("cache"))) {
            s.filter(p -> p.toString().endsWith(".safetensors")).forEach(images::add);
        }
        assertEquals(7, images.size(), "the reference's images, and a grid's samples of each row");
        for (Path e : images) {
            Tensor a = ResultStore.readImages(e), b = ResultStore.readImages(actual.resolve(expected.relativize(e)));
            assertNotNull(b, actual.resolve(expected.relativize(e)) + " is missing");
            assertArrayEquals(a.shape(), b.shape());
            assertArrayEquals(a.data(), b.data(), "images of " + e.getFileName() + " differ");
        }
    }
}
