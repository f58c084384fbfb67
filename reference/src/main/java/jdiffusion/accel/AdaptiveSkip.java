package jdiffusion.accel;

import jdiffusion.sample.StepPlan;
import jdiffusion.sample.StepPolicy;
import jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * AdaptiveDiffusion: H. Ye, J. Yuan, R. Xia, X. Yan, T. Chen, J. Yan, B. Shi, B. Zhang, "Training-Free
 * Adaptive Diffusion with Bounded Difference Approximation Strategy", NeurIPS 2024, arXiv:2410.09873
 * (§3, the third-order estimator and the step-skipping criterion with the C_max safeguard). Skip the UNet
 * at steps where the latent evolves smoothly, reusing the previous raw model output; the scheduler still
 * steps every time. The paper's criterion computes a new noise prediction when
 * ξ(x_{i−1}) = ‖Δ⁽³⁾x_{i−1}‖ ≥ δ·‖Δx_i‖ and otherwise reuses the last one, with at most C_max
 * consecutive reuses. (Equation numbers are not cited: the paper's text was not available to check
 * them against; the rule below is checked decision for decision against the authors' code instead.)
 *
 * <p>Notation map (paper → code):
 * <pre>
 *   x_i (latent after step i)            L_k = latents.get(3), the latent after scheduler step k
 *   Δx_i = x_i − x_{i−1}                 L_k − L_{k−1}; its size d_k = mean|L_k − L_{k−1}|  (meanAbsDiff)
 *   ‖Δ⁽³⁾x‖ (third-order difference)     |(d_k + d_{k−2})/2 − d_{k−1}|                          (lhs)
 *   δ‖Δx‖                                δ · d_{k−1}                                             (rhs)
 *   δ, C_max                             delta, maxSkip
 *   the skip mask                        mask (1 = compute the UNet at the next step)
 * </pre>
 *
 * <p>Why the left side is a third-order difference: (d_k + d_{k−2})/2 − d_{k−1} = ½(d_k − 2d_{k−1} + d_{k−2})
 * = ½·Δ²d_k, the second difference of the sequence of first-difference sizes d. A second difference of
 * first differences is a third difference: where the direction of Δx changes slowly, d_k ≈ ‖Δx_k‖ and
 * Δ²d_k ≈ ‖Δ³x_k‖ in size. It is the estimator the authors' code computes (from scalar sizes, so it needs no
 * extra latent-sized memory). Small relative to d_{k−1}, the trajectory is locally close to a quadratic in
 * the step index, so reusing the previous ε̂ changes the next latent little.
 *
 * <p>The rule, decision for decision as the authors' {@code sparse_pipeline.py}: steps 0–3 always run the
 * UNet (the estimator needs four latents); after each step k ≥ 3 one decision is made for step k+1
 * ({@link #observe}, numbered there). δ &lt; 0 never reuses (full-step). C_max is the longest run of
 * reused steps allowed once the rule's counter is active; C_max = 0 means no reuse at all (the official
 * code would read {@code mask[-0:]} as the whole list, a Python slicing accident we do not reproduce).
 * One decision per batch (the means run over all elements), as the official code does.
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
        return StepPlan.skip(state.guidedRun(), lastCriterion());
    }

    private Map<String, Double> lastCriterion() {
        if (criterion.isEmpty()) return Map.of();
        double[] c = criterion.getLast();
        return Map.of("third_order", c[0], "threshold", c[1]);
    }

    /**
     * After scheduler step k: the decision for step k+1.
     * <ol>
     *   <li>Remember L_k; keep the last four latents L_{k−3} … L_k. Before step 3 there is nothing to decide.</li>
     *   <li>First-difference sizes d_k, d_{k−1}, d_{k−2} (mean absolute differences of consecutive latents).</li>
     *   <li>The estimator: lhs = |(d_k + d_{k−2})/2 − d_{k−1}| (third order), rhs = δ·d_{k−1}.</li>
     *   <li>Safeguard: once more than four decisions exist, if none of the last C_max decisions was "compute",
     *       compute (C_max = 0: always compute).</li>
     *   <li>Otherwise reuse when lhs ≤ rhs, compute when not (NaN compares false: a non-finite criterion computes).</li>
     *   <li>Record the decision (mask) and both sides (criterion) for the trace and the golden comparison.</li>
     * </ol>
     */
    @Override
    public void observe(StepResult step, RunState state) {
        // 1. the last four latents
        latents.add(step.after());
        if (latents.size() > WARMUP) latents.removeFirst();
        if (latents.size() < WARMUP) return;
        // 2. first-difference sizes
        double dk = meanAbsDiff(latents.get(3), latents.get(2));
        double dk1 = meanAbsDiff(latents.get(2), latents.get(1));
        double dk2 = meanAbsDiff(latents.get(1), latents.get(0));
        // 3. the third-order estimator against δ times the first-order size
        double lhs = Math.abs((dk + dk2) / 2 - dk1), rhs = delta * dk1;
        // 4. the C_max safeguard, 5. the criterion
        boolean compute;
        if (maxSkip == 0 || (mask.size() > COUNTER_AFTER && noComputeInLast(maxSkip))) compute = true;
        else compute = !(lhs <= rhs);
        // 6. record
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
