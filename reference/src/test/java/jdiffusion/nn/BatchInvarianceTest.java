package jdiffusion.nn;

import jdiffusion.Golden;
import jdiffusion.kernels.Backend;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.kernels.ScalarBackend;
import jdiffusion.sample.Pipeline;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.layout.ModelFolder;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Batch invariance of the engine: a UNet forward on a batch of 4 different inputs (different latents,
 * timesteps and contexts) gives, for each sample, exactly the bits that sample gets alone at batch 1 —
 * on the scalar reference and on the fast backend with 1 and 2 threads. This is what lets a server
 * batch unrelated requests, and per-sample AdaptiveDiffusion run the UNet on a sub-batch, without
 * changing any image. Models: the golden UNets and the bundled Fashion-MNIST pipelines.
 */
class BatchInvarianceTest {
    static final int BATCH = 4;
    static final float[] TIMESTEPS = {999f, 501f, 37f, 0f};

    static Stream<Arguments> cases() {
        return Stream.of("golden:unet2d-tiny", "golden:unet2d-ddpm-cifar-layout", "golden:unet2dcond-sd15-layout",
                        "bundled:fashion-ddpm-32", "bundled:fashion-cond-32")
                .flatMap(m -> Stream.of("scalar", "cpu-1", "cpu-2").map(b -> Arguments.of(m, b)));
    }

    static UNet load(String model) {
        String[] f = model.split(":");
        if (f[0].equals("golden")) return UNet.load(ModelFolder.open(Golden.path(f[1])));
        Path dir = Path.of(System.getProperty("jdiffusion.root", "..")).resolve("weights/models").resolve(f[1]).toAbsolutePath().normalize();
        Assumptions.assumeTrue(Files.isDirectory(dir), "bundled model " + dir + " not present");
        return Pipeline.load(dir).unet();
    }

    static Backend backend(String name) {
        return name.equals("scalar") ? new ScalarBackend() : new CpuBackend(Integer.parseInt(name.substring("cpu-".length())));
    }

    static Tensor gaussian(long seed, int... shape) {
        Tensor t = Tensor.zeros(shape);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < t.numel(); i++) t.data()[i] = (float) r.nextGaussian();
        return t;
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void eachSampleOfABatchGetsTheBitsItGetsAlone(String model, String backendName) {
        UNet unet = load(model);
        Backend backend = backend(backendName);
        try {
            int s = unet.sampleSize();
            Tensor x = gaussian(1, BATCH, unet.inChannels(), s, s);
            // three context tokens: few enough per sample that linear layers take their few-rows path at batch 1
            Tensor ctx = unet.conditional() ? gaussian(2, BATCH, 3, unet.crossAttentionDim()) : null;
            Tensor batched = unet.forward(new Ctx(backend), x, TIMESTEPS, ctx);                   // [4, C, H, W]
            for (int j = 0; j < BATCH; j++) {
                Tensor alone = unet.forward(new Ctx(backend), x.slice0(j, 1), new float[]{TIMESTEPS[j]},
                        ctx == null ? null : ctx.slice0(j, 1));                                     // [1, C, H, W]
                assertArrayEquals(alone.data(), batched.slice0(j, 1).data(),
                        model + " on " + backendName + ": sample " + j + " of a batch of " + BATCH + " differs from itself alone");
            }
        } finally {
            if (backend instanceof AutoCloseable a) close(a);
        }
    }

    private static void close(AutoCloseable a) {
        try {
            a.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
