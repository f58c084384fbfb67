package jdiffusion.accel;

import jdiffusion.image.Images;
import jdiffusion.kernels.Backend;
import jdiffusion.kernels.Backends;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.kernels.ScalarBackend;
import jdiffusion.nn.WeightPrecision;
import jdiffusion.sample.Generation;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.sample.Prompts;
import jdiffusion.sample.StepPolicy;
import jdiffusion.sample.Trace;
import jdiffusion.schedule.Schedulers;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.tensor.Tensor;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;

/**
 * The Java API for text-to-image: a Stable Diffusion pipeline folder (model_index.json with unet/, vae/, scheduler/,
 * text_encoder/, tokenizer/) loaded once, then images generated for prompts:
 * <pre>
 *   try (TextToImage sd = TextToImage.load(Path.of("stable-diffusion-v1-5"))) {
 *       TextToImage.Result r = sd.generate(TextToImage.Request.of("an astronaut riding a horse", "a lighthouse at dusk")
 *               .withNegativePrompt("blurry").withSeed(42).withSteps(30).withScheduler("dpmpp2m").withGuidance(7.5)
 *               .withAccel(PolicySpec.parse("ad-d0.01-c4")));
 *       r.writePng(0, Path.of("astronaut.png"));
 *       r.traces().forEach(t -&gt; System.out.println(t.summary()));
 *   }
 * </pre>
 * A request gives the bits {@code generate} gives for the same settings ({@code --prompts-file} with these prompts,
 * {@code --seed}, {@code --steps}, {@code --scheduler}, {@code --guidance}, {@code --accel}/{@link PolicySpec#cliFlags},
 * {@code --batch}): image j's noise comes from the stream (seed, image j), each batch's policy from (seed, policy, batch b).
 *
 * <p><b>Thread safety.</b> {@link #generate} may be called from several threads at once. Everything a call changes is
 * its own (scheduler, policy, noise streams, conditioning, activations); what calls share is read-only (weights, the
 * tokenizer, whose cache is a concurrent map) or the backend. The CPU and scalar backends take concurrent callers (each
 * call's parallel loops are separate jobs on the CPU backend's pool, the only cache is synchronized), so such calls run
 * side by side, sharing the cores, and give the same bits as one at a time. Any other backend (TornadoVM's device
 * queue) is not known to be safe for concurrent callers: calls on it are serialized by a lock.
 */
public final class TextToImage implements AutoCloseable {
    private final Pipeline pipeline;
    private final Backend backend;
    private final boolean ownsBackend;
    /** Held around each call when the backend is not known to take concurrent callers; null when it is. */
    private final ReentrantLock serial;
    private final Map<String, Schedulers.Resolved> schedulers = new ConcurrentHashMap<>();

    private TextToImage(Pipeline pipeline, Backend backend, boolean ownsBackend) {
        if (pipeline.text() == null)
            throw new IllegalArgumentException(pipeline.dir() + " is not a text-to-image pipeline: it has no text_encoder/ and tokenizer/ ("
                    + pipeline.conditioningKind() + ")");
        if (pipeline.vae() == null)
            throw new IllegalArgumentException(pipeline.dir() + " has no vae/: its latents cannot be decoded to images");
        this.pipeline = pipeline;
        this.backend = backend;
        this.ownsBackend = ownsBackend;
        this.serial = backend instanceof CpuBackend || backend instanceof ScalarBackend ? null : new ReentrantLock();
    }

    /** Loads {@code dir} with float32 weights, computing on a CPU backend with all cores (closed by {@link #close}). */
    public static TextToImage load(Path dir) {
        Pipeline p = Pipeline.load(dir, WeightPrecision.F32);
        return new TextToImage(p, Backends.create("cpu", Backends.defaultThreads()), true);
    }

    /** Loads {@code dir} with weights kept in {@code precision}, computing on {@code backend} (which the caller closes). */
    public static TextToImage load(Path dir, Backend backend, WeightPrecision precision) {
        return new TextToImage(Pipeline.load(dir, precision), Objects.requireNonNull(backend, "backend"), false);
    }

