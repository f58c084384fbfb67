package jdiffusion.kernels;

import jdiffusion.Golden;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API GEMM against EJML's double-precision matrix product as an independent oracle, on
 * shapes that hit every register-block tail, with leading dimensions larger than the block.
 */
class GemmTest {

    @ParameterizedTest(name = "{0}x{1}x{2} threads={3}")
    @CsvSource({"1,1,1,1", "4,32,8,1", "5,33,7,2", "64,64,64,2", "67,129,300,2", "3,1000,17,2", "130,17,513,2"})
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
}
