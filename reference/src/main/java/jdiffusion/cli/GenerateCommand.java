package jdiffusion.cli;

import jdiffusion.image.Images;

import jdiffusion.kernels.Backend;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Generation;
import jdiffusion.tensor.NoiseSource;
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
    @Option(names = "--num-images", defaultValue = "16", description = "Number of images (default 16).")
    int numImages;

    @Option(names = "--batch", description = "Images per UNet batch (default: all at once). Policies decide per batch.")
    Integer batch;

    @Option(names = "--out", defaultValue = "grid.png", description = "PNG grid to write (default grid.png).")
    Path out;

    @Option(names = "--trace", description = "Write the trace of the (first) batch as JSON.")
    Path trace;

    @Mixin
    SamplingOptions sampling;

    @Override
    public Integer call() {
        Checks.atLeast("--num-images", numImages, 1);
        if (batch != null) Checks.atLeast("--batch", batch, 1);
        Checks.outputs("--out", out, "--trace", trace);
        int bs = batch == null ? numImages : batch;
        Pipeline p = sampling.load();
        Backend backend = sampling.backend();
        Schedulers.Resolved sched = sampling.scheduler(p);
        sched.create().setTimesteps(sampling.steps());   // a step count the scheduler cannot make is refused before anything else
        int[] img = SweepCommand.imageShape(p);
        int cols = (int) Math.ceil(Math.sqrt(numImages));
        long gridPixels = Images.gridPixels(numImages, cols, img[1], img[2], Images.defaultScale(img[1]));
        sampling.checkMemory("generate", p, backend, numImages, bs, 1, 8 * gridPixels, "the PNG grid");   // 4 bytes a pixel, and its encoding
        Conditioning all = sampling.conditioning(p, numImages);
        Generation.Settings settings = new Generation.Settings(numImages, bs, sampling.steps(), sampling.seed());
        System.err.printf("generate: %s (%s, %.2f M parameters), %s, %d steps, %d images, seed %d, backend %s%n", p.name(),
                p.unet().kind(), p.unet().parameterCount() / 1e6, sched.config().kind().className, sampling.steps(), numImages,
                sampling.seed(), backend.name());
        Generation g = Generation.run(p, sched::create, backend, all, settings, sampling.policyPerBatch(p), Progress.console());
        g.traces().forEach(t -> System.err.println(t.summary()));
        if (p.vae() == null && g.images().dim(1) == 4) System.err.println("note: no VAE in " + p.name() + ": showing the first 3 latent channels");
        Images.writePng(Images.grid(g.images(), cols, Images.defaultScale(g.images().dim(2))), out);   // the main output first
        System.out.println("wrote " + out);
        if (trace != null) {
            g.traces().getFirst().writeJson(trace);
            System.out.println("wrote " + trace);
        }
        return 0;
    }
}
