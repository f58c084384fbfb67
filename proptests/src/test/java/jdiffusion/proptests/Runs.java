package jdiffusion.proptests;

import jdiffusion.kernels.Backend;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.nn.UNet;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Denoiser;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.sample.Progress;
import jdiffusion.sample.Sampler;
import jdiffusion.sample.StepPolicy;
import jdiffusion.schedule.Schedulers;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.config.SchedulerConfig;
import org.quicktheories.core.Gen;

import java.util.List;

import static org.quicktheories.generators.SourceDSL.arbitrary;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.longs;

/** One sampling run of a model with a policy, from seeded noise: the unit every accel property compares. */
final class Runs {
    static final Backend BACKEND = new CpuBackend(2);

    static final List<SchedulerConfig.Kind> SCHEDULERS = List.of(SchedulerConfig.Kind.DDIM, SchedulerConfig.Kind.DPMPP_2M, SchedulerConfig.Kind.EULER);

    private Runs() {
    }

    /**
     * What the accel properties draw first: a random model (layout and weights from {@code seed}, conditional
     * with guidance or unconditional) and one of the three deterministic schedulers.
     */
    record Setup(long seed, boolean conditional, SchedulerConfig.Kind kind) {
        RandomModels.Model model() {
            return conditional ? RandomModels.conditional(seed) : RandomModels.unconditional(seed);
        }

        /** Counts this setup's model kind and scheduler. */
        void countIn(PropertyChecks.Coverage coverage) {
            coverage.add("model", conditional ? "conditional" : "unconditional");
            coverage.add("scheduler", kind);
        }

        /** Asserts both model kinds were seen at least {@code kModels} times, each scheduler at least {@code kSchedulers}. */
        static void assertCovered(PropertyChecks.Coverage coverage, int kModels, int kSchedulers) {
            coverage.atLeast(kModels, "model", "conditional", "unconditional");
            coverage.atLeast(kSchedulers, "scheduler", SCHEDULERS.toArray());
        }
    }

    /** Any long seed, either model kind, any of {@link #SCHEDULERS}. */
    static Gen<Setup> setups() {
        return longs().all().zip(booleans().all(), arbitrary().pick(SCHEDULERS), Setup::new);
    }

    /**
     * The schedulers' diffusers defaults, except that DDIM's clip_sample is off: clipping x̂0 to [−1, 1]
     * is a data-range assumption that random-weight models violate at every step, which turns the
     * deterministic sampler into a chaotic map and says nothing about the acceleration.
     */
    static SchedulerConfig config(SchedulerConfig.Kind kind) {
        var node = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        if (kind == SchedulerConfig.Kind.DDIM || kind == SchedulerConfig.Kind.DDPM) node.put("clip_sample", false);
        return SchedulerConfig.parse(new jdiffusion.weights.config.ConfigReader(java.nio.file.Path.of("<property>"), node), kind);
    }

    static Sampler.Result sample(UNet unet, SchedulerConfig.Kind kind, int steps, long seed, StepPolicy policy) {
        return sample(unet, kind, steps, new long[]{seed}, policy);
    }

    /** A batch with one sample per seed: sample j's latent and conditioning are those {@code seeds[j]} gives alone. */
    static Sampler.Result sample(UNet unet, SchedulerConfig.Kind kind, int steps, long[] seeds, StepPolicy policy) {
        var scheduler = Schedulers.create(config(kind), 0);
        scheduler.setTimesteps(steps);
        float sigma = scheduler.initNoiseSigma();
        Tensor[] xs = new Tensor[seeds.length], cs = new Tensor[seeds.length], us = new Tensor[seeds.length];
        for (int j = 0; j < seeds.length; j++) {
            NoiseSource rng = new NoiseSource(seeds[j]);
            xs[j] = rng.fork("x_T").gaussian(1, unet.inChannels(), unet.sampleSize(), unet.sampleSize());
            for (int i = 0; i < xs[j].numel(); i++) xs[j].data()[i] *= sigma;
            if (unet.conditional()) {
                cs[j] = rng.fork("cond").gaussian(1, 3, unet.crossAttentionDim());
                us[j] = rng.fork("uncond").gaussian(1, 3, unet.crossAttentionDim());
            }
        }
        Conditioning cond = unet.conditional() ? new Conditioning(Tensor.cat0(cs), Tensor.cat0(us), 4.0) : null;
        NoiseSource stepNoise = new NoiseSource(seeds[0]).fork("step-noise");
        return new Sampler("random", new Denoiser(unet), scheduler, BACKEND).run(Tensor.cat0(xs), steps, cond, policy, stepNoise, Progress.NONE);
    }

    static double relL2(Tensor a, Tensor b) {
        double n = 0, d = 0;
        for (int i = 0; i < a.numel(); i++) {
            double x = (double) a.data()[i] - b.data()[i];
            n += x * x;
            d += (double) b.data()[i] * b.data()[i];
        }
        return Math.sqrt(n / d);
    }
}
