package jdiffusion.serve;

import jdiffusion.sample.StepAction;
import jdiffusion.sample.StepPlan;
import jdiffusion.sample.StepPolicy;
import jdiffusion.schedule.Scheduler;
import jdiffusion.tensor.Tensor;

/**
 * The server's hook at every step boundary, without touching the sampler: the sampler asks its policy
 * before each step ({@link #prepareLatent}) and tells it after ({@link #observe}), so a policy wrapped in
 * this one runs exactly as it would alone while the server checks for cancellation before each step and
 * reports each step's action and time after it. Everything the sampler asks is forwarded unchanged.
 */
final class StepHook implements StepPolicy {

    /** What the server does at the boundaries. */
    interface Listener {
        /** Before step i; throws {@link java.util.concurrent.CancellationException} to stop the run. */
        void beforeStep(int i);

        void afterStep(int i, StepAction action, boolean lowRes, double ms);

        /** Listens to nothing (the warm-up). */
        Listener NONE = new Listener() {
            @Override
            public void beforeStep(int i) {
            }

            @Override
            public void afterStep(int i, StepAction action, boolean lowRes, double ms) {
            }
        };
    }

    private final StepPolicy inner;
    private final Listener listener;
    private long t0;
    private StepAction action;
    private boolean lowRes;

    StepHook(StepPolicy inner, Listener listener) {
        this.inner = inner;
        this.listener = listener;
    }

    @Override
    public void begin(RunInfo run) {
        inner.begin(run);
    }

    @Override
    public Tensor prepareLatent(int i, Tensor x, Scheduler scheduler) {
        listener.beforeStep(i);
        t0 = System.nanoTime();
        return inner.prepareLatent(i, x, scheduler);
    }

    @Override
    public StepPlan plan(int i, RunState state) {
        StepPlan p = inner.plan(i, state);
        action = p.action();
        lowRes = !state.fullResolution();
        return p;
    }

    @Override
    public void observe(StepResult step, RunState state) {
        inner.observe(step, state);
        listener.afterStep(step.index(), action, lowRes, (System.nanoTime() - t0) / 1e6);
    }

    @Override
    public String describe() {
        return inner.describe();
    }
}
