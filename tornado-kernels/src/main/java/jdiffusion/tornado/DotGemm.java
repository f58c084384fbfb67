package jdiffusion.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The "dot" conv2d/linear variant (the default on CPU devices): a convolution becomes im2col into a scratch
 * range of the pool plus a GEMM whose work-items compute 4×4 blocks as dot products over memory that is
 * contiguous along k, which the device compiler vectorises over k. No local memory. Output layouts:
 * {@link GemmOutput}.
 */
final class DotGemm {
    private DotGemm() {
    }

    /** Work-group size of the GEMM (im2col runs on {@link Elementwise#WG}). */
    static final int WG = 64;
    /** A work-item of the GEMM computes a BLOCK × BLOCK block of C (the 16 accumulators c00..c33 below). */
    static final int BLOCK = 4;

    /**
     * im2col for the DOT variant: X̂[p, k] = x[b, ci, oy·s + ky − pt, ox·s + kx − pl] (0 outside), one row of
     * K = Cin·KH·KW values per output pixel p = (b, oy, ox), so that a convolution becomes dot products of
     * contiguous rows. Only the pixels [p0, p0 + count) are gathered (row p − p0), so that large convolutions go
     * through a bounded scratch buffer in chunks.
     * ip: N, Cin, H, W, KH, KW, stride, padTop, padLeft, OH, OW, xOff, colOff, p0, count
     */
    public static void im2col(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int cin = ip.get(1);
        int h = ip.get(2);
        int w = ip.get(3);
        int kh = ip.get(4);
        int kw = ip.get(5);
        int stride = ip.get(6);
        int pt = ip.get(7);
        int pl = ip.get(8);
        int oh = ip.get(9);
        int ow = ip.get(10);
        int xOff = ip.get(11);
        int colOff = ip.get(12);
        int khw = kh * kw;
        int k = cin * khw;
        int ohw = oh * ow;
        int p0 = ip.get(13);
        int count = ip.get(14);
        int gid = ctx.globalIdx;
        // one work-item per (pixel, input channel): the KH·KW values of that channel's patch
        if (gid < count * cin) {
            int lp = gid / cin;
            int ci = gid - lp * cin;
            int gp = p0 + lp;
            int b = gp / ohw;
            int pix = gp - b * ohw;
            int oy = pix / ow;
            int ox = pix - oy * ow;
            int src = xOff + (b * cin + ci) * h * w;
            int dst = colOff + lp * k + ci * khw;
            for (int ky = 0; ky < kh; ky++) {
                int iy = oy * stride + ky - pt;
                for (int kx = 0; kx < kw; kx++) {
                    int ix = ox * stride + kx - pl;
                    float v = 0f;
                    if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                        v = p.get(src + iy * w + ix);
                    }
                    p.set(dst + ky * kw + kx, v);
                }
            }
        }
    }

    /**
     * The DOT variant's GEMM, for CPU OpenCL devices: C[m, n] = Σ_k A[m, k] · B[n, k] with both operands
     * row-major along k, so each work-item's inner loop is 16 dot products over contiguous memory, which
     * the device compiler vectorises (SIMD over k). A work-item computes a 4×4 block. No local memory.
     * Output: {@link GemmOutput} (mode LINEAR: row-major; mode CONV: the convolution layout, n counted from nBase,
     * the first pixel of the im2col chunk).
     * ip: M, N, K, aOff, bOff, biasOff (-1: none), oOff, mode, S, nBase
     */
    public static void gemm(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int m = ip.get(0);
        int n = ip.get(1);
        int k = ip.get(2);
        int aOff = ip.get(3);
        int bOff = ip.get(4);
        int biasOff = ip.get(5);
        int oOff = ip.get(6);
        int mode = ip.get(7);
        int s = ip.get(8);
        int nBlocks = (n + BLOCK - 1) / BLOCK;
        int gid = ctx.globalIdx;
        int mb = gid / nBlocks;
        int nb = gid - mb * nBlocks;
        int m0 = mb * BLOCK;
        int n0 = nb * BLOCK;
        if (m0 < m) {
            int ml = m - 1 - m0;
            int nl = n - 1 - n0;
            int a0 = aOff + m0 * k;
            int a1 = a0 + TornadoMath.min(1, ml) * k;
            int a2 = a0 + TornadoMath.min(2, ml) * k;
            int a3 = a0 + TornadoMath.min(3, ml) * k;
            int b0 = bOff + n0 * k;
            int b1 = b0 + TornadoMath.min(1, nl) * k;
            int b2 = b0 + TornadoMath.min(2, nl) * k;
            int b3 = b0 + TornadoMath.min(3, nl) * k;
            float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
            float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
            float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
            float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
            for (int kk = 0; kk < k; kk++) {
                float x0 = p.get(a0 + kk);
                float x1 = p.get(a1 + kk);
                float x2 = p.get(a2 + kk);
                float x3 = p.get(a3 + kk);
                float y0 = p.get(b0 + kk);
                float y1 = p.get(b1 + kk);
                float y2 = p.get(b2 + kk);
                float y3 = p.get(b3 + kk);
                c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
                c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
                c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
                c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
            }
            GemmOutput.store(p, ip, m0, n0, c00);
            GemmOutput.store(p, ip, m0, n0 + 1, c01);
            GemmOutput.store(p, ip, m0, n0 + 2, c02);
            GemmOutput.store(p, ip, m0, n0 + 3, c03);
            GemmOutput.store(p, ip, m0 + 1, n0, c10);
            GemmOutput.store(p, ip, m0 + 1, n0 + 1, c11);
            GemmOutput.store(p, ip, m0 + 1, n0 + 2, c12);
            GemmOutput.store(p, ip, m0 + 1, n0 + 3, c13);
            GemmOutput.store(p, ip, m0 + 2, n0, c20);
            GemmOutput.store(p, ip, m0 + 2, n0 + 1, c21);
            GemmOutput.store(p, ip, m0 + 2, n0 + 2, c22);
            GemmOutput.store(p, ip, m0 + 2, n0 + 3, c23);
            GemmOutput.store(p, ip, m0 + 3, n0, c30);
            GemmOutput.store(p, ip, m0 + 3, n0 + 1, c31);
            GemmOutput.store(p, ip, m0 + 3, n0 + 2, c32);
            GemmOutput.store(p, ip, m0 + 3, n0 + 3, c33);
        }
    }
}
