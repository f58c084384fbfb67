package jdiffusion.cli;

import jdiffusion.sample.NoiseSource;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.StepPolicy;
import jdiffusion.tensor.Tensor;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Map;

/** --accel and the acceleration methods' parameters. */
public final class AccelOptions {
    @Option(names = "--accel", split = ",", defaultValue = "none", description = "Acceleration policy: none (full-step).")
    List<String> accel;

    public StepPolicy policy(Pipeline p, NoiseSource rng) {
        for (String a : accel)
            if (!a.equals("none")) throw new IllegalArgumentException("--accel: unknown method '" + a + "' (available: none)");
        return StepPolicy.NONE;
    }

    /** Tensors a policy adds to the `sample` output (e.g. AdaptiveDiffusion's decision mask). */
    public Map<String, Tensor> extraOutputs(StepPolicy policy) {
        return Map.of();
    }
}
