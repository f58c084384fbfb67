package jdiffusion.accel;

import jdiffusion.nn.DownBlock;
import jdiffusion.nn.ForwardHooks;
import jdiffusion.nn.ModuleId;
import jdiffusion.sample.StepPlan;
import jdiffusion.sample.StepPolicy;
import jdiffusion.tensor.Tensor;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * DeepCache: X. Ma, G. Fang, X. Wang, "DeepCache: Accelerating Diffusion Models for Free", CVPR 2024,
 * arXiv:2312.00858 (§3.2 feature caching through the skip branch, §3.3 the uniform 1:N and non-uniform
 * 1:N strategies). Notation map (paper → code): N (cache interval) → interval; the skip branch m →
 * branch id b (block b / 3, layer b % 3, as the authors' helper numbers them); the non-uniform schedule's
 * center c and power p → center, power. The deep features of a UNet change slowly across steps, so
 * at a refresh step everything runs and every module's output is stored; at the other steps only the
 * shallow path runs (the down path above the branch and the up path from it) and the deep modules
 * return their stored outputs.
 *
 * <p>Exactly as the authors' {@code DeepCacheSDHelper} (see ../shared/golden/README.md): branch id b →
 * block B = b / 3, layer L = b % 3. Down path: cached when block &gt; B, or block = B and layer ≥ L (the
 * whole block counts as layer 0, a downsampler as layer n_resnets). The mid block is always cached.
 * Up path (mirrored indices): cached when block &gt; B, or block = B and layer &gt; L. conv_in, the
 * time embedding and conv_out always run.
 *
 * <p>Refresh steps: uniform (every N-th step from the first) or the paper's non-uniform schedule,
 * which refreshes densely around a center step (see {@link #nonUniformRefreshSteps}).
 */
public final class DeepCache implements StepPolicy {
    private final int interval, branch, block, layer;
    private final Set<Integer> refreshSteps;   // null = uniform
    private final String scheduleName;
    private final Map<String, Object> cache = new HashMap<>();
    private boolean cacheGuided;
    private boolean forceRefresh;
    private int lastPlanned = -1;   // the last step this policy planned (steps another policy skipped are never planned)

    private DeepCache(int interval, int branch, Set<Integer> refreshSteps, String scheduleName) {
        if (interval < 1) throw new IllegalArgumentException("DeepCache interval N must be ≥ 1, got " + interval);
        if (branch < 0) throw new IllegalArgumentException("DeepCache branch must be ≥ 0, got " + branch);
        this.interval = interval;
        this.branch = branch;
        this.block = branch / 3;
        this.layer = branch % 3;
        this.refreshSteps = refreshSteps;
        this.scheduleName = scheduleName;
    }

    /** Full step every {@code interval} steps, counted from the first. */
    public static DeepCache uniform(int interval, int branch) {
        return new DeepCache(interval, branch, null, "uniform");
    }

    /** The paper's non-uniform 1:N schedule for a run of {@code steps} steps. */
    public static DeepCache nonUniform(int interval, int branch, int steps, int center, double power) {
        return new DeepCache(interval, branch, new TreeSet<>(nonUniformRefreshSteps(steps, interval, center, power)),
                String.format("non-uniform(c=%d, p=%s)", center, power));
    }

    /**
     * Refresh steps of DeepCache's non-uniform schedule, as the authors' {@code sample_from_quad_center}
     * computes them: n = ⌈T/N⌉ refresh steps; n+1 points z_k evenly spaced (ends included) from
     * (−c)^(1/p) to (T−c)^(1/p), raised to the power p, truncated to integers, de-duplicated, the smallest
     * and largest dropped, shifted by c, and step 0 put in front; when that does not give n steps, p is
     * lowered by 0.02 and the construction repeated. The authors compute (−c)^(1/p) in Python, where it is
     * a complex number on the principal branch, and numpy keeps only the real part of z^p; so do we:
     * Re z^p = |z|^p·cos(p·arg z). Refreshes come out denser near the center step.
     */
    public static List<Integer> nonUniformRefreshSteps(int steps, int interval, int center, double power) {
        int n = (steps + interval - 1) / interval;
        double p = power;
        while (p > 1) {
            double[] z0 = complexRoot(-center, p), z1 = complexRoot(steps - center, p);
            TreeSet<Integer> raw = new TreeSet<>();
            for (int k = 0; k <= n; k++) {
                double re = k == n ? z1[0] : z0[0] + (z1[0] - z0[0]) / n * k;
                double im = k == n ? z1[1] : z0[1] + (z1[1] - z0[1]) / n * k;
                double mod = Math.hypot(re, im), arg = Math.atan2(im, re);
                raw.add((int) (Math.pow(mod, p) * Math.cos(p * arg)));   // numpy int32(complex) truncates the real part
            }
            List<Integer> sorted = List.copyOf(raw);
            List<Integer> idx = new java.util.ArrayList<>();
            idx.add(0);
            for (int j = 1; j < sorted.size() - 1; j++) idx.add(sorted.get(j) + center);
            if (idx.size() == n) return List.copyOf(idx);
            p -= 0.02;
        }
        throw new IllegalArgumentException("DeepCache non-uniform schedule: no power ≤ " + power + " gives " + n
                + " refresh steps for " + steps + " steps with center " + center + " (the authors' code fails the same way)");
    }

    /** x^(1/p) on the principal branch, as {re, im}. */
    private static double[] complexRoot(double x, double p) {
        double r = Math.pow(Math.abs(x), 1 / p);
        if (x >= 0) return new double[]{r, 0};
        return new double[]{r * Math.cos(Math.PI / p), r * Math.sin(Math.PI / p)};
    }

    public boolean isRefresh(int i) {
        if (forceRefresh) return true;
        return refreshSteps == null ? i % interval == 0 : refreshSteps.contains(i);
    }

    /** Whether module {@code id} is served from the cache on a non-refresh step. */
    public boolean cached(ModuleId id) {
        return switch (id.path()) {
            case DOWN -> id.block() > block || (id.block() == block && id.layer() >= layer);
            case MID -> true;
            case UP -> id.block() > block || (id.block() == block && id.layer() > layer);
            case OTHER -> false;
        };
    }

    /** The cache no longer fits the latent (resolution change): the next step refreshes. */
    public void invalidate() {
        cache.clear();
        forceRefresh = true;
    }

    @Override
    public void begin(RunInfo run) {
        cache.clear();
        forceRefresh = false;
        lastPlanned = -1;
    }

    /**
     * Whether a refresh step fell among the steps skipped since the last planned one (only when another
     * policy, AdaptiveDiffusion, skips the UNet: alone, DeepCache plans every step). Such a refresh is
     * made up at the next step that runs; otherwise a skip that keeps landing on refresh steps would serve
     * the deep features of one early step for the rest of the run.
     */
    private boolean missedRefresh(int i) {
        for (int j = lastPlanned + 1; j < i; j++) if (refreshSteps == null ? j % interval == 0 : refreshSteps.contains(j)) return true;
        return false;
    }

    @Override
    public StepPlan plan(int i, RunState state) {
        return plan(i, state.guidedRun());
    }

    /** The plan for step i when the batch is guided ({@code guide}) or conditional-only. */
    public StepPlan plan(int i, boolean guide) {
        boolean missed = missedRefresh(i);
        lastPlanned = i;
        if (isRefresh(i) || missed || cache.isEmpty()) {
            forceRefresh = false;
            cacheGuided = guide;
            return StepPlan.full(new Recording(), guide);
        }
        // a refresh made with the guided batch [uncond; cond] serves a conditional-only step from its cond half
        boolean condHalf = cacheGuided && !guide;
        return StepPlan.partial(new Serving(condHalf), guide);
    }

    /** Refresh step: run everything, remember every module's output. */
    private final class Recording implements ForwardHooks {
        @Override
        public <T> T module(ModuleId id, Supplier<T> compute) {
            T v = compute.get();
            cache.put(id.key(), v);
            return v;
        }
    }

    /** Partial step: the deep modules answer from the cache. */
    private final class Serving implements ForwardHooks {
        private final boolean condHalf;

        Serving(boolean condHalf) {
            this.condHalf = condHalf;
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T> T module(ModuleId id, Supplier<T> compute) {
            if (!cached(id)) return compute.get();
            Object v = cache.get(id.key());
            if (v == null) throw new IllegalStateException("DeepCache: no cached output for " + id.key());
            return (T) (condHalf ? secondHalf(v) : v);
        }
    }

    static Object secondHalf(Object v) {
        if (v instanceof Tensor t) return t.slice0(t.dim(0) / 2, t.dim(0) / 2);
        if (v instanceof DownBlock.Out o)
            return new DownBlock.Out((Tensor) secondHalf(o.hidden()), o.residuals().stream().map(r -> (Tensor) secondHalf(r)).toList());
        throw new IllegalStateException("DeepCache: cannot take the conditional half of " + v.getClass());
    }

    public int interval() {
        return interval;
    }

    public int branch() {
        return branch;
    }

    @Override
    public String describe() {
        return String.format("deepcache(N=%d, branch=%d, %s)", interval, branch, scheduleName);
    }
}
