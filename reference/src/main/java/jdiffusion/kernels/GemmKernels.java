package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import static jdiffusion.kernels.Gemm.COL;
import static jdiffusion.kernels.Gemm.LOAD;
import static jdiffusion.kernels.Gemm.ROW;

/**
 * The GEMM's register-blocked micro-kernels: C[rows × NR] = start + A·B over kc steps, A packed as [k][MR]
 * (one value broadcast per row and step) or read in place from row-major rows, B packed as [k][NR] (two
 * vectors per step). The accumulators stay in registers for the whole loop, so a step of the full tile is
 * 2 loads, MR broadcasts and 2·MR fused multiply-adds. The two column halves of the tile start at cOff and
 * cOff1 (cOff + L for a plain matrix). The start is C itself (LOAD), zero, bias[biasOff + row] (ROW) or
 * bias[biasOff + column] (COL).
 *
 * <p>Which kernels exist follows {@link VectorWidth}: a full tile of 12 rows (32 vector registers) or 6 (16
 * registers), and the row tails 8, 4 and 2 (any other tail goes through a scratch tile). A JIT keeps a
 * kernel's accumulators in registers only when each is a local variable, hence one written-out method per
 * row count (generated, not hand-edited: each differs from the next only in its number of rows).
 */
final class GemmKernels {
    private static final VectorSpecies<Float> S = VectorWidth.S;
    private static final int L = VectorWidth.L, MR = VectorWidth.MR, NR = VectorWidth.NR;

    private GemmKernels() {
    }

    /** The full MR-row tile, A packed (MR is a constant: the JIT keeps one branch). */
    static void full(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc, int init, float[] bias, int biasOff) {
        if (MR == 12) packed12(kc, a, aOff, b, bOff, c, cOff, cOff1, ldc, init, bias, biasOff);
        else packed6(kc, a, aOff, b, bOff, c, cOff, cOff1, ldc, init, bias, biasOff);
    }

    /** The full MR-row tile, A read in place from MR rows of a row-major float32 matrix (leading dimension lda). */
    static void fullRows(int kc, float[] a, int aOff, int lda, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc,
                         int init, float[] bias, int biasOff) {
        if (MR == 12) rows12(kc, a, aOff, lda, b, bOff, c, cOff, cOff1, ldc, init, bias, biasOff);
        else rows6(kc, a, aOff, lda, b, bOff, c, cOff, cOff1, ldc, init, bias, biasOff);
    }

    /**
     * The first {@code rows} rows of a packed panel when a kernel exists for that many (8, 4, 2; fewer than
     * MR): true, or false for the caller to go through a scratch tile.
     */
    static boolean tail(int rows, int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc, int init, float[] bias, int biasOff) {
        switch (rows) {
            case 8 -> packed8(kc, a, aOff, b, bOff, c, cOff, cOff1, ldc, init, bias, biasOff);
            case 4 -> packed4(kc, a, aOff, b, bOff, c, cOff, cOff1, ldc, init, bias, biasOff);
            case 2 -> packed2(kc, a, aOff, b, bOff, c, cOff, cOff1, ldc, init, bias, biasOff);
            default -> {
                return false;
            }
        }
        return true;
    }


