package jdiffusion.schedule;

import jdiffusion.tensor.Tensor;
import jdiffusion.weights.config.SchedulerConfig;

import java.util.Objects;

import static jdiffusion.schedule.Elementwise.sqrt;

/**
 * What DDPM, DDIM and DPM-Solver++ share: a run is a list of integer training timesteps t, the model
 * sees x_t unscaled (init σ = 1), and a latent at step i is √ᾱ_t·x0 + √(1−ᾱ_t)·ε (Ho et al. 2020, eq. 4).
 * Timesteps follow diffusers' discrete spacing unless a subclass chooses others ({@link #useTimesteps});
 * subclasses implement the update; x̂0 and the forward
 * process default to the ᾱ form above, x̂0 clipped when the config says {@code clip_sample}.
 */
abstract class AlphaBarScheduler implements Scheduler {
    protected final SchedulerConfig config;
    protected final NoiseSchedule schedule;
    protected final Prediction prediction;
    private int[] timesteps;
    private int numInferenceSteps;

    AlphaBarScheduler(SchedulerConfig config) {
        this.config = Objects.requireNonNull(config);
        this.schedule = NoiseSchedule.of(config);
        this.prediction = Prediction.of(config.predictionType());
    }

    @Override
    public final SchedulerConfig config() {
        return config;
    }

    /** diffusers' discrete timestep spacing (leading, trailing, linspace) for n steps. */
    @Override
    public void setTimesteps(int n) {
        useTimesteps(TimestepSpacing.discrete(config.timestepSpacing(), config.numTrainTimesteps(), n, config.stepsOffset()), n);
    }

    /** Starts a run over {@code ts}, made for {@code n} requested inference steps. */
    protected final void useTimesteps(int[] ts, int n) {
        timesteps = ts;
        numInferenceSteps = n;
    }

    /** The timesteps of the run; fails clearly before {@link #setTimesteps}. */
    protected final int[] ts() {
        if (timesteps == null) throw new IllegalStateException("setTimesteps must be called before stepping");
        return timesteps;
    }

    /** t − N // n: the timestep a DDPM/DDIM step from t goes to, whatever the spacing (as diffusers). */
    protected final int previousTimestep(int t) {
        ts();
        return t - config.numTrainTimesteps() / numInferenceSteps;
    }

    @Override
    public final int numSteps() {
        return ts().length;
    }

    @Override
    public final float timestep(int i) {
        return ts()[i];
    }

    @Override
    public final float[] timesteps() {
        return Elementwise.floats(ts());
    }

    @Override
    public final float initNoiseSigma() {
        return 1f;
    }

    @Override
    public final Tensor scaleModelInput(Tensor sample, int i) {
        return sample;
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
        // single-step schedulers keep no history
    }

    protected final Tensor clip(Tensor x0) {
        return config.clipSample() ? Elementwise.clamp(x0, config.clipSampleRange()) : x0;
    }
}
