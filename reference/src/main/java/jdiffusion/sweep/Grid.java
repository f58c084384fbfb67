package jdiffusion.sweep;

import jdiffusion.accel.PolicySpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The configurations a sweep runs: a named grid of acceleration settings (or an explicit list) ×
 * schedulers, each scheduler with its full-step reference (first). The named grids:
 *
 * <ul>
 *   <li>{@code default}: full-step at 10/15/20/25/35 steps; AdaptiveDiffusion δ ∈ {0.005 … 0.1}, C_max ∈
 *       {2, 4, 6}; DeepCache N ∈ {2, 3, 5, 10}, branches 0 and 3, uniform and non-uniform, also at 25
 *       steps; mixed resolution β ∈ {0.5, 0.75}, s ∈ {0.2 … 0.6}; PostDiff (mixed resolution + DeepCache,
 *       + cross-attention caching on conditional models) at 50/25/20 steps; cross-attention and hybrid
 *       caching (conditional models); AdaptiveDiffusion combined with DeepCache and with mixed resolution.</li>
 *   <li>{@code quick}: six settings on one scheduler, for a smoke run of a few minutes.</li>
 * </ul>
 */
public final class Grid {
    private Grid() {
    }

    public static final List<String> NAMES = List.of("default", "quick");
    public static final List<String> DEFAULT_SCHEDULERS = List.of("ddim", "dpmpp2m", "euler");

    /** The policy ids (with steps) of a named grid; conditional models add the cross-attention rows. */
    public static List<String> policies(String name, boolean conditional) {
        List<String> p = new ArrayList<>();
        switch (name) {
            case "default" -> {
                for (int k : new int[]{10, 15, 20, 25, 35}) p.add("full@" + k);
                for (String d : new String[]{"0.005", "0.01", "0.02", "0.05", "0.1"}) p.add("ad-d" + d + "-c4@50");
                p.add("ad-d0.05-c2@50");
                p.add("ad-d0.05-c6@50");
                for (int n : new int[]{2, 3, 5, 10}) p.add("dc-n" + n + "-b0-u@50");
                p.add("dc-n3-b3-u@50");
                p.add("dc-n5-b3-u@50");
                p.add("dc-n3-b0-nu@50");
                p.add("dc-n5-b0-nu@50");
                p.add("dc-n2-b0-u@25");
                p.add("dc-n3-b0-u@25");
                for (String s : new String[]{"0.2", "0.4", "0.6"}) p.add("mr-b0.5-s" + s + "@50");
                p.add("mr-b0.75-s0.5@50");
                p.add("mr-b0.5-s0.5@25");
                p.add("mr-b0.5-s0.5+dc-n2-b0-u@50");
                p.add("mr-b0.5-s0.2+dc-n3-b0-u@50");
                p.add("mr-b0.5-s0.5+dc-n2-b0-u@25");
                p.add("mr-b0.5-s0.5+dc-n3-b0-u@20");
                if (conditional) {
                    p.add("xa@50");
                    p.add("xa@25");
                    p.add("dc-n2-b0-u+xa@50");
                    p.add("dc-n3-b0-u+xa@25");
                    p.add("mr-b0.5-s0.5+dc-n2-b0-u+xa@50");
                    p.add("mr-b0.5-s0.5+dc-n2-b0-u+xa@25");
                }
                p.add("mr-b0.5-s0.5+ad-d0.01-c4@50");
                p.add("ad-d0.01-c4+dc-n3-b0-u@50");
            }
            case "quick" -> {
                p.add("full@10");
                p.add("full@25");
                p.add("ad-d0.01-c4@50");
                p.add("dc-n3-b0-u@50");
                p.add("mr-b0.5-s0.5@50");
                p.add(conditional ? "mr-b0.5-s0.5+dc-n2-b0-u+xa@50" : "mr-b0.5-s0.5+dc-n2-b0-u@50");
            }
            default -> throw new IllegalArgumentException("unknown grid '" + name + "' (choose from " + NAMES + ")");
        }
        return p;
    }

    /**
     * The sweep's configurations, scheduler by scheduler, each scheduler's reference {@code full@R}
     * first; duplicates (e.g. a listed full@R) are dropped.
     */
    public static List<SweepConfig> configs(List<String> policies, List<String> schedulers, int referenceSteps) {
        Map<String, SweepConfig> out = new LinkedHashMap<>();
        for (String s : schedulers) {
            jdiffusion.schedule.Schedulers.kindOf(s);   // validates the name
            SweepConfig ref = reference(s, referenceSteps);
            out.put(ref.id(), ref);
            for (String p : policies) {
                SweepConfig c = SweepConfig.parse(p, s);
                SweepConfig own = new SweepConfig(s, c.steps(), c.policy());
                out.putIfAbsent(own.id(), own);
            }
        }
        return List.copyOf(out.values());
    }

    public static SweepConfig reference(String scheduler, int referenceSteps) {
        return new SweepConfig(scheduler, referenceSteps, PolicySpec.FULL);
    }
}
