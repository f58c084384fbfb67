package jdiffusion.cli;

import jdiffusion.kernels.Backend;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Generation;
import jdiffusion.sample.NoiseSource;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.schedule.Scheduler;
import jdiffusion.schedule.Schedulers;
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
        Checks.atLeast("--steps", steps, 1);
        Checks.atLeast("--num-images", numImages, 1);
        if (batch != null) Checks.atLeast("--batch", batch, 1);
        int bs = batch == null ? numImages : batch;
        Pipeline p = Pipeline.load(resolveModel(model), backendOptions.weightPrecision());
        Backend backend = backendOptions.create();
        Conditioning all = conditioningOptions.resolve(p, Math.max(1, numImages));
        Generation.Settings settings = new Generation.Settings(numImages, bs, steps, seed);
        Scheduler first = schedulerOptions.create(p.schedulerConfig());
        System.err.printf("generate: %s (%s, %.2f M parameters), %s, %d steps, %d images, seed %d, backend %s%n", p.name(),
                p.unet().kind(), p.unet().parameterCount() / 1e6, first.config().kind().className, steps, numImages, seed, backend.name());
        NoiseSource policyRng = new NoiseSource(seed).fork("policy");
        Generation g = Generation.run(p, () -> Schedulers.create(first.config(), schedulerOptions.eta), backend, all, settings,
                b -> accelOptions.policy(p, policyRng.fork("batch-" + b), steps), Progress.console());
        g.traces().forEach(t -> System.err.println(t.summary()));
        if (trace != null) g.traces().getFirst().writeJson(trace);
        int cols = (int) Math.ceil(Math.sqrt(numImages));
        if (p.vae() == null && g.images().dim(1) == 4) System.err.println("note: no VAE in " + p.name() + ": showing the first 3 latent channels");
        Images.writePng(Images.grid(g.images(), cols, Images.defaultScale(g.images().dim(2))), out);
        System.out.println("wrote " + out);
        return 0;
    }
}
