package jdiffusion.accel;

import jdiffusion.nn.ForwardHooks;
import jdiffusion.nn.ModuleId;
import jdiffusion.sample.StepAction;
import jdiffusion.sample.StepPlan;
import jdiffusion.sample.StepPolicy;
import jdiffusion.schedule.Scheduler;
import jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Composition of the acceleration methods, each optional: mixed resolution decides the latent's size,
 * AdaptiveDiffusion decides whether the UNet runs at all, and when it runs DeepCache and
 * cross-attention caching decide which modules are served from their caches (their hooks chain).
 * A resolution switch invalidates everything that depends on the latent's size: AdaptiveDiffusion warms
 * up again, DeepCache refreshes, cross-attention outputs are re-recorded. AdaptiveDiffusion per sample
 * stands alone ({@link #checkSampleScope}).
 */
public final class CombinedPolicy implements StepPolicy {
    private final MixedResolution mixed;
    private final AdaptiveSkip adaptive;
    private final DeepCache deepCache;
    private final CrossAttentionCache crossAttention;

    public CombinedPolicy(MixedResolution mixed, AdaptiveSkip adaptive, DeepCache deepCache, CrossAttentionCache crossAttention) {
        checkSampleScope(adaptive != null && adaptive.scope() == AdaptiveSkip.Scope.SAMPLE, mixed != null, deepCache != null, crossAttention != null);
        this.mixed = mixed;
        this.adaptive = adaptive;
        this.deepCache = deepCache;
        this.crossAttention = crossAttention;
    }

    public AdaptiveSkip adaptive() {
        return adaptive;
    }

    private List<StepPolicy> parts() {
        List<StepPolicy> p = new ArrayList<>();
        for (StepPolicy s : new StepPolicy[]{mixed, adaptive, deepCache, crossAttention}) if (s != null) p.add(s);
        return p;
    }

    @Override
    public void begin(RunInfo run) {
        parts().forEach(p -> p.begin(run));
    }

    @Override
    public Tensor prepareLatent(int i, Tensor x, Scheduler scheduler) {
        if (mixed == null) return x;
        Tensor out = mixed.prepareLatent(i, x, scheduler);
        if (mixed.switchedNow()) {
            if (adaptive != null) adaptive.restart();
            if (deepCache != null) deepCache.invalidate();
            if (crossAttention != null) crossAttention.invalidate();
        }
        return out;
    }

    /**
     * AdaptiveDiffusion per sample runs the UNet on sub-batches, which the other methods cannot follow:
     * DeepCache and the cross-attention cache serve whole-batch tensors recorded at earlier steps, and
     * mixed resolution re-noises the whole batch from one stream at its switch. Refused rather than
     * approximated.
     */
    public static void checkSampleScope(boolean sampleScope, boolean mixed, boolean deepCache, boolean xattn) {
        if (!sampleScope || !(mixed || deepCache || xattn)) return;
        List<String> others = new ArrayList<>();
        if (mixed) others.add("mixed-res");
        if (deepCache) others.add("deepcache");
        if (xattn) others.add("xattn");
        throw new IllegalArgumentException("--adaptive-scope sample does not combine with " + String.join(", ", others)
                + ": per-sample AdaptiveDiffusion runs the UNet on sub-batches, while DeepCache and the cross-attention cache "
                + "serve whole-batch features and mixed resolution re-noises the whole batch; use --adaptive-scope batch to combine them");
    }

    @Override
    public StepPlan plan(int i, RunState state) {
        Map<String, Double> criterion = Map.of();
        if (adaptive != null) {
            StepPlan a = adaptive.plan(i, state);
            if (a.action() == StepAction.SKIPPED || a.perSample()) return a;
            criterion = a.criterion();
        }
        boolean guide = state.guidedRun() && (crossAttention == null || !crossAttention.pastCutoff(i));
        List<ForwardHooks> hooks = new ArrayList<>();
        StepAction action = StepAction.FULL;
        if (deepCache != null) {
            StepPlan d = deepCache.plan(i, guide);
            hooks.add(d.hooks());
            action = d.action();
        }
        if (crossAttention != null) {
            StepPlan c = crossAttention.plan(i, guide);
            hooks.add(c.hooks());
            if (c.action() == StepAction.PARTIAL) action = StepAction.PARTIAL;
        }
        return new StepPlan(action, chain(hooks), guide, criterion);
    }

    @Override
    public void observe(StepResult step, RunState state) {
        parts().forEach(p -> p.observe(step, state));
    }

    /** Hooks applied outermost-first: the first may answer without asking the later ones. */
    static ForwardHooks chain(List<ForwardHooks> hooks) {
        ForwardHooks h = ForwardHooks.NONE;
        for (int k = hooks.size() - 1; k >= 0; k--) {
            ForwardHooks outer = hooks.get(k), inner = h;
            h = new ForwardHooks() {
                @Override
                public <T> T module(ModuleId id, Supplier<T> compute) {
                    return outer.module(id, () -> inner.module(id, compute));
                }

                @Override
                public void intermediate(String name, Tensor value) {
                    outer.intermediate(name, value);
                    inner.intermediate(name, value);
                }
            };
        }
        return h;
    }

    @Override
    public String describe() {
        List<String> d = new ArrayList<>();
        parts().forEach(p -> d.add(p.describe()));
        return d.isEmpty() ? "full-step" : String.join(" + ", d);
    }
}
