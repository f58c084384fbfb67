package jdiffusion.sample;

import jdiffusion.schedule.Scheduler;
import jdiffusion.tensor.Tensor;

/**
 * An acceleration policy, plugged into the sampling loop from outside: the sampler never knows which
 * one runs. Each step the policy may change the latent (mixed resolution), then answers how to get
 * the model output ({@link StepPlan}), then sees the latent the scheduler produced.
 */
public interface StepPolicy {

    /** Called once before step 0. */
    default void begin(RunInfo run) {
    }

    /**
     * Before step i: may return a different latent (e.g. upsampled to full resolution and re-noised);
     * returns {@code x} unchanged by default.
     */
    default Tensor prepareLatent(int i, Tensor x, Scheduler scheduler) {
        return x;
    }

    /** How to obtain the model output at step i. */
    StepPlan plan(int i, RunState state);

    /** After step i: the latent before, the (guided) model output used, and the latent the scheduler produced. */
    default void observe(StepResult step, RunState state) {
    }

    /** One completed step: x_i, the ε (or v, x0) the scheduler consumed, and x_{i+1}. */
    record StepResult(int index, Tensor before, Tensor modelOutput, Tensor after) {
    }

    /** A short description for traces and tables, e.g. "adaptive(δ=0.01, C_max=4)". */
    String describe();

    /** Facts about the run, given once. */
    record RunInfo(int steps, int[] latentShape, boolean conditional, boolean guided) {
    }

    /** What a policy may read about the run so far. */
    interface RunState {
        /** Whether the previous steps left a raw model output to reuse. */
        boolean hasPreviousOutput();

        /** Whether the latent is currently at the model's full resolution. */
        boolean fullResolution();

        /** The guidance setting requested by the user (policies may only switch it off). */
        boolean guidedRun();
    }

    /** Full-step sampling: the UNet runs completely at every step. */
    StepPolicy NONE = new StepPolicy() {
        @Override
        public StepPlan plan(int i, RunState state) {
            return StepPlan.full(state.guidedRun());
        }

        @Override
        public String describe() {
            return "full-step";
        }
    };
}
