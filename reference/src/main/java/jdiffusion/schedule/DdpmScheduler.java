package jdiffusion.schedule;

import jdiffusion.sample.NoiseSource;
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
public final class DdpmScheduler implements Scheduler {
    private final SchedulerConfig config;
    private final NoiseSchedule schedule;
    private final Prediction prediction;
    private final boolean fixedLarge;
    private int[] timesteps;
    private int numInferenceSteps;

    public DdpmScheduler(SchedulerConfig config) {
        this.config = Objects.requireNonNull(config);
        this.schedule = NoiseSchedule.of(config);
        this.prediction = Prediction.of(config.predictionType());
        String v = config.varianceType() == null ? "fixed_small" : config.varianceType();
        this.fixedLarge = switch (v) {
            case "fixed_small" -> false;
            case "fixed_large" -> true;
            default -> throw new IllegalArgumentException("variance_type '" + v + "' is not supported (fixed_small, fixed_large)");
        };
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    @Override
    public void setTimesteps(int n) {
        timesteps = TimestepSpacing.discrete(config.timestepSpacing(), config.numTrainTimesteps(), n, config.stepsOffset());
        numInferenceSteps = n;
    }

    @Override
    public int numSteps() {
        return ts().length;
    }

    @Override
    public float timestep(int i) {
        return ts()[i];
    }

    @Override
    public float[] timesteps() {
        return Elementwise.floats(ts());
    }

    @Override
    public float initNoiseSigma() {
        return 1f;
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, int i) {
        return sample;
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

    private int previousTimestep(int t) {
        return t - config.numTrainTimesteps() / numInferenceSteps;
    }

    @Override
    public Tensor predictOriginal(Tensor modelOutput, int i, Tensor sample) {
        float a = schedule.alphaBar(ts()[i]);
        return clip(prediction.x0(modelOutput, sample, sqrt(a), sqrt(1f - a)));
    }

    @Override
    public Tensor addNoise(Tensor x0, Tensor noise, int i) {
        float a = schedule.alphaBar(ts()[i]);
        return Prediction.addNoise(x0, noise, sqrt(a), sqrt(1f - a));
    }

    @Override
    public void resetHistory() {
        // single-step: no history
    }

    private Tensor clip(Tensor x0) {
        return config.clipSample() ? Elementwise.clamp(x0, config.clipSampleRange()) : x0;
    }

    private int[] ts() {
        if (timesteps == null) throw new IllegalStateException("setTimesteps must be called before stepping");
        return timesteps;
    }
}
