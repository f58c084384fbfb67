package jdiffusion.cli;

import jdiffusion.kernels.Backend;
import jdiffusion.nn.WeightPrecision;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.MemoryBudget;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.StepPolicy;
import jdiffusion.schedule.Schedulers;
import jdiffusion.tensor.NoiseSource;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntFunction;

/**
 * The options every sampling command shares (generate, compare, sample): which model, how many steps,
 * the seed, and the scheduler, conditioning, acceleration and backend option groups.
 */
public final class SamplingOptions {
    static final String DEFAULT_MODEL = "weights/models/fashion-ddpm-32";

    @Option(names = "--model", description = "A diffusers pipeline folder or UNet folder (default: the bundled " + DEFAULT_MODEL + ").")
    Path model;

    @Option(names = "--steps", defaultValue = "50", description = "Inference steps (default 50).")
    int steps;

    @Option(names = "--seed", defaultValue = "0",
            description = "Seed of the initial noise and of any noise drawn later (stochastic samplers, mixed resolution): the same seed, model and settings give the same bits.")
    long seed;

    @Mixin
    SchedulerOptions scheduler;

    @Mixin
    ConditioningOptions conditioning;

    @Mixin
    AccelOptions accel;

    @Mixin
    BackendOptions backend;

    /** The model folder: --model, or the bundled default model. */
    static Path resolveModel(Path model) {
        if (model != null) return model;
        Path home = Path.of(System.getProperty("jdiffusion.home", "."));
        Path p = home.resolve(DEFAULT_MODEL);
        if (!Files.isDirectory(p))
            throw new IllegalArgumentException("the bundled model " + p + " is not there; pass --model DIR (a diffusers folder)");
        return p;
    }

    /** Heap bytes of the loaded weights (estimated from the headers by {@link #load}). */
    private long weightBytes;

    long weightBytes() {
        return weightBytes;
    }

    WeightPrecision precision() {
        return backend.weightPrecision();
    }

    /**
     * Checks --steps and loads the pipeline (the bundled model when --model is absent), once its weights
     * are known to fit the heap.
     */
    public Pipeline load() {
        Checks.atLeast("--steps", steps, 1);
        Path dir = resolveModel(model);
        weightBytes = MemoryBudget.checkWeights(dir, backend.weightPrecision());
        Pipeline p = Pipeline.load(dir, backend.weightPrecision());
        p.notes().forEach(n -> System.err.println("note: " + n));
        return p;
    }

    /**
     * Refuses, before anything is computed, {@code runs} generations of {@code images} images in batches
     * of {@code batch} (conditioned as the options say, decoded, kept until the end) that would not fit the
     * heap; {@code outputs} bytes more for what the command makes of them (e.g. the PNG grid).
     */
    public MemoryBudget.Estimate checkMemory(String command, Pipeline p, Backend b, int images, int batch, int runs, long outputs, String outputsWhat) {
        return checkMemory(command, p, weightBytes, backend.weightPrecision(), b, conditioning(p, 1), images, batch, steps, runs, outputs, outputsWhat);
    }

    /** As above, for commands with their own options: {@code one} is the conditioning of one image (null: unconditional). */
    static MemoryBudget.Estimate checkMemory(String command, Pipeline p, long weights, WeightPrecision precision, Backend b, Conditioning one, int images, int batch,
                            int steps, int runs, long outputs, String outputsWhat) {
        int k = Math.min(batch, images);
        long condBytes = one == null ? 0 : MemoryBudget.bytes(4.0 * images * (one.cond().numel() + (one.uncond() == null ? 0 : one.uncond().numel())));
        int[] img = SweepCommand.imageShape(p);
        long imageBytes = MemoryBudget.bytes(4.0 * img[0] * img[1] * img[2] * images);
        return MemoryBudget.sampling(p, weights, b, p.latentShape(k), steps, one != null && one.guided(), one == null ? 0 : one.cond().dim(1), true)
                .plus(condBytes, "conditioning of " + images + " images")
                .plus(MemoryBudget.bytes(2.0 * runs * imageBytes), (runs > 1 ? runs + "×" : "") + images + " images")
                .plus(outputs, outputsWhat)
                .check(command + " of " + images + " images at batch " + k, precision, "a smaller --batch", "fewer --num-images");
    }

    public Schedulers.Resolved scheduler(Pipeline p) {
        return scheduler.resolve(p.schedulerConfig());
    }

    private Backend created;

    /** The backend of the run (created on the first call; the same one after that). */
    public Backend backend() {
        if (created == null) created = backend.create();
        return created;
    }

    /** The conditioning of {@code images} images (prompts encoded on {@link #backend()}), or null for an unconditional model. */
    public Conditioning conditioning(Pipeline p, int images) {
        return conditioning.resolve(p, images, backend());
    }

    /** The prompts of --prompt or --prompts-file, or null when none are given. */
    public java.util.List<String> prompts() {
        return conditioning.prompts();
    }

    /** The acceleration policy of one run, seeded by {@code rng}. */
    public StepPolicy policy(Pipeline p, NoiseSource rng) {
        return accel.policy(p, rng, steps);
    }

    /** One policy per batch b, each seeded by the stream (seed, "policy", "batch-b"): batches do not share state. */
    public IntFunction<StepPolicy> policyPerBatch(Pipeline p) {
        NoiseSource policyRng = new NoiseSource(seed).fork("policy");
        return b -> accel.policy(p, policyRng.fork("batch-" + b), steps);
    }

    public int steps() {
        return steps;
    }

    public long seed() {
        return seed;
    }

    public AccelOptions accel() {
        return accel;
    }
}
