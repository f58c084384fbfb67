package jdiffusion.nn;

import jdiffusion.Golden;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.tensor.Tensor;
import jdiffusion.tensor.TensorArena;
import jdiffusion.weights.layout.ModelFolder;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Forward passes with recycled activations ({@link TensorArena}) give the same bits as with fresh arrays,
 * pass after pass; every intermediate is released (a warm pass takes at most its output as a new buffer
 * and hands out only its output); and a module output kept across passes without being pinned fails
 * loudly when it is read.
 */
class ArenaLifetimeTest {

    private static Tensor gaussian(long seed, int... shape) {
        Tensor t = Tensor.zeros(shape);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < t.numel(); i++) t.data()[i] = (float) r.nextGaussian();
        return t;
    }

    /**
     * Runs {@code forward} three times with an arena and once without; asserts equal bits, and that the
     * warm passes recycled everything but their output.
     */
    private static void sameBitsAndEverythingReleased(String what, Function<Ctx, Tensor> forward) {
        float[] plain;
        try (CpuBackend cpu = new CpuBackend(2, false)) {
            plain = forward.apply(new Ctx(cpu)).data();
        }
        try (CpuBackend cpu = new CpuBackend(2, true)) {
            TensorArena arena = cpu.arena();
            for (int pass = 1; pass <= 3; pass++) {
                TensorArena.Stats before = arena.stats();
                float[] got = forward.apply(new Ctx(cpu)).data();
                assertArrayEquals(plain, got, what + ", pass " + pass);
                TensorArena.Stats after = arena.stats();
                assertEquals(1, after.detached() - before.detached(), what + ": a pass hands out its output only (a module forgot a release)");
                assertEquals(0, after.inUseBytes(), what);
                if (pass > 1)
                    assertTrue(after.fresh() - before.fresh() <= 1, what + ": a warm pass took " + (after.fresh() - before.fresh())
                            + " new buffers (its output at most)");
            }
            assertTrue(arena.stats().reused() > 0, what);
        }
    }

    @Test
    void unconditionalUNet() {
        UNet unet = UNet.load(ModelFolder.open(Golden.path("unet2d-tiny")));
        Tensor x = gaussian(1, 2, unet.inChannels(), 32, 32);
        sameBitsAndEverythingReleased("unet2d-tiny", c -> unet.forward(c, x, new float[]{10f, 900f}, null));
    }

    @Test
    void conditionalUNetVaeAndTextEncoder() {
        UNet unet = UNet.load(ModelFolder.open(Golden.path("sd-text2img-tiny", "unet")));
        Tensor x = gaussian(2, 2, unet.inChannels(), 16, 16), ctx = gaussian(3, 2, 7, unet.crossAttentionDim());
        sameBitsAndEverythingReleased("tiny UNet2DConditionModel", c -> unet.forward(c, x, new float[]{10f, 900f}, ctx));

        VaeDecoder vae = VaeDecoder.load(ModelFolder.open(Golden.path("sd-text2img-tiny", "vae")));
        Tensor z = gaussian(4, 1, vae.config().latentChannels(), 8, 8);
        sameBitsAndEverythingReleased("tiny VAE decoder", c -> vae.decode(c, z));

        ClipTextModel te = ClipTextModel.load(ModelFolder.open(Golden.path("sd-text2img-tiny", "text_encoder")), WeightPrecision.F32);
        int[][] ids = {{0, 5, 9, 2, 2}, {0, 7, 2, 2, 2}};
        sameBitsAndEverythingReleased("tiny CLIP text encoder", c -> te.encode(c, ids, 0));
    }

    @Test
    void intermediatesShownToHooksStayReadable() {
        UNet unet = UNet.load(ModelFolder.open(Golden.path("unet2d-tiny")));
        Tensor x = gaussian(5, 1, unet.inChannels(), 32, 32);
        List<Tensor> seen = new ArrayList<>();
        ForwardHooks record = new ForwardHooks() {
            @Override
            public void intermediate(String name, Tensor value) {
                seen.add(value);
            }
        };
        try (CpuBackend cpu = new CpuBackend(2, true)) {
            unet.forward(new Ctx(cpu, record), x, new float[]{500f}, null);
            unet.forward(new Ctx(cpu), x, new float[]{500f}, null);   // a second pass recycles whatever was released
        }
        assertFalse(seen.isEmpty());
        for (Tensor t : seen) assertFalse(t.isReleased());
        for (Tensor t : seen) for (float v : t.data()) assertTrue(Float.isFinite(v));
    }

    @Test
    void aModuleOutputKeptWithoutPinningFailsLoudly() {
        UNet unet = UNet.load(ModelFolder.open(Golden.path("unet2d-tiny")));
        Tensor x = gaussian(6, 1, unet.inChannels(), 32, 32);
        List<Tensor> kept = new ArrayList<>();
        ForwardHooks careless = new ForwardHooks() {   // a cache that forgets Tensor.pin()
            @Override
            public <T> T module(ModuleId id, Supplier<T> compute) {
                T v = compute.get();
                if (id.path() == ModuleId.Path.UP && id.kind().equals("resnet") && v instanceof Tensor t) kept.add(t);
                return v;
            }
        };
        try (CpuBackend cpu = new CpuBackend(2, true)) {
            unet.forward(new Ctx(cpu, careless), x, new float[]{500f}, null);
        }
        assertFalse(kept.isEmpty());
        long released = kept.stream().filter(Tensor::isReleased).count();
        assertTrue(released > 0, "the up path's resnet outputs are released by their block");
        Tensor gone = kept.stream().filter(Tensor::isReleased).findFirst().orElseThrow();
        IllegalStateException e = assertThrows(IllegalStateException.class, gone::data);
        assertTrue(e.getMessage().contains("Tensor.pin()"), e.getMessage());
    }
}
