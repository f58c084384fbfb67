package jdiffusion.serve;

import jdiffusion.accel.PolicySpec;
import jdiffusion.weights.config.SchedulerConfig;

/**
 * Which requests may share a UNet batch: the same model, scheduler, steps, size, guidance and acceleration
 * setting, and only when sharing cannot change anyone's result:
 * <ul>
 *   <li>the scheduler draws no noise (DDPM does, from a stream the batch would share), and</li>
 *   <li>the policy decides for each image alone: none, DeepCache and the cross-attention cache follow the
 *       step index; AdaptiveDiffusion decides once per batch from the whole batch's latents and mixed
 *       resolution draws noise for the whole batch, so those run alone (per-sample AdaptiveDiffusion, once
 *       the engine has it, can join here).</li>
 * </ul>
 * What a request is conditioned on is not in the key: class rows, prompts, negative prompts and clip skips
 * differ freely within a batch (each request's rows are its own); the guidance scale is, since the sampler
 * applies one scale to the whole batch. The policy groups by its id (the same method and parameters).
 * A request that cannot share gets a key of its own ({@code alone} = its job id).
 */
record BatchKey(String model, String scheduler, int steps, int size, double guidance, String policy, String alone) {

    static BatchKey of(String jobId, ImageRequest r) {
        boolean share = shareableScheduler(r) && rowIndependent(r.accel());
        return new BatchKey(r.model().name(), r.schedulerName(), r.steps(), r.model().sampleSize(), r.guidance(), r.accel().id(),
                share ? null : jobId);
    }

    boolean shareable() {
        return alone == null;
    }

    static boolean shareableScheduler(ImageRequest r) {
        return r.scheduler().config().kind() != SchedulerConfig.Kind.DDPM && r.scheduler().eta() == 0;
    }

    static boolean rowIndependent(PolicySpec s) {
        return s.adaptive() == null && s.mixed() == null;
    }
}
