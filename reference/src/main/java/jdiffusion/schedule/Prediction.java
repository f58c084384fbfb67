package jdiffusion.schedule;

import jdiffusion.tensor.Tensor;

/**
 * What the model predicts (the config's {@code prediction_type}), and its conversion to the clean
 * sample x̂0 and the noise ε̂ for a latent of the variance-preserving form x_t = α_t·x0 + σ_t·ε
 * (DDIM/DDPM: α_t = √ᾱ_t, σ_t = √(1 − ᾱ_t); DPM-Solver: α_t = 1/√(σ²+1), σ_t = σ·α_t):
 * <ul>
 *   <li>epsilon (Ho et al. 2020 eq. 4, Song et al. 2021 eq. 9): x̂0 = (x_t − σ_t·ε̂)/α_t;</li>
 *   <li>v_prediction (Salimans &amp; Ho 2022 §4, v = α_t·ε − σ_t·x0): x̂0 = α_t·x_t − σ_t·v, ε̂ = α_t·v + σ_t·x_t;</li>
 *   <li>sample: x̂0 = model output, ε̂ = (x_t − α_t·x̂0)/σ_t.</li>
 * </ul>
 */
enum Prediction {
    EPSILON, V_PREDICTION, SAMPLE;

    static Prediction of(String predictionType) {
        return switch (predictionType) {
            case "epsilon" -> EPSILON;
            case "v_prediction" -> V_PREDICTION;
            case "sample" -> SAMPLE;
            default -> throw new IllegalArgumentException("prediction_type '" + predictionType + "' is not supported (epsilon, v_prediction, sample)");
        };
    }

    /** x̂0 from the model output {@code m} and the latent {@code x} at (α_t, σ_t). */
    Tensor x0(Tensor m, Tensor x, float alpha, float sigma) {
        return switch (this) {
            case EPSILON -> Elementwise.zip(x, m, (xi, mi) -> (xi - sigma * mi) / alpha);
            case V_PREDICTION -> Elementwise.zip(x, m, (xi, mi) -> alpha * xi - sigma * mi);
            case SAMPLE -> m.copy();
        };
    }

    /** ε̂ from the model output {@code m} and the latent {@code x} at (α_t, σ_t). */
    Tensor eps(Tensor m, Tensor x, float alpha, float sigma) {
        return switch (this) {
            case EPSILON -> m;
            case V_PREDICTION -> Elementwise.zip(m, x, (mi, xi) -> alpha * mi + sigma * xi);
            case SAMPLE -> Elementwise.zip(x, m, (xi, mi) -> (xi - alpha * mi) / sigma);
        };
    }

    /** The forward process x_t = α_t·x0 + σ_t·ε (diffusers' add_noise). */
    static Tensor addNoise(Tensor x0, Tensor noise, float alpha, float sigma) {
        return Elementwise.zip(x0, noise, (a, e) -> alpha * a + sigma * e);
    }
}
