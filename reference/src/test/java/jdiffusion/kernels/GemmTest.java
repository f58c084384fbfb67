package jdiffusion.kernels;

import jdiffusion.Golden;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API GEMM against EJML's double-precision matrix product as an independent oracle, on
 * shapes that hit every register-block tail, with leading dimensions larger than the block.
 */
class GemmTest {

    @ParameterizedTest(name = "{0}x{1}x{2} threads={3}")
    @CsvSource({"1,1,1,1", "4,32,8,1", "5,33,7,2", "64,64,64,2", "67,129,300,2", "3,1000,17,2", "130,17,513,2",
            // row tails of every length for MR 12 and 6 (12-, 8-, 6-, 4- and 2-row kernels, scratch tiles), several k-blocks, both splits
            "13,600,700,2", "20,640,330,3", "24,95,641,2", "28,1100,50,2", "31,512,960,2", "600,40,1000,2", "1000,70,333,3",
            "397,1030,65,2", "11,2048,1,2"})
    void matchesEjml(int m, int n, int k, int threads) {
        Random r = new Random(m * 31L + n * 7L + k);
        int lda = k + 3, ldb = n + 5, ldc = n + 2;
        float[] a = new float[m * lda], b = new float[k * ldb], c = new float[m * ldc];
        DMatrixRMaj A = new DMatrixRMaj(m, k), B = new DMatrixRMaj(k, n), C = new DMatrixRMaj(m, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < k; j++) A.set(i, j, a[i * lda + j] = (float) r.nextGaussian());
        for (int i = 0; i < k; i++)
            for (int j = 0; j < n; j++) B.set(i, j, b[i * ldb + j] = (float) r.nextGaussian());
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) C.set(i, j, c[i * ldc + j] = (float) r.nextGaussian()); // C += A·B accumulates
        CommonOps_DDRM.multAdd(A, B, C);
        try (Parallel par = new Parallel(threads)) {
            Gemm.gemm(par, m, n, k, a, 0, lda, b, 0, ldb, c, 0, ldc);
        }
        float[] got = new float[m * n], want = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                got[i * n + j] = c[i * ldc + j];
                want[i * n + j] = (float) C.get(i, j);
            }
        double e = Golden.relL2(got, want);
        assertTrue(e < 1e-6, "relative L2 " + e);
    }

    static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /**
     * Every start (C, zero, bias per row, bias per column) and every B source (row-major, transposed
     * weight) against a double-precision reference; and bit-identical results for 1 to 4 threads.
     */
    @ParameterizedTest(name = "{0}x{1}x{2} {3}")
    @CsvSource({"7,50,33,ZERO", "40,700,129,ROW_BIAS", "700,45,300,COLUMN_BIAS", "29,1024,650,ACCUMULATE", "500,500,20,COLUMN_BIAS",
            "3,33,1000,ROW_BIAS"})
    void startsSourcesAndThreadCounts(int m, int n, int k, Gemm.Start start) {
        Random r = new Random(m * 131L + n * 17L + k);
        float[] a = random(r, m * k), wt = random(r, n * k), c0 = random(r, m * n);
        float[] bias = start == Gemm.Start.ROW_BIAS ? random(r, m) : start == Gemm.Start.COLUMN_BIAS ? random(r, n) : null;
        float[] b = new float[k * n];                              // B = Wᵀ, to test both sources
        for (int i = 0; i < n; i++)
            for (int j = 0; j < k; j++) b[j * n + i] = wt[i * k + j];
        double[] want = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double acc = switch (start) {
                    case ACCUMULATE -> c0[i * n + j];
                    case ZERO -> 0;
                    case ROW_BIAS -> bias[i];
                    case COLUMN_BIAS -> bias[j];
                };
                for (int q = 0; q < k; q++) acc += (double) a[i * k + q] * b[q * n + j];
                want[i * n + j] = acc;
            }
        float[] first = null;
        for (int threads = 1; threads <= 4; threads++)
            for (boolean transposed : new boolean[]{false, true}) {
                float[] c = c0.clone();
                try (Parallel par = new Parallel(threads)) {
                    PackB src = transposed ? PackB.transposed(MatA.of(wt, 0, k)) : PackB.rowMajor(b, 0, n);
                    Gemm.gemm(par, m, n, k, MatA.of(a, 0, k), src, COut.matrix(c, 0, n), start, bias);
                }
                double num = 0, den = 0;
                for (int i = 0; i < c.length; i++) {
                    num += (c[i] - want[i]) * (c[i] - want[i]);
                    den += want[i] * want[i];
                }
                assertTrue(Math.sqrt(num / den) < 1e-6, "relative L2 " + Math.sqrt(num / den) + " threads " + threads);
                if (first == null) first = c;
                else assertArrayEquals(first, c, "threads " + threads + (transposed ? " (transposed B)" : ""));
            }
    }
}
