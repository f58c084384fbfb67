package jdiffusion.sample;

import jdiffusion.Golden;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.nn.Ctx;
import jdiffusion.nn.UNet;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.tensor.Tensor;
import jdiffusion.tensor.TensorArena;
import jdiffusion.weights.layout.ModelFolder;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shape-only estimate against what a real forward pass holds: the Winograd weight cache it predicts is
 * the cache the CPU backend fills, byte for byte, and the activations it predicts bound what the pass's
 * arena has in use at its peak (the heap the launcher's default lets grow is the weights, that cache and
 * these activations).
 */
class MemoryBudgetTest {

    private static void estimateMatchesAForwardPass(UNet unet, int batch, int size, int tokens) {
        NoiseSource rng = new NoiseSource(3);
        Tensor x = rng.fork("x").gaussian(batch, unet.inChannels(), size, size);
        Tensor ctx = unet.conditional() ? rng.fork("ctx").gaussian(batch, tokens, unet.crossAttentionDim()) : null;
        float[] t = new float[batch];
        java.util.Arrays.fill(t, 500f);
        try (CpuBackend cpu = new CpuBackend(2, true)) {
            MemoryBudget.Forward f = MemoryBudget.unet(unet, cpu, batch, size, size, tokens);
            unet.forward(new Ctx(cpu), x, t, ctx);
            String what = unet.kind() + " batch " + batch + " at " + size + "×" + size;
            assertTrue(cpu.winogradCacheBytes() > 0, what + ": no 3×3 convolution used the Winograd cache (at batch 1, a 16×16 level's 64 tiles per call are cached)");
            assertEquals(cpu.winogradCacheBytes(), f.winogradCache(), what + ": Winograd weight cache, estimated vs filled");
            TensorArena.Stats s = cpu.arena().stats();
            assertTrue(s.peakInUseBytes() <= f.activations(), what + ": the arena had " + s.peakInUseBytes()
                    + " bytes in use at its peak, more than the " + f.activations() + " estimated");
            assertTrue(s.peakInUseBytes() >= f.activations() / 4, what + ": the estimate " + f.activations()
                    + " is far above the arena's peak " + s.peakInUseBytes());
        }
    }

    @Test
    void unconditionalUNet() {
        estimateMatchesAForwardPass(UNet.load(ModelFolder.open(Golden.path("unet2d-tiny"))), 1, 32, 0);
    }

    @Test
    void conditionalUNet() {
        estimateMatchesAForwardPass(UNet.load(ModelFolder.open(Golden.path("sd-text2img-tiny", "unet"))), 1, 32, 7);
    }
}
