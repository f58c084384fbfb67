package jdiffusion.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The "tiled" conv2d/linear variant (the default on GPUs): the classic shared-memory SGEMM. A work-group
 * computes a {@link #TILE}×{@link #TILE} tile of C = A · Bᵀ; each of its {@link #EDGE}×{@link #EDGE} threads
 * keeps a 4×4 block in registers (rows ty + EDGE·i, columns tx + EDGE·j, so neighbouring threads read
 * neighbouring columns). Both operands are staged in local memory in slices of {@link #TK} k-steps.
 *
 * <p>conv2d is the same GEMM on implicit operands (no im2col buffer): A = the weights [Cout, K] with
 * k = (ci, ky, kx), B = the zero-padded input patches X̂[k, (b, oy, ox)], gathered on the fly into local
 * memory by {@link #patch}. Output layouts: {@link GemmOutput}.
 */
final class TiledGemm {
    private TiledGemm() {
    }

    /** Output tile edge: a work-group computes TILE × TILE outputs. */
    static final int TILE = 64;
    /** Threads along a tile edge; each thread computes a 4×4 block (the 16 accumulators below), so EDGE = TILE / 4. */
    static final int EDGE = TILE / 4;
    /** Work-group size. */
    static final int WG = EDGE * EDGE;
    /** Depth of one staged slice of k. */
    static final int TK = 16;
    /** Floats of one staged operand slice in local memory (TILE rows × TK). */
    static final int SLICE = TILE * TK;
    /** Elements each thread stages per operand and slice. */
    static final int LOADS = SLICE / WG;

    /**
     * C[m, n] = Σ_k A[m, k] · B[n, k] (+ bias), A row-major [M, K]; B row-major [N, K] (mode LINEAR) or the
     * input patches of a convolution (mode CONV).
     * ip: M, N, K, aOff, bOff, biasOff (-1: none), oOff, mode, S, nBase (= 0), tilesN;
     * mode CONV also: Cin, H, W, KH, KW, stride, padTop, padLeft, OW (bOff = the input x [N, Cin, H, W])
     */
    public static void gemm(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int m = ip.get(0);
        int n = ip.get(1);
        int k = ip.get(2);
        int aOff = ip.get(3);
        int bOff = ip.get(4);
        boolean conv = ip.get(7) == GemmOutput.CONV;
        int s = ip.get(8);
        int tilesN = ip.get(10);
        int cin = ip.get(11);
        int h = ip.get(12);
        int w = ip.get(13);
        int khw = ip.get(14) * ip.get(15);
        int kw = ip.get(15);
        int stride = ip.get(16);
        int pt = ip.get(17);
        int pl = ip.get(18);
        int ow = ip.get(19);
        float[] as = ctx.allocateFloatLocalArray(SLICE);
        float[] bs = ctx.allocateFloatLocalArray(SLICE);
        int lid = ctx.localIdx;
        int tx = lid % EDGE;
        int ty = lid / EDGE;
        int m0 = (ctx.groupIdx / tilesN) * TILE;
        int n0 = (ctx.groupIdx % tilesN) * TILE;
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        for (int k0 = 0; k0 < k; k0 += TK) {
            // stage the slice: as[kk][row] = A[m0 + row, k0 + kk], bs[kk][col] = B[n0 + col, k0 + kk]
            for (int r = 0; r < LOADS; r++) {
                int e = lid + WG * r;
                int row = e / TK;
                int kk = e % TK;
                as[kk * TILE + row] = rowMajor(p, aOff, m, k, m0 + row, k0 + kk);
                if (conv) {
                    // consecutive threads take consecutive output pixels of one tap
                    bs[e] = patch(p, bOff, cin, h, w, kw, khw, stride, pt, pl, ow, s, k, n, k0 + e / TILE, n0 + e % TILE);
                } else {
                    bs[kk * TILE + row] = rowMajor(p, bOff, n, k, n0 + row, k0 + kk);
                }
            }
            ctx.localBarrier();
            // 4×4 outer products per k-step (written out: private arrays are not used in kernels)
            for (int kk = 0; kk < TK; kk++) {
                int ab = kk * TILE + ty;
                int bb = kk * TILE + tx;
                float a0 = as[ab];
                float a1 = as[ab + EDGE];
                float a2 = as[ab + 2 * EDGE];
                float a3 = as[ab + 3 * EDGE];
                float b0 = bs[bb];
                float b1 = bs[bb + EDGE];
                float b2 = bs[bb + 2 * EDGE];
                float b3 = bs[bb + 3 * EDGE];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            ctx.localBarrier();
        }
        int r0 = m0 + ty, r1 = r0 + EDGE, r2 = r0 + 2 * EDGE, r3 = r0 + 3 * EDGE;
        int q0 = n0 + tx, q1 = q0 + EDGE, q2 = q0 + 2 * EDGE, q3 = q0 + 3 * EDGE;
        GemmOutput.store(p, ip, r0, q0, c00);
        GemmOutput.store(p, ip, r0, q1, c01);
        GemmOutput.store(p, ip, r0, q2, c02);
        GemmOutput.store(p, ip, r0, q3, c03);
        GemmOutput.store(p, ip, r1, q0, c10);
        GemmOutput.store(p, ip, r1, q1, c11);
        GemmOutput.store(p, ip, r1, q2, c12);
        GemmOutput.store(p, ip, r1, q3, c13);
        GemmOutput.store(p, ip, r2, q0, c20);
        GemmOutput.store(p, ip, r2, q1, c21);
        GemmOutput.store(p, ip, r2, q2, c22);
        GemmOutput.store(p, ip, r2, q3, c23);
        GemmOutput.store(p, ip, r3, q0, c30);
        GemmOutput.store(p, ip, r3, q1, c31);
        GemmOutput.store(p, ip, r3, q2, c32);
        GemmOutput.store(p, ip, r3, q3, c33);
    }

    /** M[row, col] of a row-major [rows, cols] matrix at {@code off}; 0 past its edges. */
    private static float rowMajor(FloatArray p, int off, int rows, int cols, int row, int col) {
        float v = 0f;
        if (row < rows && col < cols) {
            v = p.get(off + row * cols + col);
        }
        return v;
    }

    /**
     * X̂[tap, pixel] of a convolution: the input value that tap = (ci, ky, kx) sees for output pixel
     * (b, oy, ox), i.e. x[b, ci, oy·stride + ky − padTop, ox·stride + kx − padLeft]; 0 in the padding and past
     * the ends (tap ≥ K, pixel ≥ pixels).
     */
    private static float patch(FloatArray p, int xOff, int cin, int h, int w, int kw, int khw, int stride, int pt, int pl,
                               int ow, int ohw, int k, int pixels, int tap, int pixel) {
        float v = 0f;
        if (tap < k && pixel < pixels) {
            int ci = tap / khw;
            int rr = tap - ci * khw;
            int ky = rr / kw;
            int kx = rr - ky * kw;
            int b = pixel / ohw;
            int pix = pixel - b * ohw;
            int oy = pix / ow;
            int ox = pix - oy * ow;
            int iy = oy * stride + ky - pt;
            int ix = ox * stride + kx - pl;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                v = p.get(xOff + ((b * cin + ci) * h + iy) * w + ix);
            }
        }
        return v;
    }
}
