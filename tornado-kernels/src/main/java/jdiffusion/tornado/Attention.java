package jdiffusion.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Multi-head softmax attention, flash style: keys in tiles with an online softmax (a running maximum and
 * normaliser per query, the output rescaled when the maximum grows; Milakov and Gimelshein, "Online normalizer
 * calculation for softmax", arXiv:1805.02867, as used by FlashAttention, arXiv:2205.14135). The score matrix is
 * never stored beyond one tile of {@link #BQ} queries × {@link #BK} keys.
 */
final class Attention {
    private Attention() {
    }

    /** Queries per work-group (one thread per query): the work-group size. */
    static final int BQ = 32;
    /** Keys per tile, at most (fewer when BK·D would exceed {@link #KV}). */
    static final int BK = 64;
    /** Capacity of the K and V tiles in local memory, floats each: a tile holds min(BK, KV / D) keys. */
    static final int KV = 4096;
    /** A finite "minus infinity" for running maxima (the OpenCL build uses -cl-fast-relaxed-math). */
    static final float NEG = -3.0e38f;

    /**
     * Multi-head softmax attention, flash style: never more than a tile of the score matrix. A work-group
     * serves {@link #BQ} queries of one (batch, head); it walks the keys in tiles of BK (≤ {@link #BK},
     * BK·D ≤ {@link #KV}), staging the K and V tiles in local memory. Each thread keeps its query's
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
        float[] ks = ctx.allocateFloatLocalArray(KV);
        float[] vs = ctx.allocateFloatLocalArray(KV);
        float[] ps = ctx.allocateFloatLocalArray(BQ * BK);
        int lid = ctx.localIdx;
        int grp = ctx.groupIdx;
        int bh = grp / qTiles;
        int qt = grp - bh * qTiles;
        int b = bh / heads;
        int hh = bh - b * heads;
        int c = heads * d;
        int qi = qt * BQ + lid;
        int qBase = qOff + (b * tq + qi) * c + hh * d;
        int oBase = oOff + (b * tq + qi) * c + hh * d;
        int pBase = lid * BK;
        float m = NEG;
        float l = 0f;
        for (int j0 = 0; j0 < tk; j0 += bk) {
            int nk = TornadoMath.min(bk, tk - j0);
            int tile = nk * d;
            for (int e = lid; e < tile; e += BQ) {
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
}
