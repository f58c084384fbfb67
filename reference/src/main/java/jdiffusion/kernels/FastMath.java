package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Reproducible fast exp for the vector kernels. The Vector API's own transcendental lanewise ops
 * (EXP, ...) are computed differently in the interpreter/C1 fallback and in C2-compiled code, so the
 * same input can give different bits depending on JIT timing; that breaks "same seed → same bits".
 * This exp uses only operations IEEE 754 pins down (fma, add, multiply, exact conversions), in the same
 * order in the vector and the scalar version, so it is bit-identical in every tier and every lane.
 *
 * <p>exp(x) = 2^k · p(r): k = round(x·log₂e), r = x − k·ln2 (Cody–Waite, ln2 split in two), p = the
 * degree-7 Taylor polynomial of e^r on |r| ≤ ln2/2 (truncation error &lt; 6·10⁻⁹ relative); x is
 * clamped to [−87, 88] (results below ~1e−38 flush towards 0, which softmax and SiLU do not mind).
 * Relative error against Math.exp is below 2·10⁻⁷ (tested).
 */
public final class FastMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final float LOG2E = 1.44269504f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float MAGIC = 12582912f; // 1.5·2^23: adding it rounds to an integer (round to nearest even)
    private static final float MIN = -87f, MAX = 88f;
    private static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    private FastMath() {
    }

    public static float exp(float x) {
        x = Math.min(MAX, Math.max(MIN, x));
        float k = Math.fma(x, LOG2E, MAGIC) - MAGIC;
        float r = Math.fma(k, -LN2_HI, x);
        r = Math.fma(k, -LN2_LO, r);
        float p = Math.fma(C7, r, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        return p * Float.intBitsToFloat(((int) k + 127) << 23);
    }

    public static FloatVector exp(FloatVector x) {
        x = x.max(MIN).min(MAX);
        FloatVector k = x.fma(FloatVector.broadcast(S, LOG2E), FloatVector.broadcast(S, MAGIC)).sub(MAGIC);
        FloatVector r = k.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = k.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(S, C7).fma(r, FloatVector.broadcast(S, C6));
        p = p.fma(r, FloatVector.broadcast(S, C5));
        p = p.fma(r, FloatVector.broadcast(S, C4));
        p = p.fma(r, FloatVector.broadcast(S, C3));
        p = p.fma(r, FloatVector.broadcast(S, C2));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        IntVector bits = ((IntVector) k.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats());
    }

    /** SiLU x/(1 + e^−x) with {@link #exp(float)}. */
    public static float silu(float x) {
        return x / (1f + exp(-x));
    }

    public static FloatVector silu(FloatVector x) {
        return x.div(exp(x.neg()).add(1f));
    }
}
