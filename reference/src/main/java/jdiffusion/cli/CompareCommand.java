package jdiffusion.cli;

import jdiffusion.image.Images;

import jdiffusion.kernels.Backend;
import jdiffusion.metrics.ImageMetrics;
import jdiffusion.metrics.Lpips;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Generation;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.sample.StepPolicy;
import jdiffusion.sample.Trace;
import jdiffusion.schedule.Scheduler;
import jdiffusion.schedule.Schedulers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

/** Full-step vs accelerated sampling from the same noise: cost, speed and fidelity side by side. */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {"Run full-step and accelerated sampling from the same noise and compare them:",
                "UNet calls, sample evaluations (UNet runs counted per image), MACs, wall time, speedup, PSNR, SSIM",
                "(and LPIPS with --lpips DIR).",
                "Writes a side-by-side PNG with a strip per run showing which steps ran the UNet."})
public final class CompareCommand implements Callable<Integer> {
    @Option(names = "--num-images", defaultValue = "8", description = "Images per run (default 8).")
    int numImages;

    @Option(names = "--batch", description = "Images per UNet batch (default: all). Policies decide per batch, AdaptiveDiffusion per sample with --adaptive-scope sample.")
    Integer batch;

    @Option(names = "--lpips", description = "Folder (or file) with lpips-squeeze-v0.1.safetensors to add LPIPS to the table.")
    Path lpips;

    @Option(names = "--out", defaultValue = "compare.png", description = "Side-by-side PNG (default compare.png).")
    Path out;

    @Option(names = "--warmup-seconds", defaultValue = "5", description = "Untimed warm-up before the timed runs, so JIT compilation is not timed (default 5).")
    double warmupSeconds;

    @Option(names = "--trace", description = "Write the accelerated run's trace (first batch) as JSON.")
    Path trace;

    @Mixin
    SamplingOptions sampling;

    @Override
    public Integer call() {
        Checks.atLeast("--num-images", numImages, 1);
        if (batch != null) Checks.atLeast("--batch", batch, 1);
        if (warmupSeconds < 0) throw new IllegalArgumentException("--warmup-seconds must be ≥ 0, got " + warmupSeconds);
        Checks.outputs("--out", out, "--trace", trace);
        Pipeline p = sampling.load();
        Backend backend = sampling.backend();
        Schedulers.Resolved sched = sampling.scheduler(p);
        sched.create().setTimesteps(sampling.steps());   // a step count the scheduler cannot make is refused before anything else
        int[] img = SweepCommand.imageShape(p);
        long gridPixels = Images.gridPixels(numImages, (int) Math.ceil(Math.sqrt(numImages)), img[1], img[2], Images.defaultScale(img[1]));
        // two grids, the side-by-side image of both, and its PNG encoding: 4 bytes a pixel each
        sampling.checkMemory("compare", p, backend, numImages, batch == null ? numImages : batch, 2, 16 * gridPixels, "the side-by-side PNG");
        Conditioning all = sampling.conditioning(p, numImages);
        Generation.Settings settings = new Generation.Settings(numImages, batch == null ? numImages : batch, sampling.steps(), sampling.seed());
        StepPolicy probe = sampling.policyPerBatch(p).apply(0);
        if (probe == StepPolicy.NONE) throw new IllegalArgumentException("compare needs an acceleration to compare with: give --accel METHOD");
        warmUp(p, backend, all, sched, settings.batch());
        System.err.println("full-step run:");
        Generation full = Generation.run(p, sched::create, backend, all, settings, b -> StepPolicy.NONE, Progress.console());
        System.err.println("accelerated run: " + probe.describe());
        Generation fast = Generation.run(p, sched::create, backend, all, settings, sampling.policyPerBatch(p), Progress.console());

        double psnr = ImageMetrics.psnr(fast.images(), full.images()), ssim = ImageMetrics.ssim(fast.images(), full.images());
        Double lp = null;
        if (lpips != null) lp = Arrays.stream(Lpips.load(lpips).distance(backend, fast.images(), full.images())).average().orElse(0);
        String header = String.format("%-44s %9s %12s %12s %10s %9s %9s %8s %8s%s", "run", "UNet calls", "sample evals", "GMACs", "wall ms", "MAC x", "time x", "PSNR dB", "SSIM", lp == null ? "" : "    LPIPS");
        System.out.println(header);
        System.out.println(row("full-step", full, full, Double.POSITIVE_INFINITY, 1.0, lp == null ? null : 0.0));
        System.out.println(row(probe.describe(), fast, full, psnr, ssim, lp));
        System.out.println("pattern (F full, P partial, S skipped; lower case at low resolution), first batch:");
        System.out.println("  full-step   " + full.traces().getFirst().pattern());
        System.out.println("  accelerated " + fast.traces().getFirst().pattern());
        Trace first = fast.traces().getFirst();
        if (first.perSample())
            for (int j = 0; j < first.batch(); j++) System.out.printf("    sample %-3d %s%n", j, first.samplePattern(j));
        Images.writePng(sideBySide(full, fast, probe.describe()), out);   // the main output first
        System.out.println("wrote " + out);
        if (trace != null) {
            fast.traces().getFirst().writeJson(trace);
            System.out.println("wrote " + trace);
        }
        return 0;
    }

