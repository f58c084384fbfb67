package jdiffusion.sample;

import jdiffusion.nn.ForwardHooks;

import java.util.Map;

/**
 * A policy's answer for one step: what the sampler does to get the model output.
 *
 * @param mode      COMPUTE: run the UNet (hooks may serve parts from a cache: a partial step);
 *                  REUSE: no UNet call, the previous raw output is used again
 * @param hooks     module hooks for the forward pass (DeepCache, cross-attention caching), or NONE
 * @param guide     whether to run the guided [uncond, cond] batch (conditional models)
 * @param action    the label the trace shows: "full", "partial", "skipped", prefixed "low-res " when
 *                  the latent is at reduced resolution
 * @param criterion values the decision was based on (e.g. AdaptiveDiffusion's two sides), for the trace
 */
public record StepPlan(Mode mode, ForwardHooks hooks, boolean guide, String action, Map<String, Double> criterion) {
    public enum Mode { COMPUTE, REUSE }

    public static StepPlan full(boolean guide) {
        return new StepPlan(Mode.COMPUTE, ForwardHooks.NONE, guide, "full", Map.of());
    }

    public StepPlan withAction(String a) {
        return new StepPlan(mode, hooks, guide, a, criterion);
    }

    public StepPlan withCriterion(Map<String, Double> c) {
        return new StepPlan(mode, hooks, guide, action, c);
    }
}
