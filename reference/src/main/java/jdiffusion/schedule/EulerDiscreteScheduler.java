package jdiffusion.schedule;

import jdiffusion.tensor.NoiseSource;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.config.SchedulerConfig;

import java.util.Objects;

import static jdiffusion.schedule.Elementwise.sqrt;

/**
 * The Euler sampler of Karras et al. 2022 ("Elucidating the Design Space of Diffusion-Based Generative
 * Models"), Algorithm 2 with S_churn = 0 (so γ = 0 and σ̂ = σ: a plain Euler step of the probability
 * flow ODE dx/dσ = (x − D(x; σ))/σ, eq. 1 with σ(t) = t), as diffusers' {@code EulerDiscreteScheduler}.
 *
 * <p>The latent lives in the variance-exploding parametrisation x = x0 + σ·ε. The noise levels are
 * σ_t = √((1−ᾱ_t)/ᾱ_t) (Table 1, VP), linearly interpolated ({@code np.interp}) at the float
 * timesteps, with a final σ = 0. The model sees x/√(σ²+1) (its VP input, c_in of Table 1), and
 * <pre>
 *   x̂0      = x − σ·ε̂                                  (epsilon; D of Table 1)
 *           = −σ/√(σ²+1)·v + x/(σ²+1)                   (v_prediction)
 *   d        = (x − x̂0)/σ                                (Alg. 2 line 7)
 *   x_next   = x + d·(σ_next − σ)                        (Alg. 2 line 8)
 * </pre>
 * in float32. {@code init_noise_sigma} is max σ for linspace/trailing spacing and √(max σ² + 1) for
 * leading, as in diffusers.
 */
public final class EulerDiscreteScheduler implements Scheduler {
    private final SchedulerConfig config;
    private final NoiseSchedule schedule;
    private final Prediction prediction;
    private float[] timesteps, sigmas;

    public EulerDiscreteScheduler(SchedulerConfig config) {
        this.config = Objects.requireNonNull(config);
        this.schedule = NoiseSchedule.of(config);
        this.prediction = Prediction.of(config.predictionType());
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    @Override
    public void setTimesteps(int n) {
        float[] ts = TimestepSpacing.euler(config.timestepSpacing(), config.numTrainTimesteps(), n, config.stepsOffset());
        float[] trainSigmas = schedule.sigmas();
        double[] xp = new double[trainSigmas.length], fp = new double[trainSigmas.length], x = new double[ts.length];
        for (int t = 0; t < xp.length; t++) {
            xp[t] = t;
            fp[t] = trainSigmas[t];
        }
        for (int k = 0; k < ts.length; k++) x[k] = ts[k];
        double[] interp = NumPy.interp(x, xp, fp);
        float[] s = new float[ts.length + 1]; // final_sigmas_type "zero": the last σ is 0
        for (int k = 0; k < ts.length; k++) s[k] = (float) interp[k];
        timesteps = ts;
        sigmas = s;
    }

    /** σ_0 … σ_n of this run (the last is 0). */
    public float[] sigmas() {
        return sg().clone();
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
        return ts().clone();
    }

    @Override
    public float initNoiseSigma() {
        float max = 0;
        for (float s : sg()) max = Math.max(max, s);
        return switch (config.timestepSpacing()) {
            case "linspace", "trailing" -> max;
            default -> sqrt(max * max + 1f);
        };
    }

    /** x / √(σ_i² + 1). */
    @Override
    public Tensor scaleModelInput(Tensor sample, int i) {
        float sigma = sg()[i], c = sqrt(sigma * sigma + 1f);
        return Elementwise.map(sample, x -> x / c);
    }

    @Override
    public Tensor step(Tensor modelOutput, int i, Tensor sample, NoiseSource noise) {
        float sigma = sg()[i], dt = sg()[i + 1] - sigma; // σ̂ = σ(γ + 1) = σ for S_churn = 0
        Tensor x0 = predictOriginal(modelOutput, i, sample);
        return Elementwise.zip(sample, x0, (x, p) -> x + (x - p) / sigma * dt);
    }

    @Override
    public Tensor predictOriginal(Tensor modelOutput, int i, Tensor sample) {
        float sigma = sg()[i];
        return switch (prediction) {
            case EPSILON -> Elementwise.zip(sample, modelOutput, (x, m) -> x - sigma * m);
            case V_PREDICTION -> {
                float s2 = sigma * sigma + 1f, c = -sigma / sqrt(s2);
                yield Elementwise.zip(modelOutput, sample, (m, x) -> m * c + x / s2);
            }
            case SAMPLE -> modelOutput.copy();
        };
    }

    /** x0 + σ_i·ε (diffusers' add_noise). */
    @Override
    public Tensor addNoise(Tensor x0, Tensor noise, int i) {
        float sigma = sg()[i];
        return Elementwise.zip(x0, noise, (a, e) -> a + e * sigma);
    }

    @Override
    public void resetHistory() {
        // single-step: no history
    }

    private float[] ts() {
        if (timesteps == null) throw new IllegalStateException("setTimesteps must be called before stepping");
        return timesteps;
    }

    private float[] sg() {
        ts();
        return sigmas;
    }
}
