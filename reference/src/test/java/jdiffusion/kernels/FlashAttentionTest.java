package jdiffusion.kernels;

import jdiffusion.Golden;
import jdiffusion.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused attention against the scalar reference at token counts where the online softmax walks
 * many key blocks (and ragged ones: partial key blocks, partial query panels, head widths that are
 * not multiples of the micro-tile), and bit-identical for 1, 2 and 3 threads.
 */
class FlashAttentionTest {

    static Tensor random(long seed, float std, int... shape) {
        Tensor t = Tensor.zeros(shape);
        Random r = new Random(seed);
        for (int i = 0; i < t.numel(); i++) t.data()[i] = (float) (std * r.nextGaussian());
        return t;
    }

    @ParameterizedTest(name = "b={0} tq={1} tk={2} heads={3} d={4}")
    @CsvSource({"1,1024,1024,2,40", "2,333,77,8,40", "1,700,1500,1,17", "1,64,64,4,160", "2,257,259,1,256", "1,5,3000,2,80"})
    void matchesScalarAndIsThreadCountIndependent(int b, int tq, int tk, int heads, int d) {
        int c = heads * d;
        // std 2 makes the scores spread widely, so the running maximum changes across blocks
        Tensor q = random(1, 2f, b, tq, c), k = random(2, 2f, b, tk, c), v = random(3, 1f, b, tk, c);
        float scale = (float) (1 / Math.sqrt(d));
        Tensor want = new ScalarBackend().attention(q, k, v, heads, scale);
        Tensor[] got = new Tensor[3];
        for (int t = 1; t <= 3; t++)
            try (CpuBackend cpu = new CpuBackend(t)) {
                got[t - 1] = cpu.attention(q, k, v, heads, scale);
            }
        double e = Golden.relL2(got[1], want);
        assertTrue(e <= 1e-5, "relative L2 " + e);
        assertArrayEquals(got[0].data(), got[1].data(), "1 vs 2 threads");
        assertArrayEquals(got[0].data(), got[2].data(), "1 vs 3 threads");
    }

    /** Causal attention (CLIP's text encoder): 77 tokens in one key block, and longer ones that span several. */
    @ParameterizedTest(name = "causal b={0} t={1} heads={2} d={3}")
    @CsvSource({"2,77,12,64", "1,77,3,16", "1,1,2,8", "2,300,2,40", "1,1000,1,17"})
    void causalMatchesScalarAndIsThreadCountIndependent(int b, int t, int heads, int d) {
        int c = heads * d;
        Tensor q = random(4, 2f, b, t, c), k = random(5, 2f, b, t, c), v = random(6, 1f, b, t, c);
        float scale = (float) (1 / Math.sqrt(d));
        Tensor want = new ScalarBackend().attention(q, k, v, heads, scale, true);
        // query 0 sees only key 0: its output is v[0]
        for (int e = 0; e < c; e++) assertTrue(Math.abs(want.data()[e] - v.data()[e]) < 1e-6, "query 0 must copy value 0");
        Tensor[] got = new Tensor[2];
        for (int th = 1; th <= 2; th++)
            try (CpuBackend cpu = new CpuBackend(th)) {
                got[th - 1] = cpu.attention(q, k, v, heads, scale, true);
            }
        double e = Golden.relL2(got[1], want);
        assertTrue(e <= 1e-5, "relative L2 " + e);
        assertArrayEquals(got[0].data(), got[1].data(), "1 vs 2 threads");
        if (t > 1) {
            double full = Golden.relL2(new ScalarBackend().attention(q, k, v, heads, scale), want);
            assertTrue(full > 1e-2, "the mask must change the result, relative L2 to unmasked " + full);
        }
    }
}
