package jdiffusion.cli;

import jdiffusion.kernels.Backend;
import jdiffusion.nn.Ctx;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Denoiser;
import jdiffusion.sample.NoiseSource;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.sample.Sampler;
import jdiffusion.schedule.Scheduler;
import jdiffusion.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** The main job: sample images from seeded noise and write them as a PNG grid. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate images from seeded noise and write a PNG grid (default model: the bundled fashion-ddpm-32).")
public final class GenerateCommand implements Callable<Integer> {
    static final String DEFAULT_MODEL = "weights/models/fashion-ddpm-32";

    @Option(names = "--model", description = "A diffusers pipeline folder or UNet folder (default: the bundled " + DEFAULT_MODEL + ").")
    Path model;

    @Option(names = "--steps", defaultValue = "50", description = "Inference steps (default 50).")
    int steps;

    @Option(names = "--seed", defaultValue = "0", description = "Seed: the same seed, model and settings give the same image bits.")
    long seed;

    @Option(names = "--num-images", defaultValue = "16", description = "Number of images (default 16).")
    int numImages;

    @Option(names = "--batch", description = "Images per UNet batch (default: all at once). Policies decide per batch.")
    Integer batch;

    @Option(names = "--out", defaultValue = "grid.png", description = "PNG grid to write (default grid.png).")
    Path out;

    @Option(names = "--trace", description = "Write the trace of the (first) batch as JSON.")
    Path trace;

    @Mixin
    SchedulerOptions schedulerOptions;

    @Mixin
    ConditioningOptions conditioningOptions;

    @Mixin
    AccelOptions accelOptions;

    @Mixin
    BackendOptions backendOptions;

    static Path resolveModel(Path model) {
        if (model != null) return model;
        Path home = Path.of(System.getProperty("jdiffusion.home", "."));
        Path p = home.resolve(DEFAULT_MODEL);
        if (!Files.isDirectory(p))
            throw new IllegalArgumentException("the bundled model " + p + " is not there; pass --model DIR (a diffusers folder)");
        return p;
    }

    @Override
    public Integer call() {
        if (steps < 1) throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
        if (numImages < 1) throw new IllegalArgumentException("--num-images must be at least 1, got " + numImages);
        int bs = batch == null ? numImages : batch;
        if (bs < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + bs);
        Pipeline p = Pipeline.load(resolveModel(model), backendOptions.weightPrecision());
        Scheduler scheduler = schedulerOptions.create(p.schedulerConfig());
        Backend backend = backendOptions.create();
        Conditioning all = conditioningOptions.resolve(p, numImages);
        NoiseSource rng = new NoiseSource(seed);
        System.err.printf("generate: %s (%s, %.2f M parameters), %s, %d steps, %d images, seed %d, backend %s%n", p.name(),
                p.unet().kind(), p.unet().parameterCount() / 1e6, scheduler.config().kind().className, steps, numImages, seed, backend.name());
        Tensor[] images = new Tensor[(numImages + bs - 1) / bs];
        for (int b = 0, first = 0; first < numImages; b++, first += bs) {
            int k = Math.min(bs, numImages - first);
            Tensor xT = initialLatent(rng, p, first, k, scheduler.initNoiseSigma());
            Conditioning cond = all == null ? null : new Conditioning(all.cond().slice0(first, k),
                    all.uncond() == null ? null : all.uncond().slice0(first, k), all.guidance());
            Sampler sampler = new Sampler(p.name(), new Denoiser(p.unet()), scheduler, backend);
            Sampler.Result r = sampler.run(xT, steps, cond, accelOptions.policy(p, rng.fork("policy-" + b), steps),
                    rng.fork("scheduler-noise-" + b), Progress.console());
            System.err.println(r.trace().summary());
            if (b == 0 && trace != null) r.trace().writeJson(trace);
            images[b] = p.vae() == null ? r.out() : p.vae().decode(new Ctx(backend), p.vae().unscale(new Ctx(backend), r.out()));
        }
        Tensor batchAll = Tensor.cat0(images);
        int cols = (int) Math.ceil(Math.sqrt(numImages));
        if (p.vae() == null && batchAll.dim(1) == 4) System.err.println("note: no VAE in " + p.name() + ": showing the first 3 latent channels");
        Images.writePng(Images.grid(batchAll, cols, Images.defaultScale(batchAll.dim(2))), out);
        System.out.println("wrote " + out);
        return 0;
    }

    /** Image j's noise depends only on (seed, j), so batching does not change the images. */
    static Tensor initialLatent(NoiseSource rng, Pipeline p, int first, int k, float sigma) {
        Tensor[] parts = new Tensor[k];
        int[] one = p.latentShape(1);
        for (int j = 0; j < k; j++) parts[j] = rng.fork("image-" + (first + j)).gaussian(one);
        Tensor x = Tensor.cat0(parts);
        for (int i = 0; i < x.numel(); i++) x.data()[i] *= sigma;
        return x;
    }
}
