package jdiffusion.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * GroupNorm (+ SiLU) and LayerNorm: one work-group per normalised set of values (a (batch, group) pair, or a
 * row). Two passes over the set, mean then centred variance (numerically safer than E[x²] − E[x]²), each a
 * strided per-thread partial sum followed by {@link #blockSum}; then normalise + affine (+ SiLU) in place of
 * the output.
 */
final class Norms {
    private Norms() {
    }

    /** Work-group size of GroupNorm (power of two: {@link #blockSum} halves it). */
    static final int WG_GROUP = 256;
    /** Work-group size of LayerNorm (power of two). */
    static final int WG_LAYER = 128;

    /**
     * GroupNorm (+ SiLU), fused: one work-group per (batch, group) reduces the mean, then the centred
     * variance, then normalises and applies gamma/beta.
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
        float[] red = ctx.allocateFloatLocalArray(WG_GROUP);
        int lid = ctx.localIdx;
        int bn = ctx.groupIdx / g;
        int gi = ctx.groupIdx - bn * g;
        int cpg = c / g;
        int len = cpg * s;
        int x0 = xOff + (bn * c + gi * cpg) * s;
        int o0 = oOff + (bn * c + gi * cpg) * s;
        float sum = 0f;
        for (int i = lid; i < len; i += WG_GROUP) {
            sum += p.get(x0 + i);
        }
        float mean = blockSum(ctx, red, lid, WG_GROUP, sum) / len;
        float sq = 0f;
        for (int i = lid; i < len; i += WG_GROUP) {
            float d = p.get(x0 + i) - mean;
            sq += d * d;
        }
        float rstd = 1.0f / TornadoMath.sqrt(blockSum(ctx, red, lid, WG_GROUP, sq) / len + eps);
        for (int i = lid; i < len; i += WG_GROUP) {
            int ch = gi * cpg + i / s;
            float y = (p.get(x0 + i) - mean) * rstd * p.get(gOff + ch) + p.get(bOff + ch);
            if (silu == 1) {
                y = y / (1.0f + TornadoMath.exp(-y));
            }
            p.set(o0 + i, y);
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
        float[] red = ctx.allocateFloatLocalArray(WG_LAYER);
        int lid = ctx.localIdx;
        int x0 = xOff + ctx.groupIdx * c;
        int o0 = oOff + ctx.groupIdx * c;
        float sum = 0f;
        for (int i = lid; i < c; i += WG_LAYER) {
            sum += p.get(x0 + i);
        }
        float mean = blockSum(ctx, red, lid, WG_LAYER, sum) / c;
        float sq = 0f;
        for (int i = lid; i < c; i += WG_LAYER) {
            float d = p.get(x0 + i) - mean;
            sq += d * d;
        }
        float rstd = 1.0f / TornadoMath.sqrt(blockSum(ctx, red, lid, WG_LAYER, sq) / c + eps);
        for (int i = lid; i < c; i += WG_LAYER) {
            p.set(o0 + i, (p.get(x0 + i) - mean) * rstd * p.get(gOff + i) + p.get(bOff + i));
        }
    }

    /**
     * The sum of every thread's {@code v} over a work-group of {@code wg} threads (a power of two), returned
     * to every thread: a tree reduction in the local array {@code red} (≥ wg floats), halving the active
     * threads each step, in a fixed order (so results are bit-identical run to run). Every thread of the
     * group must call it (it contains barriers); {@code red} may be reused as soon as it returns. TornadoVM
     * inlines it into the kernel, with {@code wg} a constant.
     */
    private static float blockSum(KernelContext ctx, float[] red, int lid, int wg, float v) {
        red[lid] = v;
        ctx.localBarrier();
        for (int st = wg / 2; st > 0; st /= 2) {
            if (lid < st) {
                red[lid] = red[lid] + red[lid + st];
            }
            ctx.localBarrier();
        }
        float sum = red[0];
        ctx.localBarrier();
        return sum;
    }
}
