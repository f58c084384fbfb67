package jdiffusion.serve;

import jdiffusion.kernels.Backend;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Denoiser;
import jdiffusion.sample.Generation;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.sample.Prompts;
import jdiffusion.sample.Sampler;
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
 *   <li>each request keeps its own conditioning in its rows of the batch: class rows, or its prompt, negative
 *       prompt and clip skip encoded by the pipeline's text encoder as generate encodes them ({@link ImageRequest#conditioning});
 *       requests share only the guidance scale ({@link BatchKey});</li>
 *   <li>scheduler noise (seed, "scheduler-noise-0") and the policy's stream (seed, "policy", "batch-0") come
 *       from the first request: {@link Batcher} only puts requests together when neither is drawn
 *       (deterministic scheduler, row-independent policy), so they are used only by a request running alone.</li>
 * </ul>
 * Whether the result is also independent of the companions bit for bit depends on the kernels being
 * batch-invariant (see BatchingEquivalenceTest).
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
        List<List<String>> warnings = new ArrayList<>();
        int total = 0;
        for (int k = 0; k < requests.size(); k++) {
            ImageRequest r = requests.get(k);
            latents[k] = Generation.initialLatent(new NoiseSource(r.seed()), p, 0, r.numImages(), scheduler.initNoiseSigma());
            Prompts.Encoded e = r.conditioning(backend);
            conds.add(e.conditioning());
            warnings.add(e.warnings());
            total += r.numImages();
        }
        Sampler sampler = new Sampler(p.name(), new Denoiser(p.unet()), scheduler, backend);
        NoiseSource noise = new NoiseSource(first.seed()).fork("scheduler-noise-0");
        Sampler.Result res = sampler.run(Tensor.cat0(latents), first.steps(), concat(conds), new StepHook(first.policy(), listener),
                noise, Progress.NONE);
        Tensor images = Generation.decode(p, backend, res.out());
        List<JobResult> out = new ArrayList<>();
        for (int k = 0, at = 0; k < requests.size(); at += requests.get(k).numImages(), k++) {
            int n = requests.get(k).numImages();
            out.add(JobResult.of(images.slice0(at, n), share(res.trace(), n, total), total, requests.size(), warnings.get(k)));
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
     * A request's part of the batch's trace: MACs scale with the batch (every op's count is linear in it),
     * so n of total images cost n/total of them, exactly; times are the batch's (they were shared).
     */
    static Trace share(Trace t, int n, int total) {
        if (n == total) return t;
        List<StepRecord> rs = new ArrayList<>();
        for (StepRecord r : t.records())
            rs.add(new StepRecord(r.index(), r.timestep(), r.action(), r.lowRes(), r.macs() / total * n, r.ms(), r.resolution(), r.criterion()));
        return new Trace(t.model(), t.scheduler(), t.policy(), t.steps(), t.fullStepMacs() / total * n, rs);
    }
}