    /**
     * What to generate: one image per prompt (list a prompt twice for two images of it).
     *
     * @param negativePrompt  for every image, or null for none (then "" at guidance &gt; 1, as diffusers)
     * @param clipSkip        text encoder layers skipped for the prompt (diffusers' clip_skip; 0 = none)
     * @param guidance        classifier-free guidance scale; ≤ 1 runs no unconditional branch
     * @param scheduler       ddim, ddpm, euler or dpmpp2m with the folder's betas; null = the folder's own scheduler
     * @param accel           acceleration policy ({@link PolicySpec#FULL} = full-step)
     * @param batch           images per UNet batch; null = all at once (policies decide per batch)
     * @param initialLatents  [images, C, H, W] to start from (already × init_noise_sigma), or null for seeded noise
     */
    public record Request(List<String> prompts, String negativePrompt, int clipSkip, double guidance, long seed, int steps,
                          String scheduler, PolicySpec accel, Integer batch, Tensor initialLatents) {
        public Request {
            if (prompts == null || prompts.isEmpty()) throw new IllegalArgumentException("a request needs at least one prompt");
            prompts = List.copyOf(prompts);
            if (clipSkip < 0) throw new IllegalArgumentException("clipSkip must be ≥ 0, got " + clipSkip);
            if (!Double.isFinite(guidance) || guidance < 0) throw new IllegalArgumentException("guidance must be a finite number ≥ 0, got " + guidance);
            if (steps < 1) throw new IllegalArgumentException("steps must be ≥ 1, got " + steps);
            if (batch != null && batch < 1) throw new IllegalArgumentException("batch must be ≥ 1, got " + batch);
            Objects.requireNonNull(accel, "accel (PolicySpec.FULL for full-step)");
        }

        /** The prompts with diffusers' defaults: guidance 7.5, 50 steps, the folder's scheduler, seed 0, full-step. */
        public static Request of(String... prompts) {
            return new Request(List.of(prompts), null, 0, 7.5, 0, 50, null, PolicySpec.FULL, null, null);
        }

        public Request withNegativePrompt(String n) {
            return new Request(prompts, n, clipSkip, guidance, seed, steps, scheduler, accel, batch, initialLatents);
        }

        public Request withClipSkip(int k) {
            return new Request(prompts, negativePrompt, k, guidance, seed, steps, scheduler, accel, batch, initialLatents);
        }

        public Request withGuidance(double g) {
            return new Request(prompts, negativePrompt, clipSkip, g, seed, steps, scheduler, accel, batch, initialLatents);
        }

        public Request withSeed(long s) {
            return new Request(prompts, negativePrompt, clipSkip, guidance, s, steps, scheduler, accel, batch, initialLatents);
        }

        public Request withSteps(int n) {
            return new Request(prompts, negativePrompt, clipSkip, guidance, seed, n, scheduler, accel, batch, initialLatents);
        }

        public Request withScheduler(String name) {
            return new Request(prompts, negativePrompt, clipSkip, guidance, seed, steps, name, accel, batch, initialLatents);
        }

        public Request withAccel(PolicySpec spec) {
            return new Request(prompts, negativePrompt, clipSkip, guidance, seed, steps, scheduler, spec, batch, initialLatents);
        }

        public Request withBatch(int b) {
            return new Request(prompts, negativePrompt, clipSkip, guidance, seed, steps, scheduler, accel, b, initialLatents);
        }

        public Request withInitialLatents(Tensor x) {
            return new Request(prompts, negativePrompt, clipSkip, guidance, seed, steps, scheduler, accel, batch, x);
        }
    }

    /**
     * The images and how they were made.
     *
     * @param decoded  the VAE's output [N, 3, H, W] in [-1, 1], image j for prompt j
     * @param traces   one per batch: per step what ran and what it cost
     * @param warnings prompts the tokenizer truncated (what was dropped), scheduler notes
     */
    public record Result(Tensor decoded, List<Trace> traces, List<String> warnings) {
        public int count() {
            return decoded.dim(0);
        }

        /** [N, 3, H, W] in [0, 1] = clamp(decoded / 2 + 0.5, 0, 1): diffusers' output_type "pt". */
        public Tensor images() {
            return Images.unit(decoded);
        }

        /** Image k with diffusers' rounding to 8 bits (output_type "pil"). */
        public BufferedImage image(int k) {
            if (k < 0 || k >= count()) throw new IndexOutOfBoundsException("image " + k + " of " + count());
            return Images.image(decoded, k);
        }

        public void writePng(int k, Path file) {
            Images.writePng(image(k), file);
        }
    }

    public Result generate(Request r) {
        return generate(r, Progress.NONE);
    }

    /** Generates the request's images; {@code progress} hears of every step. */
    public Result generate(Request r, Progress progress) {
        if (serial == null) return run(r, progress);
        serial.lock();
        try {
            return run(r, progress);
        } finally {
            serial.unlock();
        }
    }

    private Result run(Request r, Progress progress) {
        int n = r.prompts().size();
        List<String> warnings = new ArrayList<>();
        Schedulers.Resolved sched = scheduler(r.scheduler());
        warnings.addAll(sched.notes());
        Prompts.Encoded enc = new Prompts(r.prompts(), r.negativePrompt() == null ? null : java.util.Collections.nCopies(n, r.negativePrompt()),
                r.clipSkip()).encode(pipeline, backend, r.guidance());
        warnings.addAll(enc.warnings());
        Generation.Settings s = new Generation.Settings(n, r.batch() == null ? n : r.batch(), r.steps(), r.seed());
        NoiseSource policyRng = new NoiseSource(r.seed()).fork("policy");   // as generate seeds its policies
        IntFunction<StepPolicy> policies = b -> r.accel().build(pipeline, policyRng.fork("batch-" + b), r.steps());
        Generation g = Generation.run(pipeline, sched::create, backend, enc.conditioning(), s, r.initialLatents(), policies, progress);
        return new Result(g.images(), g.traces(), List.copyOf(warnings));
    }

    /** The named scheduler with the folder's betas (resolved once per name). */
    private Schedulers.Resolved scheduler(String name) {
        String key = name == null ? "" : name.toLowerCase(java.util.Locale.ROOT);
        return schedulers.computeIfAbsent(key, k -> Schedulers.resolve(name, pipeline.schedulerConfig(), 0));
    }

    /** The loaded pipeline (UNet, VAE, text encoder; read-only). */
    public Pipeline pipeline() {
        return pipeline;
    }

    /** Notes about the folder (components that are not run). */
    public List<String> notes() {
        return pipeline.notes();
    }

    /** Closes the backend if {@link #load(Path)} created it. */
    @Override
    public void close() {
        if (ownsBackend && backend instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing the backend: " + e.getMessage(), e);
            }
        }
    }
}
