package jdiffusion.accel;

import jdiffusion.tensor.NoiseSource;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.StepPolicy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An acceleration setting as data: which methods run and with which parameters (each part null = off;
 * all null = full-step). It builds the same {@link CombinedPolicy} that {@code --accel} builds (the CLI's
 * {@code AccelOptions} delegates here), names itself for tables and plots, prints the {@code generate}
 * flags that reproduce it, and round-trips through a compact id used as the sweep's row key:
 *
 * <pre>
 *   full                          full-step
 *   ad-d0.01-c4                   AdaptiveDiffusion δ = 0.01, C_max = 4 (one decision per batch)
 *   ad-d0.01-c4-s                 the same, decided per sample (--adaptive-scope sample; stands alone)
 *   dc-n3-b0-u                    DeepCache N = 3, branch 0, uniform
 *   dc-n3-b0-nu[-c15][-p1.4]      DeepCache non-uniform (center c, power p; defaults 30 % of the steps, 1.4)
 *   mr-b0.5-s0.5                  PostDiff mixed resolution β = 0.5, s = 0.5
 *   xa[-m12]                      PostDiff cross-attention cache after step m (default 25 % of the steps)
 *   mr-b0.5-s0.5+dc-n2-b0-u       parts combine with '+'
 * </pre>
 */
public record PolicySpec(Adaptive adaptive, Cache deepCache, Mixed mixed, Xattn xattn) {

    public PolicySpec {
        CombinedPolicy.checkSampleScope(adaptive != null && adaptive.scope() == AdaptiveSkip.Scope.SAMPLE, mixed != null, deepCache != null, xattn != null);
    }

    /** AdaptiveDiffusion: threshold δ, the longest skip run C_max, and whom one decision covers. */
    public record Adaptive(double delta, int maxSkip, AdaptiveSkip.Scope scope) {
        public Adaptive {
            java.util.Objects.requireNonNull(scope, "scope");
        }

        /** One decision per batch, as the official code. */
        public Adaptive(double delta, int maxSkip) {
            this(delta, maxSkip, AdaptiveSkip.Scope.BATCH);
        }

        public boolean perSample() {
            return scope == AdaptiveSkip.Scope.SAMPLE;
        }
    }

    /** DeepCache: a full step every N steps (uniform) or the paper's non-uniform schedule around a center. */
    public record Cache(int interval, int branch, boolean nonUniform, Integer center, Double power) {
    }

    /** Mixed resolution: low-resolution ratio β for the first fraction s of the steps. */
    public record Mixed(double beta, double fraction) {
    }

    /** Cross-attention caching (with CFG stopped) after step m; null = 25 % of the steps. */
    public record Xattn(Integer step) {
    }

    public static final PolicySpec FULL = new PolicySpec(null, null, null, null);

    public boolean full() {
        return adaptive == null && deepCache == null && mixed == null && xattn == null;
    }

    /** The policy for a run of {@code steps} steps; {@code rng} seeds mixed resolution's noise. */
    public StepPolicy build(Pipeline p, NoiseSource rng, int steps) {
        if (full()) return StepPolicy.NONE;
        if (xattn != null && !p.unet().conditional())
            throw new IllegalArgumentException("--accel xattn needs a conditional model; " + p.name() + " is unconditional");
        MixedResolution mr = mixed == null ? null
                : new MixedResolution(mixed.beta(), mixed.fraction(), p.unet().sizeMultiple(), rng.fork("mixed-res"));
        AdaptiveSkip ad = adaptive == null ? null : new AdaptiveSkip(adaptive.delta(), adaptive.maxSkip(), adaptive.scope());
        DeepCache dc = null;
        if (deepCache != null) {
            int levels = p.unet().downBlocks().size();
            if (deepCache.branch() >= 3 * levels)
                throw new IllegalArgumentException("--branch " + deepCache.branch() + " is beyond this UNet's " + levels + " blocks (max " + (3 * levels - 1) + ")");
            dc = deepCache.nonUniform()
                    ? DeepCache.nonUniform(deepCache.interval(), deepCache.branch(), steps, center(steps), power())
                    : DeepCache.uniform(deepCache.interval(), deepCache.branch());
        }
        CrossAttentionCache xa = xattn == null ? null : new CrossAttentionCache(xattnStep(steps));
        return new CombinedPolicy(mr, ad, dc, xa);
    }

