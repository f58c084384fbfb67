package jdiffusion.accel;

import jdiffusion.nn.ForwardHooks;
import jdiffusion.nn.ModuleId;
import jdiffusion.sample.StepPlan;
import jdiffusion.sample.StepPolicy;
import jdiffusion.tensor.Tensor;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * PostDiff's cross-attention caching, from Z. Du, Y. Fu, L. Wang, J. Qian, X. Luo, Y. Lin, "Fewer Denoising
 * Steps or Cheaper Per-Step Inference: Towards Compute-Optimal Diffusion Model Deployment", ICCV 2025,
 * arXiv:2508.06160 (§3, module level: hybrid caching = DeepCache + cross-attention caching), which takes
 * the cross-attention caching of TGATE (W. Zhang et al., arXiv:2404.02747). Notation map: the caching
 * step m → cacheStep ({@code --xattn-step}, default 25 % of the steps: our choice, the authors' code is
 * not released). The
 * cross-attention maps converge early, so after step m classifier-free guidance stops (only the
 * conditional branch runs) and every cross-attention output (attn2 of each transformer block) is the
 * one recorded at step m from the conditional half of the batch ("Cond" caching, the variant the paper
 * keeps). If the latent changes resolution after step m (mixed resolution), the first step at the new
 * size recomputes and re-records the cross-attention outputs, conditional branch only.
 */
public final class CrossAttentionCache implements StepPolicy {
    private final int cacheStep;
    private final Map<String, Tensor> cache = new HashMap<>();
    private int cachedTokens = -1;

    public CrossAttentionCache(int cacheStep) {
        if (cacheStep < 0) throw new IllegalArgumentException("cross-attention cache step m must be ≥ 0, got " + cacheStep);
        this.cacheStep = cacheStep;
    }

    public int cacheStep() {
        return cacheStep;
    }

    @Override
    public void begin(RunInfo run) {
        if (!run.conditional()) throw new IllegalArgumentException("cross-attention caching needs a conditional model (UNet2DConditionModel)");
        cache.clear();
        cachedTokens = -1;
    }

    /** Whether guidance is off at step i (after the cache step). */
    public boolean pastCutoff(int i) {
        return i > cacheStep;
    }

    /** The latent changed size: recorded outputs no longer fit. */
    public void invalidate() {
        cache.clear();
        cachedTokens = -1;
    }

    @Override
    public StepPlan plan(int i, RunState state) {
        return plan(i, state.guidedRun() && !pastCutoff(i));
    }

    public StepPlan plan(int i, boolean guide) {
        if (i < cacheStep) return StepPlan.full(guide);
        if (i == cacheStep || cache.isEmpty()) return StepPlan.full(new Recording(guide), guide);
        return StepPlan.partial(new Serving(new Recording(guide)), guide);
    }

    /** Stores the conditional half of every cross-attention output. */
    private final class Recording implements ForwardHooks {
        private final boolean guided;

        Recording(boolean guided) {
            this.guided = guided;
        }

        @Override
        public <T> T module(ModuleId id, Supplier<T> compute) {
            T v = compute.get();
            if (id.kind().equals("attn2") && v instanceof Tensor t) {
                Tensor cond = guided ? t.slice0(t.dim(0) / 2, t.dim(0) / 2) : t.pin();   // kept across steps: a copy, or pinned
                cache.put(id.key(), cond);
                cachedTokens = cond.dim(1);
            }
            return v;
        }
    }

    /** Answers attn2 from the cache when it fits the current token count; otherwise records afresh. */
    private final class Serving implements ForwardHooks {
        private final Recording fallback;

        Serving(Recording fallback) {
            this.fallback = fallback;
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T> T module(ModuleId id, Supplier<T> compute) {
            if (!id.kind().equals("attn2")) return compute.get();
            Tensor c = cache.get(id.key());
            if (c == null) return fallback.module(id, compute);
            return (T) c;
        }
    }

    @Override
    public String describe() {
        return "xattn-cache(m=" + cacheStep + ")";
    }
}
