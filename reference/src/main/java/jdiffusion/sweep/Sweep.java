package jdiffusion.sweep;

import jdiffusion.accel.PolicySpec;

import jdiffusion.kernels.Backend;
import jdiffusion.sample.Generation;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.sample.StepPolicy;
import jdiffusion.sample.Trace;
import jdiffusion.schedule.Schedulers;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.config.SchedulerConfig;

import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs a grid of configurations on one model from the same seeds and stores a row per configuration
 * (see {@link SweepRow}); finished rows already in the store are not recomputed, so an interrupted sweep
 * resumes where it stopped. A configuration that failed is stored as a failed row (for the report) and
 * run again by the next sweep into the same folder.
 *
 * <p>Per scheduler, the full-step reference (R steps, usually 50) runs first; its images are cached in
 * the store and every other configuration of that scheduler is compared with them. MACs are counted by
 * the engine (Trace.totalMacs), time is the sampling loop's wall time (Trace.totalMs), both per image.
 *
 * <p>AdaptiveDiffusion decides once per batch (its criterion averages over the batch), so
 * configurations that contain it run one image per batch: every image (seed, class or prompt) gets its
 * own decisions, which the row's {@code runs} record for the skip distribution.
 *
 * <p>Time: each row's latency is the robust per-step-median estimate of {@link SweepRow#latencyMs()}
 * (raw totals are kept too), and its time speedup is taken against the reference's latency measured by
 * short probes right before and after the configuration, at its batch size (batching alone
 * changes the time per image, and the load of a shared machine drifts over minutes).
 *
 * <p>One task is one call of {@link #part}: images [first, first + n) of a configuration, sampled in the
 * same batches as a run of all images. Here a configuration is one part of all its images; a cluster
 * (the spark module) runs the parts of many configurations at once through a {@link Source}, and this
 * class puts them together, measures and stores the row exactly as it does for its own parts.
 */
public final class Sweep {
    private final Pipeline pipeline;
    private final Backend backend;
    private final ImageSet set;
    private final Evaluator evaluator;
    private final ResultStore store;
    private final int batch;
    private final long seed;
    private final PrintStream log;
    private final Map<String, SchedulerConfig> schedulers = new ConcurrentHashMap<>();
    private volatile boolean warm;
    private Source source = this::localParts;

    /**
     * @param batch images per UNet batch for configurations without AdaptiveDiffusion
     */
    public Sweep(Pipeline pipeline, Backend backend, ImageSet set, Evaluator evaluator, ResultStore store, int batch, long seed, PrintStream log) {
        if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
        this.pipeline = pipeline;
        this.backend = backend;
        this.set = set;
        this.evaluator = evaluator;
        this.store = store;
        this.batch = batch;
        this.seed = seed;
        this.log = log;
    }

    /**
     * A sweep that only computes parts ({@link #part}) for a driver elsewhere: no metrics, no store. Safe
     * to share between threads (tasks of one executor).
     */
    public static Sweep worker(Pipeline pipeline, Backend backend, ImageSet set, int batch, long seed) {
        return new Sweep(pipeline, backend, set, null, null, batch, seed, new PrintStream(java.io.OutputStream.nullOutputStream()));
    }

    /**
     * One task's result: images [first, first + n) of a configuration with one trace per batch, the wall
     * time, and for a configuration that is not its scheduler's reference the reference's time per image
     * measured right before and after, at the same batch size (NaN for a reference).
     */
    public record Part(int first, Generation generation, double refLatencyMs, double seconds) {
    }

    /** Where a configuration's parts come from: {@link #part} here (the default), or tasks running it on a cluster. */
    @FunctionalInterface
    public interface Source {
        /** All images of {@code c} as parts in image order; an IllegalArgumentException/IllegalStateException makes a failed row. */
        List<Part> parts(SweepConfig c, int referenceSteps);
    }

    /** Takes the configurations' images from {@code s} instead of computing them here. */
    public Sweep source(Source s) {
        this.source = s;
        return this;
    }

    private List<Part> localParts(SweepConfig c, int referenceSteps) {
        return List.of(part(c, 0, set.images(), referenceSteps));
    }

    /** Whether {@link #run} computes {@code c} (it is not in the store, or is a reference whose images are gone). */
    public boolean pending(SweepConfig c, int referenceSteps) {
        SweepRow have = store.get(c.id());
        return have == null || have.failed()   // a failed configuration is retried on every run
                || isReference(c, referenceSteps) && ResultStore.readImages(store.referenceFile(c.scheduler())) == null;
    }

    private static boolean isReference(SweepConfig c, int referenceSteps) {
        return c.policy().full() && c.steps() == referenceSteps;
    }

    /** What a run did: rows computed now, rows found in the store, failures. */
    public record Outcome(int computed, int resumed, int failed, double seconds) {
    }

    /** Runs every configuration not yet in the store, or failed there; references (full-step at R steps) first per scheduler. */
    public Outcome run(List<SweepConfig> configs, int referenceSteps) {
        long t0 = System.nanoTime();
        int total = configs.size(), done = 0, computed = 0, resumed = 0, failed = 0;
        double costDone = 0, secDone = 0, costLeft = 0;
        for (SweepConfig c : configs) if (pending(c, referenceSteps)) costLeft += cost(c);
        for (SweepConfig c : configs) {
            done++;
            String tag = String.format("[%" + String.valueOf(total).length() + "d/%d] %-40s", done, total, c.id());
            SweepRow have = store.get(c.id());
            boolean isRef = isReference(c, referenceSteps);
            if (!pending(c, referenceSteps)) {
                resumed++;
                log.println(tag + " done before (" + summary(have) + ")");
                continue;
            }
            double cost = cost(c);
            log.println(tag + (have != null && have.failed() ? " retrying (failed before: " + have.error() + "): " : " running: ")
                    + (c.policy().full() ? "" : c.family() + ", ") + c.label() + (c.adaptive() ? " (one image per batch)" : ""));
            long s0 = System.nanoTime();
            SweepRow row;
            try {
                row = isRef ? runReference(c, referenceSteps) : runConfig(c, referenceSteps);
            } catch (IllegalArgumentException | IllegalStateException e) {
                row = SweepRow.failure(c, e.getMessage());
                store.append(row);
                failed++;
                log.println(tag + " FAILED: " + e.getMessage());
                costLeft -= cost;
                continue;
            }
            double sec = (System.nanoTime() - s0) / 1e9;
            computed++;
            costDone += cost;
            secDone += sec;
            costLeft -= cost;
            double eta = costLeft <= 0 ? 0 : secDone / costDone * costLeft;
            log.println(tag + " " + summary(row) + String.format(" | %.1f s | elapsed %s, ETA %s", sec,
                    duration((System.nanoTime() - t0) / 1e9), duration(eta)));
        }
        return new Outcome(computed, resumed, failed, (System.nanoTime() - t0) / 1e9);
    }

    /** Relative cost for the ETA: UNet evaluations, batch-1 runs counted 1.5× (less batching). */
    private double cost(SweepConfig c) {
        return (double) c.steps() * set.images() * (c.adaptive() && batch > 1 ? 1.5 : 1.0);
    }

    static String summary(SweepRow r) {
        if (r.failed()) return "failed: " + r.error();
        StringBuilder sb = new StringBuilder(String.format("MACs %5.1f%% | %6.1f ms/img (%.2fx)", 100 * r.macFraction(), r.latencyMs(), r.timeSpeedup()));
        if (r.psnr() != null) sb.append(String.format(" | PSNR %.2f", r.psnr()));
        else if (r.identical()) sb.append(" | identical");
        if (r.lpips() != null) sb.append(String.format(" LPIPS %.4f", r.lpips()));
        if (r.fd() != null) sb.append(String.format(" FD %.3f", r.fd()));
        if (r.accuracy() != null) sb.append(String.format(" acc %.3f", r.accuracy()));
        if (r.skippedSteps() > 0) sb.append(String.format(" | %.1f skipped", r.skippedSteps()));
        return sb.toString();
    }

    static String duration(double s) {
        if (s < 90) return String.format("%.0fs", s);
        if (s < 5400) return String.format("%dm%02ds", (long) s / 60, (long) s % 60);
        return String.format("%dh%02dm", (long) s / 3600, ((long) s % 3600) / 60);
    }

    private SchedulerConfig schedulerConfig(String name) {
        return schedulers.computeIfAbsent(name, n -> resolveScheduler(n));
    }

    private SchedulerConfig resolveScheduler(String name) {
        Schedulers.Resolved r = Schedulers.resolve(name, pipeline.schedulerConfig(), 0);
        r.notes().forEach(n -> System.err.println("note: " + n));
        return r.config();
    }

    /** Images [first, first + images) of configuration {@code c} in batches of {@code runBatch}, as a run of all images makes them. */
    private Generation generate(SweepConfig c, int first, int images, int runBatch) {
        warmUp();
        SchedulerConfig cfg = schedulerConfig(c.scheduler());
        Generation.Settings s = new Generation.Settings(images, runBatch, c.steps(), seed);
        NoiseSource policyRng = new NoiseSource(seed).fork("policy");
        return Generation.run(pipeline, () -> Schedulers.create(cfg, 0), backend, set.all(), s, first,
                b -> c.policy().build(pipeline, policyRng.fork("image-" + b * runBatch), c.steps()), batchProgress(images, runBatch));
    }

    /**
     * Untimed runs before the first timed configuration (a few steps at the sweep's batch size and at
     * batch 1), so that JIT compilation does not count against whichever configuration comes first.
     */
    private synchronized void warmUp() {
        if (warm) return;
        warm = true;
        SchedulerConfig cfg = schedulerConfig(Schedulers.name(SchedulerConfig.Kind.DDIM));
        int k = Math.min(batch, set.images());
        Generation.run(pipeline, () -> Schedulers.create(cfg, 0), backend, set.slice(0, k), new Generation.Settings(k, k, 8, seed),
                b -> StepPolicy.NONE, Progress.NONE);
        Generation.run(pipeline, () -> Schedulers.create(cfg, 0), backend, set.slice(0, 1), new Generation.Settings(1, 1, 4, seed),
                b -> StepPolicy.NONE, Progress.NONE);
    }

    /** Prints a line per finished batch when a configuration runs long. */
    private Progress batchProgress(int images, int runBatch) {
        int batches = (images + runBatch - 1) / runBatch;
        long start = System.nanoTime();
        long[] last = {start};
        int[] finished = {0};
        return (label, done, total, detail) -> {
            if (done < total) return;
            finished[0]++;
            long now = System.nanoTime();
            if ((now - last[0]) / 1e9 >= 30 && finished[0] < batches) {
                last[0] = now;
                double el = (now - start) / 1e9;
                log.printf("        batch %d/%d (%s, about %s left)%n", finished[0], batches, duration(el),
                        duration(el / finished[0] * (batches - finished[0])));
            }
        };
    }

    /**
     * One task: images [first, first + count) of {@code c} (first at a batch boundary), computed exactly as
     * in a run of all images, with the reference's time per image measured right before and after unless
     * {@code c} is the reference itself.
     */
    public Part part(SweepConfig c, int first, int count, int referenceSteps) {
        long s0 = System.nanoTime();
        int runBatch = c.adaptive() ? 1 : batch;
        if (first < 0 || count < 1 || first + count > set.images())
            throw new IllegalArgumentException("images [" + first + ", " + (first + count) + ") of " + c.id() + " are outside the sweep's " + set.images() + " images");
        if (isReference(c, referenceSteps)) {
            Generation g = generate(c, first, count, runBatch);
            return new Part(first, g, Double.NaN, (System.nanoTime() - s0) / 1e9);
        }
        SweepConfig rc = Grid.reference(c.scheduler(), referenceSteps);
        double before = referenceLatencyNow(rc, runBatch);
        Generation g = generate(c, first, count, runBatch);
        double refMs = (before + referenceLatencyNow(rc, runBatch)) / 2;
        return new Part(first, g, refMs, (System.nanoTime() - s0) / 1e9);
    }

    /** The parts of {@code c} from the source, checked to be all its images in order. */
    private List<Part> parts(SweepConfig c, int referenceSteps) {
        List<Part> parts = source.parts(c, referenceSteps);
        int next = 0;
        for (Part p : parts) {
            if (p.first() != next) throw new IllegalStateException(c.id() + ": a part starts at image " + p.first() + ", expected " + next);
            next += p.generation().images().dim(0);
        }
        if (next != set.images()) throw new IllegalStateException(c.id() + ": the parts hold " + next + " images, expected " + set.images());
        return parts;
    }

    private static double seconds(List<Part> parts, long since) {
        return parts.stream().mapToDouble(Part::seconds).sum() + (System.nanoTime() - since) / 1e9;
    }

    private SweepRow runReference(SweepConfig c, int referenceSteps) {
        List<Part> parts = parts(c, referenceSteps);
        long s0 = System.nanoTime();
        Generation g = Generation.concat(parts.stream().map(Part::generation).toList());
        ResultStore.writeImages(store.referenceFile(c.scheduler()), g.images());
        ResultStore.writeImages(store.samplesFile(c.id()), samples(g.images()));
        Evaluator.Metrics m = evaluator.evaluate(g.images(), g.images(), set.classes());
        SweepRow row = row(c, g, batch, m, null, latency(g.traces(), batch, set.images()), seconds(parts, s0));
        store.append(row);
        return row;
    }

    private SweepRow runConfig(SweepConfig c, int referenceSteps) {
        SweepConfig rc = Grid.reference(c.scheduler(), referenceSteps);
        SweepRow ref = store.get(rc.id());
        Tensor refImages = ResultStore.readImages(store.referenceFile(c.scheduler()));
        if (ref == null || ref.failed() || refImages == null || refImages.dim(0) != set.images()) {
            log.println("        (the reference " + rc.id() + " first)");
            ref = runReference(rc, referenceSteps);
            refImages = ResultStore.readImages(store.referenceFile(c.scheduler()));
        }
        int runBatch = c.adaptive() ? 1 : batch;
        List<Part> parts = parts(c, referenceSteps);
        long s0 = System.nanoTime();
        Generation g = Generation.concat(parts.stream().map(Part::generation).toList());
        double refMs = parts.stream().mapToDouble(Part::refLatencyMs).average().orElseThrow();
        Evaluator.Metrics m = evaluator.evaluate(g.images(), refImages, set.classes());
        ResultStore.writeImages(store.samplesFile(c.id()), samples(g.images()));
        SweepRow row = row(c, g, runBatch, m, ref, refMs, seconds(parts, s0));
        store.append(row);
        return row;
    }

    /** Image-steps of each timing probe (at least 6 steps): about a second or two of sampling. */
    static final int PROBE_IMAGE_STEPS = 48;

    /**
     * The reference's time per image at {@code runBatch}, measured now: full steps of one batch, their
     * median time per image × the reference's steps. Probes run right before and right after each
     * configuration and are averaged, so that the load other work puts on the machine, which drifts
     * over seconds and minutes, weighs on both sides of the time speedup alike.
     */
    private double referenceLatencyNow(SweepConfig rc, int runBatch) {
        int k = Math.min(runBatch, set.images());
        int steps = Math.min(rc.steps(), Math.max(6, PROBE_IMAGE_STEPS / k));
        SweepConfig probe = new SweepConfig(rc.scheduler(), steps, PolicySpec.FULL);
        Generation g = generate(probe, 0, k, k);
        double[] perImage = g.traces().getFirst().records().stream().mapToDouble(r -> r.ms() / k).sorted().toArray();
        double median = perImage.length % 2 == 1 ? perImage[perImage.length / 2] : (perImage[perImage.length / 2 - 1] + perImage[perImage.length / 2]) / 2;
        return median * rc.steps();
    }

    /**
     * Time per image, robust to other work on the machine: for each kind of step (the trace's action:
     * full, partial, skipped, low-res full, ...) the median over all steps of that kind of the step's
     * time per image in its run, summed over every step of every run, divided by the images.
     */
    static double latency(List<Trace> traces, int runBatch, int images) {
        Map<String, List<Double>> perKind = new HashMap<>();
        for (int b = 0; b < traces.size(); b++) {
            int k = Math.min(runBatch, images - b * runBatch);
            for (var r : traces.get(b).records()) perKind.computeIfAbsent(r.label(), a -> new ArrayList<>()).add(r.ms() / k);
        }
        Map<String, Double> median = new HashMap<>();
        perKind.forEach((kind, v) -> {
            double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            median.put(kind, a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2);
        });
        double total = 0;
        for (int b = 0; b < traces.size(); b++) {
            int k = Math.min(runBatch, images - b * runBatch);
            for (var r : traces.get(b).records()) total += median.get(r.label()) * k;
        }
        return total / images;
    }

    private Tensor samples(Tensor images) {
        int[] idx = set.sampleIndices();
        Tensor[] parts = new Tensor[idx.length];
        for (int i = 0; i < idx.length; i++) parts[i] = images.slice0(idx[i], 1);
        return Tensor.cat0(parts).copy();
    }

    private SweepRow row(SweepConfig c, Generation g, int runBatch, Evaluator.Metrics m, SweepRow ref, double refMs, double seconds) {
        List<SweepRow.RunRecord> runs = new ArrayList<>();
        double full = 0, partial = 0, skipped = 0, low = 0;
        List<Trace> traces = g.traces();
        for (int b = 0; b < traces.size(); b++) {
            Trace t = traces.get(b);
            String pat = t.pattern();
            int sk = (int) pat.chars().filter(ch -> ch == 'S' || ch == 's').count();
            int first = b * runBatch;
            int k = Math.min(runBatch, set.images() - first);
            String g0 = set.groupOf(first), g1 = set.groupOf(first + k - 1);
            runs.add(new SweepRow.RunRecord(g0.equals(g1) ? g0 : g0 + " … " + g1, first, k, sk, pat));
            full += t.unetCalls();
            partial += t.partialCalls();
            skipped += sk;
            low += pat.chars().filter(Character::isLowerCase).count();
        }
        int n = traces.size();
        double macs = (double) g.totalMacs() / set.images(), ms = g.totalMs() / set.images(), lat = latency(traces, runBatch, set.images());
        double refMacs = ref == null ? macs : ref.macsPerImage();
        String describe = c.policy().build(pipeline, new NoiseSource(0), c.steps()).describe();
        return new SweepRow(c.id(), c.scheduler(), c.steps(), c.family(), c.label(), describe, c.policy(), ref == null, set.images(), runBatch,
                full / n, partial / n, skipped / n, low / n, macs, ms, lat, refMs, macs / refMacs, refMacs / macs, refMs / lat,
                m.identical(), m.psnr(), m.ssim(), m.lpips(), m.fd(), m.accuracy(), traces.getFirst().pattern(),
                List.copyOf(runs), seconds, Instant.now().toString(), null);
    }
}