    private int center(int steps) {
        return deepCache.center() == null ? (int) Math.round(0.3 * steps) : deepCache.center();
    }

    private double power() {
        return deepCache.power() == null ? 1.4 : deepCache.power();
    }

    private int xattnStep(int steps) {
        return xattn.step() == null ? (int) Math.round(0.25 * steps) : xattn.step();
    }

    /** The method family the sweep groups, colours and compares by. */
    public String family() {
        if (full()) return "full-step";
        boolean cache = deepCache != null || xattn != null;
        if (adaptive != null) return mixed == null && !cache ? "AdaptiveDiffusion" : "combination";
        if (mixed != null) return cache ? "PostDiff" : "mixed-res";
        if (deepCache != null && xattn != null) return "hybrid cache";
        return deepCache != null ? "DeepCache" : "xattn cache";
    }

    /** A readable name, e.g. "DeepCache N=3 b0 + mixed-res β=0.5 s=0.5". */
    public String label() {
        if (full()) return "full-step";
        List<String> parts = new ArrayList<>();
        if (mixed != null) parts.add("mix β=" + num(mixed.beta()) + " s=" + num(mixed.fraction()));
        if (adaptive != null) parts.add("AD δ=" + num(adaptive.delta()) + " C=" + adaptive.maxSkip() + (adaptive.perSample() ? " per-sample" : ""));
        if (deepCache != null) parts.add("DC N=" + deepCache.interval() + " b" + deepCache.branch() + (deepCache.nonUniform() ? " non-uni" : ""));
        if (xattn != null) parts.add("xattn" + (xattn.step() == null ? "" : " m=" + xattn.step()));
        return String.join(" + ", parts);
    }

    /** The compact id (see the class comment); {@link #parse} reads it back. */
    public String id() {
        if (full()) return "full";
        List<String> parts = new ArrayList<>();
        if (mixed != null) parts.add("mr-b" + num(mixed.beta()) + "-s" + num(mixed.fraction()));
        if (adaptive != null) parts.add("ad-d" + num(adaptive.delta()) + "-c" + adaptive.maxSkip() + (adaptive.perSample() ? "-s" : ""));
        if (deepCache != null) {
            String d = "dc-n" + deepCache.interval() + "-b" + deepCache.branch() + (deepCache.nonUniform() ? "-nu" : "-u");
            if (deepCache.nonUniform() && deepCache.center() != null) d += "-c" + deepCache.center();
            if (deepCache.nonUniform() && deepCache.power() != null) d += "-p" + num(deepCache.power());
            parts.add(d);
        }
        if (xattn != null) parts.add("xa" + (xattn.step() == null ? "" : "-m" + xattn.step()));
        return String.join("+", parts);
    }

