package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Each kernel of the fast backend gives a sample the same bits alone and inside a batch, at the sizes
 * where a batch-wide choice would flip the algorithm: 3×3 convolutions with a per-image tile count
 * below the Winograd threshold and a batch total above it (float32 and 16-bit weights), linear layers
 * with few rows per sample but many per batch, and attention and normalisation; and the Winograd
 * weight cache (whether a weight is cached, or the budget is spent) changes no bits.
 */
class BatchInvarianceKernelTest {
    static final int BATCH = 8;

    static Tensor random(long seed, int... shape) {
        Tensor t = Tensor.zeros(shape);
        Random r = new Random(seed);
        for (int i = 0; i < t.numel(); i++) t.data()[i] = (float) r.nextGaussian();
        return t;
    }

    /** op on the batch, sliced per sample, equals op on each sample alone. */
    static void assertBatchInvariant(Tensor batch, Function<Tensor, Tensor> op, String what) {
        Tensor all = op.apply(batch);
        for (int j = 0; j < batch.dim(0); j++)
            assertArrayEquals(op.apply(batch.slice0(j, 1)).data(), all.slice0(j, 1).data(), what + ": sample " + j);
    }

    @ParameterizedTest(name = "conv {0}x{0} k={1} stride={2} half={3}")
    @CsvSource({"8,3,1,false", "16,3,1,false", "15,3,1,true", "32,3,1,true", "8,1,1,false", "16,3,2,false", "4,3,1,false"})
    void convolutions(int hw, int k, int stride, boolean half) {
        Tensor x = random(1, BATCH, 12, hw, hw), b = random(3, 10);
        Tensor w = random(2, 10, 12, k, k);
        if (half) w = HalfWeightsTest.halfAndRounded(w, false)[0];
        Tensor wf = w;
        int p = k / 2;
        try (CpuBackend cpu = new CpuBackend(2)) {
            assertBatchInvariant(x, s -> cpu.conv2d(s, wf, b, stride, p, p, p, p), "conv");
        }
    }

    @ParameterizedTest(name = "linear [{0}, {1}, 40] -> 24")
    @CsvSource({"8,1", "8,3", "8,4", "8,5", "4,64"})
    void linearLayers(int batch, int tokens) {
        Tensor x = random(1, batch, tokens, 40), w = random(2, 24, 40), b = random(3, 24);
        try (CpuBackend cpu = new CpuBackend(2)) {
            assertBatchInvariant(x, s -> cpu.linear(s, w, b), "linear");
            assertBatchInvariant(x.reshape(batch * tokens, 40), s -> cpu.linear(s, w, b), "linear on rows");
        }
    }

    @Test
    void attentionAndNormalisation() {
        Tensor q = random(1, BATCH, 40, 16), kv = random(2, BATCH, 3, 16), img = random(3, BATCH, 16, 6, 6);
        Tensor gamma = random(4, 16), beta = random(5, 16);
        try (CpuBackend cpu = new CpuBackend(2)) {
            assertBatchInvariant(q, s -> cpu.attention(s, s, s, 2, 0.25f), "self-attention");
            Tensor[] slices = new Tensor[BATCH];
            Tensor all = cpu.attention(q, kv, kv, 2, 0.25f);
            for (int j = 0; j < BATCH; j++) slices[j] = cpu.attention(q.slice0(j, 1), kv.slice0(j, 1), kv.slice0(j, 1), 2, 0.25f);
            assertArrayEquals(Tensor.cat0(slices).data(), all.data(), "cross-attention");
            assertBatchInvariant(img, s -> cpu.groupNorm(s, 4, gamma, beta, 1e-5f, true), "group norm");
            assertBatchInvariant(q, s -> cpu.layerNorm(s, gamma, beta, 1e-5f), "layer norm");
            assertBatchInvariant(q, cpu::silu, "silu");
        }
    }

    @Test
    void theWinogradCacheChangesNoBits() {
        Tensor x = random(1, 2, 12, 20, 20), w = random(2, 10, 12, 3, 3), b = random(3, 10);
        try (CpuBackend cached = new CpuBackend(2); CpuBackend noBudget = new CpuBackend(2, 0)) {
            Tensor first = cached.conv2d(x, w, b, 1, 1, 1, 1, 1), again = cached.conv2d(x, w, b, 1, 1, 1, 1, 1);
            assertArrayEquals(first.data(), again.data(), "transformed for the call vs from the cache");
            assertArrayEquals(first.data(), noBudget.conv2d(x, w, b, 1, 1, 1, 1, 1).data(), "cache budget spent");
            assertEquals(0L, noBudget.winogradCacheBytes(), "nothing cached without a budget");
        }
    }
}
