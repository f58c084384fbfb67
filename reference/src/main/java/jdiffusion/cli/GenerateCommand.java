package jdiffusion.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.image.Images;

import jdiffusion.kernels.Backend;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Generation;
import jdiffusion.sample.MemoryBudget;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.sample.StepPolicy;
import jdiffusion.schedule.Schedulers;
import jdiffusion.sweep.Sweep;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.AtomicFiles;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.IntFunction;

/**
 * The main job: sample images from seeded noise (or given latents) and write them as a PNG (the image itself for one,
 * a grid for several), or as a folder of PNGs with a manifest (bulk generation, also across a cluster).
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate images from seeded noise and write them as a PNG: the image itself for one, a grid for several;",
                "or one PNG per image with a manifest into a folder (bulk generation; --spark spreads it over a cluster).",
                "Default model: the bundled fashion-ddpm-32. Text-to-image: --model SD_FOLDER --prompt TEXT (or --prompts-file FILE)."})
public final class GenerateCommand implements Callable<Integer>, Distributable {
    @Option(names = "--num-images", description = "Number of images (default: one per prompt with --prompt or --prompts-file, the N of --noise, else 16).")
    Integer numImages;

    @Option(names = "--noise", description = "safetensors with x_T [N, C, H, W]: start image j from row j instead of seeded noise "
            + "(already multiplied by the scheduler's init_noise_sigma, as sample takes it). A single PNG output only.")
    Path noise;

    @Option(names = "--batch", description = "Images per UNet batch (default: all at once; 16 into a folder). Policies decide per batch, AdaptiveDiffusion per sample with --adaptive-scope sample.")
    Integer batch;

    @Option(names = "--out", defaultValue = "grid.png",
            description = {"PNG to write (default grid.png): the image itself for one image, a grid for several; or a folder (a path not ending in .png): images/NNNNNN.png and manifest.jsonl",
                    "(seed, class/prompt, settings, trace summary, checksums); rerunning into the folder generates only the images not yet there."})
    Path out;

    @Option(names = "--trace", description = "Write the trace of the (first) batch as JSON.")
    Path trace;

    @Mixin
    SamplingOptions sampling;

    @Mixin
    ClusterOptions clusterOptions;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (numImages != null) Checks.atLeast("--num-images", numImages, 1);
        if (batch != null) Checks.atLeast("--batch", batch, 1);
        boolean folder = ImageFolder.isFolder(out);
        if (folder) {
            if (noise != null) throw new IllegalArgumentException("--noise writes one PNG: give --out FILE.png (a folder output draws its own seeded noise)");
            if (trace != null) throw new IllegalArgumentException("--trace applies to a PNG output; a folder's manifest.jsonl holds every image's trace summary");
            AtomicFiles.checkWritableDirectory(out, "--out");
        } else {
            Checks.outputs("--out", out, "--trace", trace);
        }
        Pipeline p = sampling.load();
        Tensor initial = noise == null ? null : Tensors.initialLatents(noise, p);
        int n = imageCount(initial);
        int bs = batchSize(n);
        Backend backend = sampling.backend();
        Schedulers.Resolved sched = sampling.scheduler(p);
        sched.create().setTimesteps(sampling.steps());   // a step count the scheduler cannot make is refused before anything else
        int[] img = SweepCommand.imageShape(p);
        long pictureBytes = folder ? 8L * img[1] * img[2] * bs
                : n == 1 ? 8L * img[1] * img[2] : 8 * Images.gridPixels(n, (int) Math.ceil(Math.sqrt(n)), img[1], img[2], Images.defaultScale(img[1]));
        MemoryBudget.Estimate need = sampling.checkMemory("generate", p, backend, folder ? bs : n, bs, 1, pictureBytes, folder ? "the PNGs of a batch" : n == 1 ? "the PNG" : "the PNG grid");
        Conditioning all = sampling.conditioning(p, n);
        Generation.Settings settings = new Generation.Settings(n, bs, sampling.steps(), sampling.seed());
        System.err.printf("generate: %s (%s, %.2f M parameters), %s, %d steps, %d images, %s, backend %s%n", p.name(),
                p.unet().kind(), p.unet().parameterCount() / 1e6, sched.config().kind().className, sampling.steps(), n,
                initial == null ? "seed " + sampling.seed() : "latents of " + noise, backend.name());
        if (!folder && !clusterOptions.given()) {
            BackendOptions.awaitWarmup("generate", need.activations());
            Generation g = Generation.run(p, sched::create, backend, all, settings, initial, sampling.policyPerBatch(p), Progress.console());
            writePicture(p, g);
            return 0;
        }
        if (initial != null) throw new IllegalArgumentException("--noise runs here, not on a cluster: leave out --spark");
        Worker here = worker(p, backend, all, sched, n, bs);
        try (Cluster cluster = clusterOptions.connect(spec)) {   // null without --spark
            if (cluster != null) System.err.println("generate: tasks of " + bs + " images on " + cluster.where());
            Parts parts = cluster == null ? (first, count) -> () -> List.of(here.part("", first, count)) : (first, count) -> cluster.submit("", first, count, bs)::await;
            if (!folder) {
                writePicture(p, Generation.concat(parts.start(0, n).await().stream().map(Sweep.Part::generation).toList()));
                return 0;
            }
            writeFolder(p, sched, n, bs, cluster == null ? 1 : cluster.slots(), parts, cluster == null ? backend.name() : backend.name() + ", on " + cluster.where());
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

    private int batchSize(int n) {
        return batch != null ? batch : ImageFolder.isFolder(out) ? Math.min(16, n) : n;
    }

    /** The main output first: the PNG (the image itself, or a grid), then the trace. */
    private void writePicture(Pipeline p, Generation g) {
        g.traces().forEach(t -> System.err.println(t.summary()));
        if (p.vae() == null && g.images().dim(1) == 4) System.err.println("note: no VAE in " + p.name() + ": showing the first 3 latent channels");
        Images.writePng(Images.picture(g.images()), out);
        System.out.println("wrote " + out);
        if (trace != null) {
            g.traces().getFirst().writeJson(trace);
            System.out.println("wrote " + trace);
        }
    }

    /** Started work on images [first, first + count): computed here (at once) or submitted to a cluster. */
    @FunctionalInterface
    private interface Parts {
        Pending start(int first, int count);

        interface Pending {
            List<Sweep.Part> await();
        }
    }

    /**
     * Bulk generation into a folder, in waves of whole batches (two waves in flight on a cluster, so it
     * never waits for the driver writing PNGs); batches already in the folder are skipped.
     */
    private void writeFolder(Pipeline p, Schedulers.Resolved sched, int numImages, int bs, int slots, Parts parts, String where) {
        ObjectNode set = new ObjectMapper().createObjectNode();
        set.put("model", p.name());
        set.put("scheduler", sched.config().kind().className);
        set.put("steps", sampling.steps());
        set.put("batch", bs);
        set.put("policy", sampling.policy(p, new NoiseSource(0)).describe());
        set.put("weights_dtype", sampling.backend.weightPrecision().toString());
        Conditioning one = sampling.conditioning(p, 1);
        if (one != null) set.put("guidance", one.guidance());
        ImageFolder folder = new ImageFolder(out, set);
        int wave = bs * Math.max(1, 2 * slots);
        Deque<int[]> ranges = new ArrayDeque<>();
        for (int first = 0; first < numImages; ) {   // runs of batches not yet in the folder, at most a wave each
            if (folder.has(first, Math.min(bs, numImages - first))) {
                first += bs;
                continue;
            }
            int start = first;
            while (first < numImages && first - start < wave && !folder.has(first, Math.min(bs, numImages - first))) first += bs;
            ranges.add(new int[]{start, Math.min(first, numImages) - start});
        }
        System.err.printf("generate: %d images into %s (%d there already), %s%n", numImages, out, folder.done(), where);
        Deque<Parts.Pending> inFlight = new ArrayDeque<>();
        List<int[]> order = new ArrayList<>(ranges);
        int next = 0, written = folder.done();
        long t0 = System.nanoTime();
        while (next < order.size() || !inFlight.isEmpty()) {
            while (next < order.size() && inFlight.size() < 2) {
                int[] r = order.get(next++);
                inFlight.add(parts.start(r[0], r[1]));
            }
            for (Sweep.Part part : inFlight.removeFirst().await()) {
                Generation g = part.generation();
                folder.write(part.first(), g.images(), g.traces(), bs, sampling.seed(), j -> sampling.conditioning.label(p, j));
                written += g.images().dim(0);
            }
            System.err.printf("generate: %d/%d images, %.0f s%n", written, numImages, (System.nanoTime() - t0) / 1e9);
        }
        System.out.println("wrote " + out + " (" + numImages + " images, " + folder.manifest().getFileName() + ")");
    }

    /** On an executor: the model, conditioning and scheduler of this command line. */
    @Override
    public Worker worker() {
        Pipeline p = sampling.load();
        int n = imageCount(null);
        return worker(p, sampling.backend(), sampling.conditioning(p, n), sampling.scheduler(p), n, batchSize(n));
    }

    private Worker worker(Pipeline p, Backend backend, Conditioning all, Schedulers.Resolved sched, int n, int bs) {
        IntFunction<StepPolicy> policies = sampling.policyPerBatch(p);
        return (unit, first, count) -> {
            long t0 = System.nanoTime();
            Generation g = Generation.run(p, sched::create, backend, all, new Generation.Settings(count, bs, sampling.steps(), sampling.seed()), first,
                    policies, Progress.NONE);
            return new Sweep.Part(first, g, Double.NaN, (System.nanoTime() - t0) / 1e9);
        };
    }
}
