package jdiffusion.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The "direct" conv2d/linear variant: no local memory and no barriers. Each work-item computes {@link #BLOCK}
 * outputs in registers (8 output channels of one pixel for conv2d, 8 rows of one column for linear); its
 * neighbours take the neighbouring pixels or columns, so their reads are contiguous across the work-group,
 * which a CPU OpenCL compiler vectorises over the work-items.
 */
final class DirectGemm {
    private DirectGemm() {
    }

    /** Work-group size. */
    static final int WG = 64;
    /** Outputs per work-item (the 8 accumulators a0..a7 below). */
    static final int BLOCK = 8;

    /**
     * conv2d without local memory or barriers ("direct" variant, for CPU OpenCL devices): each work-item
     * computes one output pixel for 8 consecutive output channels, walking (ci, ky, kx) and reading the
     * input once per step for all 8. Consecutive work-items take consecutive pixels, so input reads are
     * contiguous across work-items (the OpenCL compiler vectorises the work-item loop) and weight reads are
     * the same for the whole group.
     * ip: N, Cin, H, W, Cout, KH, KW, stride, padTop, padLeft, OH, OW, xOff, wOff, bOff (-1: none), oOff
     */
    public static void conv2d(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int nb = ip.get(0);
        int cin = ip.get(1);
        int h = ip.get(2);
        int w = ip.get(3);
        int cout = ip.get(4);
        int kh = ip.get(5);
        int kw = ip.get(6);
        int stride = ip.get(7);
        int pt = ip.get(8);
        int pl = ip.get(9);
        int oh = ip.get(10);
        int ow = ip.get(11);
        int xOff = ip.get(12);
        int wOff = ip.get(13);
        int bOff = ip.get(14);
        int oOff = ip.get(15);
        int ohw = oh * ow;
        int np = nb * ohw;
        int gid = ctx.globalIdx;
        int cb = gid / np;
        int gp = gid - cb * np;
        int co0 = cb * BLOCK;
        if (co0 < cout) {
            int k = cin * kh * kw;
            int last = cout - 1 - co0;
            int w1 = TornadoMath.min(1, last) * k;
            int w2 = TornadoMath.min(2, last) * k;
            int w3 = TornadoMath.min(3, last) * k;
            int w4 = TornadoMath.min(4, last) * k;
            int w5 = TornadoMath.min(5, last) * k;
            int w6 = TornadoMath.min(6, last) * k;
            int w7 = TornadoMath.min(7, last) * k;
            int b = gp / ohw;
            int pix = gp - b * ohw;
            int oy = pix / ow;
            int ox = pix - oy * ow;
            float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f, a4 = 0f, a5 = 0f, a6 = 0f, a7 = 0f;
            int wb = wOff + co0 * k;
            for (int ci = 0; ci < cin; ci++) {
                int xPlane = xOff + (b * cin + ci) * h * w;
                for (int ky = 0; ky < kh; ky++) {
                    int iy = oy * stride + ky - pt;
                    boolean rowOk = iy >= 0 && iy < h;
                    for (int kx = 0; kx < kw; kx++) {
                        int ix = ox * stride + kx - pl;
                        float xv = 0f;
                        if (rowOk && ix >= 0 && ix < w) {
                            xv = p.get(xPlane + iy * w + ix);
                        }
                        a0 += xv * p.get(wb);
                        a1 += xv * p.get(wb + w1);
                        a2 += xv * p.get(wb + w2);
                        a3 += xv * p.get(wb + w3);
                        a4 += xv * p.get(wb + w4);
                        a5 += xv * p.get(wb + w5);
                        a6 += xv * p.get(wb + w6);
                        a7 += xv * p.get(wb + w7);
                        wb++;
                    }
                }
            }
            int o = oOff + (b * cout + co0) * ohw + pix;
            storeDirect(p, o, bOff, co0, cout, a0);
            storeDirect(p, o + ohw, bOff, co0 + 1, cout, a1);
            storeDirect(p, o + 2 * ohw, bOff, co0 + 2, cout, a2);
            storeDirect(p, o + 3 * ohw, bOff, co0 + 3, cout, a3);
            storeDirect(p, o + 4 * ohw, bOff, co0 + 4, cout, a4);
            storeDirect(p, o + 5 * ohw, bOff, co0 + 5, cout, a5);
            storeDirect(p, o + 6 * ohw, bOff, co0 + 6, cout, a6);
            storeDirect(p, o + 7 * ohw, bOff, co0 + 7, cout, a7);
        }
    }

    private static void storeDirect(FloatArray p, int o, int bOff, int co, int cout, float v) {
        if (co < cout) {
            float b = 0f;
            if (bOff >= 0) {
                b = p.get(bOff + co);
            }
            p.set(o, v + b);
        }
    }

    /**
     * linear without local memory ("direct" variant, for CPU OpenCL devices), on the once-transposed weight
     * Wt [K, N]: each work-item computes one output column n for 8 consecutive rows. Consecutive
     * work-items take consecutive columns, so Wt reads are contiguous across work-items and X reads are the
     * same for the whole group.  ip: M, N, K, xOff, wtOff, bOff (-1: none), oOff
     */
    public static void linear(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int m = ip.get(0);
        int n = ip.get(1);
        int k = ip.get(2);
        int xOff = ip.get(3);
        int wtOff = ip.get(4);
        int bOff = ip.get(5);
        int oOff = ip.get(6);
        int gid = ctx.globalIdx;
        int rb = gid / n;
        int col = gid - rb * n;
        int r0 = rb * BLOCK;
        if (r0 < m) {
            int last = m - 1 - r0;
            int x0 = xOff + r0 * k;
            int x1 = x0 + TornadoMath.min(1, last) * k;
            int x2 = x0 + TornadoMath.min(2, last) * k;
            int x3 = x0 + TornadoMath.min(3, last) * k;
            int x4 = x0 + TornadoMath.min(4, last) * k;
            int x5 = x0 + TornadoMath.min(5, last) * k;
            int x6 = x0 + TornadoMath.min(6, last) * k;
            int x7 = x0 + TornadoMath.min(7, last) * k;
            float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f, a4 = 0f, a5 = 0f, a6 = 0f, a7 = 0f;
            int wi = wtOff + col;
            for (int kk = 0; kk < k; kk++) {
                float wv = p.get(wi);
                a0 += p.get(x0 + kk) * wv;
                a1 += p.get(x1 + kk) * wv;
                a2 += p.get(x2 + kk) * wv;
                a3 += p.get(x3 + kk) * wv;
                a4 += p.get(x4 + kk) * wv;
                a5 += p.get(x5 + kk) * wv;
                a6 += p.get(x6 + kk) * wv;
                a7 += p.get(x7 + kk) * wv;
                wi += n;
            }
            float b = 0f;
            if (bOff >= 0) {
                b = p.get(bOff + col);
            }
            int o = oOff + r0 * n + col;
            storeRow(p, o, 0, last, a0 + b);
            storeRow(p, o + n, 1, last, a1 + b);
            storeRow(p, o + 2 * n, 2, last, a2 + b);
            storeRow(p, o + 3 * n, 3, last, a3 + b);
            storeRow(p, o + 4 * n, 4, last, a4 + b);
            storeRow(p, o + 5 * n, 5, last, a5 + b);
            storeRow(p, o + 6 * n, 6, last, a6 + b);
            storeRow(p, o + 7 * n, 7, last, a7 + b);
        }
    }

    /** Row r of the work-item's block, if the matrix has it (r ≤ last). */
    private static void storeRow(FloatArray p, int o, int r, int last, float v) {
        if (r <= last) {
            p.set(o, v);
        }
    }
}