    /** 12 rows, A packed: 24 accumulators (the 32-register tile). */
    private static void packed12(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc, int init, float[] bias, int biasOff) {
        FloatVector z0 = init == COL ? FloatVector.fromArray(S, bias, biasOff) : FloatVector.zero(S);
        FloatVector z1 = init == COL ? FloatVector.fromArray(S, bias, biasOff + L) : z0;
        FloatVector c00 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 0 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 0]) : z0;
        FloatVector c01 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 0 * ldc) : init == ROW ? c00 : z1;
        FloatVector c10 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 1]) : z0;
        FloatVector c11 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 1 * ldc) : init == ROW ? c10 : z1;
        FloatVector c20 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 2 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 2]) : z0;
        FloatVector c21 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 2 * ldc) : init == ROW ? c20 : z1;
        FloatVector c30 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 3 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 3]) : z0;
        FloatVector c31 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 3 * ldc) : init == ROW ? c30 : z1;
        FloatVector c40 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 4 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 4]) : z0;
        FloatVector c41 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 4 * ldc) : init == ROW ? c40 : z1;
        FloatVector c50 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 5 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 5]) : z0;
        FloatVector c51 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 5 * ldc) : init == ROW ? c50 : z1;
        FloatVector c60 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 6 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 6]) : z0;
        FloatVector c61 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 6 * ldc) : init == ROW ? c60 : z1;
        FloatVector c70 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 7 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 7]) : z0;
        FloatVector c71 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 7 * ldc) : init == ROW ? c70 : z1;
        FloatVector c80 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 8 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 8]) : z0;
        FloatVector c81 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 8 * ldc) : init == ROW ? c80 : z1;
        FloatVector c90 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 9 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 9]) : z0;
        FloatVector c91 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 9 * ldc) : init == ROW ? c90 : z1;
        FloatVector ca0 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 10 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 10]) : z0;
        FloatVector ca1 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 10 * ldc) : init == ROW ? ca0 : z1;
        FloatVector cb0 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 11 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 11]) : z0;
        FloatVector cb1 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 11 * ldc) : init == ROW ? cb0 : z1;
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR, ak = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L), x;
            x = FloatVector.broadcast(S, a[ak]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ak + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ak + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ak + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ak + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ak + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, a[ak + 6]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[ak + 7]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, a[ak + 8]); c80 = x.fma(b0, c80); c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, a[ak + 9]); c90 = x.fma(b0, c90); c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, a[ak + 10]); ca0 = x.fma(b0, ca0); ca1 = x.fma(b1, ca1);
            x = FloatVector.broadcast(S, a[ak + 11]); cb0 = x.fma(b0, cb0); cb1 = x.fma(b1, cb1);
        }
        c00.intoArray(c, cOff + 0 * ldc); c01.intoArray(c, cOff1 + 0 * ldc);
        c10.intoArray(c, cOff + 1 * ldc); c11.intoArray(c, cOff1 + 1 * ldc);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff1 + 2 * ldc);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff1 + 3 * ldc);
        c40.intoArray(c, cOff + 4 * ldc); c41.intoArray(c, cOff1 + 4 * ldc);
        c50.intoArray(c, cOff + 5 * ldc); c51.intoArray(c, cOff1 + 5 * ldc);
        c60.intoArray(c, cOff + 6 * ldc); c61.intoArray(c, cOff1 + 6 * ldc);
        c70.intoArray(c, cOff + 7 * ldc); c71.intoArray(c, cOff1 + 7 * ldc);
        c80.intoArray(c, cOff + 8 * ldc); c81.intoArray(c, cOff1 + 8 * ldc);
        c90.intoArray(c, cOff + 9 * ldc); c91.intoArray(c, cOff1 + 9 * ldc);
        ca0.intoArray(c, cOff + 10 * ldc); ca1.intoArray(c, cOff1 + 10 * ldc);
        cb0.intoArray(c, cOff + 11 * ldc); cb1.intoArray(c, cOff1 + 11 * ldc);
    }

    /** 6 rows, A packed: 12 accumulators (the 16-register tile). */
    private static void packed6(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc, int init, float[] bias, int biasOff) {
        FloatVector z0 = init == COL ? FloatVector.fromArray(S, bias, biasOff) : FloatVector.zero(S);
        FloatVector z1 = init == COL ? FloatVector.fromArray(S, bias, biasOff + L) : z0;
        FloatVector c00 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 0 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 0]) : z0;
        FloatVector c01 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 0 * ldc) : init == ROW ? c00 : z1;
        FloatVector c10 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 1]) : z0;
        FloatVector c11 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 1 * ldc) : init == ROW ? c10 : z1;
        FloatVector c20 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 2 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 2]) : z0;
        FloatVector c21 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 2 * ldc) : init == ROW ? c20 : z1;
        FloatVector c30 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 3 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 3]) : z0;
        FloatVector c31 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 3 * ldc) : init == ROW ? c30 : z1;
        FloatVector c40 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 4 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 4]) : z0;
        FloatVector c41 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 4 * ldc) : init == ROW ? c40 : z1;
        FloatVector c50 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 5 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 5]) : z0;
        FloatVector c51 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 5 * ldc) : init == ROW ? c50 : z1;
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR, ak = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L), x;
            x = FloatVector.broadcast(S, a[ak]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ak + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ak + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ak + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ak + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ak + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        c00.intoArray(c, cOff + 0 * ldc); c01.intoArray(c, cOff1 + 0 * ldc);
        c10.intoArray(c, cOff + 1 * ldc); c11.intoArray(c, cOff1 + 1 * ldc);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff1 + 2 * ldc);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff1 + 3 * ldc);
        c40.intoArray(c, cOff + 4 * ldc); c41.intoArray(c, cOff1 + 4 * ldc);
        c50.intoArray(c, cOff + 5 * ldc); c51.intoArray(c, cOff1 + 5 * ldc);
    }

    /** The first 8 rows of a packed 12-row panel. */
    private static void packed8(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc, int init, float[] bias, int biasOff) {
        FloatVector z0 = init == COL ? FloatVector.fromArray(S, bias, biasOff) : FloatVector.zero(S);
        FloatVector z1 = init == COL ? FloatVector.fromArray(S, bias, biasOff + L) : z0;
        FloatVector c00 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 0 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 0]) : z0;
        FloatVector c01 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 0 * ldc) : init == ROW ? c00 : z1;
        FloatVector c10 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 1]) : z0;
        FloatVector c11 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 1 * ldc) : init == ROW ? c10 : z1;
        FloatVector c20 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 2 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 2]) : z0;
        FloatVector c21 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 2 * ldc) : init == ROW ? c20 : z1;
        FloatVector c30 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 3 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 3]) : z0;
        FloatVector c31 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 3 * ldc) : init == ROW ? c30 : z1;
        FloatVector c40 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 4 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 4]) : z0;
        FloatVector c41 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 4 * ldc) : init == ROW ? c40 : z1;
        FloatVector c50 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 5 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 5]) : z0;
        FloatVector c51 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 5 * ldc) : init == ROW ? c50 : z1;
        FloatVector c60 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 6 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 6]) : z0;
        FloatVector c61 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 6 * ldc) : init == ROW ? c60 : z1;
        FloatVector c70 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 7 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 7]) : z0;
        FloatVector c71 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 7 * ldc) : init == ROW ? c70 : z1;
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR, ak = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L), x;
            x = FloatVector.broadcast(S, a[ak]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ak + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ak + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ak + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ak + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ak + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, a[ak + 6]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[ak + 7]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        c00.intoArray(c, cOff + 0 * ldc); c01.intoArray(c, cOff1 + 0 * ldc);
        c10.intoArray(c, cOff + 1 * ldc); c11.intoArray(c, cOff1 + 1 * ldc);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff1 + 2 * ldc);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff1 + 3 * ldc);
        c40.intoArray(c, cOff + 4 * ldc); c41.intoArray(c, cOff1 + 4 * ldc);
        c50.intoArray(c, cOff + 5 * ldc); c51.intoArray(c, cOff1 + 5 * ldc);
        c60.intoArray(c, cOff + 6 * ldc); c61.intoArray(c, cOff1 + 6 * ldc);
        c70.intoArray(c, cOff + 7 * ldc); c71.intoArray(c, cOff1 + 7 * ldc);
    }

    /** The first 4 rows of a packed panel. */
    private static void packed4(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc, int init, float[] bias, int biasOff) {
        FloatVector z0 = init == COL ? FloatVector.fromArray(S, bias, biasOff) : FloatVector.zero(S);
        FloatVector z1 = init == COL ? FloatVector.fromArray(S, bias, biasOff + L) : z0;
        FloatVector c00 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 0 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 0]) : z0;
        FloatVector c01 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 0 * ldc) : init == ROW ? c00 : z1;
        FloatVector c10 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 1]) : z0;
        FloatVector c11 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 1 * ldc) : init == ROW ? c10 : z1;
        FloatVector c20 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 2 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 2]) : z0;
        FloatVector c21 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 2 * ldc) : init == ROW ? c20 : z1;
        FloatVector c30 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 3 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 3]) : z0;
        FloatVector c31 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 3 * ldc) : init == ROW ? c30 : z1;
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR, ak = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L), x;
            x = FloatVector.broadcast(S, a[ak]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ak + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ak + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ak + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
        }
        c00.intoArray(c, cOff + 0 * ldc); c01.intoArray(c, cOff1 + 0 * ldc);
        c10.intoArray(c, cOff + 1 * ldc); c11.intoArray(c, cOff1 + 1 * ldc);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff1 + 2 * ldc);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff1 + 3 * ldc);
    }

    /** The first 2 rows of a packed panel. */
    private static void packed2(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc, int init, float[] bias, int biasOff) {
        FloatVector z0 = init == COL ? FloatVector.fromArray(S, bias, biasOff) : FloatVector.zero(S);
        FloatVector z1 = init == COL ? FloatVector.fromArray(S, bias, biasOff + L) : z0;
        FloatVector c00 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 0 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 0]) : z0;
        FloatVector c01 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 0 * ldc) : init == ROW ? c00 : z1;
        FloatVector c10 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 1]) : z0;
        FloatVector c11 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 1 * ldc) : init == ROW ? c10 : z1;
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR, ak = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L), x;
            x = FloatVector.broadcast(S, a[ak]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ak + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
        }
        c00.intoArray(c, cOff + 0 * ldc); c01.intoArray(c, cOff1 + 0 * ldc);
        c10.intoArray(c, cOff + 1 * ldc); c11.intoArray(c, cOff1 + 1 * ldc);
    }

    /** 12 rows read in place. */
    private static void rows12(int kc, float[] a, int aOff, int lda, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc,
                                  int init, float[] bias, int biasOff) {
        FloatVector z0 = init == COL ? FloatVector.fromArray(S, bias, biasOff) : FloatVector.zero(S);
        FloatVector z1 = init == COL ? FloatVector.fromArray(S, bias, biasOff + L) : z0;
        FloatVector c00 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 0 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 0]) : z0;
        FloatVector c01 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 0 * ldc) : init == ROW ? c00 : z1;
        FloatVector c10 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 1]) : z0;
        FloatVector c11 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 1 * ldc) : init == ROW ? c10 : z1;
        FloatVector c20 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 2 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 2]) : z0;
        FloatVector c21 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 2 * ldc) : init == ROW ? c20 : z1;
        FloatVector c30 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 3 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 3]) : z0;
        FloatVector c31 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 3 * ldc) : init == ROW ? c30 : z1;
        FloatVector c40 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 4 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 4]) : z0;
        FloatVector c41 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 4 * ldc) : init == ROW ? c40 : z1;
        FloatVector c50 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 5 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 5]) : z0;
        FloatVector c51 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 5 * ldc) : init == ROW ? c50 : z1;
        FloatVector c60 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 6 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 6]) : z0;
        FloatVector c61 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 6 * ldc) : init == ROW ? c60 : z1;
        FloatVector c70 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 7 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 7]) : z0;
        FloatVector c71 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 7 * ldc) : init == ROW ? c70 : z1;
        FloatVector c80 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 8 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 8]) : z0;
        FloatVector c81 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 8 * ldc) : init == ROW ? c80 : z1;
        FloatVector c90 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 9 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 9]) : z0;
        FloatVector c91 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 9 * ldc) : init == ROW ? c90 : z1;
        FloatVector ca0 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 10 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 10]) : z0;
        FloatVector ca1 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 10 * ldc) : init == ROW ? ca0 : z1;
        FloatVector cb0 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 11 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 11]) : z0;
        FloatVector cb1 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 11 * ldc) : init == ROW ? cb0 : z1;
        int a0 = aOff + 0 * lda, a1 = aOff + 1 * lda, a2 = aOff + 2 * lda, a3 = aOff + 3 * lda, a4 = aOff + 4 * lda, a5 = aOff + 5 * lda;
        int a6 = aOff + 6 * lda, a7 = aOff + 7 * lda, a8 = aOff + 8 * lda, a9 = aOff + 9 * lda, aa = aOff + 10 * lda, ab = aOff + 11 * lda;
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L), x;
            x = FloatVector.broadcast(S, a[a0 + k]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[a1 + k]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[a2 + k]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[a3 + k]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[a4 + k]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[a5 + k]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, a[a6 + k]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[a7 + k]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, a[a8 + k]); c80 = x.fma(b0, c80); c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, a[a9 + k]); c90 = x.fma(b0, c90); c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, a[aa + k]); ca0 = x.fma(b0, ca0); ca1 = x.fma(b1, ca1);
            x = FloatVector.broadcast(S, a[ab + k]); cb0 = x.fma(b0, cb0); cb1 = x.fma(b1, cb1);
        }
        c00.intoArray(c, cOff + 0 * ldc); c01.intoArray(c, cOff1 + 0 * ldc);
        c10.intoArray(c, cOff + 1 * ldc); c11.intoArray(c, cOff1 + 1 * ldc);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff1 + 2 * ldc);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff1 + 3 * ldc);
        c40.intoArray(c, cOff + 4 * ldc); c41.intoArray(c, cOff1 + 4 * ldc);
        c50.intoArray(c, cOff + 5 * ldc); c51.intoArray(c, cOff1 + 5 * ldc);
        c60.intoArray(c, cOff + 6 * ldc); c61.intoArray(c, cOff1 + 6 * ldc);
        c70.intoArray(c, cOff + 7 * ldc); c71.intoArray(c, cOff1 + 7 * ldc);
        c80.intoArray(c, cOff + 8 * ldc); c81.intoArray(c, cOff1 + 8 * ldc);
        c90.intoArray(c, cOff + 9 * ldc); c91.intoArray(c, cOff1 + 9 * ldc);
        ca0.intoArray(c, cOff + 10 * ldc); ca1.intoArray(c, cOff1 + 10 * ldc);
        cb0.intoArray(c, cOff + 11 * ldc); cb1.intoArray(c, cOff1 + 11 * ldc);
    }

    /** 6 rows read in place. */
    private static void rows6(int kc, float[] a, int aOff, int lda, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc,
                                  int init, float[] bias, int biasOff) {
        FloatVector z0 = init == COL ? FloatVector.fromArray(S, bias, biasOff) : FloatVector.zero(S);
        FloatVector z1 = init == COL ? FloatVector.fromArray(S, bias, biasOff + L) : z0;
        FloatVector c00 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 0 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 0]) : z0;
        FloatVector c01 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 0 * ldc) : init == ROW ? c00 : z1;
        FloatVector c10 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 1]) : z0;
        FloatVector c11 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 1 * ldc) : init == ROW ? c10 : z1;
        FloatVector c20 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 2 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 2]) : z0;
        FloatVector c21 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 2 * ldc) : init == ROW ? c20 : z1;
        FloatVector c30 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 3 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 3]) : z0;
        FloatVector c31 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 3 * ldc) : init == ROW ? c30 : z1;
        FloatVector c40 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 4 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 4]) : z0;
        FloatVector c41 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 4 * ldc) : init == ROW ? c40 : z1;
        FloatVector c50 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 5 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 5]) : z0;
        FloatVector c51 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 5 * ldc) : init == ROW ? c50 : z1;
        int a0 = aOff + 0 * lda, a1 = aOff + 1 * lda, a2 = aOff + 2 * lda;
        int a3 = aOff + 3 * lda, a4 = aOff + 4 * lda, a5 = aOff + 5 * lda;
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L), x;
            x = FloatVector.broadcast(S, a[a0 + k]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[a1 + k]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[a2 + k]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[a3 + k]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[a4 + k]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[a5 + k]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        c00.intoArray(c, cOff + 0 * ldc); c01.intoArray(c, cOff1 + 0 * ldc);
        c10.intoArray(c, cOff + 1 * ldc); c11.intoArray(c, cOff1 + 1 * ldc);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff1 + 2 * ldc);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff1 + 3 * ldc);
        c40.intoArray(c, cOff + 4 * ldc); c41.intoArray(c, cOff1 + 4 * ldc);
        c50.intoArray(c, cOff + 5 * ldc); c51.intoArray(c, cOff1 + 5 * ldc);
    }
}