    /**
     * Untimed one-step runs at the timed runs' batch size until --warmup-seconds have passed (at least
     * two), so that JIT compilation (seconds for the vector kernels) does not count against the
     * full-step run, which goes first.
     */
    private void warmUp(Pipeline p, Backend backend, Conditioning all, Schedulers.Resolved sched, int batchSize) {
        long end = System.nanoTime() + (long) (warmupSeconds * 1e9);
        var settings = new Generation.Settings(batchSize, batchSize, 1, sampling.seed());
        Conditioning c = all == null ? null : all.slice(0, batchSize);
        for (int i = 0; i < 2 || System.nanoTime() < end; i++)
            Generation.run(p, sched::create, backend, c, settings, b -> StepPolicy.NONE, Progress.NONE);
    }

    private static String row(String name, Generation g, Generation ref, double psnr, double ssim, Double lp) {
        return String.format("%-44s %9d %12d %12.3f %10.0f %9.2f %9.2f %8s %8.4f%s", name, g.unetCalls(), g.sampleEvaluations(), g.totalMacs() / 1e9, g.totalMs(),
                (double) ref.totalMacs() / g.totalMacs(), ref.totalMs() / g.totalMs(),
                Double.isInfinite(psnr) ? "inf" : String.format("%.2f", psnr), ssim, lp == null ? "" : String.format(" %8.4f", lp));
    }

    /** Full-step grid | accelerated grid, each over a strip of coloured cells, one per step. */
    static BufferedImage sideBySide(Generation full, Generation fast, String label) {
        int cols = (int) Math.ceil(Math.sqrt(full.images().dim(0)));
        int scale = Images.defaultScale(full.images().dim(2));
        BufferedImage a = Images.grid(full.images(), cols, scale), b = Images.grid(fast.images(), cols, scale);
        int strip = 18, title = 18, gap = 12;
        int w = a.getWidth() + b.getWidth() + gap, h = title + Math.max(a.getHeight(), b.getHeight()) + strip + 4;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString("full-step", 4, 13);
        g.drawString(label, a.getWidth() + gap + 4, 13);
        g.drawImage(a, 0, title, null);
        g.drawImage(b, a.getWidth() + gap, title, null);
        drawStrip(g, full.traces().getFirst(), 0, title + a.getHeight() + 2, a.getWidth(), strip);
        drawStrip(g, fast.traces().getFirst(), a.getWidth() + gap, title + b.getHeight() + 2, b.getWidth(), strip);
        g.dispose();
        return img;
    }

    private static void drawStrip(Graphics2D g, Trace t, int x, int y, int width, int height) {
        String pat = t.pattern();
        double cell = (double) width / pat.length();
        for (int i = 0; i < pat.length(); i++) {
            char c = pat.charAt(i);
            Color col = switch (Character.toUpperCase(c)) {
                case 'F' -> new Color(40, 160, 60);
                case 'P' -> new Color(240, 180, 30);
                default -> new Color(210, 50, 50);
            };
            if (Character.isLowerCase(c)) col = col.darker();
            g.setColor(col);
            g.fillRect(x + (int) (i * cell), y, Math.max(1, (int) Math.ceil(cell) - 1), height);
        }
    }
}