    /** Reads an id written by {@link #id()}. */
    public static PolicySpec parse(String id) {
        String s = id.trim().toLowerCase(Locale.ROOT);
        if (s.equals("full") || s.equals("none")) return FULL;
        Adaptive ad = null;
        Cache dc = null;
        Mixed mr = null;
        Xattn xa = null;
        for (String part : s.split("\\+")) {
            String[] f = part.split("-");
            java.util.Map<String, Double> kv = new java.util.HashMap<>();
            boolean nu = false, perSample = false;
            try {
                for (int i = 1; i < f.length; i++) {
                    if (f[i].equals("u") || f[i].equals("nu")) {
                        nu = f[i].equals("nu");
                        continue;
                    }
                    if (f[i].equals("s")) {
                        if (!f[0].equals("ad")) throw new IllegalArgumentException("'s' (per sample) is a flag of ad only");
                        perSample = true;
                        continue;
                    }
                    int k = 0;
                    while (k < f[i].length() && Character.isLetter(f[i].charAt(k))) k++;
                    if (k == 0 || k == f[i].length()) throw new IllegalArgumentException("'" + f[i] + "' is not a parameter (letter + number)");
                    double v = Double.parseDouble(f[i].substring(k));
                    if (!Double.isFinite(v)) throw new IllegalArgumentException("'" + f[i] + "': the value must be a finite number");
                    kv.put(f[i].substring(0, k), v);
                }
                String allowed = switch (f[0]) {
                    case "ad" -> "dc";
                    case "dc" -> "nbcp";
                    case "mr" -> "bs";
                    case "xa" -> "m";
                    default -> throw new IllegalArgumentException("unknown method '" + f[0] + "'");
                };
                for (String k : kv.keySet())
                    if (k.length() != 1 || allowed.indexOf(k.charAt(0)) < 0)
                        throw new IllegalArgumentException("'" + k + "' is not a parameter of " + f[0]);
                switch (f[0]) {
                    case "ad" -> ad = new Adaptive(kv.getOrDefault("d", 0.01), kv.getOrDefault("c", 4.0).intValue(),
                            perSample ? AdaptiveSkip.Scope.SAMPLE : AdaptiveSkip.Scope.BATCH);
                    case "dc" -> dc = new Cache(kv.getOrDefault("n", 3.0).intValue(), kv.getOrDefault("b", 0.0).intValue(), nu,
                            nu && kv.containsKey("c") ? kv.get("c").intValue() : null, nu ? kv.get("p") : null);
                    case "mr" -> mr = new Mixed(kv.getOrDefault("b", 0.5), kv.getOrDefault("s", 0.5));
                    case "xa" -> xa = new Xattn(kv.containsKey("m") ? kv.get("m").intValue() : null);
                    default -> throw new IllegalArgumentException("unknown method '" + f[0] + "'");
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bad configuration '" + id + "': " + e.getMessage()
                        + " (forms: full, ad-d0.01-c4[-s], dc-n3-b0-u, dc-n3-b0-nu[-c15][-p1.4], mr-b0.5-s0.5, xa[-m12], joined by '+')");
            }
        }
        try {
            return new PolicySpec(ad, dc, mr, xa);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad configuration '" + id + "': " + e.getMessage());
        }
    }

    /** The {@code generate}/{@code compare} flags that reproduce this setting (with --steps). */
    public String cliFlags(int steps) {
        StringBuilder sb = new StringBuilder("--steps " + steps);
        if (full()) return sb.toString();
        List<String> m = new ArrayList<>();
        if (mixed != null) m.add("mixed-res");
        if (adaptive != null) m.add("adaptive");
        if (deepCache != null) m.add("deepcache");
        if (xattn != null) m.add("xattn");
        sb.append(" --accel ").append(String.join(",", m));
        if (mixed != null) sb.append(" --beta ").append(num(mixed.beta())).append(" --low-res-fraction ").append(num(mixed.fraction()));
        if (adaptive != null) sb.append(" --delta ").append(num(adaptive.delta())).append(" --max-skip ").append(adaptive.maxSkip());
        if (adaptive != null && adaptive.perSample()) sb.append(" --adaptive-scope sample");
        if (deepCache != null) {
            sb.append(" --interval ").append(deepCache.interval()).append(" --branch ").append(deepCache.branch());
            if (deepCache.nonUniform()) {
                sb.append(" --deepcache-schedule non-uniform");
                if (deepCache.center() != null) sb.append(" --center ").append(deepCache.center());
                if (deepCache.power() != null) sb.append(" --power ").append(num(deepCache.power()));
            }
        }
        if (xattn != null && xattn.step() != null) sb.append(" --xattn-step ").append(xattn.step());
        return sb.toString();
    }

    /** Shortest decimal form: 0.5, 0.01, 4. */
    public static String num(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e9) return Long.toString((long) v);
        return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }
}
