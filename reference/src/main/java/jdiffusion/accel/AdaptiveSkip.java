package jdiffusion.accel;

import jdiffusion.sample.StepPlan;
import jdiffusion.sample.StepPolicy;
import jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * AdaptiveDiffusion (Ye et al., NeurIPS 2024, "Training-Free Adaptive Diffusion with Bounded
 * Difference Approximation Strategy"): skip the UNet at steps where the latent evolves smoothly, reusing
 * the previous raw model output; the scheduler still steps every time.
 *
 * <p>The rule, decision for decision as the authors' {@code sparse_pipeline.py}: let L_k be the latent
 * after scheduler step k and d_k = mean|L_k − L_{k−1}|. Steps 0–3 always run the UNet. After each step
 * k ≥ 3 one decision is made for step k+1:
 * <ol>
 *   <li>if more than 4 decisions exist and none of the last C_max was "compute": compute;</li>
 *   <li>else if |(d_k + d_{k−2})/2 − d_{k−1}| ≤ δ·d_{k−1} (the third-order difference of the latent is
 *       small relative to the first-order one): reuse;</li>
 *   <li>otherwise: compute.</li>
 * </ol>
 * δ &lt; 0 never reuses (full-step). C_max is the longest run of reused steps allowed once the rule's
 * counter is active; C_max = 0 means no reuse at all (the official code would read {@code mask[-0:]}
 * as the whole list, a Python slicing accident we do not reproduce). One decision per batch (the
 * means run over all elements).
 */
public final class AdaptiveSkip implements StepPolicy {
    /** Steps 0..3 always compute: the criterion needs four latents. */
    public static final int WARMUP = 4;
    /** The max-skip counter is consulted only once more than this many decisions exist (official rule). */
    static final int COUNTER_AFTER = 4;

    private final double delta;
    private final int maxSkip;
    private final List<Tensor> latents = new ArrayList<>();   // L_{k-3} .. L_k (the last four)
    private final List<Integer> mask = new ArrayList<>();      // 1 = compute at the next step
    private final List<double[]> criterion = new ArrayList<>(); // [lhs, rhs] per decision
    private boolean computeNext = true;

    public AdaptiveSkip(double delta, int maxSkip) {
        if (Double.isNaN(delta)) throw new IllegalArgumentException("δ must be a number");
        if (maxSkip < 0) throw new IllegalArgumentException("C_max must be ≥ 0, got " + maxSkip);
        this.delta = delta;
        this.maxSkip = maxSkip;
    }

    @Override
    public void begin(RunInfo run) {
        latents.clear();
        mask.clear();
        criterion.clear();
        computeNext = true;
    }

    /** The latent changed resolution (mixed-resolution switch): differences across it mean nothing, warm up again. */
    public void restart() {
        latents.clear();
        computeNext = true;
    }

    @Override
    public StepPlan plan(int i, RunState state) {
        boolean compute = maxSkip == 0 || latents.size() < WARMUP || computeNext || !state.hasPreviousOutput();
        if (compute) return StepPlan.full(state.guidedRun());
        return new StepPlan(StepPlan.Mode.REUSE, jdiffusion.nn.ForwardHooks.NONE, state.guidedRun(), "skipped", lastCriterion());
    }

    private Map<String, Double> lastCriterion() {
        if (criterion.isEmpty()) return Map.of();
        double[] c = criterion.getLast();
        return Map.of("third_order", c[0], "threshold", c[1]);
    }

    @Override
    public void observe(StepResult step, RunState state) {
        latents.add(step.after());
        if (latents.size() > WARMUP) latents.removeFirst();
        if (latents.size() < WARMUP) return;
        double dk = meanAbsDiff(latents.get(3), latents.get(2));
        double dk1 = meanAbsDiff(latents.get(2), latents.get(1));
        double dk2 = meanAbsDiff(latents.get(1), latents.get(0));
        double lhs = Math.abs((dk + dk2) / 2 - dk1), rhs = delta * dk1;
        boolean compute;
        if (maxSkip == 0 || (mask.size() > COUNTER_AFTER && noComputeInLast(maxSkip))) compute = true;
        else compute = !(lhs <= rhs);
        mask.add(compute ? 1 : 0);
        criterion.add(new double[]{lhs, rhs});
        computeNext = compute;
    }

    private boolean noComputeInLast(int n) {
        for (int j = Math.max(0, mask.size() - n); j < mask.size(); j++) if (mask.get(j) == 1) return false;
        return true;
    }

    /** mean |a − b| over all elements, accumulated in double. */
    static double meanAbsDiff(Tensor a, Tensor b) {
        float[] x = a.data(), y = b.data();
        double s = 0;
        for (int j = 0; j < x.length; j++) s += Math.abs(x[j] - y[j]);
        return s / x.length;
    }

    /** The decisions made so far (1 = compute at the next step), one per step after step 3. */
    public List<Integer> mask() {
        return List.copyOf(mask);
    }

    /** Per decision: {|(d_k + d_{k−2})/2 − d_{k−1}|, δ·d_{k−1}}. */
    public List<double[]> criterion() {
        return List.copyOf(criterion);
    }

    public double delta() {
        return delta;
    }

    public int maxSkip() {
        return maxSkip;
    }

    @Override
    public String describe() {
        return String.format("adaptive(δ=%s, C_max=%d)", delta, maxSkip);
    }
}
