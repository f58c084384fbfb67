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
 *     plan   = policy.plan(i)                        (compute, partially compute, or reuse; for the batch or per sample)
 *     raw    = unet(scale_model_input(x, i), t_i, [uncond, cond]) for the samples that compute,
 *              their previous raw output for the others
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

    /** A raw model output of the whole batch ([2K, …] = [uncond; cond] when guided) and whether it is guided. */
    private record Raw(Tensor out, boolean guided) {
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
        Raw raw = null;
        for (int i = 0; i < steps; i++) {
            long t0 = System.nanoTime();
            counter.reset();
            // 1. the policy may change the latent (mixed resolution: switch of resolution, re-noising)
            x = policy.prepareLatent(i, x, scheduler);
            final Tensor xi = x;
            StepPolicy.RunState state = state(raw != null, xi.dim(2) >= xT.dim(2), guidedRun);
            // 2. its plan: which samples run the UNet (all, some or none), with which hooks, guided or not
            StepPlan plan = policy.plan(i, state);
            float t = scheduler.timestep(i);
            // 3. the raw output: computed for the samples that run, their previous one reused for the others
            raw = modelOutput(policy, plan, i, t, xi, cond, guidedRun, raw);
            // 4. guidance and the scheduler's update, for every sample
            Tensor eps = Denoiser.guided(raw.out(), cond, raw.guided());
            x = scheduler.step(eps, i, xi, noise);
            FiniteCheck.requireFinite(new FiniteCheck.Step(i, steps, t, xi, raw.out(), eps, x, cond, raw.guided()), denoiser, scheduler, counter);
            latents.add(x);
            // 5. the policy sees the step; the trace records it
            policy.observe(new StepPolicy.StepResult(i, xi, eps, x), state);
            double ms = (System.nanoTime() - t0) / 1e6;
            StepRecord rec = new StepRecord(i, t, plan.action(), xi.dim(2) < xT.dim(2), counter.reset(), ms,
                    new int[]{xi.dim(2), xi.dim(3)}, plan.criterion(), plan.samples(xi.dim(0)));
            records.add(rec);
            String who = plan.perSample() ? String.format(" (%d/%d samples)", rec.sampleEvaluations(), xi.dim(0)) : "";
            progress.update("step", i + 1, steps, String.format("t=%.1f %s%s %.0f ms", t, rec.label(), who, ms));
        }
        Trace trace = new Trace(modelName, scheduler.config().kind().className, policy.describe(), steps, fullStepMacs, records);
        return new Result(x, latents, trace);
    }

    private static StepPolicy.RunState state(boolean hasRaw, boolean fullResolution, boolean guidedRun) {
        return new StepPolicy.RunState() {
            @Override
            public boolean hasPreviousOutput() {
                return hasRaw;
            }

            @Override
            public boolean fullResolution() {
                return fullResolution;
            }

            @Override
            public boolean guidedRun() {
                return guidedRun;
            }
        };
    }

    /**
     * The raw output of step i under {@code plan}: the UNet on the whole batch, on the sub-batch of samples
     * that compute (the others keep their rows of {@code previous}), or not at all. Reusing needs a previous
     * output at this resolution, and mixing needs it computed with the same guidance setting.
     */
    private Raw modelOutput(StepPolicy policy, StepPlan plan, int i, float t, Tensor x, Conditioning cond, boolean guidedRun, Raw previous) {
        int batch = x.dim(0);
        int[] run = plan.computing(batch);
        boolean guide = plan.guide() && guidedRun;
        if (run.length < batch) {
            if (previous == null) throw new IllegalStateException(policy.describe() + " asked to reuse a model output at step " + i + " but none exists");
            if (previous.out().dim(2) != x.dim(2))
                throw new IllegalStateException(policy.describe() + " asked to reuse a model output of another resolution at step " + i);
            if (run.length == 0) return previous;
            if (previous.guided() != guide)
                throw new IllegalStateException(policy.describe() + " computes some samples " + (guide ? "with" : "without")
                        + " guidance at step " + i + " and reuses others' outputs computed " + (previous.guided() ? "with" : "without") + " it");
        }
        Ctx c = new Ctx(counter, plan.hooks());
        Tensor in = scheduler.scaleModelInput(x, i);
        if (run.length == batch) return new Raw(denoiser.raw(c, in, t, cond, guide), guide);
        return new Raw(denoiser.raw(c, in, t, cond, guide, run, previous.out()), guide);
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
