package jdiffusion.tornado;

import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Where an element C[m, n] of a GEMM goes, shared by the {@link TiledGemm} and {@link DotGemm} kernels. Both
 * compute C[m, n] = Σ_k A[m, k] · B[n, k] and take the same first ten parameters:
 * {@code ip: M, N, K, aOff, bOff, biasOff (-1: none), oOff, mode, S, nBase}.
 * <ul>
 *   <li>mode {@link #LINEAR}: row-major O[m·N + n] + bias[n] (linear: A = X [M, K], B = W [N, K]);</li>
 *   <li>mode {@link #CONV}: convolution layout with m = output channel and nBase + n = (b, pixel) over S
 *       pixels per image: O[(b·M + m)·S + pixel] + bias[m] (A = the weights [Cout, K], B = the input patches).</li>
 * </ul>
 */
final class GemmOutput {
    static final int LINEAR = 0, CONV = 1;

    private GemmOutput() {
    }

    /** Writes C[row, col] = v (+ bias) if (row, col) is inside M × N; called from kernels (inlined by TornadoVM). */
    static void store(FloatArray p, IntArray ip, int row, int col, float v) {
        int m = ip.get(0);
        int n = ip.get(1);
        if (row < m && col < n) {
            int biasOff = ip.get(5);
            int oOff = ip.get(6);
            if (ip.get(7) == LINEAR) {
                float b = 0f;
                if (biasOff >= 0) {
                    b = p.get(biasOff + col);
                }
                p.set(oOff + row * n + col, v + b);
            } else {
                float b = 0f;
                if (biasOff >= 0) {
                    b = p.get(biasOff + row);
                }
                int s = ip.get(8);
                int gcol = col + ip.get(9);
                int bi = gcol / s;
                int pix = gcol - bi * s;
                p.set(oOff + (bi * m + row) * s + pix, v + b);
            }
        }
    }
}
