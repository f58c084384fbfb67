package jdiffusion.schedule;

import jdiffusion.tensor.NoiseSource;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.config.SchedulerConfig;

import java.util.Objects;

import static jdiffusion.schedule.Elementwise.sqrt;

/**
 * DDPM ancestral sampling (Ho et al. 2020, "Denoising Diffusion Probabilistic Models"), as diffusers'
 * {@code DDPMScheduler}, with n ≤ N inference steps. A step from t to t' = t − N // n samples the
 * posterior q(x_t' | x_t, x̂0) of eq. 6–7, with the strided β_t = 1 − ᾱ_t/ᾱ_t' and α_t = 1 − β_t:
 * <pre>
 *   x̂0   = (x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t                                  (eq. 4 solved for x0; clipped if clip_sample)
 *   μ̃    = √ᾱ_t'·β_t/(1−ᾱ_t) · x̂0 + √α_t·(1−ᾱ_t')/(1−ᾱ_t) · x_t      (eq. 7)
 *   x_t'  = μ̃ + σ_t·z,   z ~ N(0, I) when t &gt; 0                        (Alg. 2, eq. 11)
 * </pre>
 * with σ_t² = β̃_t = (1−ᾱ_t')/(1−ᾱ_t)·β_t (clamped at 1e-20; {@code fixed_small}) or σ_t² = β_t
 * ({@code fixed_large}); ᾱ_t' = 1 past the end. As in diffusers, noise is drawn (from the caller's
 * {@link NoiseSource}) at every step whose timestep t is above 0 — so also at the last step when
 * {@code steps_offset} makes its timestep 1 — and all arithmetic is float32.
 */
public final class DdpmScheduler extends AlphaBarScheduler {
    private final boolean fixedLarge;

    public DdpmScheduler(SchedulerConfig config) {
        super(config);
        String v = config.varianceType() == null ? "fixed_small" : config.varianceType();
        this.fixedLarge = switch (v) {
            case "fixed_small" -> false;
            case "fixed_large" -> true;
            default -> throw new IllegalArgumentException("variance_type '" + v + "' is not supported (fixed_small, fixed_large)");
        };
    }

    @Override
    public Tensor step(Tensor modelOutput, int i, Tensor sample, NoiseSource noise) {
        int t = ts()[i], prev = previousTimestep(t);
        float aT = schedule.alphaBar(t), aPrev = prev >= 0 ? schedule.alphaBar(prev) : 1f;
        float bT = 1f - aT, bPrev = 1f - aPrev;
        float alphaT = aT / aPrev, betaT = 1f - alphaT; // the strided α_t, β_t

        Tensor x0 = clip(prediction.x0(modelOutput, sample, sqrt(aT), sqrt(bT)));
        float x0Coeff = sqrt(aPrev) * betaT / bT;     // eq. 7
        float xtCoeff = sqrt(alphaT) * bPrev / bT;
        Tensor mean = Elementwise.zip(x0, sample, (p, x) -> x0Coeff * p + xtCoeff * x);
        if (t <= 0) return mean;

        Objects.requireNonNull(noise, "DDPM needs a noise source");
        Tensor z = noise.gaussian(sample.shape());
        float std = sqrt(variance(t));
        return Elementwise.zip(mean, z, (m, e) -> m + std * e);
    }

    /** diffusers' {@code _get_variance}: β̃_t (fixed_small) or β_t (fixed_large). */
    private float variance(int t) {
        int prev = previousTimestep(t);
        float aT = schedule.alphaBar(t), aPrev = prev >= 0 ? schedule.alphaBar(prev) : 1f;
        float betaT = 1f - aT / aPrev;
        float posterior = Math.max((1f - aPrev) / (1f - aT) * betaT, 1e-20f); // eq. 7, β̃_t
        return fixedLarge ? betaT : posterior;
    }
}
