package jdiffusion.cli;

import jdiffusion.kernels.Backend;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.kernels.GemmBench;
import jdiffusion.kernels.MacCounter;
import jdiffusion.kernels.ProfilingBackend;
import jdiffusion.kernels.ShapeOnlyBackend;
import jdiffusion.kernels.VectorWidth;
import jdiffusion.nn.Architectures;
import jdiffusion.nn.ClipTextModel;
import jdiffusion.nn.Ctx;
import jdiffusion.nn.UNet;
import jdiffusion.nn.VaeDecoder;
import jdiffusion.nn.WeightPrecision;
import jdiffusion.sample.MemoryBudget;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.tensor.Tensor;
import jdiffusion.tensor.TensorArena;
import jdiffusion.weights.layout.ModelFolder;
import jdiffusion.weights.layout.PipelineFolder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Times one UNet forward pass: a published architecture with random weights (no download) or any model
 * folder. Reports the median over timed runs, the MAC rate, the fraction of the machine's GEMM ceiling
 * and peak memory. {@code --arch clip-l} times SD 1.5's text encoder instead (one encoding of --batch prompts,
 * and the time per prompt), {@code --arch sd-vae} SD 1.5's VAE decoder (one decode of --batch latents to --size×--size
 * images). The last line is always {@code median_ms=<number>} for scripts.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Time one UNet forward pass (median of --runs after --warmup) and report GMAC/s, the fraction of the",
                "GEMM ceiling and peak memory. Published architectures get seeded random weights (nothing is downloaded).",
                "The last output line is median_ms=<number>."})
public final class BenchCommand implements Callable<Integer> {
    /** PyTorch 1.13 / oneDNN float32 GEMM 2048³ on this machine kind, 2 threads (the reference). */
    static final double PYTORCH_GEMM_GFLOPS = 134.0;

    @Option(names = "--arch", description = {"A published architecture with random weights: sd15 or ddpm-cifar10 (UNets),",
            "clip-l (SD 1.5's CLIP text encoder: --batch prompts of --tokens ids),",
            "or sd-vae (SD 1.5's VAE decoder: --batch latents decoded to --size×--size images)."})
    String arch;

    @Option(names = "--size", description = "sd-vae only: the decoded image's height and width (default the config's 512; latents are size/8).")
    Integer size;

    @Option(names = "--model", description = "A model folder (UNet folder or pipeline folder) instead of --arch.")
    Path model;

    @Option(names = "--latent", description = "Spatial size of the sample (default: the config's sample_size; sd15 uses 32 or 64).")
    Integer latent;

    @Option(names = "--batch", defaultValue = "1", description = "Batch size (default 1).")
    int batch;

    @Option(names = "--tokens", defaultValue = "77",
            description = "Context tokens for conditional UNets, or the prompt length for clip-l (default 77, as CLIP).")
    int tokens;

    @Option(names = "--runs", defaultValue = "5", description = "Timed runs (default 5).")
    int runs;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed warm-up runs, at least (default 2).")
    int warmup;

    @Option(names = "--warmup-seconds", defaultValue = "8",
            description = "Warm up for at least this many seconds, so the JIT has compiled the hot code (default 8).")
    double warmupSeconds;

    @Option(names = "--warmup-max-seconds", defaultValue = "120",
            description = {"Then keep warming up until the last 3 runs are within 10%% of the fastest so far (the JIT's",
                    "optimised code has arrived, the heap has stopped growing), but stop after this many seconds (default 120)."})
    double warmupMaxSeconds;

    @Option(names = "--seed", defaultValue = "0", description = "Seed for random weights and inputs.")
    long seed;

    @Option(names = "--profile", description = "After the timed runs, one more run with a per-operation time table.")
    boolean profile;

    @Option(names = "--gemm-size", defaultValue = "2048", description = "Size n of the n³ GEMM measured as the ceiling (0 = skip).")
    int gemmSize;


