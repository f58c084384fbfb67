package jdiffusion.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The pool's own kernels (initialisation, upload from a staging buffer), the elementwise ops (one work-item per
 * output element) and the data movement ops (upsampling, channel concatenation, a tiled transpose).
 */
final class Elementwise {
    private Elementwise() {
    }

    /** Work-group size of the one-work-item-per-element kernels. */
    static final int WG = 256;
    /** Transpose tile edge; the local tile is TT × (TT + 1) so that column reads hit different banks. */
    static final int TT = 16;
    /** Work-group size of the transpose: one thread per tile element. */
    static final int WG_TRANSPOSE = TT * TT;

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
        float[] tile = ctx.allocateFloatLocalArray(TT * (TT + 1));
        int lid = ctx.localIdx;
        int lx = lid % TT;
        int ly = lid / TT;
        int grp = ctx.groupIdx;
        int perBatch = tilesR * tilesC;
        int n = grp / perBatch;
        int rem = grp - n * perBatch;
        int tr = rem / tilesC;
        int tc = rem - tr * tilesC;
        int r = tr * TT + ly;
        int c = tc * TT + lx;
        float v = 0f;
        if (r < rows && c < cols) {
            v = p.get(xOff + (n * rows + r) * cols + c);
        }
        tile[ly * (TT + 1) + lx] = v;
        ctx.localBarrier();
        int oc = tc * TT + ly;
        int or = tr * TT + lx;
        if (oc < cols && or < rows) {
            p.set(oOff + (n * cols + oc) * rows + or, tile[lx * (TT + 1) + ly]);
        }
    }
}
