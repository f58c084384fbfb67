package jdiffusion.accel;

import jdiffusion.sample.StepAction;
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
 * (numbered in {@code Rule.observe}). δ &lt; 0 never reuses (full-step). C_max is the longest run of
 * reused steps allowed once the rule's counter is active; C_max = 0 means no reuse at all (the official
 * code would read {@code mask[-0:]} as the whole list, a Python slicing accident we do not reproduce).
 * One decision per batch (the means run over all elements), as the official code does: {@link Scope#BATCH}.
 *
 * <p>Per sample ({@link Scope#SAMPLE}, beyond the official code): the same rule runs separately on each
 * sample's own latents — its own four-latent history, d_k, criterion, C_max counter and mask — so one
 * sample whose trajectory bends does not force the others to compute. The plan then names, per sample,
 * whether it runs the UNet; the sampler runs it on that sub-batch only (with the samples' [uncond, cond]
 * pairs) and the others reuse their own previous output. A batch of one decides identically in both
 * scopes, and with batch-invariant kernels each sample of a per-sample batch gets the bits it gets alone.
 */
public final class AdaptiveSkip implements StepPolicy {
    /** Steps 0..3 always compute: the criterion needs four latents. */
    public static final int WARMUP = 4;
    /** The max-skip counter is consulted only once more than this many decisions exist (official rule). */
    static final int COUNTER_AFTER = 4;

    /** Whom one decision covers: the whole batch (the official rule) or each sample on its own. */
    public enum Scope {
        BATCH, SAMPLE;

        /** The CLI's word: batch or sample. */
        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** Reads batch or sample. */
        public static Scope of(String word) {
            for (Scope s : values()) if (s.word().equals(word)) return s;
            throw new IllegalArgumentException("--adaptive-scope must be batch or sample, got '" + word + "'");
        }
    }

    private final double delta;
    private final int maxSkip;
    private final Scope scope;
    private final List<Rule> rules = new ArrayList<>();   // one for the batch, or one per sample

    public AdaptiveSkip(double delta, int maxSkip) {
        this(delta, maxSkip, Scope.BATCH);
    }

    public AdaptiveSkip(double delta, int maxSkip, Scope scope) {
        if (Double.isNaN(delta)) throw new IllegalArgumentException("δ must be a number");
        if (maxSkip < 0) throw new IllegalArgumentException("C_max must be ≥ 0, got " + maxSkip);
        this.delta = delta;
        this.maxSkip = maxSkip;
        this.scope = java.util.Objects.requireNonNull(scope, "scope");
        rules.add(new Rule());
    }

    @Override
    public void begin(RunInfo run) {
        rules.clear();
        int n = scope == Scope.BATCH ? 1 : run.latentShape()[0];
        for (int j = 0; j < n; j++) rules.add(new Rule());
    }

    /** The latent changed resolution (mixed-resolution switch): differences across it mean nothing, warm up again. */
    public void restart() {
        rules.forEach(Rule::restart);
    }

    @Override
    public StepPlan plan(int i, RunState state) {
        if (scope == Scope.BATCH) {
            Rule r = rules.getFirst();
            return r.compute(state) ? StepPlan.full(state.guidedRun()) : StepPlan.skip(state.guidedRun(), r.lastCriterion());
        }
        List<StepPlan.Sample> samples = new ArrayList<>();
        for (Rule r : rules)
            samples.add(r.compute(state) ? new StepPlan.Sample(StepAction.FULL, Map.of()) : new StepPlan.Sample(StepAction.SKIPPED, r.lastCriterion()));
        return StepPlan.perSample(state.guidedRun(), samples);
    }

    /** After scheduler step k: the decision for step k+1, for the batch or for each sample on its own latent. */
    @Override
    public void observe(StepResult step, RunState state) {
        if (scope == Scope.BATCH) {
            rules.getFirst().observe(step.after());
            return;
        }
        if (step.after().dim(0) != rules.size())
            throw new IllegalStateException("per-sample AdaptiveDiffusion began with " + rules.size() + " samples, the latent has " + step.after().dim(0));
        for (int j = 0; j < rules.size(); j++) rules.get(j).observe(step.after().slice0(j, 1));
    }

    /** The rule for one stream of latents (the batch's, or one sample's): its history, decisions and criterion. */
    private final class Rule {
        private final List<Tensor> latents = new ArrayList<>();   // L_{k-3} .. L_k (the last four)
        private final List<Integer> mask = new ArrayList<>();      // 1 = compute at the next step
        private final List<double[]> criterion = new ArrayList<>(); // [lhs, rhs] per decision
        private boolean computeNext = true;

        void restart() {
            latents.clear();
            computeNext = true;
        }

        boolean compute(RunState state) {
            return maxSkip == 0 || latents.size() < WARMUP || computeNext || !state.hasPreviousOutput();
        }

        Map<String, Double> lastCriterion() {
            if (criterion.isEmpty()) return Map.of();
            double[] c = criterion.getLast();
            return Map.of("third_order", c[0], "threshold", c[1]);
        }

        /**
         * After scheduler step k, with L_k the latent it produced: the decision for step k+1.
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
        void observe(Tensor after) {
            // 1. the last four latents
            latents.add(after);
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
    }

    /** mean |a − b| over all elements, accumulated in double. */
    static double meanAbsDiff(Tensor a, Tensor b) {
        float[] x = a.data(), y = b.data();
        double s = 0;
        for (int j = 0; j < x.length; j++) s += Math.abs(x[j] - y[j]);
        return s / x.length;
    }

    /** The decisions made so far (1 = compute at the next step), one per step after step 3 (sample 0's per sample). */
    public List<Integer> mask() {
        return mask(0);
    }

    /** Per decision: {|(d_k + d_{k−2})/2 − d_{k−1}|, δ·d_{k−1}} (sample 0's per sample). */
    public List<double[]> criterion() {
        return criterion(0);
    }

    /** Decision streams: 1 for the batch scope, one per sample for the sample scope (after {@link #begin}). */
    public int streams() {
        return rules.size();
    }

    /** Stream j's decisions (1 = compute at the next step). */
    public List<Integer> mask(int j) {
        return List.copyOf(rules.get(j).mask);
    }

    /** Stream j's criterion per decision: {third-order difference, δ·d_{k−1}}. */
    public List<double[]> criterion(int j) {
        return List.copyOf(rules.get(j).criterion);
    }

    public Scope scope() {
        return scope;
    }

    public double delta() {
        return delta;
    }

    public int maxSkip() {
        return maxSkip;
    }

    @Override
    public String describe() {
        return String.format("adaptive(δ=%s, C_max=%d%s)", delta, maxSkip, scope == Scope.SAMPLE ? ", per sample" : "");
    }
}
