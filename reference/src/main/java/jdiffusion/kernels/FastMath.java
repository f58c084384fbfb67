package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised float32 special functions for the fast backend, accurate to about 1e-7 against the
 * double-precision definitions the scalar backend uses (see FastMathTest). They are built only from
 * exactly rounded IEEE operations (add, multiply, fused multiply-add, divide, conversions), never
 * from the Vector API's transcendental lane operations, whose results differ between the interpreter
 * and compiled code: so a value is the same bits whether the JIT has compiled the caller or not.
 * <ul>
 *   <li>exp(x) = 2ⁿ·e^r with n = round(x/ln 2), r = x − n·ln 2 (two-part ln 2), e^r a degree-6
 *       polynomial fitted on |r| ≤ ln2/2 (about 1 ulp); e^x is 0 below e^−87 and +∞ above e^88;</li>
 *   <li>erfc(z) = e^(−z²)·R(z) for z ≥ 0, where R = erfcx is smooth in t = 1/(1 + z/2) ∈ (0, 1] and is
 *       a degree-12 polynomial in t (least-squares fit to erfcx on Chebyshev nodes, relative error
 *       2e-9 in exact arithmetic); erfc(−z) = 2 − erfc(z);</li>
 *   <li>erf(x) = x·P(x²) for |x| &lt; 1 (degree-6 fit of erf(x)/x, no cancellation near 0), else
 *       1 − erfc(x);</li>
 *   <li>GELU(x) = x/2 · erfc(−x/√2): exact GELU, as PyTorch's default, with small relative error
 *       also for negative x where x·Φ(x) is tiny.</li>
 * </ul>
 * All lanes of a vector go through the same operations, and partial vectors are computed with masks
 * rather than scalar code, so a value does not depend on where a thread's range starts.
 */
public final class FastMath {
    static final VectorSpecies<Float> S = VectorWidth.S;

    /** erfcx(z) ≈ Σ R[i]·tⁱ with t = 1/(1 + z/2), z ≥ 0. */
    private static final float[] R = {-4.861922775489802e-08f, 0.28209763765335083f, 0.2820241153240204f, 0.2478111833333969f,
            0.16786502301692963f, 0.131831094622612f, -0.19024425745010376f, 0.43445783853530884f, -0.9272909760475159f,
            0.9856246709823608f, -0.5614618062973022f, 0.16827809810638428f, -0.020992595702409744f};
    /** erf(x)/x ≈ Σ P[i]·x²ⁱ on |x| &lt; 1. */
    private static final float[] P = {1.128379225730896f, -0.3761262893676758f, 0.11283625662326813f, -0.02685539983212948f,
            0.005191218573600054f, -0.0008034846396185458f, 7.933493907330558e-05f};
    /** e^r ≈ 1 + r + E2·r² + … + E6·r⁶ on |r| ≤ ln2/2. */
    private static final float E2 = 0.4999999403953552f, E3 = 0.16666410863399506f, E4 = 0.041667766869068146f,
            E5 = 0.008375590667128563f, E6 = 0.0013858656166121364f;
    /** 2^r ≈ 1 + P2_1·r + … + P2_6·r⁶ on |r| ≤ ½. */
    private static final float P2_1 = 0.6931471824645996f, P2_2 = 0.24022647738456726f, P2_3 = 0.05550328642129898f,
            P2_4 = 0.009618374519050121f, P2_5 = 0.001339997979812324f, P2_6 = 0.00015370635082945228f;
    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final float LOG2E = 1.4426950408889634f, LN2_HI = 0.693145751953125f, LN2_LO = 1.428606765330187e-06f;
    /** 1.5·2²³: adding it rounds a float of magnitude below 2²² to an integer. */
    private static final float ROUND = 12582912f;

    private FastMath() {
    }