    @Option(names = "--gemm-only", description = "Only measure the float32 GEMM of --gemm-size (median of --runs); no model.")
    boolean gemmOnly;

    @Mixin
    BackendOptions backendOptions;

    @Override
    public Integer call() {
        if (gemmOnly) return gemmOnly();
        if ((arch == null) == (model == null)) throw new IllegalArgumentException("give exactly one of --arch NAME or --model DIR");
        if (batch < 1 || runs < 1 || warmup < 0 || tokens < 1) throw new IllegalArgumentException("--batch, --runs, --tokens must be ≥ 1 and --warmup ≥ 0");
        if (latent != null) Checks.atLeast("--latent", latent, 1);
        Checks.between("--gemm-size", gemmSize, 0, MAX_GEMM);
        if (!(warmupSeconds >= 0) || !(warmupMaxSeconds >= 0))
            throw new IllegalArgumentException("--warmup-seconds and --warmup-max-seconds must be ≥ 0, got " + warmupSeconds + " and " + warmupMaxSeconds);
        if (size != null && (arch == null || !Architectures.VAES.contains(arch)))
            throw new IllegalArgumentException("--size is the decoded image size of --arch " + String.join("|", Architectures.VAES) + "; UNets take --latent");
        if (arch != null && Architectures.VAES.contains(arch)) return benchVae();
        if (arch != null && Architectures.TEXT_ENCODERS.contains(arch)) return benchTextEncoder();
        String load0 = loadAverage();
        long tLoad = System.nanoTime();
        WeightPrecision precision = backendOptions.weightPrecision();
        UNet unet = arch != null ? Architectures.random(arch, seed, precision) : loadFolder(model, precision);
        double loadS = (System.nanoTime() - tLoad) / 1e9;
        long modelBytes = heapAfterGc();
        int size = latent != null ? latent : unet.sampleSize();
        if (size % unet.sizeMultiple() != 0) throw new IllegalArgumentException("--latent must be a multiple of " + unet.sizeMultiple());
        Backend backend = backendOptions.create();
        var f = MemoryBudget.unet(unet, backend, batch, size, size, tokens);
        // the model is loaded: its live heap stands for the weights
        new MemoryBudget.Estimate(modelBytes, f.winogradCache(), f.activations(), List.of()).plus(gemmBytes(backend), "the GEMM ceiling's matrices")
                .check("bench of batch " + batch + " at " + size + "×" + size, precision, "a smaller --batch or --latent", "a smaller --gemm-size");
        NoiseSource rng = new NoiseSource(seed);
        Tensor sample = rng.fork("sample").gaussian(batch, unet.inChannels(), size, size);
        float[] ts = new float[batch];
        Arrays.fill(ts, 500f);
        Tensor context = unet.conditional() ? rng.fork("context").gaussian(batch, tokens, unet.crossAttentionDim()) : null;
        String name = arch != null ? arch : model.toString();

        MacCounter counter = new MacCounter(new ShapeOnlyBackend());
        unet.forward(new Ctx(counter), sample, ts, context);
        long macs = counter.macs();

        int threads = backend instanceof CpuBackend cb ? cb.threads() : 1;
        System.out.printf("bench: %s (%s, %.2f M parameters, weights %s, built in %.1f s), sample %s%s, backend %s, %d thread(s)%n", name,
                unet.kind(), unet.parameterCount() / 1e6, precision.name().toLowerCase(java.util.Locale.ROOT), loadS, Arrays.toString(sample.shape()),
                context == null ? "" : ", context " + Arrays.toString(context.shape()), backend.name(), threads);
        if (backend instanceof CpuBackend) System.out.println(VectorWidth.describe());
        System.out.printf("model_heap_mib=%d (live heap after loading, mostly the weights)%n", modelBytes >> 20);
        System.out.printf("macs_per_forward=%.3f G   load average before: %s%n", macs / 1e9, load0);
        double[] ms = timeRuns(backend, c -> unet.forward(c, sample, ts, context));
        double median = median(ms);
        double gmacs = macs / (median * 1e6);
        System.out.printf("median_ms=%.1f  min_ms=%.1f  GMAC/s=%.1f  (%.0f%% of PyTorch's GEMM ceiling %.0f GFLOP/s = %.0f GMAC/s)%n",
                median, Arrays.stream(ms).min().orElse(0), gmacs, 100 * gmacs / (PYTORCH_GEMM_GFLOPS / 2), PYTORCH_GEMM_GFLOPS, PYTORCH_GEMM_GFLOPS / 2);
        if (gemmSize > 0 && backend instanceof CpuBackend cb) {
            // the model's passes are over: the arena's free buffers go back to the heap before the ceiling's matrices
            // are allocated (as PyTorch's allocator gives freed activations to its matmul), so the peak memory is the
            // model's, not the model's plus this measurement's
            if (cb.arena() != null) cb.arena().trim();
            System.gc();
            GemmBench.Result gr = GemmBench.measure(cb, gemmSize, 5);
            double gf = gr.gflops();
            System.out.printf("gemm_%d=%.1f GFLOP/s (%.0f%% of PyTorch's %.0f), %.1f GFLOP per CPU-second; model at %.0f%% of this GEMM's MAC rate%n",
                    gemmSize, gf, 100 * gf / PYTORCH_GEMM_GFLOPS, PYTORCH_GEMM_GFLOPS, gr.gflopsPerCpuSecond(), 100 * gmacs / (gf / 2));
        }
        return finish(backend, median);
    }

