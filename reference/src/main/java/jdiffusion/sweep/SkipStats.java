package jdiffusion.sweep;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The distribution of AdaptiveDiffusion's skipped steps over a configuration's runs (one image per run),
 * by group (class or prompt), and a test of its "prompt-adaptive" claim: do groups differ by more than
 * seeds within a group do? The statistic is one-way ANOVA's F (between-group over within-group
 * variance); its p-value comes from a permutation test (group labels shuffled, seeded), which needs no
 * normality assumption about step counts.
 */
public final class SkipStats {
    private SkipStats() {
    }

    /** Skipped steps of each run of {@code group} (all runs when group is null). */
    public static double[] skips(SweepRow r, String group) {
        if (r.runs() == null) return new double[0];
        return r.runs().stream().filter(x -> group == null || group.equals(x.group())).mapToDouble(SweepRow.RunRecord::skipped).toArray();
    }

    public static double mean(double[] v) {
        double s = 0;
        for (double x : v) s += x;
        return v.length == 0 ? Double.NaN : s / v.length;
    }

    public static double sd(double[] v) {
        if (v.length < 2) return 0;
        double m = mean(v), s = 0;
        for (double x : v) s += (x - m) * (x - m);
        return Math.sqrt(s / (v.length - 1));
    }

    public static double min(double[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (double x : v) m = Math.min(m, x);
        return m;
    }

    public static double max(double[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double x : v) m = Math.max(m, x);
        return m;
    }

    /** One-way ANOVA F over groups (NaN with fewer than 2 groups or no within-group spread and no between spread). */
    public static double fStatistic(List<double[]> groups) {
        int g = 0, n = 0;
        double total = 0;
        for (double[] v : groups) {
            if (v.length == 0) continue;
            g++;
            n += v.length;
            for (double x : v) total += x;
        }
        if (g < 2 || n <= g) return Double.NaN;
        double grand = total / n, between = 0, within = 0;
        for (double[] v : groups) {
            if (v.length == 0) continue;
            double m = mean(v);
            between += v.length * (m - grand) * (m - grand);
            for (double x : v) within += (x - m) * (x - m);
        }
        between /= (g - 1);
        within /= (n - g);
        if (within == 0) return between == 0 ? Double.NaN : Double.POSITIVE_INFINITY;
        return between / within;
    }

    /** Permutation p-value of the F statistic: the share of label shuffles with F at least as large. */
    public static double permutationP(List<double[]> groups, int permutations, long seed) {
        double f0 = fStatistic(groups);
        if (Double.isNaN(f0)) return Double.NaN;
        List<Double> all = new ArrayList<>();
        List<Integer> sizes = new ArrayList<>();
        for (double[] v : groups) {
            sizes.add(v.length);
            for (double x : v) all.add(x);
        }
        double[] pool = all.stream().mapToDouble(Double::doubleValue).toArray();
        SplittableRandom rng = new SplittableRandom(seed);
        int hits = 0;
        for (int p = 0; p < permutations; p++) {
            for (int i = pool.length - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                double t = pool[i];
                pool[i] = pool[j];
                pool[j] = t;
            }
            List<double[]> shuffled = new ArrayList<>();
            int at = 0;
            for (int s : sizes) {
                double[] v = new double[s];
                System.arraycopy(pool, at, v, 0, s);
                at += s;
                shuffled.add(v);
            }
            double f = fStatistic(shuffled);
            if (!(f < f0)) hits++;   // NaN/∞ count as at least as large
        }
        return (hits + 1.0) / (permutations + 1.0);
    }
}
