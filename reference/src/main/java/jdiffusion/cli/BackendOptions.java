package jdiffusion.cli;

import jdiffusion.kernels.Backend;
import jdiffusion.kernels.Backends;
import jdiffusion.kernels.Warmup;
import jdiffusion.nn.WeightPrecision;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/** --backend, --threads and --weights-dtype, shared by every command that computes. */
public final class BackendOptions {
    @Option(names = "--backend", defaultValue = "cpu",
            description = "Arithmetic backend: cpu (Vector API, threads; default), scalar (the auditable reference), tornado (TornadoVM, if built).")
    String backend;

    @Option(names = "--threads", description = "Worker threads for the cpu backend (default: all cores). Results are identical for any count.")
    Integer threads;

    @Option(names = "--weights-dtype", defaultValue = "f32",
            description = "UNet conv/linear weights in memory: f32 (default), f16 or bf16 (half the memory; arithmetic stays float32), file (as stored).")
    String weightsDtype;

    /** More worker threads than this is a typo, not a machine. */
    static final int MAX_THREADS = 4096;

    public WeightPrecision weightPrecision() {
        return WeightPrecision.parse(weightsDtype);
    }

    public Backend create() {
        int t = threads == null ? Backends.defaultThreads() : threads;
        Checks.between("--threads", t, 1, MAX_THREADS);
        if (!backend.equals("cpu") && !backend.equals("scalar") && !backend.equals("tornado"))
            throw new IllegalArgumentException("--backend must be cpu, scalar or tornado, got '" + backend + "'");
        if (backend.equals("cpu")) Warmup.start(t);   // if Main has not started it already
        return Backends.create(backend, t);
    }

    /**
     * Waits for the kernels' warm-up ({@link Warmup}) before a sampling loop, so that its first step computes instead
     * of waiting, and says how long it waited (nothing when it did not).
     *
     * <p>While the warm-up still runs, it first touches about twice {@code activationBytes} of heap (the estimate of
     * one forward pass, {@link jdiffusion.sample.MemoryBudget}; the first pass of the default generate grew the resident
     * set by 1.8x its estimate: the arena's buffers under its fit rule, the threads' kernel scratch). On this VM a page
     * touched for the first time costs ~2.3 ms of system time per MiB: 115 MiB, 270 ms, half of the first step after
     * a warm-up (docs/results/first-image/session5-2026-12-07.md). Arrays larger than the young generation go straight
     * to the old one, a full collection frees them, and the old generation's later allocations (the arena's buffers)
     * land on pages already touched. The price is resident memory touched early and the estimate's excess: peak RSS of
     * the default generate 316-323 MiB with the warm-up, 247-265 MiB without.
     */
    static void awaitWarmup(String command, long activationBytes) {
        if (activationBytes > 0 && Warmup.running()) touchHeap(Math.min(2 * activationBytes, Runtime.getRuntime().maxMemory() / 4));
        double waited = Warmup.await();
        Warmup.Report r = Warmup.report();
        if (waited >= 0.05 && r != null)
            System.err.printf("%s: waited %.1f s for the kernels' JIT warm-up (%d rounds in %.1f s, from JVM start %.1f s)%n", command, waited,
                    r.rounds(), r.seconds(), java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime() / 1e3);
    }

    private static void touchHeap(long bytes) {
        List<float[]> chunks = new ArrayList<>();
        for (long done = 0; done < bytes; done += 4L * TOUCH_CHUNK_FLOATS) chunks.add(new float[TOUCH_CHUNK_FLOATS]);
        chunks.clear();
        System.gc();
    }

    /** 32 MiB: larger than the launcher's young generation (16 MiB), so each chunk is allocated in the old one. */
    private static final int TOUCH_CHUNK_FLOATS = 8 << 20;
}