    /**
     * One text encoding (what a prompt costs before the denoising loop: last_hidden_state of --batch prompts) of a
     * published text encoder with random weights; ids are BOS, 12 random tokens, then EOS up to --tokens, as a
     * padded prompt (the cost does not depend on the ids).
     */
    private int benchTextEncoder() {
        String load0 = loadAverage();
        long tLoad = System.nanoTime();
        WeightPrecision precision = backendOptions.weightPrecision();
        ClipTextModel te = Architectures.randomTextEncoder(arch, seed, precision);
        double loadS = (System.nanoTime() - tLoad) / 1e9;
        long modelBytes = heapAfterGc();
        int maxPos = te.config().maxPositionEmbeddings();
        if (tokens > maxPos) throw new IllegalArgumentException("--tokens must be at most " + maxPos + " for " + arch + ", got " + tokens);
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        int[][] ids = new int[batch][tokens];
        for (int[] row : ids)
            for (int t = 0; t < tokens; t++) row[t] = t == 0 ? 49406 : t <= 12 ? r.nextInt(49406) : 49407;
        MacCounter counter = new MacCounter(new ShapeOnlyBackend());
        te.encode(new Ctx(counter), ids, 0);
        long macs = counter.macs();
        Backend backend = backendOptions.create();
        int threads = backend instanceof CpuBackend cb ? cb.threads() : 1;
        System.out.printf("bench: %s (CLIPTextModel, %.2f M parameters, %d layers, hidden %d, %s, weights %s, built in %.1f s), "
                        + "input_ids [%d, %d], backend %s, %d thread(s)%n", arch, te.parameterCount() / 1e6, te.numLayers(), te.hiddenSize(),
                te.config().hiddenAct(), precision.name().toLowerCase(java.util.Locale.ROOT), loadS, batch, tokens, backend.name(), threads);
        System.out.printf("model_heap_mib=%d (live heap after loading, mostly the weights)%n", modelBytes >> 20);
        System.out.printf("macs_per_forward=%.3f G   load average before: %s%n", macs / 1e9, load0);
        double[] ms = timeRuns(backend, c -> te.encode(c, ids, 0));
        double median = median(ms);
        System.out.printf("median_ms=%.1f  min_ms=%.1f  ms_per_prompt=%.2f  GMAC/s=%.1f%n", median, Arrays.stream(ms).min().orElse(0),
                median / batch, macs / (median * 1e6));
        return finish(backend, median);
    }

