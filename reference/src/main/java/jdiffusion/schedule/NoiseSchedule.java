package jdiffusion.schedule;

import jdiffusion.weights.config.SchedulerConfig;

/**
 * The forward process of a trained model: β_t and ᾱ_t = ∏_{s≤t} (1 − β_s) for t = 0 … N−1
 * (Ho et al. 2020, eq. 4: q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I)), in float32 like diffusers'
 * tensors. The cumulative product is PyTorch's CPU {@code torch.cumprod} on float32, which accumulates
 * in float64 and rounds each prefix to float32 (checked against the golden sigmas).
 */
public record NoiseSchedule(float[] betas, float[] alphasCumprod) {

    public static NoiseSchedule of(SchedulerConfig c) {
        return of(BetaSchedule.betas(c));
    }

    public static NoiseSchedule of(float[] betas) {
        float[] ac = new float[betas.length];
        double acc = 1;
        for (int t = 0; t < betas.length; t++) {
            acc *= 1f - betas[t]; // alphas = 1 − betas in float32, the product in float64
            ac[t] = (float) acc;
        }
        return new NoiseSchedule(betas.clone(), ac);
    }

    public int numTrainTimesteps() {
        return betas.length;
    }

    /** ᾱ_t. */
    public float alphaBar(int t) {
        return alphasCumprod[t];
    }

    /**
     * The noise levels of the variance-exploding view of the same process (Karras et al. 2022, Table 1,
     * VP): σ_t = √((1 − ᾱ_t)/ᾱ_t), in float32, for t = 0 … N−1 (increasing).
     */
    public float[] sigmas() {
        float[] s = new float[alphasCumprod.length];
        for (int t = 0; t < s.length; t++) {
            float a = alphasCumprod[t];
            s[t] = (float) Math.sqrt((1f - a) / a);
        }
        return s;
    }
}
