package jdiffusion.sample;

import jdiffusion.nn.ForwardHooks;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * A policy's answer for one step: what the sampler does to get the model output.
 *
 * @param action    FULL or PARTIAL: run the UNet (the hooks may serve parts from a cache: a partial step);
 *                  SKIPPED: no UNet call, the previous raw output is used again. For a per-sample plan,
 *                  FULL when any sample runs the UNet, else SKIPPED
 * @param hooks     module hooks for the forward pass (DeepCache, cross-attention caching), or NONE
 * @param guide     whether to run the guided [uncond, cond] batch (conditional models)
 * @param criterion values the decision was based on (e.g. AdaptiveDiffusion's two sides), for the trace
 * @param samples   empty: every sample of the batch does {@code action}; else one entry per sample (a
 *                  per-sample plan): the UNet runs on the sub-batch of samples whose action is FULL (with
 *                  their [uncond, cond] pairs) and the others reuse their own previous raw output
 */
public record StepPlan(StepAction action, ForwardHooks hooks, boolean guide, Map<String, Double> criterion, List<Sample> samples) {

    /** One sample's part of a step: its action and what its decision was based on (empty for whole-batch decisions). */
    public record Sample(StepAction action, Map<String, Double> criterion) {
        public Sample {
            criterion = Map.copyOf(criterion);
        }
    }

    public StepPlan {
        if (action == StepAction.SKIPPED && hooks != ForwardHooks.NONE)
            throw new IllegalArgumentException("a skipped step runs no modules: it takes no hooks");
        samples = List.copyOf(samples);
        if (!samples.isEmpty()) {
            if (hooks != ForwardHooks.NONE)
                throw new IllegalArgumentException("a per-sample plan takes no hooks: module caches hold whole-batch tensors");
            if (samples.stream().anyMatch(s -> s.action() == StepAction.PARTIAL))
                throw new IllegalArgumentException("a per-sample plan runs the UNet fully or not at all for each sample: partial evaluation applies to a whole batch");
            StepAction overall = samples.stream().anyMatch(s -> s.action().callsModel()) ? StepAction.FULL : StepAction.SKIPPED;
            if (action != overall)
                throw new IllegalArgumentException("a per-sample plan's action is " + overall + " (FULL when any sample runs the UNet), not " + action);
        }
    }

    /** A plan for the whole batch (every sample does {@code action}). */
    public StepPlan(StepAction action, ForwardHooks hooks, boolean guide, Map<String, Double> criterion) {
        this(action, hooks, guide, criterion, List.of());
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

    /** A decision per sample: the UNet runs on the samples whose action is FULL, the others reuse their output. */
    public static StepPlan perSample(boolean guide, List<Sample> samples) {
        if (samples.isEmpty()) throw new IllegalArgumentException("a per-sample plan needs one entry per sample");
        StepAction overall = samples.stream().anyMatch(s -> s.action().callsModel()) ? StepAction.FULL : StepAction.SKIPPED;
        return new StepPlan(overall, ForwardHooks.NONE, guide, Map.of(), samples);
    }

    /** Whether the decision is made per sample. */
    public boolean perSample() {
        return !samples.isEmpty();
    }

    /** The per-sample view of this plan for a batch of {@code batch}: its own entries, or the whole-batch action for every sample. */
    public List<Sample> samples(int batch) {
        if (samples.isEmpty()) return Collections.nCopies(batch, new Sample(action, Map.of()));
        if (samples.size() != batch)
            throw new IllegalStateException("the plan has " + samples.size() + " per-sample decisions for a batch of " + batch);
        return samples;
    }

    /** The samples that run the UNet this step, in batch order. */
    public int[] computing(int batch) {
        if (samples.isEmpty()) return action.callsModel() ? IntStream.range(0, batch).toArray() : new int[0];
        return IntStream.range(0, samples(batch).size()).filter(j -> samples.get(j).action().callsModel()).toArray();
    }
}