    /**
     * One VAE decode (what turning latents into pixels costs after the denoising loop: vae.decode(z).sample of
     * --batch latents [4, size/8, size/8]) of a published VAE's decoder with random weights; float32 as always.
     */
    private int benchVae() {
        if (latent != null) throw new IllegalArgumentException("--arch " + arch + " takes --size (the image size), not --latent");
        WeightPrecision precision = backendOptions.weightPrecision();
        if (precision == WeightPrecision.F16 || precision == WeightPrecision.BF16)
            throw new IllegalArgumentException("--weights-dtype " + precision.name().toLowerCase(java.util.Locale.ROOT) + ": the VAE decoder keeps its "
                    + "weights in float32 (--weights-dtype applies to UNets and text encoders)");
        String load0 = loadAverage();
        long tLoad = System.nanoTime();
        VaeDecoder vae = Architectures.randomVae(arch, seed);
        double loadS = (System.nanoTime() - tLoad) / 1e9;
        long modelBytes = heapAfterGc();
        int f = vae.scaleFactor(), image = size != null ? size : vae.config().sampleSize();
        Checks.atLeast("--size", image, f);
        if (image % f != 0) throw new IllegalArgumentException("--size must be a multiple of " + f + " for " + arch + ", got " + image);
        int h = image / f;
        Backend backend = backendOptions.create();
        var fw = MemoryBudget.vae(vae, backend, batch, h, h);
        new MemoryBudget.Estimate(modelBytes, fw.winogradCache(), fw.activations(), List.of()).check("bench of " + arch + " batch " + batch + " at "
                + image + "×" + image, null, "a smaller --batch or --size", null);   // null: no --weights-dtype hint, the decoder is float32
        Tensor z = new NoiseSource(seed).fork("latents").gaussian(batch, vae.config().latentChannels(), h, h);
        MacCounter counter = new MacCounter(new ShapeOnlyBackend());
        vae.decode(new Ctx(counter), z);
        long macs = counter.macs();
        int threads = backend instanceof CpuBackend cb ? cb.threads() : 1;
        System.out.printf("bench: %s (AutoencoderKL decoder, %.2f M parameters, block_out_channels %s, weights f32, built in %.1f s), latents %s -> "
                        + "image %d×%d, backend %s, %d thread(s)%n", arch, vae.parameterCount() / 1e6, Arrays.toString(vae.config().blockOutChannels()),
                loadS, Arrays.toString(z.shape()), image, image, backend.name(), threads);
        System.out.printf("model_heap_mib=%d (live heap after loading, mostly the weights)%n", modelBytes >> 20);
        System.out.printf("macs_per_forward=%.3f G   load average before: %s%n", macs / 1e9, load0);
        double[] ms = timeRuns(backend, c -> vae.decode(c, z));
        double median = median(ms);
        System.out.printf("median_ms=%.1f  min_ms=%.1f  ms_per_image=%.1f  GMAC/s=%.1f%n", median, Arrays.stream(ms).min().orElse(0),
                median / batch, macs / (median * 1e6));
        return finish(backend, median);
    }

