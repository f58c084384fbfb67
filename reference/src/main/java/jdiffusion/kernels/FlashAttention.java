package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused multi-head attention, softmax(scale·Q·Kᵀ)·V, with an online softmax (the flash-attention
 * recurrence): for NR queries at a time it walks over the keys in blocks of {@link #BK}, so only a
 * BK × NR tile of scores ever exists. It is computed transposed — Sᵀ = K·Qᵀ, Oᵀ += Vᵀ·Pᵀ — which makes
 * both products fit the GEMM micro-kernel (MR keys or MR head channels broadcast × NR queries in
 * vector lanes), makes the softmax's per-query max and sum plain lane-wise vector operations, and
 * leaves Pᵀ already in the packed layout the second product reads. K and Vᵀ are packed once per
 * (batch, head) and stay in L2 while all query panels stream past them.
 *
 * <p>Causal attention (query i sees keys j ≤ i) stops at the first key block past the panel's last query and
 * gives the later keys of the block it straddles a score of −∞, i.e. weight 0. Key 0 is in the first block,
 * so every query's running maximum is finite from the first block on.
 *
 * <p>Work is split over (batch, head, query panel); each query's sum over keys runs in a fixed order,
 * so results do not depend on the thread count.
 */
final class FlashAttention {
    private static final VectorSpecies<Float> S = VectorWidth.S;
    private static final int L = S.length(), MR = Gemm.MR, NR = Gemm.NR;
    /**
     * Keys per block: a multiple of every MR (12 and 6), and the same in every vector configuration, so the
     * online softmax rescales at the same keys and rounds the same way everywhere; the score tile is BK × NR
     * floats (30 KiB at 512 bits, 15 KiB at 256).
     */
    static final int BK = 240;

    static {
        if (BK % MR != 0) throw new AssertionError("BK " + BK + " is not a multiple of MR " + MR);
    }
    private static final float LOG2E = (float) (1 / Math.log(2));

    private FlashAttention() {
    }

    /** q [B, tq, H·D], k and v [B, tk, H·D] → out [B, tq, H·D]. */
    static void run(Parallel par, float[] q, float[] k, float[] v, float[] out, int batch, int tq, int tk, int heads, int d, float scale) {
        run(par, q, k, v, out, batch, tq, tk, heads, d, scale, false);
    }

    /** As above; with {@code causal} (tq = tk) query i attends to keys 0..i only. */
    static void run(Parallel par, float[] q, float[] k, float[] v, float[] out, int batch, int tq, int tk, int heads, int d, float scale,
                    boolean causal) {
        int c = heads * d, tkp = roundUp(tk, MR), dp = roundUp(d, MR);
        int bh = batch * heads;
        // per (batch, head): K as MR-key panels [tkp/MR][d][MR] and Vᵀ as MR-channel panels [dp/MR][tkp][MR]
        Packed packed = PACKED.get();
        if (packed.k.length < bh * tkp * d) packed.k = new float[bh * tkp * d];
        if (packed.v.length < bh * dp * tkp) packed.v = new float[bh * dp * tkp];
        float[] kp = packed.k, vp = packed.v;
        par.forRange(bh, 1, (p0, p1) -> {
            for (int p = p0; p < p1; p++) packKV(k, v, p / heads, p % heads, tk, c, d, tkp, dp, kp, p * tkp * d, vp, p * dp * tkp);
        });
        int qPanels = (tq + NR - 1) / NR;
        par.forRange(bh * qPanels, 1, (t0, t1) -> {
            Tile t = TILE.get().fit(d, dp);
            for (int task = t0; task < t1; task++) {
                int p = task / qPanels, b = p / heads, h = p % heads, q0 = (task % qPanels) * NR;
                queryPanel(q, out, b, h, q0, tq, tk, c, d, dp, tkp, scale, kp, p * tkp * d, vp, p * dp * tkp, t, causal);
            }
        });
    }

    /** The calling thread's buffers for packed K and Vᵀ, reused from call to call. */
    private static final class Packed {
        float[] k = new float[0], v = new float[0];
    }

    private static final ThreadLocal<Packed> PACKED = ThreadLocal.withInitial(Packed::new);

    private static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }

    /** Per-thread scratch: the transposed query panel, the score tile, the transposed output. */
    private static final class Tile {
        float[] qt = new float[0], ot = new float[0];
        final float[] st = new float[BK * NR], m = new float[NR], l = new float[NR], corr = new float[NR], sum = new float[NR];

        Tile fit(int d, int dp) {
            if (qt.length < d * NR) qt = new float[d * NR];
            if (ot.length < dp * NR) ot = new float[dp * NR];
            return this;
        }
    }

    private static final ThreadLocal<Tile> TILE = ThreadLocal.withInitial(Tile::new);

    private static void packKV(float[] k, float[] v, int b, int h, int tk, int c, int d, int tkp, int dp,
                               float[] kp, int kOff, float[] vp, int vOff) {
        for (int j = 0; j < tkp; j++) {
            int panel = j / MR, r = j % MR, src = (b * tk + j) * c + h * d;
            for (int e = 0; e < d; e++) kp[kOff + (panel * d + e) * MR + r] = j < tk ? k[src + e] : 0f;
            for (int e = 0; e < dp; e++) vp[vOff + ((e / MR) * tkp + j) * MR + e % MR] = j < tk && e < d ? v[src + e] : 0f;
        }
    }

    /** NR queries starting at q0 of (b, h): all key blocks, online softmax, normalised output. */
    private static void queryPanel(float[] q, float[] out, int b, int h, int q0, int tq, int tk, int c, int d, int dp, int tkp,
                                   float scale, float[] kp, int kOff, float[] vp, int vOff, Tile t, boolean causal) {
        int nq = Math.min(NR, tq - q0);
        float[] qt = t.qt, st = t.st, ot = t.ot;
        float scale2 = scale * LOG2E;   // scores in base 2: softmax uses 2^(s − max)
        for (int i = 0; i < NR; i++) {
            int src = (b * tq + q0 + i) * c + h * d;
            for (int e = 0; e < d; e++) qt[e * NR + i] = i < nq ? q[src + e] * scale2 : 0f;
        }
        java.util.Arrays.fill(ot, 0, dp * NR, 0f);
        java.util.Arrays.fill(t.m, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(t.l, 0f);
        for (int kb = 0; kb < tkp; kb += BK) {
            if (causal && kb > q0 + nq - 1) break;   // this block and all later ones come after every query of the panel
            int nk = Math.min(BK, tkp - kb), valid = Math.min(nk, tk - kb);
            // Sᵀ[key][query] = Σ_e K[key][e] · (scale·Q[query][e])
            for (int kk = 0; kk < nk; kk += MR)
                Gemm.microPacked(d, kp, kOff + (kb + kk) * d, qt, 0, st, kk * NR, kk * NR + L, NR, Gemm.ZERO, null, 0);
            if (causal) maskFuture(st, kb, valid, q0);
            softmaxBlock(st, valid, nk, t.m, t.l, t.corr, t.sum);
            if (kb > 0) rescale(ot, d, t.corr);
            // Oᵀ[e][query] += Σ_key Vᵀ[e][key] · Pᵀ[key][query]
            for (int e0 = 0; e0 < dp; e0 += MR)
                Gemm.microPacked(nk, vp, vOff + (e0 * tkp + kb * MR), st, 0, ot, e0 * NR, e0 * NR + L, NR, Gemm.LOAD, null, 0);
        }
        float[] inv = t.corr;
        for (int i = 0; i < NR; i++) inv[i] = 1f / t.l[i];
        for (int i = 0; i < nq; i++) {
            int dst = (b * tq + q0 + i) * c + h * d;
            for (int e = 0; e < d; e++) out[dst + e] = ot[e * NR + i] * inv[i];
        }
    }

    /**
     * One key block of the online softmax, per query lane, with scores in base 2 (Q was scaled by
     * log2 e, so 2^(S − m) = e^(natural score − natural max)): the new running maximum m', the factor
     * 2^(m − m') that rescales what was accumulated so far (into {@code corr}), P = 2^(S − m') in place
     * of the scores (0 for padded keys) and the running sum l = l·2^(m − m') + Σ P. State lives in
     * arrays, not vectors, so nothing is boxed if the JIT does not inline this method.
     */
    private static void softmaxBlock(float[] st, int valid, int nk, float[] m, float[] l, float[] corr, float[] sum) {
        for (int h = 0; h < NR; h += L) {
            FloatVector mOld = FloatVector.fromArray(S, m, h), x = mOld;
            for (int j = 0; j < valid; j++) x = x.max(FloatVector.fromArray(S, st, j * NR + h));
            mOld.sub(x).intoArray(corr, h);
            x.intoArray(m, h);
        }
        FastMath.exp2ShiftSum(st, valid, m, sum);
        FastMath.exp2Pair(corr);
        for (int h = 0; h < NR; h += L)
            FloatVector.fromArray(S, l, h).fma(FloatVector.fromArray(S, corr, h), FloatVector.fromArray(S, sum, h)).intoArray(l, h);
        java.util.Arrays.fill(st, valid * NR, nk * NR, 0f);   // padded keys get no weight
    }

    /** Scores of keys after their query (key kb + j > query q0 + i) become −∞: weight 0 after the softmax. */
    private static void maskFuture(float[] st, int kb, int valid, int q0) {
        for (int j = Math.max(0, q0 + 1 - kb); j < valid; j++)
            for (int i = 0; i < NR; i++)
                if (kb + j > q0 + i) st[j * NR + i] = Float.NEGATIVE_INFINITY;
    }

    /** Oᵀ[e][query] *= corr[query]. */
    private static void rescale(float[] ot, int d, float[] corr) {
        for (int h = 0; h < NR; h += L) {
            FloatVector r = FloatVector.fromArray(S, corr, h);
            for (int e = 0; e < d; e++) FloatVector.fromArray(S, ot, e * NR + h).mul(r).intoArray(ot, e * NR + h);
        }
    }
}
