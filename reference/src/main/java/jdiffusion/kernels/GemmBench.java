package jdiffusion.kernels;

import java.util.Arrays;
import java.util.SplittableRandom;

/** The GEMM ceiling measurement of {@code jdiffusion bench}: C = A·B for n×n×n float32, median of runs. */
public final class GemmBench {
    private GemmBench() {
    }

    /** GFLOP/s (2·n³ per product) of the fast backend's GEMM, median over {@code runs} after one warm-up. */
    public static double gflops(CpuBackend backend, int n, int runs) {
        SplittableRandom r = new SplittableRandom(1);
        float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() - 0.5);
            b[i] = (float) (r.nextDouble() - 0.5);
        }
        double[] g = new double[runs];
        for (int i = -1; i < runs; i++) {
            Arrays.fill(c, 0f);
            long t0 = System.nanoTime();
            Gemm.gemm(backend.parallel(), n, n, n, a, 0, n, b, 0, n, c, 0, n);
            long dt = System.nanoTime() - t0;
            if (i >= 0) g[i] = 2.0 * n * n * n / dt;
        }
        Arrays.sort(g);
        return g[runs / 2];
    }
}