    /**
     * Warms {@code pass} up, then times --runs passes (wall and CPU time): prints each run, the median CPU time, what
     * the activation arena did and, with --profile, one profiled pass per operation. Returns the runs' wall times in ms.
     */
    private double[] timeRuns(Backend backend, java.util.function.Consumer<Ctx> pass) {
        Ctx ctx = new Ctx(backend);
        warmUp(() -> pass.accept(ctx));
        TensorArena.Stats arena0 = backend.arena() == null ? null : backend.arena().stats();
        double[] ms = new double[runs], cpuMs = new double[runs];
        for (int i = 0; i < runs; i++) {
            long f0 = minorFaults(), c0 = ProfilingBackend.processCpuNanos(), t0 = System.nanoTime();
            pass.accept(ctx);
            ms[i] = (System.nanoTime() - t0) / 1e6;
            cpuMs[i] = (ProfilingBackend.processCpuNanos() - c0) / 1e6;
            System.out.printf("run %d: %.1f ms%s%n", i + 1, ms[i], faultsSince(f0));
        }
        printCpuTime(cpuMs);
        printArena(backend, arena0, runs);
        if (profile) {
            ProfilingBackend prof = new ProfilingBackend(backend);
            long t0 = System.nanoTime();
            pass.accept(new Ctx(prof));
            System.out.printf("profiled run: %.1f ms%n%s", (System.nanoTime() - t0) / 1e6, prof.table());
        }
        return ms;
    }

    /**
     * The last lines of every bench: peak memory (RSS, heap, live heap, the Winograd weight cache), the load, and
     * {@code median_ms=} alone on the last line for scripts; closes the backend. Returns the exit code.
     */
    private static int finish(Backend backend, double median) {
        String cache = backend instanceof CpuBackend cb ? String.format("  winograd_cache_mib=%d", cb.winogradCacheBytes() >> 20) : "";
        long rss = peakRssKib() / 1024, peakHeap = peakHeapBytes() >> 20;   // before the collection below
        System.out.printf("peak_rss_mib=%d  peak_heap_mib=%d  live_heap_mib=%d%s  load average after: %s%n", rss, peakHeap,
                heapAfterGc() >> 20, cache, loadAverage());
        if (backend instanceof AutoCloseable ac) {
            try {
                ac.close();
            } catch (Exception ignored) {
                // closing a thread pool does not fail in a way worth reporting
            }
        }
        System.out.printf("median_ms=%.1f%n", median);
        return 0;
    }

    /**
     * The median CPU time of the timed runs (the Java threads, the compute pool among them; not the GC threads). On a
     * shared machine wall time also counts the time the threads waited for a core; CPU time does not, so it compares
     * two models measured at different moments.
     */
    private static void printCpuTime(double[] cpuMs) {
        System.out.printf("median_cpu_ms=%.1f  (CPU time of the Java threads per run, GC aside; unlike wall time, "
                + "not inflated by waiting for a core)%n", median(cpuMs));
    }

    /**
     * What the backend's activation arena did during the timed runs: buffers taken per forward pass and how many
     * of them were new arrays (a warm pass takes at most its output anew), the peak bytes in use and the free
     * buffers it keeps between passes.
     */
    private static void printArena(Backend backend, TensorArena.Stats before, int runs) {
        if (before == null) {
            System.out.println("arena: none (every operation output is a new array)");
            return;
        }
        TensorArena.Stats s = backend.arena().stats();
        System.out.printf("arena: %d buffers per forward, %d new in %d timed runs; peak in use %d MiB, free between passes %d MiB%n",
                (s.taken() - before.taken()) / runs, s.fresh() - before.fresh(), runs, s.peakInUseBytes() >> 20, s.freeBytes() >> 20);
    }

    /** The largest n whose n×n matrix fits a Java array. */
    static final int MAX_GEMM = 46340;

    /** The n×n matrices A, B and C of the GEMM ceiling's measurement (cpu backend only). */
    private long gemmBytes(Backend backend) {
        return gemmSize > 0 && backend instanceof CpuBackend ? MemoryBudget.bytes(3.0 * 4 * gemmSize * (double) gemmSize) : 0;
    }

