package jdiffusion.schedule;

import jdiffusion.tensor.NoiseSource;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.config.SchedulerConfig;

import java.util.Objects;

import static jdiffusion.schedule.Elementwise.sqrt;

/**
 * Multistep DPM-Solver++ (Lu et al. 2022b, "DPM-Solver++: Fast Solver for Guided Sampling of
 * Diffusion Probabilistic Models"), orders 1 and 2, as diffusers' {@code DPMSolverMultistepScheduler}
 * with {@code algorithm_type = "dpmsolver++"} and {@code final_sigmas_type = "zero"}.
 *
 * <p>Noise levels are σ_i = √((1−ᾱ_t)/ᾱ_t) at the integer timesteps, then 0; the latent is
 * x = α·x0 + σ_t·ε with α = 1/√(σ²+1), σ_t = σ·α, and λ = log α − log σ_t (half log-SNR). Each model
 * output is first converted to the data prediction x̂0 ({@code convert_model_output}, {@link Prediction}),
 * then, with h = λ_next − λ_i:
 * <pre>
 *   first order (Alg. 2's first update; DDIM in data-prediction form):
 *     x_next = (σ_next/σ_i)·x − α_next·(e^{−h} − 1)·D0,                       D0 = x̂0_i
 *   second order, multistep (Alg. 2), r = h_prev/h, D1 = (x̂0_i − x̂0_{i−1})/r:
 *     midpoint: x_next = (σ_next/σ_i)·x − α_next(e^{−h}−1)·D0 − ½·α_next(e^{−h}−1)·D1
 *     heun:     x_next = (σ_next/σ_i)·x − α_next(e^{−h}−1)·D0 + α_next((e^{−h}−1)/h + 1)·D1
 * </pre>
 * (σ here is the σ_t of the VP form). The first step after {@link #setTimesteps} or {@link #resetHistory}
 * is first order; so is the last step (diffusers: always with a zero final σ, and with
 * {@code lower_order_final} when there are fewer than 15 steps). All arithmetic is float32.
 */
public final class DpmSolverMultistepScheduler extends AlphaBarScheduler {
    /** final_sigmas_type "zero": σ after the last step is 0 ("sigma_min" is rejected by the config). */
    private static final boolean FINAL_SIGMA_IS_ZERO = true;
    private final boolean heun;
    private float[] sigmas;
    /** x̂0 of the previous step (order 2), or null. */
    private Tensor previousX0;
    /** How many steps ran since the history was cleared, capped at the solver order (diffusers' lower_order_nums). */
    private int lowerOrderNums;
    /** The step the history was made for: the only one that may follow it. */
    private int expectedStep;

    public DpmSolverMultistepScheduler(SchedulerConfig config) {
        super(config);
        if (config.solverOrder() != 1 && config.solverOrder() != 2)
            throw new IllegalArgumentException("solver_order " + config.solverOrder() + " is not implemented (1 or 2)");
        String type = config.solverType() == null ? "midpoint" : config.solverType();
        this.heun = switch (type) {
            case "midpoint" -> false;
            case "heun" -> true;
            default -> throw new IllegalArgumentException("solver_type '" + type + "' is not supported (midpoint, heun)");
        };
    }

    @Override
    public void setTimesteps(int n) {
        int[] ts = TimestepSpacing.dpmSolver(config.timestepSpacing(), config.numTrainTimesteps(), n, config.stepsOffset());
        float[] trainSigmas = schedule.sigmas();
        float[] s = new float[ts.length + 1]; // np.interp at integer timesteps is exact; final σ = 0
        for (int k = 0; k < ts.length; k++) s[k] = trainSigmas[ts[k]];
        useTimesteps(ts, n);
        sigmas = s;
        resetHistory();
    }

    /** σ_0 … σ_n of this run, in diffusers' variance-exploding form (the last is 0). */
    public float[] sigmas() {
        return sg().clone();
    }