    public static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(-87f).min(88f);
        FloatVector n = xc.fma(FloatVector.broadcast(S, LOG2E), FloatVector.broadcast(S, ROUND)).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(S, E6), FloatVector.broadcast(S, E5));
        p = p.fma(r, FloatVector.broadcast(S, E4));
        p = p.fma(r, FloatVector.broadcast(S, E3));
        p = p.fma(r, FloatVector.broadcast(S, E2));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector y = p.mul(bits.reinterpretAsFloats());
        y = y.blend(0f, x.lt(-87f));
        return y.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, 88f));
    }

    /**
     * 2^x for x ≤ 0 (softmax weights in base 2): 2ⁿ·2^r with n = round(x), r = x − n ∈ [−½, ½] exactly,
     * 2^r a degree-6 polynomial (relative error below 1e-7); 0 below 2^−126 (and for −∞).
     */
    public static FloatVector exp2NonPositive(FloatVector x) {
        FloatVector xc = x.max(-126f);
        FloatVector n = xc.add(ROUND).sub(ROUND);
        FloatVector r = xc.sub(n);
        FloatVector p = r.fma(FloatVector.broadcast(S, P2_6), FloatVector.broadcast(S, P2_5));
        p = p.fma(r, FloatVector.broadcast(S, P2_4));
        p = p.fma(r, FloatVector.broadcast(S, P2_3));
        p = p.fma(r, FloatVector.broadcast(S, P2_2));
        p = p.fma(r, FloatVector.broadcast(S, P2_1));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats()).blend(0f, x.lt(-126f));
    }

    /*
     * Array entry points. Kernels call these rather than the vector functions: a call that the JIT does
     * not inline costs nothing here (arrays and ints cross it), whereas a FloatVector crossing a call
     * boundary is boxed on the heap. Inside these small loops the vector functions always inline.
     */

    /**
     * The softmax step of attention on a tile of {@code rows} rows of NR = 2 vectors: every entry becomes
     * 2^(entry − max[lane]) and sum[lane] receives the column sums (rows in ascending order).
     */
    public static void exp2ShiftSum(float[] tile, int rows, float[] max, float[] sum) {
        int l = S.length();
        FloatVector m0 = FloatVector.fromArray(S, max, 0), m1 = FloatVector.fromArray(S, max, l);
        FloatVector s0 = FloatVector.zero(S), s1 = s0;
        for (int j = 0; j < rows; j++) {
            int o = j * 2 * l;
            FloatVector p0 = exp2NonPositive(FloatVector.fromArray(S, tile, o).sub(m0));
            FloatVector p1 = exp2NonPositive(FloatVector.fromArray(S, tile, o + l).sub(m1));
            p0.intoArray(tile, o);
            p1.intoArray(tile, o + l);
            s0 = s0.add(p0);
            s1 = s1.add(p1);
        }
        s0.intoArray(sum, 0);
        s1.intoArray(sum, l);
    }

    /** a[i] = 2^a[i] for i in [from, from + 2L), entries ≤ 0. */
    public static void exp2Pair(float[] a) {
        int l = S.length();
        exp2NonPositive(FloatVector.fromArray(S, a, 0)).intoArray(a, 0);
        exp2NonPositive(FloatVector.fromArray(S, a, l)).intoArray(a, l);
    }

    /** out[o + i] = x[xo + i]·sigmoid(x[xo + i]) for i in [0, len). */
    public static void silu(float[] x, int xo, float[] out, int o, int len) {
        int i = 0;
        for (; i + S.length() <= len; i += S.length()) silu(FloatVector.fromArray(S, x, xo + i)).intoArray(out, o + i);
        if (i < len) {
            VectorMask<Float> m = S.indexInRange(i, len);
            silu(FloatVector.fromArray(S, x, xo + i, m)).intoArray(out, o + i, m);
        }
    }

    /** out[o + i] = GELU(x[xo + i]) for i in [0, len) (exact GELU, as PyTorch's default). */
    public static void gelu(float[] x, int xo, float[] out, int o, int len) {
        int i = 0;
        for (; i + S.length() <= len; i += S.length()) gelu(FloatVector.fromArray(S, x, xo + i)).intoArray(out, o + i);
        if (i < len) {
            VectorMask<Float> m = S.indexInRange(i, len);
            gelu(FloatVector.fromArray(S, x, xo + i, m)).intoArray(out, o + i, m);
        }
    }

    /** out[o + i] = x[xo + i]·sigmoid(1.702·x[xo + i]) for i in [0, len) (CLIP's quick_gelu). */
    public static void quickGelu(float[] x, int xo, float[] out, int o, int len) {
        int i = 0;
        for (; i + S.length() <= len; i += S.length()) quickGelu(FloatVector.fromArray(S, x, xo + i)).intoArray(out, o + i);
        if (i < len) {
            VectorMask<Float> m = S.indexInRange(i, len);
            quickGelu(FloatVector.fromArray(S, x, xo + i, m)).intoArray(out, o + i, m);
        }
    }

    /** out[o + i] = x[h + i]·GELU(x[g + i]) for i in [0, len) (GEGLU's product). */
    public static void geluGate(float[] x, int h, int g, float[] out, int o, int len) {
        int i = 0;
        for (; i + S.length() <= len; i += S.length())
            FloatVector.fromArray(S, x, h + i).mul(gelu(FloatVector.fromArray(S, x, g + i))).intoArray(out, o + i);
        if (i < len) {
            VectorMask<Float> m = S.indexInRange(i, len);
            FloatVector.fromArray(S, x, h + i, m).mul(gelu(FloatVector.fromArray(S, x, g + i, m))).intoArray(out, o + i, m);
        }
    }

    /** out[o + i] = (x[xo + i] − mean)·scale + shift, then SiLU when {@code silu} (the GroupNorm affine). */
    public static void normalize(float[] x, int xo, float[] out, int o, int len, float mean, float scale, float shift, boolean silu) {
        FloatVector mv = FloatVector.broadcast(S, mean), sc = FloatVector.broadcast(S, scale), sh = FloatVector.broadcast(S, shift);
        int i = 0;
        for (; i + S.length() <= len; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i).sub(mv).fma(sc, sh);
            (silu ? silu(v) : v).intoArray(out, o + i);
        }
        if (i < len) {
            VectorMask<Float> m = S.indexInRange(i, len);
            FloatVector v = FloatVector.fromArray(S, x, xo + i, m).sub(mv).fma(sc, sh);
            (silu ? silu(v) : v).intoArray(out, o + i, m);
        }
    }

    /** erfc of |z|: e^(−z²)·erfcx(|z|). */
    private static FloatVector erfcAbs(FloatVector z) {
        FloatVector a = z.abs();
        FloatVector t = a.fma(0.5f, 1f);
        t = FloatVector.broadcast(S, 1f).div(t);
        FloatVector p = FloatVector.broadcast(S, R[R.length - 1]);
        for (int i = R.length - 2; i >= 0; i--) p = p.fma(t, FloatVector.broadcast(S, R[i]));
        return exp(a.mul(a).neg()).mul(p);
    }

    public static FloatVector erfc(FloatVector z) {
        FloatVector e = erfcAbs(z);
        return e.blend(FloatVector.broadcast(S, 2f).sub(e), z.lt(0f));
    }

    public static FloatVector erf(FloatVector x) {
        FloatVector x2 = x.mul(x);
        FloatVector p = FloatVector.broadcast(S, P[P.length - 1]);
        for (int i = P.length - 2; i >= 0; i--) p = p.fma(x2, FloatVector.broadcast(S, P[i]));
        FloatVector small = x.mul(p);
        FloatVector big = FloatVector.broadcast(S, 1f).sub(erfcAbs(x));
        big = big.blend(big.neg(), x.lt(0f));
        return big.blend(small, x.abs().lt(1f));
    }

    public static FloatVector gelu(FloatVector x) {
        return x.mul(0.5f).mul(erfc(x.mul(-INV_SQRT2)));
    }

    /** x·sigmoid(1.702·x) = x / (1 + e^(−1.702·x)). */
    public static FloatVector quickGelu(FloatVector x) {
        return x.div(exp(x.mul(-1.702f)).add(1f));
    }

    /** x·sigmoid(x) = x / (1 + e^(−x)). */
    public static FloatVector silu(FloatVector x) {
        return x.div(exp(x.neg()).add(1f));
    }

    /** Scalar entry points (one lane of the vector code, so scalar and vector results agree exactly). */
    public static float erf(float x) {
        return lane0(erf(FloatVector.broadcast(S, x)));
    }

    public static float exp2NonPositive(float x) {
        return lane0(exp2NonPositive(FloatVector.broadcast(S, x)));
    }

    public static float exp(float x) {
        return lane0(exp(FloatVector.broadcast(S, x)));
    }

    public static float gelu(float x) {
        return lane0(gelu(FloatVector.broadcast(S, x)));
    }

    public static float quickGelu(float x) {
        return lane0(quickGelu(FloatVector.broadcast(S, x)));
    }

    private static float lane0(FloatVector v) {
        return v.lane(0);
    }

    /** The mask of lanes [i, n) within a vector starting at i (all lanes when i + L ≤ n). */
    static VectorMask<Float> tail(int i, int n) {
        return S.indexInRange(i, n);
    }
}