    private int gemmOnly() {
        Checks.between("--gemm-size", gemmSize, 1, MAX_GEMM);
        if (runs < 1) throw new IllegalArgumentException("--runs must be ≥ 1, got " + runs);
        if (!(backendOptions.create() instanceof CpuBackend cb)) throw new IllegalArgumentException("--gemm-only measures the cpu backend's GEMM");
        new MemoryBudget.Estimate(0, 0, 0, List.of()).plus(gemmBytes(cb), "the GEMM's matrices").check("a " + gemmSize + "³ GEMM", WeightPrecision.F16, null, "a smaller --gemm-size");
        try (cb) {
            System.out.printf("bench: float32 GEMM %d×%d×%d, %d thread(s), load average before: %s%n", gemmSize, gemmSize, gemmSize, cb.threads(),
                    loadAverage());
            System.out.println(VectorWidth.describe());
            GemmBench.Result gr = GemmBench.measure(cb, gemmSize, runs);
            double ms = 2.0 * gemmSize * gemmSize * gemmSize / gr.gflops() / 1e6;
            System.out.printf("gemm_%d=%.1f GFLOP/s (%.0f%% of PyTorch's %.0f), %.1f GFLOP per CPU-second%n", gemmSize, gr.gflops(),
                    100 * gr.gflops() / PYTORCH_GEMM_GFLOPS, PYTORCH_GEMM_GFLOPS, gr.gflopsPerCpuSecond());
            System.out.printf("median_ms=%.1f%n", ms);
        }
        return 0;
    }

    private static UNet loadFolder(Path dir, WeightPrecision precision) {
        Path d = PipelineFolder.looksLikePipeline(dir) ? PipelineFolder.open(dir).component("unet") : dir;
        return UNet.load(ModelFolder.open(d), precision);
    }

    /** Heap in use after a full collection. */
    static long heapAfterGc() {
        for (int i = 0; i < 2; i++) System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /**
     * Untimed runs until the times have settled: at least --warmup runs and --warmup-seconds, then until
     * the last three runs are each within 10% of the fastest so far, but no longer than --warmup-max-seconds.
     * Two things make early runs slow: C2 compiling the vector kernels (seconds on 2 cores), and the heap
     * growing, when every run first-touches fresh pages (see the launcher's huge-pages note; the page-fault
     * count printed per run shows it).
     */
    private void warmUp(Runnable forward) {
        long start = System.nanoTime();
        java.util.List<Double> ms = new java.util.ArrayList<>();
        double best = Double.MAX_VALUE;
        while (true) {
            long f0 = minorFaults(), t0 = System.nanoTime();
            forward.run();
            double t = (System.nanoTime() - t0) / 1e6, elapsed = (System.nanoTime() - start) / 1e9;
            ms.add(t);
            best = Math.min(best, t);
            System.out.printf("warmup %d: %.1f ms%s%n", ms.size(), t, faultsSince(f0));
            boolean enough = ms.size() >= warmup && elapsed >= warmupSeconds;
            int n = ms.size();
            boolean settled = n >= 3 && ms.get(n - 1) <= 1.1 * best && ms.get(n - 2) <= 1.1 * best && ms.get(n - 3) <= 1.1 * best;
            if (enough && settled) return;
            if (enough && elapsed >= warmupMaxSeconds) {
                System.out.printf("warmup: not settled after %.0f s (last runs above 1.1 x the fastest %.1f ms); timing anyway%n", elapsed, best);
                return;
            }
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }

    /**
     * Minor page faults of this process so far (field 10 of /proc/self/stat), −1 where unknown. A run that
     * first-touches fresh heap pays one fault per 4 KiB page, tens of µs each on a VM: the count says whether
     * a slow run was computing or faulting.
     */
    static long minorFaults() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[7]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static String faultsSince(long before) {
        long now = minorFaults();
        return before < 0 || now < 0 ? "" : String.format(", %d page faults", now - before);
    }

    /** The process's peak resident set (VmHWM) in KiB, or -1 where /proc is not available. */
    static long peakRssKib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }

    /** Sum of the heap pools' peak usage (what the JVM held at most, garbage included). */
    static long peakHeapBytes() {
        long s = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans())
            if (p.getType() == MemoryType.HEAP) s += p.getPeakUsage().getUsed();
        return s;
    }
}
