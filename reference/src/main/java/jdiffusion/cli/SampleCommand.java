package jdiffusion.cli;

import jdiffusion.image.Images;
import jdiffusion.kernels.Backend;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Denoiser;
import jdiffusion.sample.Generation;
import jdiffusion.sample.MemoryBudget;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.sample.Sampler;
import jdiffusion.sample.StepRecord;
import jdiffusion.schedule.Scheduler;
import jdiffusion.tensor.Tensor;
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
                "Conditioning: --prompt TEXT [--negative-prompt TEXT] [--clip-skip K] (pipelines with a text encoder), --cond FILE or --class NAME.",
                "Output keys: x_T, x.<i> (latent after step i), out (final latent), unet_calls, computed (1 where the UNet ran fully),",
                "image ([N, 3, H, W] in [0, 1] = clamp(decoded / 2 + 0.5, 0, 1), when the pipeline has a VAE)."})
public final class SampleCommand implements Callable<Integer> {
    @Option(names = "--noise", required = true, description = "safetensors with x_T.")
    Path noise;

    @Option(names = "--output", required = true, description = "safetensors file for the trajectory.")
    Path output;

    @Option(names = "--trace", description = "Write the run's trace (per step: timestep, action, MACs, ms) as JSON.")
    Path trace;

    @Mixin
    SamplingOptions sampling;

    @Override
    public Integer call() {
        if (sampling.model == null) throw new IllegalArgumentException("sample needs --model DIR (a diffusers pipeline or UNet folder)");
        Checks.outputs("--output", output, "--trace", trace);
        Pipeline p = sampling.load();
        int steps = sampling.steps();
        Tensor xT = Tensors.initialLatents(noise, p);
        Scheduler scheduler = sampling.scheduler(p).create();
        scheduler.setTimesteps(steps);   // a step count the scheduler cannot make is refused before anything else
        Conditioning cond = sampling.conditioning(p, xT.dim(0));
        Backend backend = sampling.backend();
        MemoryBudget.Estimate need = MemoryBudget.sampling(p, sampling.weightBytes(), backend, xT.shape(), steps, cond != null && cond.guided(),
                        cond == null ? 0 : cond.cond().dim(1), false)
                .check("sample of " + xT.dim(0) + " latents over " + steps + " steps (the trajectory is kept for --output)", sampling.precision(),
                        "fewer latents in --noise", "fewer --steps");
        NoiseSource rng = new NoiseSource(sampling.seed());
        var policy = sampling.policy(p, rng);
        Sampler sampler = new Sampler(p.name(), new Denoiser(p.unet()), scheduler, backend);
        BackendOptions.awaitWarmup("sample", need.activations());
        Sampler.Result r = sampler.run(xT, steps, cond, policy, rng.fork("scheduler-noise"), Progress.console());
        SafeTensorsWriter w = new SafeTensorsWriter();
        Tensors.put(w, "x_T", xT);
        for (int i = 0; i < steps; i++) Tensors.put(w, "x." + i, r.latents().get(i + 1));
        Tensors.put(w, "out", r.out());
        if (p.vae() != null) Tensors.put(w, "image", Images.unit(Generation.decode(p, backend, r.out())));   // [N, 3, H, W] in [0, 1]
        w.put("unet_calls", new int[]{1}, new float[]{r.trace().unetCalls()});
        float[] computed = new float[steps];
        for (StepRecord s : r.trace().records()) computed[s.index()] = s.unetCalls();
        w.put("computed", new int[]{steps}, computed);
        sampling.accel().extraOutputs(policy).forEach((k, v) -> Tensors.put(w, k, v));
        w.meta("scheduler", scheduler.config().kind().className).meta("policy", policy.describe()).write(output);
        if (trace != null) r.trace().writeJson(trace);
        System.out.println(r.trace().summary());
        System.out.println("wrote " + output + (trace != null ? " and " + trace : ""));
        return 0;
    }
}
