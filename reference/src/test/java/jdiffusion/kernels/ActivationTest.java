package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The text encoder's activations: the scalar definitions against an independent oracle (CPython 3.11's
 * math.erf / math.erfc / math.exp, i.e. the C library's, correctly rounded to within 1 ulp of double), and
 * the fast backend's vector kernels against the scalar reference over a dense sweep.
 */
class ActivationTest {
    /** x, math.erf(x). */
    private static final double[][] ERF = {
            {-6.0, -1.0}, {-4.0, -0.9999999845827421}, {-3.0, -0.9999779095030014}, {-2.5, -0.999593047982555},
            {-2.0, -0.9953222650189527}, {-1.5, -0.9661051464753108}, {-1.0, -0.8427007929497149}, {-0.5, -0.5204998778130465},
            {-0.1, -0.1124629160182849}, {-0.001, -0.0011283787909692365}, {0.0, 0.0}, {0.1, 0.1124629160182849},
            {0.3, 0.3286267594591274}, {0.9, 0.7969082124228322}, {2.4, 0.999311486103355}, {2.5, 0.999593047982555},
            {2.6, 0.9997639655834707}, {3.5, 0.9999992569016276}, {5.0, 0.9999999999984626}, {6.6, 1.0}};
    /**
     * x, 0.5·x·math.erfc(−x/√2) (exact GELU), x / (1 + math.exp(−a)) with a = 1.702·x rounded to float32 first, as
     * PyTorch's {@code x * torch.sigmoid(1.702 * x)} rounds it (quick_gelu).
     */
    private static final double[][] GELU = {
            {-8.0, -4.9767684594174555e-15, -9.766427151958025e-06}, {-5.0, -1.4332578593959731e-06, -0.0010070160369110841},
            {-3.0, -0.004049694094890287, -0.01807131066708444}, {-1.7, -0.07576128668952323, -0.08921733037241802},
            {-1.0, -0.15865525393145707, -0.15420423120636403}, {-0.5, -0.15426876936299344, -0.14961156224376548},
            {-0.01, -0.004960106436853684, -0.004957450915958927}, {0.01, 0.005039893563146316, 0.005042548860523655},
            {0.5, 0.34573123063700656, 0.3503884377562345}, {1.0, 0.8413447460685429, 0.8457957687936359},
            {1.7, 1.6242387133104768, 1.6107827173112979}, {3.0, 2.99595030590511, 2.9819286893329155},
            {5.0, 4.99999856674214, 4.998992983963089}
    };

    @Test
    void scalarErfAgreesWithTheCLibraryTo1e14() {
        for (double[] c : ERF) assertEquals(c[1], MathFunctions.erf(c[0]), 1e-14, "erf(" + c[0] + ")");
    }

    /**
     * float32 results within 2 float ulps of the double oracle, plus 1e-15 absolute for GELU's far negative tail
     * (where 1 + erf cancels; PyTorch's float32 GELU returns −0 there).
     */
    @Test
    void scalarGeluAndQuickGeluAreCorrectlyRoundedFloats() {
        for (double[] c : GELU) {
            float x = (float) c[0];
            assertEquals(c[1], MathFunctions.gelu(x), 2 * Math.ulp((float) c[1]) + 1e-15, "gelu(" + x + ")");
            assertEquals(c[2], MathFunctions.quickGelu(x), 2 * Math.ulp((float) c[2]), "quick_gelu(" + x + ")");
        }
    }

    /** The vector kernels: quick_gelu within 3e-7 relative of the scalar one everywhere it matters, gelu as FastMathTest bounds it. */
    @Test
    void fastKernelsMatchTheScalarReference() {
        int n = 2_400_001;
        Tensor x = Tensor.zeros(n);
        for (int i = 0; i < n; i++) x.data()[i] = (i - 1_200_000) * 1e-5f;
        Backend scalar = new ScalarBackend();
        try (CpuBackend cpu = new CpuBackend(2); CpuBackend one = new CpuBackend(1)) {
            float[] qs = scalar.quickGelu(x).data(), qf = cpu.quickGelu(x).data();
            float[] gs = scalar.gelu(x).data(), gf = cpu.gelu(x).data();
            double worstQ = 0, worstG = 0;
            for (int i = 0; i < n; i++) {
                worstQ = Math.max(worstQ, Math.abs(qf[i] - qs[i]) / Math.max(1e-3, Math.abs(qs[i])));
                worstG = Math.max(worstG, Math.abs(gf[i] - gs[i]) / Math.max(1, Math.abs(x.data()[i])));
            }
            System.out.printf("quick_gelu: max rel error %.2e; gelu: max abs error / max(1,|x|) %.2e%n", worstQ, worstG);
            assertTrue(worstQ <= 3e-7, "quick_gelu " + worstQ);
            assertTrue(worstG <= 2e-7, "gelu " + worstG);
            assertArrayEquals(qf, one.quickGelu(x).data(), "quick_gelu: 1 vs 2 threads");
            assertArrayEquals(gf, one.gelu(x).data(), "gelu: 1 vs 2 threads");
        }
        assertEquals(0f, FastMath.quickGelu(-200f), 0f);
        assertEquals(200f, FastMath.quickGelu(200f));
    }
}
