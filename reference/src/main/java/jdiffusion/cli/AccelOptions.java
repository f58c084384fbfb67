package jdiffusion.cli;

import jdiffusion.accel.CombinedPolicy;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.StepPolicy;
import jdiffusion.accel.PolicySpec;
import jdiffusion.tensor.Tensor;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** --accel and the acceleration methods' parameters. Methods combine: --accel mixed-res,adaptive,deepcache. */
public final class AccelOptions {
    static final List<String> METHODS = List.of("none", "adaptive", "deepcache", "mixed-res", "xattn", "postdiff");

    @Option(names = "--accel", split = ",", defaultValue = "none", paramLabel = "METHOD",
            description = {"Acceleration: none (full-step), adaptive (AdaptiveDiffusion), deepcache (DeepCache), "
                    + "mixed-res (PostDiff mixed resolution), xattn (PostDiff cross-attention caching, conditional models), "
                    + "postdiff (= mixed-res + deepcache, + xattn for conditional models). Comma-separated to combine."})
    List<String> accel;

    @Option(names = "--delta", defaultValue = "0.01", description = "AdaptiveDiffusion threshold δ (default 0.01; < 0 never skips).")
    double delta;

    @Option(names = "--max-skip", defaultValue = "4", description = "AdaptiveDiffusion C_max: longest run of skipped steps (default 4; 0 = never skip).")
    int maxSkip;

    @Option(names = "--interval", defaultValue = "3", description = "DeepCache N: a full step every N steps (default 3; 1 = full-step).")
    int interval;

    @Option(names = "--branch", defaultValue = "0", description = "DeepCache branch id b (block b/3, layer b%%3; default 0 = shallowest).")
    int branch;

    @Option(names = "--deepcache-schedule", defaultValue = "uniform", description = "uniform or non-uniform (DeepCache's quadratic schedule around --center).")
    String schedule;

    @Option(names = "--center", description = "Non-uniform DeepCache center step c (default: 30%% of the steps).")
    Integer center;

    @Option(names = "--power", defaultValue = "1.4", description = "Non-uniform DeepCache power p (default 1.4).")
    double power;

    @Option(names = "--beta", defaultValue = "0.5", description = "Mixed resolution: low-resolution ratio β (default 0.5).")
    double beta;

    @Option(names = "--low-res-fraction", defaultValue = "0.5", description = "Mixed resolution: fraction s of the steps at low resolution (default 0.5; 0 = full-step).")
    double lowResFraction;

    @Option(names = "--xattn-step", description = "Cross-attention caching: step m after which CFG stops and cached cross-attention outputs are reused (default: 25%% of the steps).")
    Integer xattnStep;

    private StepPolicy built;

    /** The policy for a run of {@code steps} steps. */
    public StepPolicy policy(Pipeline p, NoiseSource rng, int steps) {
        Set<String> m = new LinkedHashSet<>();
        for (String a : accel) {
            String k = a.trim().toLowerCase();
            if (!METHODS.contains(k)) throw new IllegalArgumentException("--accel: unknown method '" + a + "' (choose from " + METHODS + ")");
            if (k.equals("postdiff")) {
                m.add("mixed-res");
                m.add("deepcache");
                if (p.unet().conditional()) m.add("xattn");
            } else if (!k.equals("none")) m.add(k);
        }
        if (!schedule.equals("uniform") && !schedule.equals("non-uniform"))
            throw new IllegalArgumentException("--deepcache-schedule must be uniform or non-uniform, got '" + schedule + "'");
        built = spec(m).build(p, rng, steps);
        return built;
    }

    /** The methods and parameters as data (sweep builds its policies the same way). */
    private PolicySpec spec(Set<String> m) {
        return new PolicySpec(
                m.contains("adaptive") ? new PolicySpec.Adaptive(delta, maxSkip) : null,
                m.contains("deepcache") ? new PolicySpec.Cache(interval, branch, schedule.equals("non-uniform"), center, power) : null,
                m.contains("mixed-res") ? new PolicySpec.Mixed(beta, lowResFraction) : null,
                m.contains("xattn") ? new PolicySpec.Xattn(xattnStep) : null);
    }

    /** Tensors a policy adds to the `sample` output: AdaptiveDiffusion's decisions (mask) and criterion. */
    public Map<String, Tensor> extraOutputs(StepPolicy policy) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (policy instanceof CombinedPolicy c && c.adaptive() != null) {
            List<Integer> mask = c.adaptive().mask();
            float[] mk = new float[mask.size()];
            for (int i = 0; i < mk.length; i++) mk[i] = mask.get(i);
            out.put("mask", Tensor.of(mk, mk.length));
            List<double[]> cr = c.adaptive().criterion();
            float[] cf = new float[2 * cr.size()];
            for (int i = 0; i < cr.size(); i++) {
                cf[2 * i] = (float) cr.get(i)[0];
                cf[2 * i + 1] = (float) cr.get(i)[1];
            }
            out.put("criterion", Tensor.of(cf, cr.size(), 2));
        }
        return out;
    }
}
