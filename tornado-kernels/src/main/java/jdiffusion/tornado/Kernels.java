package jdiffusion.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The device kernels, in TornadoVM's Java subset (compiled to OpenCL C / PTX / SPIR-V at run time).
 *
 * <p>Every kernel has the same signature: the memory pool {@code p} (all tensors, weights and activations,
 * live in it at float offsets), integer parameters {@code ip} (shapes and offsets) and float parameters
 * {@code fp}. Parameters travel in small arrays, not as scalar arguments, because TornadoVM specialises a
 * kernel on its scalar arguments: each distinct shape would be a new compilation. This way each kernel is
 * compiled once per process and serves every model and shape.
 *
 * <p>All kernels are {@link KernelContext} kernels launched on a 1-D grid whose size is rounded up to the
 * work-group size; threads past the end do nothing (but still reach every barrier). No kernel uses
 * {@code Float.NaN} or infinities (the OpenCL build runs with -cl-fast-relaxed-math): the running maximum of
 * the softmax starts at {@link #NEG}.
 */
public final class Kernels {
    private Kernels() {
    }

    /** Work-group sizes. */
    public static final int WG_GEMM = 256, WG_DIRECT = 64, WG_NORM = 256, WG_LAYER_NORM = 128, WG_ELEM = 256, WG_TRANSPOSE = 256;
    /** GEMM tile: 64×64 outputs per work-group (4×4 per thread), K in steps of 16. */
    public static final int TILE = 64, TK = 16;
    /** Attention: queries per work-group, capacity of the K and V tiles (floats each), keys per tile at most. */
    public static final int ATT_BQ = 32, ATT_KV = 4096, ATT_BK = 64;
    /** Transpose tile edge. */
    public static final int TT = 16;
    /** A finite "minus infinity" for running maxima. */
    public static final float NEG = -3.0e38f;

    // ------------------------------------------------------------------------------------------------ pool

    /** Allocates the pool on the device (the init graph); touches one element. */
    public static void touch(KernelContext ctx, FloatArray p) {
        if (ctx.globalIdx == 0) {
            p.set(0, p.get(0));
        }
    }

    /** p[dst + i] = stage[i], i &lt; n.  ip: n, dst */
    public static void upload(KernelContext ctx, FloatArray p, FloatArray stage, IntArray ip) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            p.set(ip.get(1) + i, stage.get(i));
        }
    }

    // ------------------------------------------------------------------------------------------------ GEMMs

    /**
     * linear: O[m, n] = Σ_k X[m, k] · W[n, k] (+ bias[n]): X [M, K] rows, W [N, K] (PyTorch layout), O [M, N].
     * 64×64 output tile per work-group of 16×16 threads, each thread a 4×4 block (rows ty + 16i, columns
     * tx + 16j, so a warp reads consecutive columns); X and W tiles of 16 k-steps staged in local memory.
     * ip: M, N, K, xOff, wOff, bOff (-1: none), oOff, tilesN
     */
    public static void linear(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int m = ip.get(0);
        int n = ip.get(1);
        int k = ip.get(2);
        int xOff = ip.get(3);
        int wOff = ip.get(4);
        int bOff = ip.get(5);
        int oOff = ip.get(6);
        int tilesN = ip.get(7);
        float[] as = ctx.allocateFloatLocalArray(1024);
        float[] bs = ctx.allocateFloatLocalArray(1024);
        int lid = ctx.localIdx;
        int tx = lid % 16;
        int ty = lid / 16;
        int grp = ctx.groupIdx;
        int m0 = (grp / tilesN) * 64;
        int n0 = (grp % tilesN) * 64;
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        for (int k0 = 0; k0 < k; k0 += 16) {
            for (int r = 0; r < 4; r++) {
                int e = lid + 256 * r;
                int row = e / 16;
                int kk = e % 16;
                int gk = k0 + kk;
                int gm = m0 + row;
                float va = 0f;
                if (gm < m && gk < k) {
                    va = p.get(xOff + gm * k + gk);
                }
                as[kk * 64 + row] = va;
                int gn = n0 + row;
                float vb = 0f;
                if (gn < n && gk < k) {
                    vb = p.get(wOff + gn * k + gk);
                }
                bs[kk * 64 + row] = vb;
            }
            ctx.localBarrier();
            for (int kk = 0; kk < 16; kk++) {
                int ab = kk * 64 + ty;
                int bb = kk * 64 + tx;
                float a0 = as[ab];
                float a1 = as[ab + 16];
                float a2 = as[ab + 32];
                float a3 = as[ab + 48];
                float b0 = bs[bb];
                float b1 = bs[bb + 16];
                float b2 = bs[bb + 32];
                float b3 = bs[bb + 48];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            ctx.localBarrier();
        }
        int r0 = m0 + ty;
        int q0 = n0 + tx;
        storeLinear(p, oOff, bOff, m, n, r0, q0, c00);
        storeLinear(p, oOff, bOff, m, n, r0, q0 + 16, c01);
        storeLinear(p, oOff, bOff, m, n, r0, q0 + 32, c02);
        storeLinear(p, oOff, bOff, m, n, r0, q0 + 48, c03);
        storeLinear(p, oOff, bOff, m, n, r0 + 16, q0, c10);
        storeLinear(p, oOff, bOff, m, n, r0 + 16, q0 + 16, c11);
        storeLinear(p, oOff, bOff, m, n, r0 + 16, q0 + 32, c12);
        storeLinear(p, oOff, bOff, m, n, r0 + 16, q0 + 48, c13);
        storeLinear(p, oOff, bOff, m, n, r0 + 32, q0, c20);
        storeLinear(p, oOff, bOff, m, n, r0 + 32, q0 + 16, c21);
        storeLinear(p, oOff, bOff, m, n, r0 + 32, q0 + 32, c22);
        storeLinear(p, oOff, bOff, m, n, r0 + 32, q0 + 48, c23);
        storeLinear(p, oOff, bOff, m, n, r0 + 48, q0, c30);
        storeLinear(p, oOff, bOff, m, n, r0 + 48, q0 + 16, c31);
        storeLinear(p, oOff, bOff, m, n, r0 + 48, q0 + 32, c32);
        storeLinear(p, oOff, bOff, m, n, r0 + 48, q0 + 48, c33);
    }

    private static void storeLinear(FloatArray p, int oOff, int bOff, int m, int n, int row, int col, float v) {
        if (row < m && col < n) {
            float b = 0f;
            if (bOff >= 0) {
                b = p.get(bOff + col);
            }
            p.set(oOff + row * n + col, v + b);
        }
    }

    /**
     * conv2d as an implicit GEMM (no im2col buffer): O[co, (b, oy, ox)] = Σ_k W[co, k] · X̂[k, (b, oy, ox)]
     * with k = (ci, ky, kx) and X̂ the zero-padded input gathered on the fly into local memory. Same 64×64
     * tiling as {@link #linear}; the gather reads consecutive output pixels in consecutive threads.
     * ip: N, Cin, H, W, Cout, KH, KW, stride, padTop, padLeft, OH, OW, xOff, wOff, bOff (-1: none), oOff, tilesN
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
        int tilesN = ip.get(16);
        int khw = kh * kw;
        int k = cin * khw;
        int ohw = oh * ow;
        int np = nb * ohw;
        float[] as = ctx.allocateFloatLocalArray(1024);
        float[] bs = ctx.allocateFloatLocalArray(1024);
        int lid = ctx.localIdx;
        int tx = lid % 16;
        int ty = lid / 16;
        int grp = ctx.groupIdx;
        int m0 = (grp / tilesN) * 64;
        int n0 = (grp % tilesN) * 64;
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        for (int k0 = 0; k0 < k; k0 += 16) {
            for (int r = 0; r < 4; r++) {
                int e = lid + 256 * r;
                // weights: row co, 16 consecutive k
                int row = e / 16;
                int kk = e % 16;
                int gk = k0 + kk;
                int co = m0 + row;
                float va = 0f;
                if (co < cout && gk < k) {
                    va = p.get(wOff + co * k + gk);
                }
                as[kk * 64 + row] = va;
                // input patch: row k, 64 consecutive output pixels
                int kb = e / 64;
                int col = e % 64;
                int gkb = k0 + kb;
                int gp = n0 + col;
                float vb = 0f;
                if (gkb < k && gp < np) {
                    int ci = gkb / khw;
                    int rr = gkb - ci * khw;
                    int ky = rr / kw;
                    int kx = rr - ky * kw;
                    int b = gp / ohw;
                    int pix = gp - b * ohw;
                    int oy = pix / ow;
                    int ox = pix - oy * ow;
                    int iy = oy * stride + ky - pt;
                    int ix = ox * stride + kx - pl;
                    if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                        vb = p.get(xOff + ((b * cin + ci) * h + iy) * w + ix);
                    }
                }
                bs[kb * 64 + col] = vb;
            }
            ctx.localBarrier();
            for (int kk = 0; kk < 16; kk++) {
                int ab = kk * 64 + ty;
                int bb = kk * 64 + tx;
                float a0 = as[ab];
                float a1 = as[ab + 16];
                float a2 = as[ab + 32];
                float a3 = as[ab + 48];
                float b0 = bs[bb];
                float b1 = bs[bb + 16];
                float b2 = bs[bb + 32];
                float b3 = bs[bb + 48];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            ctx.localBarrier();
        }
        int r0 = m0 + ty;
        int q0 = n0 + tx;
        storeConv(p, oOff, bOff, cout, np, ohw, r0, q0, c00);
        storeConv(p, oOff, bOff, cout, np, ohw, r0, q0 + 16, c01);
        storeConv(p, oOff, bOff, cout, np, ohw, r0, q0 + 32, c02);
        storeConv(p, oOff, bOff, cout, np, ohw, r0, q0 + 48, c03);
        storeConv(p, oOff, bOff, cout, np, ohw, r0 + 16, q0, c10);
        storeConv(p, oOff, bOff, cout, np, ohw, r0 + 16, q0 + 16, c11);
        storeConv(p, oOff, bOff, cout, np, ohw, r0 + 16, q0 + 32, c12);
        storeConv(p, oOff, bOff, cout, np, ohw, r0 + 16, q0 + 48, c13);
        storeConv(p, oOff, bOff, cout, np, ohw, r0 + 32, q0, c20);
        storeConv(p, oOff, bOff, cout, np, ohw, r0 + 32, q0 + 16, c21);
        storeConv(p, oOff, bOff, cout, np, ohw, r0 + 32, q0 + 32, c22);
        storeConv(p, oOff, bOff, cout, np, ohw, r0 + 32, q0 + 48, c23);
        storeConv(p, oOff, bOff, cout, np, ohw, r0 + 48, q0, c30);
        storeConv(p, oOff, bOff, cout, np, ohw, r0 + 48, q0 + 16, c31);
        storeConv(p, oOff, bOff, cout, np, ohw, r0 + 48, q0 + 32, c32);
        storeConv(p, oOff, bOff, cout, np, ohw, r0 + 48, q0 + 48, c33);
    }

    private static void storeConv(FloatArray p, int oOff, int bOff, int cout, int np, int ohw, int co, int gp, float v) {
        if (co < cout && gp < np) {
            float b = 0f;
            if (bOff >= 0) {
                b = p.get(bOff + co);
            }
            int bi = gp / ohw;
            int pix = gp - bi * ohw;
            p.set(oOff + (bi * cout + co) * ohw + pix, v + b);
        }
    }

    /**
     * conv2d without local memory or barriers ("direct" variant, for CPU OpenCL devices): each work-item
     * computes one output pixel for 8 consecutive output channels, walking (ci, ky, kx) and reading the
     * input once per step for all 8. Consecutive work-items take consecutive pixels, so input reads are
     * contiguous across work-items (the OpenCL compiler vectorises the work-item loop) and weight reads are
     * the same for the whole group.
     * ip: N, Cin, H, W, Cout, KH, KW, stride, padTop, padLeft, OH, OW, xOff, wOff, bOff (-1: none), oOff
     */
    public static void conv2dDirect(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
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
        int co0 = cb * 8;
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
    public static void linearDirect(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
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
        int r0 = rb * 8;
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
            p.set(o, a0 + b);
            if (last >= 1) {
                p.set(o + n, a1 + b);
            }
            if (last >= 2) {
                p.set(o + 2 * n, a2 + b);
            }
            if (last >= 3) {
                p.set(o + 3 * n, a3 + b);
            }
            if (last >= 4) {
                p.set(o + 4 * n, a4 + b);
            }
            if (last >= 5) {
                p.set(o + 5 * n, a5 + b);
            }
            if (last >= 6) {
                p.set(o + 6 * n, a6 + b);
            }
            if (last >= 7) {
                p.set(o + 7 * n, a7 + b);
            }
        }
    }

    /**
     * im2col for the DOT variant: X̂[p, k] = x[b, ci, oy·s + ky − pt, ox·s + kx − pl] (0 outside), one row of
     * K = Cin·KH·KW values per output pixel p = (b, oy, ox), so that a convolution becomes dot products of
     * contiguous rows. Only the pixels [p0, p0 + count) are gathered (row p − p0), so that large convolutions go
     * through a bounded scratch buffer in chunks.
     * ip: N, Cin, H, W, KH, KW, stride, padTop, padLeft, OH, OW, xOff, colOff, p0, count
     */
    public static void im2col(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int nb = ip.get(0);
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
     * Output layout: mode 0 row-major O[m·N + n] (+ bias[n]); mode 1 convolution layout with m = output
     * channel and n = (b, pixel) − nBase: O[(b·M + m)·S + pixel] (+ bias[m]), S = pixels per image.
     * ip: M, N, K, aOff, bOff, biasOff (-1: none), oOff, mode, S, nBase
     */
    public static void gemmDot(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int m = ip.get(0);
        int n = ip.get(1);
        int k = ip.get(2);
        int aOff = ip.get(3);
        int bOff = ip.get(4);
        int biasOff = ip.get(5);
        int oOff = ip.get(6);
        int mode = ip.get(7);
        int s = ip.get(8);
        int nBlocks = (n + 3) / 4;
        int gid = ctx.globalIdx;
        int mb = gid / nBlocks;
        int nb = gid - mb * nBlocks;
        int m0 = mb * 4;
        int n0 = nb * 4;
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
            storeDot(p, ip, m0, n0, c00);
            storeDot(p, ip, m0, n0 + 1, c01);
            storeDot(p, ip, m0, n0 + 2, c02);
            storeDot(p, ip, m0, n0 + 3, c03);
            storeDot(p, ip, m0 + 1, n0, c10);
            storeDot(p, ip, m0 + 1, n0 + 1, c11);
            storeDot(p, ip, m0 + 1, n0 + 2, c12);
            storeDot(p, ip, m0 + 1, n0 + 3, c13);
            storeDot(p, ip, m0 + 2, n0, c20);
            storeDot(p, ip, m0 + 2, n0 + 1, c21);
            storeDot(p, ip, m0 + 2, n0 + 2, c22);
            storeDot(p, ip, m0 + 2, n0 + 3, c23);
            storeDot(p, ip, m0 + 3, n0, c30);
            storeDot(p, ip, m0 + 3, n0 + 1, c31);
            storeDot(p, ip, m0 + 3, n0 + 2, c32);
            storeDot(p, ip, m0 + 3, n0 + 3, c33);
        }
    }

    private static void storeDot(FloatArray p, IntArray ip, int row, int col, float v) {
        int m = ip.get(0);
        int n = ip.get(1);
        if (row < m && col < n) {
            int biasOff = ip.get(5);
            int oOff = ip.get(6);
            if (ip.get(7) == 0) {
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

    // ------------------------------------------------------------------------------------------------ norms

    /**
     * GroupNorm (+ SiLU), fused: one work-group per (batch, group) reduces the mean, then the centred
     * variance (two passes, tree reductions in local memory), then normalises and applies gamma/beta.
     * ip: N, C, S (spatial), G, xOff, gOff, bOff, oOff, silu (0/1); fp: eps
     */
    public static void groupNorm(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int c = ip.get(1);
        int s = ip.get(2);
        int g = ip.get(3);
        int xOff = ip.get(4);
        int gOff = ip.get(5);
        int bOff = ip.get(6);
        int oOff = ip.get(7);
        int silu = ip.get(8);
        float eps = fp.get(0);
        float[] red = ctx.allocateFloatLocalArray(256);
        int lid = ctx.localIdx;
        int grp = ctx.groupIdx;
        int bn = grp / g;
        int gi = grp - bn * g;
        int cpg = c / g;
        int len = cpg * s;
        int base = (bn * c + gi * cpg) * s;
        float sum = 0f;
        for (int i = lid; i < len; i += 256) {
            sum += p.get(xOff + base + i);
        }
        red[lid] = sum;
        ctx.localBarrier();
        for (int st = 128; st > 0; st /= 2) {
            if (lid < st) {
                red[lid] = red[lid] + red[lid + st];
            }
            ctx.localBarrier();
        }
        float mean = red[0] / len;
        ctx.localBarrier();
        float sq = 0f;
        for (int i = lid; i < len; i += 256) {
            float d = p.get(xOff + base + i) - mean;
            sq += d * d;
        }
        red[lid] = sq;
        ctx.localBarrier();
        for (int st = 128; st > 0; st /= 2) {
            if (lid < st) {
                red[lid] = red[lid] + red[lid + st];
            }
            ctx.localBarrier();
        }
        float rstd = 1.0f / TornadoMath.sqrt(red[0] / len + eps);
        for (int i = lid; i < len; i += 256) {
            int ch = gi * cpg + i / s;
            float y = (p.get(xOff + base + i) - mean) * rstd * p.get(gOff + ch) + p.get(bOff + ch);
            if (silu == 1) {
                y = y / (1.0f + TornadoMath.exp(-y));
            }
            p.set(oOff + base + i, y);
        }
    }

    /**
     * LayerNorm over the last dimension: one work-group per row, two-pass mean/variance as {@link #groupNorm}.
     * ip: rows, C, xOff, gOff, bOff, oOff; fp: eps
     */
    public static void layerNorm(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int c = ip.get(1);
        int xOff = ip.get(2);
        int gOff = ip.get(3);
        int bOff = ip.get(4);
        int oOff = ip.get(5);
        float eps = fp.get(0);
        float[] red = ctx.allocateFloatLocalArray(128);
        int lid = ctx.localIdx;
        int base = ctx.groupIdx * c;
        float sum = 0f;
        for (int i = lid; i < c; i += 128) {
            sum += p.get(xOff + base + i);
        }
        red[lid] = sum;
        ctx.localBarrier();
        for (int st = 64; st > 0; st /= 2) {
            if (lid < st) {
                red[lid] = red[lid] + red[lid + st];
            }
            ctx.localBarrier();
        }
        float mean = red[0] / c;
        ctx.localBarrier();
        float sq = 0f;
        for (int i = lid; i < c; i += 128) {
            float d = p.get(xOff + base + i) - mean;
            sq += d * d;
        }
        red[lid] = sq;
        ctx.localBarrier();
        for (int st = 64; st > 0; st /= 2) {
            if (lid < st) {
                red[lid] = red[lid] + red[lid + st];
            }
            ctx.localBarrier();
        }
        float rstd = 1.0f / TornadoMath.sqrt(red[0] / c + eps);
        for (int i = lid; i < c; i += 128) {
            p.set(oOff + base + i, (p.get(xOff + base + i) - mean) * rstd * p.get(gOff + i) + p.get(bOff + i));
        }
    }

    // ------------------------------------------------------------------------------------------------ attention

    /**
     * Multi-head softmax attention, flash style: never more than a tile of the score matrix. A work-group
     * serves {@link #ATT_BQ} queries of one (batch, head); it walks the keys in tiles of BK (≤ {@link #ATT_BK},
     * BK·D ≤ {@link #ATT_KV}), staging the K and V tiles in local memory. Each thread keeps its query's
     * running max m and normaliser l (online softmax) and accumulates the unnormalised output in place in O,
     * rescaling it by exp(m_old − m_new) once per tile. q [B, Tq, H·D], k/v [B, Tk, H·D], channel = h·D + d.
     * ip: B, Tq, Tk, H, D, qOff, kOff, vOff, oOff, BK, qTiles; fp: scale
     */
    public static void attention(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int tq = ip.get(1);
        int tk = ip.get(2);
        int heads = ip.get(3);
        int d = ip.get(4);
        int qOff = ip.get(5);
        int kOff = ip.get(6);
        int vOff = ip.get(7);
        int oOff = ip.get(8);
        int bk = ip.get(9);
        int qTiles = ip.get(10);
        float scale = fp.get(0);
        float[] ks = ctx.allocateFloatLocalArray(4096);
        float[] vs = ctx.allocateFloatLocalArray(4096);
        float[] ps = ctx.allocateFloatLocalArray(2048);
        int lid = ctx.localIdx;
        int grp = ctx.groupIdx;
        int bh = grp / qTiles;
        int qt = grp - bh * qTiles;
        int b = bh / heads;
        int hh = bh - b * heads;
        int c = heads * d;
        int qi = qt * 32 + lid;
        int qBase = qOff + (b * tq + qi) * c + hh * d;
        int oBase = oOff + (b * tq + qi) * c + hh * d;
        int pBase = lid * 64;
        float m = NEG;
        float l = 0f;
        for (int j0 = 0; j0 < tk; j0 += bk) {
            int nk = TornadoMath.min(bk, tk - j0);
            int tile = nk * d;
            for (int e = lid; e < tile; e += 32) {
                int j = e / d;
                int dd = e - j * d;
                int src = (b * tk + j0 + j) * c + hh * d + dd;
                ks[e] = p.get(kOff + src);
                vs[e] = p.get(vOff + src);
            }
            ctx.localBarrier();
            if (qi < tq) {
                float tmax = NEG;
                for (int j = 0; j < nk; j++) {
                    float sc = 0f;
                    for (int dd = 0; dd < d; dd++) {
                        sc += p.get(qBase + dd) * ks[j * d + dd];
                    }
                    sc = sc * scale;
                    ps[pBase + j] = sc;
                    tmax = TornadoMath.max(tmax, sc);
                }
                float mNew = TornadoMath.max(m, tmax);
                float corr = TornadoMath.exp(m - mNew);
                float psum = 0f;
                for (int j = 0; j < nk; j++) {
                    float pe = TornadoMath.exp(ps[pBase + j] - mNew);
                    ps[pBase + j] = pe;
                    psum += pe;
                }
                l = l * corr + psum;
                for (int dd = 0; dd < d; dd++) {
                    float acc = 0f;
                    for (int j = 0; j < nk; j++) {
                        acc += ps[pBase + j] * vs[j * d + dd];
                    }
                    if (j0 > 0) {
                        acc += p.get(oBase + dd) * corr;
                    }
                    p.set(oBase + dd, acc);
                }
                m = mNew;
            }
            ctx.localBarrier();
        }
        if (qi < tq) {
            float inv = 1.0f / l;
            for (int dd = 0; dd < d; dd++) {
                p.set(oBase + dd, p.get(oBase + dd) * inv);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ elementwise

    /** o = x · sigmoid(x).  ip: n, xOff, oOff */
    public static void silu(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            float x = p.get(ip.get(1) + i);
            p.set(ip.get(2) + i, x / (1.0f + TornadoMath.exp(-x)));
        }
    }

    /** o = x · s.  ip: n, xOff, oOff; fp: s */
    public static void scale(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            p.set(ip.get(2) + i, p.get(ip.get(1) + i) * fp.get(0));
        }
    }

    /** o = a + b.  ip: n, aOff, bOff, oOff */
    public static void add(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            p.set(ip.get(3) + i, p.get(ip.get(1) + i) + p.get(ip.get(2) + i));
        }
    }

    /** o[(n·C + c)·S + s] = x[...] + v[n·C + c].  ip: total, S, xOff, vOff, oOff */
    public static void addChannelBias(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            p.set(ip.get(4) + i, p.get(ip.get(2) + i) + p.get(ip.get(3) + i / ip.get(1)));
        }
    }

    /** GEGLU: x [rows, 2F] → o [rows, F] = h · gelu(g), h = x[:, :F], g = x[:, F:].  ip: rows·F, F, xOff, oOff */
    public static void geglu(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            int f = ip.get(1);
            int r = i / f;
            int j = i - r * f;
            int src = ip.get(2) + r * 2 * f + j;
            p.set(ip.get(3) + i, p.get(src) * gelu(p.get(src + f)));
        }
    }

    /** Exact GELU, x·Φ(x) with Φ(x) = erfc(−x/√2)/2, so that the negative tail keeps its relative accuracy. */
    static float gelu(float x) {
        float z = TornadoMath.abs(x) * 0.70710678118654752f;
        float e = erfcNonNegative(z);
        float cdf = 0.5f * e;
        if (x >= 0f) {
            cdf = 1.0f - cdf;
        }
        return x * cdf;
    }

    /**
     * erfc(z) for z ≥ 0 with fractional error below 1.2e-7 everywhere (the Chebyshev fit of Numerical
     * Recipes' erfcc, after W. J. Cody).
     */
    static float erfcNonNegative(float z) {
        float t = 1.0f / (1.0f + 0.5f * z);
        float poly = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f
                + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
        return t * TornadoMath.exp(-z * z + poly);
    }

    /** Nearest 2× upsampling: o[p, y, x] = x[p, y/2, x/2] over planes p = n·C + c.  ip: total out, H, W, xOff, oOff */
    public static void upsample2x(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            int h = ip.get(1);
            int w = ip.get(2);
            int w2 = 2 * w;
            int plane = i / (4 * h * w);
            int rem = i - plane * 4 * h * w;
            int y = rem / w2;
            int xx = rem - y * w2;
            p.set(ip.get(4) + i, p.get(ip.get(3) + (plane * h + y / 2) * w + xx / 2));
        }
    }

    /** Channel concatenation [N, Ca, S] ++ [N, Cb, S].  ip: total, Ca, Cb, S, aOff, bOff, oOff */
    public static void concat(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            int ca = ip.get(1);
            int cb = ip.get(2);
            int s = ip.get(3);
            int per = (ca + cb) * s;
            int n = i / per;
            int rem = i - n * per;
            int ch = rem / s;
            int pix = rem - ch * s;
            float v;
            if (ch < ca) {
                v = p.get(ip.get(4) + (n * ca + ch) * s + pix);
            } else {
                v = p.get(ip.get(5) + (n * cb + ch - ca) * s + pix);
            }
            p.set(ip.get(6) + i, v);
        }
    }

    /**
     * Batched transpose through a 16×17 local tile (reads and writes both along contiguous rows):
     * o[n, c, r] = x[n, r, c] for x [N, R, Cc]. toTokens is the transpose of [C, HW], fromTokens of [HW, C].
     * ip: N, R, Cc, xOff, oOff, tilesR, tilesC
     */
    public static void transpose(KernelContext ctx, FloatArray p, IntArray ip, FloatArray fp) {
        int rows = ip.get(1);
        int cols = ip.get(2);
        int xOff = ip.get(3);
        int oOff = ip.get(4);
        int tilesR = ip.get(5);
        int tilesC = ip.get(6);
        float[] tile = ctx.allocateFloatLocalArray(272);
        int lid = ctx.localIdx;
        int lx = lid % 16;
        int ly = lid / 16;
        int grp = ctx.groupIdx;
        int perBatch = tilesR * tilesC;
        int n = grp / perBatch;
        int rem = grp - n * perBatch;
        int tr = rem / tilesC;
        int tc = rem - tr * tilesC;
        int r = tr * 16 + ly;
        int c = tc * 16 + lx;
        float v = 0f;
        if (r < rows && c < cols) {
            v = p.get(xOff + (n * rows + r) * cols + c);
        }
        tile[ly * 17 + lx] = v;
        ctx.localBarrier();
        int oc = tc * 16 + ly;
        int or = tr * 16 + lx;
        if (oc < cols && or < rows) {
            p.set(oOff + (n * cols + oc) * rows + or, tile[lx * 17 + ly]);
        }
    }
}
