package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM with the Vector API: C[M×N] += A[M×K] · B[K×N], all row-major with leading
 * dimensions. Cache-blocked over N and K, register-blocked 4 rows × 2 vectors; rows of C are split
 * across threads. Each C element sums over k in ascending order, so the result does not depend on the
 * thread count.
 */
public final class Gemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int NB = 512, KB = 256;

    private Gemm() {
    }

    public static void gemm(Parallel par, int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float[] c, int cOff, int ldc) {
        // below ~64k multiply-adds per row quad the threads cost more than they bring
        int grain = (int) Math.max(1, 65_536 / Math.max(1L, 4L * n * k));
        par.forRange((m + 3) / 4, grain, (q0, q1) -> {
            int i0 = q0 * 4, i1 = Math.min(m, q1 * 4);
            for (int j0 = 0; j0 < n; j0 += NB) {
                int j1 = Math.min(n, j0 + NB);
                for (int k0 = 0; k0 < k; k0 += KB) {
                    int k1 = Math.min(k, k0 + KB);
                    block(i0, i1, j0, j1, k0, k1, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
                }
            }
        });
    }

    private static void block(int i0, int i1, int j0, int j1, int k0, int k1, float[] a, int aOff, int lda,
                              float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        int i = i0;
        for (; i + 4 <= i1; i += 4) {
            int j = j0;
            for (; j + 2 * L <= j1; j += 2 * L) micro4x2(i, j, k0, k1, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
            for (; j + L <= j1; j += L) micro4x1(i, j, k0, k1, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
            for (; j < j1; j++)
                for (int r = 0; r < 4; r++) {
                    float acc = c[cOff + (i + r) * ldc + j];
                    for (int kk = k0; kk < k1; kk++) acc = Math.fma(a[aOff + (i + r) * lda + kk], b[bOff + kk * ldb + j], acc);
                    c[cOff + (i + r) * ldc + j] = acc;
                }
        }
        for (; i < i1; i++) {
            int j = j0;
            for (; j + L <= j1; j += L) {
                FloatVector acc = FloatVector.fromArray(S, c, cOff + i * ldc + j);
                for (int kk = k0; kk < k1; kk++)
                    acc = FloatVector.broadcast(S, a[aOff + i * lda + kk]).fma(FloatVector.fromArray(S, b, bOff + kk * ldb + j), acc);
                acc.intoArray(c, cOff + i * ldc + j);
            }
            for (; j < j1; j++) {
                float acc = c[cOff + i * ldc + j];
                for (int kk = k0; kk < k1; kk++) acc = Math.fma(a[aOff + i * lda + kk], b[bOff + kk * ldb + j], acc);
                c[cOff + i * ldc + j] = acc;
            }
        }
    }

    private static void micro4x2(int i, int j, int k0, int k1, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                 float[] c, int cOff, int ldc) {
        int c0 = cOff + i * ldc + j;
        FloatVector c00 = FloatVector.fromArray(S, c, c0), c01 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector c10 = FloatVector.fromArray(S, c, c0 + ldc), c11 = FloatVector.fromArray(S, c, c0 + ldc + L);
        FloatVector c20 = FloatVector.fromArray(S, c, c0 + 2 * ldc), c21 = FloatVector.fromArray(S, c, c0 + 2 * ldc + L);
        FloatVector c30 = FloatVector.fromArray(S, c, c0 + 3 * ldc), c31 = FloatVector.fromArray(S, c, c0 + 3 * ldc + L);
        int a0 = aOff + i * lda;
        for (int kk = k0; kk < k1; kk++) {
            int bk = bOff + kk * ldb + j;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L);
            FloatVector x0 = FloatVector.broadcast(S, a[a0 + kk]);
            c00 = x0.fma(b0, c00);
            c01 = x0.fma(b1, c01);
            FloatVector x1 = FloatVector.broadcast(S, a[a0 + lda + kk]);
            c10 = x1.fma(b0, c10);
            c11 = x1.fma(b1, c11);
            FloatVector x2 = FloatVector.broadcast(S, a[a0 + 2 * lda + kk]);
            c20 = x2.fma(b0, c20);
            c21 = x2.fma(b1, c21);
            FloatVector x3 = FloatVector.broadcast(S, a[a0 + 3 * lda + kk]);
            c30 = x3.fma(b0, c30);
            c31 = x3.fma(b1, c31);
        }
        c00.intoArray(c, c0);
        c01.intoArray(c, c0 + L);
        c10.intoArray(c, c0 + ldc);
        c11.intoArray(c, c0 + ldc + L);
        c20.intoArray(c, c0 + 2 * ldc);
        c21.intoArray(c, c0 + 2 * ldc + L);
        c30.intoArray(c, c0 + 3 * ldc);
        c31.intoArray(c, c0 + 3 * ldc + L);
    }

    private static void micro4x1(int i, int j, int k0, int k1, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                 float[] c, int cOff, int ldc) {
        int c0 = cOff + i * ldc + j;
        FloatVector c00 = FloatVector.fromArray(S, c, c0), c10 = FloatVector.fromArray(S, c, c0 + ldc);
        FloatVector c20 = FloatVector.fromArray(S, c, c0 + 2 * ldc), c30 = FloatVector.fromArray(S, c, c0 + 3 * ldc);
        int a0 = aOff + i * lda;
        for (int kk = k0; kk < k1; kk++) {
            FloatVector b0 = FloatVector.fromArray(S, b, bOff + kk * ldb + j);
            c00 = FloatVector.broadcast(S, a[a0 + kk]).fma(b0, c00);
            c10 = FloatVector.broadcast(S, a[a0 + lda + kk]).fma(b0, c10);
            c20 = FloatVector.broadcast(S, a[a0 + 2 * lda + kk]).fma(b0, c20);
            c30 = FloatVector.broadcast(S, a[a0 + 3 * lda + kk]).fma(b0, c30);
        }
        c00.intoArray(c, c0);
        c10.intoArray(c, c0 + ldc);
        c20.intoArray(c, c0 + 2 * ldc);
        c30.intoArray(c, c0 + 3 * ldc);
    }
}
