package jdiffusion.sample;

import jdiffusion.tensor.NoiseSource;

import jdiffusion.kernels.Backend;
import jdiffusion.nn.Ctx;
import jdiffusion.schedule.Scheduler;
import jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * Generating images end to end: seeded initial latents and per-step noise (image j's depend only on
 * (seed, j)), sampling batch by batch with a policy, and decoding through the VAE when the pipeline has
 * one. With the batch-invariant kernels, batching does not change the images (except under policies that
 * decide per batch: AdaptiveDiffusion's batch scope, mixed resolution's re-noising). Used by generate,
 * compare and sweep.
 *
 * @param images decoded images [N, C, H, W] in [−1, 1] (or the latents when there is no VAE)
 * @param traces one trace per batch
 */
public record Generation(Tensor images, List<Trace> traces) {

    /** Settings of one generation run. */
    public record Settings(int images, int batch, int steps, long seed) {
        public Settings {
            if (images < 1) throw new IllegalArgumentException("number of images must be ≥ 1, got " + images);
            if (batch < 1) throw new IllegalArgumentException("batch must be ≥ 1, got " + batch);
            if (steps < 1) throw new IllegalArgumentException("steps must be ≥ 1, got " + steps);
        }
    }

    public static Generation run(Pipeline p, Supplier<Scheduler> schedulers, Backend backend, Conditioning all, Settings s,
                                 IntFunction<StepPolicy> policyForBatch, Progress progress) {
        return run(p, schedulers, backend, all, s, null, 0, policyForBatch, progress);
    }

    /**
     * As {@link #run(Pipeline, Supplier, Backend, Conditioning, Settings, IntFunction, Progress)}, starting image j from
     * row j of {@code initial} [images, C, H, W] (already multiplied by init_noise_sigma, as the {@code sample} command takes
     * x_T) instead of seeded noise; null = seeded noise. The seed still drives any noise drawn later.
     */
    public static Generation run(Pipeline p, Supplier<Scheduler> schedulers, Backend backend, Conditioning all, Settings s, Tensor initial,
                                 IntFunction<StepPolicy> policyForBatch, Progress progress) {
        return run(p, schedulers, backend, all, s, initial, 0, policyForBatch, progress);
    }

    /**
     * Images [offset, offset + s.images()) of a larger run, bit for bit as that run computes them: the same
     * initial noise (image j's stream), conditioning rows, batch composition and per-batch streams, with
     * batch b of the larger run numbered b here too. This is how a part of a run is computed elsewhere
     * (a task on a cluster) and put back together.
     *
     * @param all    conditioning of the whole run, indexed by image (null when unconditional)
     * @param offset first image; a multiple of {@code s.batch()}
     */
    public static Generation run(Pipeline p, Supplier<Scheduler> schedulers, Backend backend, Conditioning all, Settings s, int offset,
                                 IntFunction<StepPolicy> policyForBatch, Progress progress) {
        return run(p, schedulers, backend, all, s, null, offset, policyForBatch, progress);
    }

    private static Generation run(Pipeline p, Supplier<Scheduler> schedulers, Backend backend, Conditioning all, Settings s, Tensor initial,
                                  int offset, IntFunction<StepPolicy> policyForBatch, Progress progress) {
        if (initial != null && (initial.rank() != 4 || initial.dim(0) != s.images() || initial.dim(1) != p.unet().inChannels()))
            throw new IllegalArgumentException("initial latents " + initial.shapeString() + " do not fit " + s.images() + " images of "
                    + p.unet().inChannels() + " latent channels ([" + s.images() + ", " + p.unet().inChannels() + ", H, W])");
        if (offset < 0 || offset % s.batch() != 0)
            throw new IllegalArgumentException("a part of a run starts at a batch boundary: image " + offset + " is not a multiple of the batch " + s.batch());
        NoiseSource rng = new NoiseSource(s.seed());
        List<Tensor> images = new ArrayList<>();
        List<Trace> traces = new ArrayList<>();
        for (int b = offset / s.batch(), first = offset; first < offset + s.images(); b++, first += s.batch()) {
            int k = Math.min(s.batch(), offset + s.images() - first);
            Scheduler scheduler = schedulers.get();
            scheduler.setTimesteps(s.steps());   // init_noise_sigma depends on the run's sigmas (Euler)
            Tensor xT = initial != null ? initial.slice0(first - offset, k) : initialLatent(rng, p, first, k, scheduler.initNoiseSigma());
            Conditioning cond = all == null ? null : all.slice(first, k);
            Sampler sampler = new Sampler(p.name(), new Denoiser(p.unet()), scheduler, backend);
            Sampler.Result r = sampler.run(xT, s.steps(), cond, policyForBatch.apply(b), stepNoise(rng, first, k), progress);
            traces.add(r.trace());
            images.add(decode(p, backend, r.out()));
        }
        return new Generation(Tensor.cat0(images.toArray(Tensor[]::new)), List.copyOf(traces));
    }

    /** The per-step noise of images first … first + k − 1 (stochastic schedulers): image j's from the stream (seed, "scheduler-noise-image-j"). */
    static NoiseSource stepNoise(NoiseSource rng, int first, int k) {
        return NoiseSource.perImage(stepNoiseStreams(rng, first, k));
    }

    /** The streams of {@link #stepNoise}, one per image, for a caller that batches several seeds' images (the server). */
    public static List<NoiseSource> stepNoiseStreams(NoiseSource rng, int first, int k) {
        List<NoiseSource> perImage = new ArrayList<>();
        for (int j = first; j < first + k; j++) perImage.add(rng.fork("scheduler-noise-image-" + j));
        return perImage;
    }

    public static Tensor decode(Pipeline p, Backend backend, Tensor latents) {
        if (p.vae() == null) return latents;
        Ctx c = new Ctx(backend);
        return p.vae().decode(c, p.vae().unscale(c, latents));
    }

    /** Image j's initial latent: N(0, I)·init_noise_sigma drawn from the stream (seed, "image-j"). */
    public static Tensor initialLatent(NoiseSource rng, Pipeline p, int first, int k, float sigma) {
        Tensor[] parts = new Tensor[k];
        int[] one = p.latentShape(1);
        for (int j = 0; j < k; j++) parts[j] = rng.fork("image-" + (first + j)).gaussian(one);
        Tensor x = Tensor.cat0(parts);
        for (int i = 0; i < x.numel(); i++) x.data()[i] *= sigma;
        return x;
    }

    /** Parts of one run (see the offset form of {@link #run}), in image order, as the run they are parts of. */
    public static Generation concat(List<Generation> parts) {
        if (parts.size() == 1) return parts.getFirst();
        return new Generation(Tensor.cat0(parts.stream().map(Generation::images).toArray(Tensor[]::new)),
                parts.stream().flatMap(g -> g.traces().stream()).toList());
    }

    public long totalMacs() {
        return traces.stream().mapToLong(Trace::totalMacs).sum();
    }

    public double totalMs() {
        return traces.stream().mapToDouble(Trace::totalMs).sum();
    }

    public int unetCalls() {
        return traces.stream().mapToInt(Trace::unetCalls).sum();
    }

    /** UNet evaluations counted per sample (images × steps for full-step). */
    public int sampleEvaluations() {
        return traces.stream().mapToInt(Trace::sampleEvaluations).sum();
    }
}
