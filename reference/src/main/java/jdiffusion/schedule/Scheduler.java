package jdiffusion.schedule;

import jdiffusion.tensor.NoiseSource;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.config.SchedulerConfig;

/**
 * A diffusers-compatible noise scheduler: the timesteps of a run and the update x_i → x_{i+1} from a
 * model output. Steps are addressed by index i = 0 … numSteps−1 and must be taken in order; a
 * scheduler keeps whatever history its solver needs (DPM-Solver++'s previous outputs) and
 * {@link #setTimesteps} starts afresh. The scheduler knows nothing of the model or of acceleration
 * policies: a policy that reuses an old model output simply passes it to {@link #step}.
 */
public interface Scheduler {

    SchedulerConfig config();

    /** Prepares a run of {@code n} inference steps (diffusers' set_timesteps) and clears history. */
    void setTimesteps(int n);

    int numSteps();

    /** The timestep value the model sees at step i (diffusers' scheduler.timesteps[i]; fractional for Euler). */
    float timestep(int i);

    /** All timestep values of the run, in order. */
    float[] timesteps();

    /** The factor diffusers' pipelines multiply the initial standard Gaussian latent by. */
    float initNoiseSigma();

    /** diffusers' scale_model_input at step i (the identity except for sigma-parametrised schedulers). */
    Tensor scaleModelInput(Tensor sample, int i);

    /**
     * One update: from the model output at step i and the latent x_i, returns x_{i+1}.
     *
     * @param noise source of the fresh Gaussian noise stochastic samplers need (DDPM, DDIM with η &gt; 0);
     *              deterministic schedulers ignore it (may be null for them)
     */
    Tensor step(Tensor modelOutput, int i, Tensor sample, NoiseSource noise);

    /** The clean-sample prediction x̂0 implied by the model output at step i and the latent x_i. */
    Tensor predictOriginal(Tensor modelOutput, int i, Tensor sample);

    /**
     * The forward process at step i's noise level, in this scheduler's parametrisation of the latent:
     * √ᾱ_t·x0 + √(1−ᾱ_t)·ε for DDPM/DDIM/DPM-Solver, x0 + σ_t·ε for Euler (diffusers' add_noise).
     */
    Tensor addNoise(Tensor x0, Tensor noise, int i);

    /** Forgets multistep history (e.g. after the latent changed resolution); the next step is first order. */
    void resetHistory();
}
