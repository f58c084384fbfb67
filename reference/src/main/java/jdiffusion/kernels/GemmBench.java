package jdiffusion.kernels;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The GEMM ceiling measurement of {@code jdiffusion bench}: C = A·B for n×n×n float32, median of runs,
 * per wall-clock second and per CPU second (all threads of the process: on a shared machine the
 * second is the kernel's own efficiency, the first also depends on how much CPU the machine gives).
 */
public final class GemmBench {
    /** GFLOP/s per wall second and per CPU second. */
    public record Result(double gflops, double gflopsPerCpuSecond) {
    }

    private GemmBench() {
    }

    public static Result measure(CpuBackend backend, int n, int runs) {
        SplittableRandom r = new SplittableRandom(1);
        float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() - 0.5);
            b[i] = (float) (r.nextDouble() - 0.5);
        }
        double[] g = new double[runs], gc = new double[runs];
        for (int i = -2; i < runs; i++) {
            long c0 = ProfilingBackend.processCpuNanos(), t0 = System.nanoTime();
            Gemm.gemm(backend.parallel(), n, n, n, a, 0, n, b, 0, n, c, 0, n);
            long dt = System.nanoTime() - t0, dc = ProfilingBackend.processCpuNanos() - c0;
            if (i >= 0) {
                g[i] = 2.0 * n * n * n / dt;
                gc[i] = 2.0 * n * n * n / Math.max(1, dc);
            }
        }
        Arrays.sort(g);
        Arrays.sort(gc);
        return new Result(g[runs / 2], gc[runs / 2]);
    }
}
