package jdiffusion.sample;

import jdiffusion.tensor.NoiseSource;

import jdiffusion.kernels.Backend;
import jdiffusion.kernels.MacCounter;
import jdiffusion.nn.Ctx;
import jdiffusion.schedule.Scheduler;
import jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The sampling loop. It keeps the three parts apart: the scheduler (noise schedule and update rule),
 * the denoiser (UNet + guidance) and the acceleration policy, which it asks each step what to do and
 * never inspects. Every step lands in the {@link Trace}.
 *
 * <pre>
 *   for i in 0..n-1:
 *     x      = policy.prepareLatent(i, x)           (mixed resolution may change x)
 *     plan   = policy.plan(i)                        (compute, partially compute, or reuse)
 *     raw    = plan.reuse ? raw : unet(scale_model_input(x, i), t_i, [uncond, cond])
 *     ε      = guidance(raw)                         (re-applied to reused raw outputs too)
 *     x      = scheduler.step(ε, i, x)
 *     policy.observe(i, x)
 * </pre>
 *
 * A step whose latent is not finite stops the run with a {@link NonFiniteException} naming the step and
 * the module that first went non-finite ({@link FiniteCheck}).
 */
public final class Sampler {
    private final Denoiser denoiser;
    private final Scheduler scheduler;
    private final MacCounter counter;
    private final String modelName;

    public Sampler(String modelName, Denoiser denoiser, Scheduler scheduler, Backend backend) {
        this.modelName = modelName;
        this.denoiser = denoiser;
        this.scheduler = scheduler;
        this.counter = backend instanceof MacCounter m ? m : new MacCounter(backend);
    }

    /** @param latents x_0 … x_n: the initial latent and the latent after each step; out = the last */
    public record Result(Tensor out, List<Tensor> latents, Trace trace) {
    }

    /**
     * Samples from {@code xT} (already multiplied by the scheduler's init_noise_sigma).
     *
     * @param noise per-step noise for stochastic schedulers (DDPM, DDIM η &gt; 0) and policies that re-noise
     */
    public Result run(Tensor xT, int steps, Conditioning cond, StepPolicy policy, NoiseSource noise, Progress progress) {
        scheduler.setTimesteps(steps);
        FiniteCheck.requireFiniteStart(xT);
        boolean guidedRun = cond != null && cond.guided();
        policy.begin(new StepPolicy.RunInfo(steps, xT.shape(), cond != null, guidedRun));
        long fullStepMacs = fullStepMacs(xT, cond, guidedRun);
        List<StepRecord> records = new ArrayList<>();
        List<Tensor> latents = new ArrayList<>();
        latents.add(xT);
        Tensor x = xT;
        Tensor raw = null;
        boolean rawGuided = false;
        int fullSize = denoiser.unet().sampleSize();
        for (int i = 0; i < steps; i++) {
            long t0 = System.nanoTime();
            counter.reset();
            x = policy.prepareLatent(i, x, scheduler);
            final Tensor xi = x;
            final boolean hasRaw = raw != null;
            StepPolicy.RunState state = new StepPolicy.RunState() {
                @Override
                public boolean hasPreviousOutput() {
                    return hasRaw;
                }

                @Override
                public boolean fullResolution() {
                    return xi.dim(2) >= xT.dim(2);
                }

                @Override
                public boolean guidedRun() {
                    return guidedRun;
                }
            };
            StepPlan plan = policy.plan(i, state);
            float t = scheduler.timestep(i);
            if (!plan.action().callsModel()) {
                if (raw == null) throw new IllegalStateException(policy.describe() + " asked to reuse a model output at step " + i + " but none exists");
                if (raw.dim(2) != x.dim(2))
                    throw new IllegalStateException(policy.describe() + " asked to reuse a model output of another resolution at step " + i);
            } else {
                Tensor in = scheduler.scaleModelInput(x, i);
                raw = denoiser.raw(new Ctx(counter, plan.hooks()), in, t, cond, plan.guide() && guidedRun);
                rawGuided = plan.guide() && guidedRun;
            }
            Tensor eps = Denoiser.guided(raw, cond, rawGuided);
            x = scheduler.step(eps, i, x, noise);
            FiniteCheck.requireFinite(new FiniteCheck.Step(i, steps, t, xi, raw, eps, x, cond, rawGuided), denoiser, scheduler, counter);
            latents.add(x);
            policy.observe(new StepPolicy.StepResult(i, xi, eps, x), state);
            double ms = (System.nanoTime() - t0) / 1e6;
            StepRecord rec = new StepRecord(i, t, plan.action(), xi.dim(2) < xT.dim(2), counter.reset(), ms,
                    new int[]{xi.dim(2), xi.dim(3)}, plan.criterion());
            records.add(rec);
            progress.update("step", i + 1, steps, String.format("t=%.1f %s %.0f ms", t, rec.label(), ms));
        }
        Trace trace = new Trace(modelName, scheduler.config().kind().className, policy.describe(), steps, fullStepMacs, records);
        return new Result(x, latents, trace);
    }

    /**
     * MACs of one full evaluation at the starting resolution, from the shapes alone: no arithmetic, and
     * no activation is allocated (every tensor of the dry run is a storage-less {@link Tensor#shapeOnly}).
     */
    private long fullStepMacs(Tensor xT, Conditioning cond, boolean guided) {
        MacCounter dry = new MacCounter(new jdiffusion.kernels.ShapeOnlyBackend());
        Tensor in = Tensor.shapeOnly(xT.shape());
        denoiser.raw(new Ctx(dry), in, 500f, cond, guided);
        return dry.macs();
    }
}
