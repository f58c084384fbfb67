package jdiffusion.serve;

import jdiffusion.kernels.Backend;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Denoiser;
import jdiffusion.sample.Generation;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.sample.Sampler;
import jdiffusion.sample.StepAction;
import jdiffusion.sample.StepPlan;
import jdiffusion.sample.StepRecord;
import jdiffusion.sample.Trace;
import jdiffusion.schedule.Scheduler;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * One UNet batch made of several requests, computed as {@code generate} computes each of them (its
 * {@link Generation#run} with one batch of all its images):
 * <ul>
 *   <li>request r's image j starts from its own noise, stream (seed_r, "image-j") — {@link Generation#initialLatent}
 *       — so its initial latent does not depend on its companions;</li>
 *   <li>each request keeps its own conditioning (class rows, prompt embeddings) in its rows of the batch;</li>
 *   <li>a stochastic scheduler's step noise for image j of request r comes from its own stream
 *       (seed_r, "scheduler-noise-image-j") — {@link Generation#stepNoiseStreams} — as in generate;</li>
 *   <li>the policy's stream (seed, "policy", "batch-0") comes from the first request: {@link Batcher} only puts
 *       requests together under row-independent policies, which draw nothing.</li>
 * </ul>
 * The kernels are batch-invariant, so each request's images are bit for bit those it gets alone
 * (BatchingEquivalenceTest).
 */
final class BatchRun implements Batcher.Runner {
    private final Backend backend;

    BatchRun(Backend backend) {
        this.backend = backend;
    }

    @Override
    public List<JobResult> run(List<ImageRequest> requests, StepHook.Listener listener) {
        ImageRequest first = requests.getFirst();
        Pipeline p = first.model().pipeline();
        Scheduler scheduler = first.scheduler().create();
        scheduler.setTimesteps(first.steps());   // init_noise_sigma depends on the run's sigmas (Euler)
        Tensor[] latents = new Tensor[requests.size()];
        List<Conditioning> conds = new ArrayList<>();
        List<NoiseSource> stepNoise = new ArrayList<>();
        int total = 0;
        for (int k = 0; k < requests.size(); k++) {
            ImageRequest r = requests.get(k);
            latents[k] = Generation.initialLatent(new NoiseSource(r.seed()), p, 0, r.numImages(), scheduler.initNoiseSigma());
            stepNoise.addAll(Generation.stepNoiseStreams(new NoiseSource(r.seed()), 0, r.numImages()));
            conds.add(r.conditioning());
            total += r.numImages();
        }
        Sampler sampler = new Sampler(p.name(), new Denoiser(p.unet()), scheduler, backend);
        NoiseSource noise = NoiseSource.perImage(stepNoise);
        Sampler.Result res = sampler.run(Tensor.cat0(latents), first.steps(), concat(conds), new StepHook(first.policy(), listener),
                noise, Progress.NONE);
        Tensor images = Generation.decode(p, backend, res.out());
        List<JobResult> out = new ArrayList<>();
        for (int k = 0, at = 0; k < requests.size(); at += requests.get(k).numImages(), k++) {
            int n = requests.get(k).numImages();
            out.add(JobResult.of(images.slice0(at, n), share(res.trace(), at, n, total), total, requests.size()));
        }
        return out;
    }

    /** The requests' conditionings as one (they share the guidance scale: {@link BatchKey}), or null. */
    private static Conditioning concat(List<Conditioning> cs) {
        if (cs.getFirst() == null) return null;
        if (cs.size() == 1) return cs.getFirst();
        Tensor cond = Tensor.cat0(cs.stream().map(Conditioning::cond).toArray(Tensor[]::new));
        boolean unc = cs.getFirst().uncond() != null;
        Tensor uncond = unc ? Tensor.cat0(cs.stream().map(Conditioning::uncond).toArray(Tensor[]::new)) : null;
        return new Conditioning(cond, uncond, cs.getFirst().guidance());
    }

    /**
     * A request's part of the batch's trace (its images at..at+n−1): MACs scale with the images the UNet ran
     * for (every op's count is linear in the batch), so its share of a step is the step's MACs times its
     * evaluated images over all evaluated images, exactly — n/total when all ran; under per-sample decisions
     * its images' own actions, and a step where none of them ran is skipped for it. Times are the batch's
     * (they were shared).
     */
    static Trace share(Trace t, int at, int n, int total) {
        if (n == total) return t;
        List<StepRecord> rs = new ArrayList<>();
        for (StepRecord r : t.records()) {
            List<StepPlan.Sample> mine = r.samples().subList(at, at + n);
            long evaluated = mine.stream().filter(s -> s.action().callsModel()).count();
            int all = r.sampleEvaluations();
            long macs = all == 0 ? 0 : r.macs() / all * evaluated;
            StepAction action = evaluated == 0 && r.action().callsModel() ? StepAction.SKIPPED : r.action();
            rs.add(new StepRecord(r.index(), r.timestep(), action, r.lowRes(), macs, r.ms(), r.resolution(), r.criterion(), mine));
        }
        return new Trace(t.model(), t.scheduler(), t.policy(), t.steps(), t.fullStepMacs() / total * n, rs);
    }
}
