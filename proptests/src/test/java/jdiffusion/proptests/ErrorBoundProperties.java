package jdiffusion.proptests;

import jdiffusion.accel.AdaptiveSkip;
import jdiffusion.accel.CombinedPolicy;
import jdiffusion.accel.DeepCache;
import jdiffusion.sample.Sampler;
import jdiffusion.sample.StepPolicy;
import jdiffusion.weights.config.SchedulerConfig;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.PropertyDefaults;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.statistics.Statistics;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Accelerated sampling stays close to full-step sampling, with a bound that grows with the method's
 * aggressiveness. Error = relative L2 distance of the final latents, ‖x_acc − x_full‖ / ‖x_full‖, from the
 * same initial noise, on small random diffusers models (random layouts and weights, conditional with
 * guidance and unconditional), DDIM / DPM-Solver++ / Euler, 12–30 steps.
 *
 * <h2>AdaptiveDiffusion: error ≤ 4·δ</h2>
 * Why linear in δ: a reused step's update differs from the computed one by c_k·(ε_k − ε_{k−1}) (c_k the
 * scheduler's noise coefficient). The rule reuses only when the latent's third-order difference is
 * within δ of its first-order difference, i.e. the trajectory is locally linear to relative accuracy δ,
 * so each reuse perturbs the path by O(δ)·‖Δx‖, and C_max caps how many perturbations compound before a
 * fresh evaluation; summed over a run the relative error is K·δ with K depending on the model and
 * schedule. Calibration (CalibrationExperiment: 23 random models × 3 schedulers × δ ∈ {0.01 … 0.2} ×
 * C_max ∈ {2, 4}) gave K ≤ 1.69 (worst: DDIM, δ = 0.05); the stated bound K = 4 leaves a 2.4× margin.
 *
 * <h2>DeepCache: error ≤ 0.6·(N − 1)</h2>
 * Why it grows with N: a shallow step uses deep features up to N − 1 steps old; the deep features drift
 * by roughly a constant amount per step, so the feature error, and with it the update error, grows with
 * the age of the cache, N − 1 at most. Calibration (same models, N ∈ 2..5, branches 0..3) gave a worst
 * error/(N − 1) of 0.26 (DPM-Solver++, N = 2, branch 0); the bound 0.6 leaves a 2.3× margin. Random
 * weights make deep features change much faster than a trained model's, so these bounds are loose for
 * real models (see the bundled-model numbers in docs/results.md).
 *
 * <h2>PostDiff mixed resolution: no per-sample bound</h2>
 * Mixed resolution is not a fidelity-preserving approximation, and no bound of this kind holds for it.
 * On random weights the low-resolution phase gives unrelated images (error ≈ 0.9 for any s); on the
 * trained bundled fashion-ddpm-32 (CalibrationExperiment mixed 4: 4 seeds × 3 schedulers × 20/30 steps ×
 * s ∈ {0.1 … 0.6} × β ∈ {0.5, 0.75}) the mean error grows with s, 0.24 (s 0.1) → 0.49 (s 0.6) at β 0.5,
 * but single samples reach 0.75–0.87 already at s 0.2–0.3 — as far apart as two samples from different
 * seeds (0.5–0.9): one low-resolution step of a model trained at 32×32, run at 16×16, can move the sample
 * to another mode. PostDiff judges it by quality against real data (FD), which the sweep measures
 * (docs/results.md); AccelerationProperties checks its invariants (s = 0 is bit-identical, the phases).
 *
 * <p>The jqwik seed is fixed so CI is reproducible; the calibration harness explores further by hand.
 */
@PropertyDefaults(tries = 15)
class ErrorBoundProperties {
    static double worstAdaptive, worstDeepCache;

    @AfterContainer
    static void report() {
        System.out.printf("ErrorBoundProperties: observed worst error/δ = %.3f (bound 4), worst error/(N−1) = %.3f (bound 0.6)%n",
                worstAdaptive, worstDeepCache);
    }

    @Provide
    Arbitrary<SchedulerConfig.Kind> schedulers() {
        return Arbitraries.of(SchedulerConfig.Kind.DDIM, SchedulerConfig.Kind.DPMPP_2M, SchedulerConfig.Kind.EULER);
    }

    @Property(seed = "20261122")
    void adaptiveErrorGrowsAtMostLinearlyInDelta(@ForAll long seed, @ForAll boolean conditional, @ForAll("schedulers") SchedulerConfig.Kind kind,
                                                 @ForAll @IntRange(min = 12, max = 30) int steps,
                                                 @ForAll @DoubleRange(min = 0.01, max = 0.2) double delta,
                                                 @ForAll @IntRange(min = 1, max = 5) int maxSkip) {
        var m = conditional ? RandomModels.conditional(seed) : RandomModels.unconditional(seed);
        Sampler.Result full = Runs.sample(m.unet(), kind, steps, seed, StepPolicy.NONE);
        Sampler.Result acc = Runs.sample(m.unet(), kind, steps, seed, new CombinedPolicy(null, new AdaptiveSkip(delta, maxSkip), null, null));
        double err = Runs.relL2(acc.out(), full.out());
        worstAdaptive = Math.max(worstAdaptive, err / delta);
        boolean skipped = acc.trace().unetCalls() < steps;
        Statistics.label("run").collect(skipped ? "some steps reused" : "nothing reused");
        Statistics.label("run").coverage(c -> c.check("some steps reused").percentage(p -> p >= 50));
        assertTrue(err <= 4 * delta, String.format("error %.4g > 4·δ = %.4g (%s, %d steps)", err, 4 * delta, kind, steps));
    }

    @Property(seed = "20261123")
    void deepCacheErrorGrowsAtMostLinearlyInTheInterval(@ForAll long seed, @ForAll boolean conditional, @ForAll("schedulers") SchedulerConfig.Kind kind,
                                                        @ForAll @IntRange(min = 12, max = 30) int steps,
                                                        @ForAll @IntRange(min = 2, max = 6) int interval, @ForAll @IntRange(min = 0, max = 5) int branch) {
        var m = conditional ? RandomModels.conditional(seed) : RandomModels.unconditional(seed);
        Sampler.Result full = Runs.sample(m.unet(), kind, steps, seed, StepPolicy.NONE);
        Sampler.Result acc = Runs.sample(m.unet(), kind, steps, seed, new CombinedPolicy(null, null, DeepCache.uniform(interval, branch), null));
        double err = Runs.relL2(acc.out(), full.out());
        worstDeepCache = Math.max(worstDeepCache, err / (interval - 1));
        Statistics.label("interval").collect(interval);
        assertTrue(err <= 0.6 * (interval - 1), String.format("error %.4g > 0.6·(N−1) = %.4g", err, 0.6 * (interval - 1)));
    }
}
