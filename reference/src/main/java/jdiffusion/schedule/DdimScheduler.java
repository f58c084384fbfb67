package jdiffusion.schedule;

import jdiffusion.tensor.NoiseSource;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.config.SchedulerConfig;

import java.util.Objects;

import static jdiffusion.schedule.Elementwise.sqrt;

/**
 * DDIM (Song et al. 2021, "Denoising Diffusion Implicit Models"), as diffusers' {@code DDIMScheduler}.
 * One step from t to its predecessor t' = t − N // n (eq. 12):
 * <pre>
 *   x̂0      = (x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t                          (eq. 9, "predicted x0"; clipped if clip_sample)
 *   σ_t      = η · √((1−ᾱ_t')/(1−ᾱ_t) · (1 − ᾱ_t/ᾱ_t'))         (eq. 16)
 *   x_t'     = √ᾱ_t'·x̂0 + √(1 − ᾱ_t' − σ_t²)·ε̂ + σ_t·z        (z ~ N(0, I), only when η &gt; 0)
 * </pre>
 * where ᾱ_t' of the last step is 1 ({@code set_alpha_to_one}) or ᾱ_0. As in diffusers, t' is
 * t − N // n whatever the spacing, ε̂ is not recomputed from the clipped x̂0
 * ({@code use_clipped_model_output = false}), and all arithmetic is float32.
 */
public final class DdimScheduler extends AlphaBarScheduler {
    private final double eta;
    private final float finalAlphaCumprod;

    public DdimScheduler(SchedulerConfig config, double eta) {
        super(config);
        if (!(eta >= 0)) throw new IllegalArgumentException("eta must be >= 0, found " + eta);
        this.eta = eta;
        this.finalAlphaCumprod = config.setAlphaToOne() ? 1f : schedule.alphaBar(0);
    }

    public double eta() {
        return eta;
    }

    @Override
    public Tensor step(Tensor modelOutput, int i, Tensor sample, NoiseSource noise) {
        int t = ts()[i], prev = previousTimestep(t);
        float aT = schedule.alphaBar(t), aPrev = prev >= 0 ? schedule.alphaBar(prev) : finalAlphaCumprod;
        float bT = 1f - aT, bPrev = 1f - aPrev;
        float sqrtA = sqrt(aT), sqrtB = sqrt(bT);

        Tensor x0 = clip(prediction.x0(modelOutput, sample, sqrtA, sqrtB));
        Tensor eps = prediction.eps(modelOutput, sample, sqrtA, sqrtB);

        float variance = (bPrev / bT) * (1f - aT / aPrev); // eq. 16 with η = 1
        float std = (float) eta * sqrt(variance);
        float dirCoeff = sqrt(1f - aPrev - std * std), x0Coeff = sqrt(aPrev);
        Tensor prevSample = Elementwise.zip(x0, eps, (p, e) -> x0Coeff * p + dirCoeff * e); // eq. 12
        if (eta > 0) {
            Objects.requireNonNull(noise, "DDIM with eta > 0 needs a noise source");
            Tensor z = noise.gaussian(sample.shape());
            prevSample = Elementwise.zip(prevSample, z, (x, e) -> x + std * e);
        }
        return prevSample;
    }
}
