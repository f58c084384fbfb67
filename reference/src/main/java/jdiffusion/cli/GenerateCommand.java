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
import jdiffusion.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** The main job: sample images from seeded noise (or given latents) and write them as a PNG: one image, or a grid of several. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate images from seeded noise and write them as a PNG: the image itself for one, a grid for several.",
                "Default model: the bundled fashion-ddpm-32. Text-to-image: --model SD_FOLDER --prompt TEXT (or --prompts-file FILE)."})
public final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--num-images", description = "Number of images (default: one per prompt with --prompt or --prompts-file, the N of --noise, else 16).")
    Integer numImages;

    @Option(names = "--noise", description = "safetensors with x_T [N, C, H, W]: start image j from row j instead of seeded noise "
            + "(already multiplied by the scheduler's init_noise_sigma, as sample takes it).")
    Path noise;

    @Option(names = "--batch", description = "Images per UNet batch (default: all at once). Policies decide per batch.")
    Integer batch;

    @Option(names = "--out", defaultValue = "grid.png", description = "PNG to write: the image itself for one image, a grid for several (default grid.png).")
    Path out;

    @Option(names = "--trace", description = "Write the trace of the (first) batch as JSON.")
    Path trace;

    @Mixin
    SamplingOptions sampling;

    @Override
    public Integer call() {
        if (numImages != null) Checks.atLeast("--num-images", numImages, 1);
        if (batch != null) Checks.atLeast("--batch", batch, 1);
        Checks.outputs("--out", out, "--trace", trace);
        Pipeline p = sampling.load();
        Tensor initial = noise == null ? null : Tensors.initialLatents(noise, p);
        int n = imageCount(initial);
        int bs = batch == null ? n : batch;
        Backend backend = sampling.backend();
        Schedulers.Resolved sched = sampling.scheduler(p);
        sched.create().setTimesteps(sampling.steps());   // a step count the scheduler cannot make is refused before anything else
        int[] img = SweepCommand.imageShape(p);
        int cols = (int) Math.ceil(Math.sqrt(n));
        long pictureBytes = n == 1 ? 8L * img[1] * img[2] : 8 * Images.gridPixels(n, cols, img[1], img[2], Images.defaultScale(img[1]));
        sampling.checkMemory("generate", p, backend, n, bs, 1, pictureBytes, n == 1 ? "the PNG" : "the PNG grid");   // 4 bytes a pixel, and its encoding
        Conditioning all = sampling.conditioning(p, n);
        Generation.Settings settings = new Generation.Settings(n, bs, sampling.steps(), sampling.seed());
        System.err.printf("generate: %s (%s, %.2f M parameters), %s, %d steps, %d images, %s, backend %s%n", p.name(),
                p.unet().kind(), p.unet().parameterCount() / 1e6, sched.config().kind().className, sampling.steps(), n,
                initial == null ? "seed " + sampling.seed() : "latents of " + noise, backend.name());
        Generation g = Generation.run(p, sched::create, backend, all, settings, initial, sampling.policyPerBatch(p), Progress.console());
        g.traces().forEach(t -> System.err.println(t.summary()));
        if (p.vae() == null && g.images().dim(1) == 4) System.err.println("note: no VAE in " + p.name() + ": showing the first 3 latent channels");
        Images.writePng(Images.picture(g.images()), out);   // the main output first
        System.out.println("wrote " + out);
        if (trace != null) {
            g.traces().getFirst().writeJson(trace);
            System.out.println("wrote " + trace);
        }
        return 0;
    }

    /** --num-images, or the N of --noise, or one image per prompt, or 16. */
    private int imageCount(Tensor initial) {
        if (initial != null) {
            if (numImages != null && numImages != initial.dim(0))
                throw new IllegalArgumentException("--num-images " + numImages + " differs from the " + initial.dim(0) + " latents in --noise " + noise
                        + " (one image per latent; leave --num-images out)");
            return initial.dim(0);
        }
        if (numImages != null) return numImages;
        return sampling.prompts() != null ? sampling.prompts().size() : 16;
    }
}
