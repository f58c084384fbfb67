package jdiffusion.cli;

import jdiffusion.kernels.Backend;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Denoiser;
import jdiffusion.sample.NoiseSource;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.sample.Sampler;
import jdiffusion.sample.StepRecord;
import jdiffusion.schedule.Scheduler;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.SafeTensorsWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Full sampling from a given initial latent, writing every intermediate: the auditable entry point for sampler parity. */
@Command(name = "sample", mixinStandardHelpOptions = true,
        description = {"Sample from a given initial latent and write the whole trajectory.",
                "Input: --noise FILE with key x_T (already multiplied by the scheduler's init_noise_sigma).",
                "Output keys: x_T, x.<i> (latent after step i), out (final latent), unet_calls, computed (1 where the UNet ran fully)."})
public final class SampleCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "A diffusers pipeline folder or UNet folder.")
    Path model;

    @Option(names = "--steps", required = true, description = "Number of inference steps.")
    int steps;

    @Option(names = "--noise", required = true, description = "safetensors with x_T.")
    Path noise;

    @Option(names = "--output", required = true, description = "safetensors file for the trajectory.")
    Path output;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the per-step noise stochastic samplers draw (DDPM, DDIM η > 0).")
    long seed;

    @Option(names = "--trace", description = "Write the run's trace (per step: timestep, action, MACs, ms) as JSON.")
    Path trace;

    @Mixin
    SchedulerOptions schedulerOptions;

    @Mixin
    ConditioningOptions conditioningOptions;

    @Mixin
    AccelOptions accelOptions;

    @Mixin
    BackendOptions backendOptions;

    @Override
    public Integer call() {
        Checks.atLeast("--steps", steps, 1);
        Pipeline p = Pipeline.load(model, backendOptions.weightPrecision());
        Tensor xT;
        try (SafeTensorsFile f = SafeTensorsFile.open(noise)) {
            xT = Tensors.require(f, "x_T");
        }
        int[] expected = p.latentShape(xT.dim(0));
        if (xT.rank() != 4 || xT.dim(1) != expected[1])
            throw new IllegalArgumentException(noise + ": x_T " + xT.shapeString() + " does not fit the model's latent [N, " + expected[1] + ", H, W]");
        Scheduler scheduler = schedulerOptions.create(p.schedulerConfig());
        Conditioning cond = conditioningOptions.resolve(p, xT.dim(0));
        Backend backend = backendOptions.create();
        NoiseSource rng = new NoiseSource(seed);
        var policy = accelOptions.policy(p, rng, steps);
        Sampler sampler = new Sampler(p.name(), new Denoiser(p.unet()), scheduler, backend);
        Sampler.Result r = sampler.run(xT, steps, cond, policy, rng.fork("scheduler-noise"), Progress.console());
        SafeTensorsWriter w = new SafeTensorsWriter();
        Tensors.put(w, "x_T", xT);
        for (int i = 0; i < steps; i++) Tensors.put(w, "x." + i, r.latents().get(i + 1));
        Tensors.put(w, "out", r.out());
        w.put("unet_calls", new int[]{1}, new float[]{r.trace().unetCalls()});
        float[] computed = new float[steps];
        for (StepRecord s : r.trace().records()) computed[s.index()] = s.unetCalls();
        w.put("computed", new int[]{steps}, computed);
        accelOptions.extraOutputs(policy).forEach((k, v) -> Tensors.put(w, k, v));
        w.meta("scheduler", scheduler.config().kind().className).meta("policy", policy.describe()).write(Tensors.checkOutput(output));
        if (trace != null) r.trace().writeJson(trace);
        System.out.println(r.trace().summary());
        System.out.println("wrote " + output + (trace != null ? " and " + trace : ""));
        return 0;
    }
}
