package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The right GEMM operand B [K×N], delivered as packed panels: {@link #pack} writes columns
 * [j0, j0+cols) (cols ≤ NR) and rows [k0, k0+kc) as dst[dOff + k·NR + j], zero beyond {@code cols},
 * so the micro-kernel reads NR contiguous floats per k. Where B comes from (a row-major matrix, a
 * transposed weight, an image seen through im2col) is the implementation's business.
 */
public interface PackB {
    void pack(int k0, int kc, int j0, int cols, float[] dst, int dOff);

    /** B row-major with leading dimension {@code ld}. */
    static PackB rowMajor(float[] b, int off, int ld) {
        return new RowMajor(b, off, ld);
    }

    /**
     * B[k][b·hw + p] = x[off + b·K·hw + k·hw + p]: a batch of [K × hw] images side by side (the input of
     * a 1×1 convolution over a batch).
     */
    static PackB images(float[] x, int off, int k, int hw) {
        return new Images(x, off, k, hw);
    }

    /** B = Wᵀ for W [N×K] row-major (a linear layer's weight), float32 or 16-bit. */
    static PackB transposed(MatA w) {
        return new Transposed(w);
    }

    final class RowMajor implements PackB {
        private static final VectorSpecies<Float> S = VectorWidth.S;
        private final float[] b;
        private final int off, ld;

        RowMajor(float[] b, int off, int ld) {
            this.b = b;
            this.off = off;
            this.ld = ld;
        }

        @Override
        public void pack(int k0, int kc, int j0, int cols, float[] dst, int dOff) {
            final int nr = Gemm.NR, l = S.length();
            for (int k = 0; k < kc; k++) {
                int src = off + (k0 + k) * ld + j0, d = dOff + k * nr, j = 0;
                for (; j + l <= cols; j += l) FloatVector.fromArray(S, b, src + j).intoArray(dst, d + j);
                for (; j < cols; j++) dst[d + j] = b[src + j];
                for (; j < nr; j++) dst[d + j] = 0f;
            }
        }
    }

    final class Images implements PackB {
        private static final VectorSpecies<Float> S = VectorWidth.S;
        private final float[] x;
        private final int off, k, hw;

        Images(float[] x, int off, int k, int hw) {
            this.x = x;
            this.off = off;
            this.k = k;
            this.hw = hw;
        }

        @Override
        public void pack(int k0, int kc, int j0, int cols, float[] dst, int dOff) {
            final int nr = Gemm.NR, l = S.length();
            int j = 0;
            while (j < cols) {   // runs of columns within one image
                int b = (j0 + j) / hw, p = (j0 + j) % hw, len = Math.min(cols - j, hw - p);
                for (int kk = 0; kk < kc; kk++) {
                    int src = off + (b * k + k0 + kk) * hw + p, d = dOff + kk * nr + j, t = 0;
                    for (; t + l <= len; t += l) FloatVector.fromArray(S, x, src + t).intoArray(dst, d + t);
                    for (; t < len; t++) dst[d + t] = x[src + t];
                }
                j += len;
            }
            for (int kk = 0; kk < kc; kk++)
                for (int t = cols; t < nr; t++) dst[dOff + kk * nr + t] = 0f;
        }
    }

    /**
     * Wᵀ packed from W's rows: for float32, each packed row of L columns is one gather of W[j..j+L)[k]
     * (indices j·ld), several times faster than moving the elements one by one.
     */
    final class Transposed implements PackB {
        private static final VectorSpecies<Float> S = VectorWidth.S;
        private final MatA w;
        private final int[] rows;

        Transposed(MatA w) {
            this.w = w;
            this.rows = new int[S.length()];
            for (int i = 0; i < rows.length; i++) rows[i] = i * w.ld;
        }

        @Override
        public void pack(int k0, int kc, int j0, int cols, float[] dst, int dOff) {
            final int nr = Gemm.NR, l = S.length();
            if (w.f32 != null) {
                for (int h = 0; h < nr; h += l) {
                    int n = Math.min(l, cols - h);
                    if (n <= 0) {
                        for (int k = 0; k < kc; k++) FloatVector.zero(S).intoArray(dst, dOff + k * nr + h);
                        continue;
                    }
                    int src = w.off + (j0 + h) * w.ld + k0;
                    if (n == l)
                        for (int k = 0; k < kc; k++) FloatVector.fromArray(S, w.f32, src + k, rows, 0).intoArray(dst, dOff + k * nr + h);
                    else
                        for (int k = 0; k < kc; k++)
                            for (int j = 0; j < l; j++) dst[dOff + k * nr + h + j] = j < n ? w.f32[src + j * w.ld + k] : 0f;
                }
                return;
            }
            for (int j = 0; j < cols; j++) {
                int src = w.off + (j0 + j) * w.ld + k0;
                for (int k = 0; k < kc; k++) dst[dOff + k * nr + j] = HalfFloats.toFloat(w.half[src + k], w.bf16);
            }
            for (int k = 0; k < kc; k++)
                for (int j = cols; j < nr; j++) dst[dOff + k * nr + j] = 0f;
        }
    }
}
