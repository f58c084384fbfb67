package jdiffusion.sample;

import jdiffusion.nn.ForwardHooks;

import java.util.Map;

/**
 * A policy's answer for one step: what the sampler does to get the model output.
 *
 * @param action    FULL or PARTIAL: run the UNet (the hooks may serve parts from a cache: a partial step);
 *                  SKIPPED: no UNet call, the previous raw output is used again
 * @param hooks     module hooks for the forward pass (DeepCache, cross-attention caching), or NONE
 * @param guide     whether to run the guided [uncond, cond] batch (conditional models)
 * @param criterion values the decision was based on (e.g. AdaptiveDiffusion's two sides), for the trace
 */
public record StepPlan(StepAction action, ForwardHooks hooks, boolean guide, Map<String, Double> criterion) {

    public StepPlan {
        if (action == StepAction.SKIPPED && hooks != ForwardHooks.NONE)
            throw new IllegalArgumentException("a skipped step runs no modules: it takes no hooks");
    }

    /** Run the whole UNet. */
    public static StepPlan full(boolean guide) {
        return new StepPlan(StepAction.FULL, ForwardHooks.NONE, guide, Map.of());
    }

    /** Run the whole UNet with hooks that observe (e.g. record a cache) but serve nothing. */
    public static StepPlan full(ForwardHooks recording, boolean guide) {
        return new StepPlan(StepAction.FULL, recording, guide, Map.of());
    }

    /** Run the UNet with some modules served by {@code serving}. */
    public static StepPlan partial(ForwardHooks serving, boolean guide) {
        return new StepPlan(StepAction.PARTIAL, serving, guide, Map.of());
    }

    /** No UNet call: reuse the previous raw output. */
    public static StepPlan skip(boolean guide, Map<String, Double> criterion) {
        return new StepPlan(StepAction.SKIPPED, ForwardHooks.NONE, guide, criterion);
    }
}
