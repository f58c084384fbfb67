package jdiffusion.cli;

import jdiffusion.kernels.Backend;
import jdiffusion.kernels.Backends;
import jdiffusion.kernels.Warmup;
import jdiffusion.nn.WeightPrecision;
import picocli.CommandLine.Option;

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
     */
    static void awaitWarmup(String command) {
        double waited = Warmup.await();
        Warmup.Report r = Warmup.report();
        if (waited >= 0.05 && r != null)
            System.err.printf("%s: waited %.1f s for the kernels' JIT warm-up (%d rounds in %.1f s, from JVM start %.1f s)%n", command, waited,
                    r.rounds(), r.seconds(), java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime() / 1e3);
    }
}
