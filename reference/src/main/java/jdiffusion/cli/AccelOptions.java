package jdiffusion.cli;

import jdiffusion.accel.AdaptiveSkip;
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

    @Option(names = "--adaptive-scope", defaultValue = "batch", paramLabel = "batch|sample",
            description = {"AdaptiveDiffusion: one decision for the whole batch (batch, default: the official rule) or one per sample",
                    "(sample: each sample keeps its own latent history; the UNet runs only on the samples that compute, so a batch",
                    "gives each image exactly what it gets alone). sample does not combine with deepcache, mixed-res or xattn."})
    String adaptiveScope;

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
        AdaptiveSkip.Scope scope = AdaptiveSkip.Scope.of(adaptiveScope);
        if (scope == AdaptiveSkip.Scope.SAMPLE && !m.contains("adaptive"))
            throw new IllegalArgumentException("--adaptive-scope sample applies to AdaptiveDiffusion: add adaptive to --accel");
        built = spec(m).build(p, rng, steps);
        return built;
    }

    /** The methods and parameters as data (sweep builds its policies the same way). */
    private PolicySpec spec(Set<String> m) {
        return new PolicySpec(
                m.contains("adaptive") ? new PolicySpec.Adaptive(delta, maxSkip, AdaptiveSkip.Scope.of(adaptiveScope)) : null,
                m.contains("deepcache") ? new PolicySpec.Cache(interval, branch, schedule.equals("non-uniform"), center, power) : null,
                m.contains("mixed-res") ? new PolicySpec.Mixed(beta, lowResFraction) : null,
                m.contains("xattn") ? new PolicySpec.Xattn(xattnStep) : null);
    }

    /**
     * Tensors a policy adds to the `sample` output: AdaptiveDiffusion's decisions (mask [D]) and criterion
     * [D, 2] for D decisions; per sample, one row per sample: mask [N, D], criterion [N, D, 2].
     */
    public Map<String, Tensor> extraOutputs(StepPolicy policy) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (policy instanceof CombinedPolicy c && c.adaptive() != null) {
            AdaptiveSkip ad = c.adaptive();
            int n = ad.streams(), d = ad.mask(0).size();
            float[] mk = new float[n * d], cf = new float[n * d * 2];
            for (int j = 0; j < n; j++) {
                List<Integer> mask = ad.mask(j);
                List<double[]> cr = ad.criterion(j);
                for (int i = 0; i < d; i++) {
                    mk[j * d + i] = mask.get(i);
                    cf[(j * d + i) * 2] = (float) cr.get(i)[0];
                    cf[(j * d + i) * 2 + 1] = (float) cr.get(i)[1];
                }
            }
            boolean perSample = ad.scope() == AdaptiveSkip.Scope.SAMPLE;
            out.put("mask", perSample ? Tensor.of(mk, n, d) : Tensor.of(mk, d));
            out.put("criterion", perSample ? Tensor.of(cf, n, d, 2) : Tensor.of(cf, d, 2));
        }
        return out;
    }
}
