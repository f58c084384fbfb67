package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FastMathTest {
    @Test
    void expIsAccurateAndTheVectorLanesEqualTheScalar() {
        Random r = new Random(1);
        var s = FloatVector.SPECIES_PREFERRED;
        float[] x = new float[s.length()], y = new float[s.length()];
        double worst = 0;
        for (int it = 0; it < 20000; it++) {
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 170 - 86);
            FastMath.exp(FloatVector.fromArray(s, x, 0)).intoArray(y, 0);
            for (int i = 0; i < x.length; i++) {
                assertEquals(Float.floatToIntBits(FastMath.exp(x[i])), Float.floatToIntBits(y[i]), "lane vs scalar at " + x[i]);
                double rel = Math.abs(y[i] - StrictMath.exp(x[i])) / StrictMath.exp(x[i]);
                worst = Math.max(worst, rel);
            }
        }
        assertTrue(worst < 2e-7, "relative error " + worst);
        assertEquals(1f, FastMath.exp(0f));
        assertTrue(FastMath.exp(-1000f) < 1e-37f && FastMath.exp(1000f) > 1e38f);
    }
}
