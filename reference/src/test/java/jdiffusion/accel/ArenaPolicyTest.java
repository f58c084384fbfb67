package jdiffusion.accel;

import com.fasterxml.jackson.databind.ObjectMapper;
import jdiffusion.Golden;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.nn.UNet;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Denoiser;
import jdiffusion.sample.Progress;
import jdiffusion.sample.Sampler;
import jdiffusion.sample.StepPolicy;
import jdiffusion.schedule.Schedulers;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.tensor.Tensor;
import jdiffusion.tensor.TensorArena;
import jdiffusion.weights.config.ConfigReader;
import jdiffusion.weights.config.SchedulerConfig;
import jdiffusion.weights.layout.ModelFolder;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The policies that keep tensors across sampling steps (DeepCache's module outputs, the cross-attention
 * cache) pin them, so sampling with recycled activations ({@link TensorArena}) gives the bits of sampling
 * with fresh arrays. In the tests' check mode a recycled buffer is filled with NaN and a released tensor
 * throws when read, so a cache that forgot to pin fails here instead of matching by luck.
 */
class ArenaPolicyTest {

    private static Tensor sample(UNet unet, CpuBackend backend, StepPolicy policy) {
        var node = new ObjectMapper().createObjectNode();
        node.put("clip_sample", false);
        var scheduler = Schedulers.create(SchedulerConfig.parse(new ConfigReader(Path.of("<test>"), node), SchedulerConfig.Kind.DDIM), 0);
        NoiseSource rng = new NoiseSource(7);
        Tensor xT = rng.fork("x_T").gaussian(1, unet.inChannels(), 16, 16);
        Tensor c = rng.fork("cond").gaussian(3, unet.crossAttentionDim()), u = rng.fork("uncond").gaussian(3, unet.crossAttentionDim());
        Conditioning cond = Conditioning.repeat(c, u, 5.0, 1);   // guided: the UNet runs at batch 2, the caches keep the conditional half
        return new Sampler("tiny", new Denoiser(unet), scheduler, backend).run(xT, 8, cond, policy, rng.fork("step-noise"), Progress.NONE).out();
    }

    private static void sameBits(UNet unet, java.util.function.Supplier<StepPolicy> policy, String what) {
        float[] plain;
        try (CpuBackend cpu = new CpuBackend(2, false)) {
            plain = sample(unet, cpu, policy.get()).data();
        }
        try (CpuBackend cpu = new CpuBackend(2, true)) {
            float[] got = sample(unet, cpu, policy.get()).data();
            assertArrayEquals(plain, got, what + ": recycled activations changed the result");
            TensorArena.Stats s = cpu.arena().stats();
            assertTrue(s.reused() > 0, what + ": the arena recycled nothing");
            assertTrue(s.pinned() > 0, what + ": the policy kept tensors across steps without pinning them");
            assertEquals(0, s.inUseBytes(), what + ": buffers still in use after sampling");
        }
    }

    @Test
    void deepCacheAndCrossAttentionCacheKeepTheirTensorsOutOfRecycling() {
        UNet unet = UNet.load(ModelFolder.open(Golden.path("sd-text2img-tiny", "unet")));
        sameBits(unet, () -> new CombinedPolicy(null, null, DeepCache.uniform(3, 0), null), "DeepCache N 3");
        sameBits(unet, () -> new CombinedPolicy(null, null, null, new CrossAttentionCache(2)), "cross-attention cache from step 2");
        sameBits(unet, () -> new CombinedPolicy(null, null, DeepCache.uniform(2, 1), new CrossAttentionCache(3)), "both");
    }
}
