package jdiffusion.serve;

import jdiffusion.accel.PolicySpec;

/**
 * Which requests may share a UNet batch: the same model, scheduler, steps, size, guidance and acceleration
 * setting, and only when sharing cannot change anyone's result. The kernels are batch-invariant and a
 * stochastic scheduler's step noise comes from each image's own stream (DDPM and DDIM η &gt; 0 share too), so
 * what remains is the policy: it must decide for each image alone. None, DeepCache and the cross-attention
 * cache follow the step index; per-sample AdaptiveDiffusion ({@code ad-…-s}) decides on each image's own
 * latents; AdaptiveDiffusion's official batch scope decides once from the whole batch's latents and mixed
 * resolution draws noise for the whole batch, so those run alone.
 * A request that cannot share gets a key of its own ({@code alone} = its job id).
 */
record BatchKey(String model, String scheduler, int steps, int size, double guidance, String policy, String alone) {

    static BatchKey of(String jobId, ImageRequest r) {
        boolean share = rowIndependent(r.accel());
        return new BatchKey(r.model().name(), r.schedulerName(), r.steps(), r.model().sampleSize(), r.guidance(), r.accel().id(),
                share ? null : jobId);
    }

    boolean shareable() {
        return alone == null;
    }

    static boolean rowIndependent(PolicySpec s) {
        return (s.adaptive() == null || s.adaptive().perSample()) && s.mixed() == null;
    }
}