    @Override
    public Tensor step(Tensor modelOutput, int i, Tensor sample, NoiseSource noise) {
        int n = ts().length;
        if (lowerOrderNums > 0 && i != expectedStep) // the history belongs to step expectedStep − 1
            throw new IllegalStateException("DPM-Solver++ steps must be taken in order: expected step " + expectedStep + ", got " + i);
        // diffusers: the last step is first order with lower_order_final and fewer than 15 steps, and
        // always when the final σ is zero (the only final_sigmas_type the config accepts)
        boolean lowerOrderFinal = i == n - 1 && ((config.lowerOrderFinal() && n < 15) || FINAL_SIGMA_IS_ZERO);
        Tensor x0 = predictOriginal(modelOutput, i, sample);
        Tensor next = config.solverOrder() == 1 || lowerOrderNums < 1 || lowerOrderFinal
                ? firstOrder(x0, i, sample)
                : secondOrder(x0, previousX0, i, sample);
        previousX0 = config.solverOrder() > 1 ? x0 : null;
        if (lowerOrderNums < config.solverOrder()) lowerOrderNums++;
        expectedStep = i + 1;
        return next;
    }

    /** The data prediction x̂0 at step i (diffusers' convert_model_output). */
    @Override
    public Tensor predictOriginal(Tensor modelOutput, int i, Tensor sample) {
        Vp s = vp(sg()[i]);
        return prediction.x0(modelOutput, sample, s.alpha, s.sigma);
    }

    @Override
    public Tensor addNoise(Tensor x0, Tensor noise, int i) {
        Vp s = vp(sg()[i]);
        return Prediction.addNoise(x0, noise, s.alpha, s.sigma);
    }

    @Override
    public void resetHistory() {
        previousX0 = null;
        lowerOrderNums = 0;
    }

    /** Lu et al. 2022b Algorithm 2, first update: x_next = (σ_next/σ_i)·x − α_next(e^{−h} − 1)·x̂0. */
    private Tensor firstOrder(Tensor x0, int i, Tensor sample) {
        Vp t = vp(sg()[i + 1]), s = vp(sg()[i]);
        float h = t.lambda() - s.lambda();
        float cx = t.sigma / s.sigma, cd = t.alpha * ((float) Math.exp(-h) - 1f);
        return Elementwise.zip(sample, x0, (x, d0) -> cx * x - cd * d0);
    }

    /** Lu et al. 2022b Algorithm 2 (multistep second order), midpoint or Heun form of D1's weight. */
    private Tensor secondOrder(Tensor m0, Tensor m1, int i, Tensor sample) {
        Vp t = vp(sg()[i + 1]), s0 = vp(sg()[i]), s1 = vp(sg()[i - 1]);
        float lt = t.lambda(), l0 = s0.lambda(), l1 = s1.lambda();
        float h = lt - l0, h0 = l0 - l1, r0 = h0 / h, invR0 = 1f / r0;
        float expm1 = (float) Math.exp(-h) - 1f;
        float cx = t.sigma / s0.sigma, c0 = t.alpha * expm1;
        float c1 = heun ? t.alpha * (expm1 / h + 1f) : 0.5f * (t.alpha * expm1);
        return Elementwise.zip(sample, m0, m1, (x, d0, p) -> {
            float d1 = invR0 * (d0 - p);
            return heun ? cx * x - c0 * d0 + c1 * d1 : cx * x - c0 * d0 - c1 * d1;
        });
    }

    /** α = 1/√(σ²+1) and σ_t = σ·α of the VP form for a VE noise level σ (diffusers' _sigma_to_alpha_sigma_t). */
    private static Vp vp(float sigma) {
        float alpha = 1f / sqrt(sigma * sigma + 1f);
        return new Vp(alpha, sigma * alpha);
    }

    private record Vp(float alpha, float sigma) {
        /** λ = log α − log σ_t (+∞ at σ = 0). */
        float lambda() {
            return (float) Math.log(alpha) - (float) Math.log(sigma);
        }
    }

    private float[] sg() {
        ts();
        return sigmas;
    }
}
