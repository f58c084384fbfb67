package jdiffusion.sweep;

import jdiffusion.accel.PolicySpec;

import jdiffusion.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import jdiffusion.Golden;
import jdiffusion.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sweep machinery end to end, kept small (a few configurations, 2 images, few steps): on the golden
 * unet2d-tiny through the CLI (rows, CSV/JSON, plot, HTML, resume, settings check, the classifier-absent
 * note), on Fashion-MNIST-shaped stand-ins of the bundled models (FD, class accuracy, per-class skip
 * distribution, evaluate), and the planner on a hand-made results file.
 */
class SweepTest {
    @TempDir
    Path tmp;

    static CliRun run(String... args) {
        return CliRun.run(args);
    }

    static List<String> lines(Path f) throws IOException {
        return Files.readAllLines(f).stream().filter(l -> !l.isBlank()).toList();
    }

    @Test
    void sweepOnGoldenTinyWritesTheReportAndResumesWithoutRecomputing() throws IOException {
        Path out = tmp.resolve("sweep");
        String tiny = Golden.path("unet2d-tiny").toString();
        String[] base = {"sweep", "--model", tiny, "--schedulers", "ddim", "--reference-steps", "4", "--seeds", "2", "--out", out.toString(),
                "--classifier", tmp.resolve("no-classifier").toString(), "--threads", "2"};
        CliRun r = run(concat(base, "--configs", "full@2,dc-n2-b0-u@4,ad-d0.05-c2@4"));
        assertEquals(0, r.code(), r.err());

        List<String> csv = lines(out.resolve("results.csv"));
        assertEquals(1 + 4, csv.size(), "header + reference + 3 configurations");
        assertTrue(csv.getFirst().startsWith("id,scheduler,steps,family"));
        assertTrue(csv.stream().anyMatch(l -> l.startsWith("ddim/full@4,")), "the reference row");
        JsonNode json = ResultStore.JSON.readTree(out.resolve("results.json").toFile());
        assertEquals(4, json.path("rows").size());
        List<SweepRow> rows = ResultStore.readRows(out);
        SweepRow ref = rows.stream().filter(SweepRow::reference).findFirst().orElseThrow();
        assertEquals("ddim/full@4", ref.id());
        assertTrue(ref.identical());
        for (SweepRow row : rows) {
            assertTrue(row.macsPerImage() > 0 && row.msPerImage() > 0 && row.latencyMs() > 0, row.id());
            assertNull(row.fd(), "no classifier: no FD");
            assertNotNull(row.ssim());
        }
        SweepRow dc = rows.stream().filter(x -> x.id().equals("ddim/dc-n2-b0-u@4")).findFirst().orElseThrow();
        assertEquals(2, dc.fullSteps());
        assertEquals(2, dc.partialSteps());
        assertTrue(dc.macFraction() < 1 && dc.macSpeedup() > 1);
        SweepRow ad = rows.stream().filter(x -> x.family().equals("AdaptiveDiffusion")).findFirst().orElseThrow();
        assertEquals(1, ad.batch(), "AdaptiveDiffusion runs one image per batch");
        assertEquals(2, ad.runs().size(), "one run (and one skip decision record) per image");

        BufferedImage plot = ImageIO.read(out.resolve("plot-ddim.png").toFile());
        assertNotNull(plot, "plot-ddim.png is a PNG");
        assertTrue(plot.getWidth() > 600 && plot.getHeight() > 400);
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.contains("data:image/png;base64,"), "self-contained HTML with embedded plots");
        assertTrue(html.contains("Pareto") && html.contains("--configs full@2,dc-n2-b0-u@4,ad-d0.05-c2@4"), "the report states the command");
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("FD-FMNIST and class accuracy not computed"), "the missing classifier is a clear note, not a failure");
        assertTrue(md.contains("![fidelity vs MACs per image, ddim](plot-ddim.png)"));

        // resume: the finished rows are not recomputed, only the new configuration runs
        List<String> before = lines(out.resolve("rows.jsonl"));
        assertEquals(4, before.size());
        CliRun again = run(concat(base, "--configs", "full@2,dc-n2-b0-u@4,ad-d0.05-c2@4,full@3"));
        assertEquals(0, again.code(), again.err());
        List<String> after = lines(out.resolve("rows.jsonl"));
        assertEquals(5, after.size(), "one new row");
        assertEquals(before, after.subList(0, 4), "old rows untouched");
        assertTrue(after.get(4).contains("\"id\":\"ddim/full@3\""));
        assertEquals(5, lines(out.resolve("results.csv")).size() - 1);

        // a folder made with other image-defining settings is refused, not mixed
        String[] moreSeeds = base.clone();
        moreSeeds[java.util.Arrays.asList(base).indexOf("--seeds") + 1] = "3";
        CliRun other = run(concat(moreSeeds, "--configs", "full@2"));
        assertNotEquals(0, other.code());
        assertTrue(other.err().contains("holds a sweep made with seeds_per_group"), other.err());
    }

    @Test
    void classConditionalSweepMeasuresFdAccuracyAndPerClassSkips() throws IOException {
        Path model = TinyFashionModels.classConditional(tmp.resolve("models").resolve("fashion-cond-tiny"));
        TinyFashionModels.classifier(tmp.resolve("models").resolve("fmnist-classifier"));   // found beside the model
        Path out = tmp.resolve("cond");
        CliRun r = run("sweep", "--model", model.toString(), "--classes", "0,1,2", "--seeds", "2", "--schedulers", "ddim", "--reference-steps", "6",
                "--configs", "ad-d0.1-c2@6,xa@6,full@3", "--out", out.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        List<SweepRow> rows = ResultStore.readRows(out);
        assertEquals(4, rows.size());
        for (SweepRow row : rows) {
            assertNotNull(row.fd(), row.id() + ": FD with the classifier");
            assertNotNull(row.accuracy(), row.id() + ": class accuracy");
            assertEquals(6, row.images());
        }
        SweepRow ref = rows.stream().filter(SweepRow::reference).findFirst().orElseThrow();
        assertEquals(6, ref.batch(), "up to 8 images per batch under guidance");
        assertEquals(List.of("T-shirt/top … Pullover"), ref.runs().stream().map(SweepRow.RunRecord::group).toList());
        SweepRow ad = rows.stream().filter(x -> x.family().equals("AdaptiveDiffusion")).findFirst().orElseThrow();
        assertEquals(6, ad.runs().size());
        assertEquals(List.of("T-shirt/top", "T-shirt/top", "Trouser", "Trouser", "Pullover", "Pullover"),
                ad.runs().stream().map(SweepRow.RunRecord::group).toList());
        SweepRow xa = rows.stream().filter(x -> x.family().equals("xattn cache")).findFirst().orElseThrow();
        assertTrue(xa.macFraction() < 1, "CFG stops after step m: fewer MACs");
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("F (between/within classes)"), "per-class skip distribution with the test of the prompt-adaptive claim");
        assertTrue(md.contains("FD-FMNIST is the Fréchet distance"));
        assertTrue(Files.isRegularFile(out.resolve("skips-ddim.png")));
    }

    @Test
    void evaluateReportsFdBaselineAndAccuracyPerGuidance() throws IOException {
        Path models = tmp.resolve("models");
        Path cond = TinyFashionModels.classConditional(models.resolve("fashion-cond-tiny"));
        Path uncond = TinyFashionModels.unconditional(models.resolve("fashion-ddpm-tiny"));
        TinyFashionModels.classifier(models.resolve("fmnist-classifier"));
        Path json = tmp.resolve("eval.json");
        CliRun r = run("evaluate", "--model", cond.toString(), "--num-images", "4", "--steps", "2", "--guidance", "1,3", "--batch", "4",
                "--out", json.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        JsonNode root = ResultStore.JSON.readTree(json.toFile());
        assertEquals(2, root.path("results").size());
        for (JsonNode g : root.path("results")) {
            assertTrue(g.has("fd_vs_test_stats") && g.has("accuracy") && g.has("accuracy_per_class"), g.toString());
            double acc = g.path("accuracy").asDouble();
            assertTrue(acc >= 0 && acc <= 1);
        }
        if (jdiffusion.metrics.FashionMnist.locate(null) != null) {
            assertTrue(root.has("real_vs_real_fd"), "with the Fashion-MNIST data: the real-vs-real baseline");
            assertTrue(root.path("results").get(0).has("fd_vs_test_n"));
        }
        CliRun u = run("evaluate", "--model", uncond.toString(), "--num-images", "3", "--steps", "2", "--threads", "2");
        assertEquals(0, u.code(), u.err());
        CliRun bad = run("evaluate", "--model", uncond.toString(), "--num-images", "3", "--guidance", "3");
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("unconditional"), bad.err());
    }

    /** Degenerate settings (C_max 0, s 0, N 1) reproduce the reference bit for bit, at batch 1 as at batch 3. */
    @Test
    void degenerateSettingsAreIdenticalToTheReference() {
        Path out = tmp.resolve("degenerate");
        CliRun r = run("sweep", "--model", Golden.path("unet2d-tiny").toString(), "--schedulers", "dpmpp2m", "--reference-steps", "4",
                "--configs", "ad-d0.01-c0@4,mr-b0.5-s0@4,dc-n1-b0-u@4", "--seeds", "3", "--batch", "3", "--out", out.toString(),
                "--classifier", tmp.resolve("none").toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        List<SweepRow> rows = ResultStore.readRows(out);
        assertEquals(4, rows.size());
        for (SweepRow row : rows) {
            assertTrue(row.identical(), row.id() + " is bit-identical to the reference");
            assertEquals(1.0, row.macFraction(), 1e-12, row.id());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // planner, frontier, ids, statistics, store

    static SweepRow row(String id, double macs, Double lpips, Double fd, double ms) {
        SweepConfig c = SweepConfig.parse(id, "ddim");
        boolean ref = c.policy().full() && c.steps() == 50;
        return new SweepRow(c.id(), c.scheduler(), c.steps(), c.family(), c.label(), c.policy().label(), c.policy(), ref, 8, 8,
                c.steps(), 0, 0, 0, macs, ms, ms, 100, macs / 100e6, 100e6 / macs, 100 / ms, ref, ref ? null : 30.0, 0.9, lpips, fd, null,
                "F", List.of(), 1, "now", null);
    }

    static List<SweepRow> handMade() {
        return List.of(
                row("ddim/full@50", 100e6, 0.0, 5.0, 100),
                row("ddim/full@25", 50e6, 0.10, 6.0, 50),
                row("ddim/dc-n3-b0-u@50", 45e6, 0.05, 5.5, 48),
                row("ddim/ad-d0.01-c4@50", 60e6, 0.02, 5.2, 70),
                row("ddim/mr-b0.5-s0.5+dc-n2-b0-u@50", 30e6, 0.08, 4.9, 35));
    }

    @Test
    void planPicksTheBestMeasuredConfigurationWithinTheBudget() throws IOException {
        Path f = tmp.resolve("results.json");
        ResultStore.JSON.writeValue(f.toFile(), java.util.Map.of("rows", handMade()));
        CliRun a = run("plan", "--results", f.toString(), "--budget-macs", "60M");
        assertEquals(0, a.code(), a.err());
        assertTrue(a.out().contains("best: ddim/ad-d0.01-c4@50"), a.out());
        CliRun b = run("plan", "--results", f.toString(), "--speedup", "2");
        assertTrue(b.out().contains("best: ddim/dc-n3-b0-u@50"), b.out());
        assertTrue(b.out().contains("reproduce: ./jdiffusion generate --model DIR --scheduler ddim --steps 50 --accel deepcache --interval 3 --branch 0"), b.out());
        CliRun c = run("plan", "--results", f.toString(), "--budget-macs", "5e7", "--metric", "fd");
        assertTrue(c.out().contains("best: ddim/mr-b0.5-s0.5+dc-n2-b0-u@50"), c.out());
        CliRun d = run("plan", "--results", f.toString(), "--time-speedup", "1.9");
        assertTrue(d.out().contains("best: ddim/dc-n3-b0-u@50"), d.out());
        CliRun none = run("plan", "--results", f.toString(), "--budget-macs", "20M");
        assertEquals(1, none.code());
        assertTrue(none.err().contains("no measured configuration fits"), none.err());
        assertEquals(1, run("plan", "--results", f.toString()).code(), "a budget is required");
    }

    @Test
    void paretoFrontierKeepsOnlyUnbeatenRows() {
        List<SweepRow> rows = handMade();
        assertEquals(List.of("ddim/mr-b0.5-s0.5+dc-n2-b0-u@50", "ddim/dc-n3-b0-u@50", "ddim/ad-d0.01-c4@50", "ddim/full@50"),
                Pareto.frontier(rows, "lpips").stream().map(SweepRow::id).toList());
        assertEquals(List.of("ddim/mr-b0.5-s0.5+dc-n2-b0-u@50"), Pareto.frontier(rows, "fd").stream().map(SweepRow::id).toList());
        assertEquals("ddim/dc-n3-b0-u@50", Pareto.bestWithin(rows, "lpips", 50e6).id());
        assertNull(Pareto.bestWithin(rows, "lpips", 10e6));
    }

    @Test
    void configurationIdsRoundTrip() {
        List<String> ids = new ArrayList<>(Grid.policies("default", true));
        ids.addAll(Grid.policies("quick", false));
        ids.add("dc-n3-b1-nu-c12-p1.2@30");
        ids.add("xa-m7@20");
        for (String id : ids) assertEquals(id, SweepConfig.parse(id, "euler").policyId(), id);
        SweepConfig c = SweepConfig.parse("dpmpp2m/mr-b0.5-s0.2+ad-d0.02-c4+dc-n3-b0-nu+xa@50", "ddim");
        assertEquals("dpmpp2m", c.scheduler());
        assertEquals("combination", c.family());
        assertEquals("--steps 50 --accel mixed-res,adaptive,deepcache,xattn --beta 0.5 --low-res-fraction 0.2 --delta 0.02 --max-skip 4"
                + " --interval 3 --branch 0 --deepcache-schedule non-uniform", c.policy().cliFlags(50));
        assertEquals("PostDiff", PolicySpec.parse("mr-b0.5-s0.5+dc-n2-b0-u").family());
        assertEquals("hybrid cache", PolicySpec.parse("dc-n2-b0-u+xa").family());
        assertEquals(PolicySpec.FULL, PolicySpec.parse("full"));
        CliRun bad = run("sweep", "--model", Golden.path("unet2d-tiny").toString(), "--configs", "dc-q3@50", "--list", "--out", tmp.resolve("x").toString());
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("bad configuration 'dc-q3'"), bad.err());
        List<SweepConfig> grid = Grid.configs(Grid.policies("quick", false), List.of("ddim", "euler"), 50);
        assertEquals(2 * 7, grid.size(), "reference + 6 per scheduler");
        assertEquals("ddim/full@50", grid.getFirst().id());
    }

    @Test
    void skipStatisticsSeparateClassEffectsFromSeedNoise() {
        List<double[]> distinct = List.of(new double[]{10, 11, 10, 12, 11}, new double[]{20, 21, 19, 20, 22}, new double[]{30, 29, 31, 30, 30});
        assertTrue(SkipStats.fStatistic(distinct) > 100);
        assertTrue(SkipStats.permutationP(distinct, 2000, 1) < 0.01);
        List<double[]> same = List.of(new double[]{10, 20, 30, 15, 25}, new double[]{20, 10, 30, 25, 15}, new double[]{30, 20, 10, 15, 25});
        assertTrue(SkipStats.fStatistic(same) < 1);
        assertTrue(SkipStats.permutationP(same, 2000, 1) > 0.5);
        assertEquals(2.0, SkipStats.sd(new double[]{1, 3, 5}), 1e-12);
    }

    @Test
    void storeIgnoresALineCutShortByAnInterruption() throws IOException {
        Path dir = tmp.resolve("store");
        ResultStore s = ResultStore.open(dir);
        s.append(handMade().get(1));
        s.append(handMade().get(2));
        Files.writeString(dir.resolve("rows.jsonl"), "{\"id\":\"ddim/ful", java.nio.file.StandardOpenOption.APPEND);
        ResultStore again = ResultStore.open(dir);
        assertEquals(2, again.rows().size());
        assertTrue(again.has("ddim/dc-n3-b0-u@50"));
        assertFalse(again.has("ddim/full@50"));
        again.append(handMade().get(3));   // the cut line was terminated: the new row is a line of its own
        assertEquals(3, ResultStore.open(dir).rows().size());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
