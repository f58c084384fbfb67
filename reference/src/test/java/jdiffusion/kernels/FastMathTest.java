package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vectorised erf and GELU against the double-precision definitions of {@link MathFunctions}. */
class FastMathTest {

    @Test
    void erfWithin2e7Absolute() {
        double worst = 0, at = 0;
        for (int i = -800_000; i <= 800_000; i++) {
            float x = i * 1e-5f;
            double e = Math.abs(FastMath.erf(x) - MathFunctions.erf(x));
            if (e > worst) {
                worst = e;
                at = x;
            }
        }
        System.out.printf("erf: max abs error %.2e at %.5f%n", worst, at);
        assertTrue(worst <= 2e-7, "erf max abs error " + worst + " at " + at);
    }

    @Test
    void geluWithinFloatRounding() {
        double worstAbs = 0, worstRel = 0;
        for (int i = -1_200_000; i <= 1_200_000; i++) {
            float x = i * 1e-5f;
            // (relative error only where 1 + erf in double still has the digits: x > −5)
            double want = 0.5 * x * (1 + MathFunctions.erf(x / Math.sqrt(2)));
            double e = Math.abs(FastMath.gelu(x) - want);
            worstAbs = Math.max(worstAbs, e / Math.max(1, Math.abs(x)));
            if (x > -5 && want != 0) worstRel = Math.max(worstRel, e / Math.abs(want));
        }
        System.out.printf("gelu: max abs error / max(1,|x|) %.2e, max relative error %.2e%n", worstAbs, worstRel);
        assertTrue(worstAbs <= 2e-7, "gelu abs error " + worstAbs);
        assertTrue(worstRel <= 2e-5, "gelu relative error " + worstRel);
    }

    @Test
    void expWithinAboutOneUlp() {
        double worst = 0;
        for (int i = -870_000; i <= 880_000; i++) {
            float x = i * 1e-4f;
            worst = Math.max(worst, Math.abs(FastMath.exp(x) - Math.exp(x)) / Math.exp(x));
        }
        System.out.printf("exp: max relative error %.2e%n", worst);
        assertTrue(worst <= 2.5e-7, "exp relative error " + worst);
        assertEquals(0f, FastMath.exp(Float.NEGATIVE_INFINITY));
        assertEquals(0f, FastMath.exp(-100f));
        assertEquals(Float.POSITIVE_INFINITY, FastMath.exp(100f));
        assertEquals(1f, FastMath.exp(0f));
    }

    @Test
    void exp2OfNonPositiveWithinAboutOneUlp() {
        double worst = 0;
        for (int i = 0; i <= 1_250_000; i++) {
            float x = -i * 1e-4f;
            double want = Math.pow(2, x);
            worst = Math.max(worst, Math.abs(FastMath.exp2NonPositive(x) - want) / want);
        }
        System.out.printf("exp2: max relative error %.2e%n", worst);
        assertTrue(worst <= 2e-7, "exp2 relative error " + worst);
        assertEquals(0f, FastMath.exp2NonPositive(Float.NEGATIVE_INFINITY));
        assertEquals(1f, FastMath.exp2NonPositive(0f));
    }

    @Test
    void extremesAndSymmetry() {
        assertEquals(1f, FastMath.erf(10f));
        assertEquals(-1f, FastMath.erf(-10f));
        assertEquals(0f, FastMath.erf(0f));
        assertEquals(50f, FastMath.gelu(50f));
        assertEquals(0f, FastMath.gelu(-50f), 0f);
        for (float x = 0; x < 5; x += 0.01f) assertEquals(-FastMath.erf(x), FastMath.erf(-x));
    }

    @Test
    void everyLaneComputesTheSameFunction() {
        float[] xs = new float[VectorWidth.S.length()];
        for (int i = 0; i < xs.length; i++) xs[i] = -3 + 0.37f * i;
        float[] got = new float[xs.length];
        FastMath.gelu(FloatVector.fromArray(VectorWidth.S, xs, 0)).intoArray(got, 0);
        for (int i = 0; i < xs.length; i++) assertEquals(FastMath.gelu(xs[i]), got[i]);
    }
}
