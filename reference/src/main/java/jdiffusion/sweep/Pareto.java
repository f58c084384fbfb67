package jdiffusion.sweep;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The Pareto frontier of cost (MACs per image, lower is better) against one fidelity metric: the rows
 * no other row beats on both, i.e. every cheaper row has worse fidelity. Rows without the metric
 * (or failed rows) are not candidates.
 */
public final class Pareto {
    private Pareto() {
    }

    /** Frontier rows in order of increasing cost. */
    public static List<SweepRow> frontier(List<SweepRow> rows, String metric) {
        boolean higher = SweepRow.higherIsBetter(metric);
        List<SweepRow> cand = new ArrayList<>();
        for (SweepRow r : rows) if (!r.failed() && r.metric(metric) != null && !r.metric(metric).isNaN()) cand.add(r);
        // cheapest first; at equal cost the better value first, so that it shadows the worse one
        cand.sort(Comparator.comparingDouble(SweepRow::macsPerImage)
                .thenComparingDouble(r -> higher ? -r.metric(metric) : r.metric(metric)));
        List<SweepRow> out = new ArrayList<>();
        double best = higher ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        for (SweepRow r : cand) {
            double v = r.metric(metric);
            if (higher ? v > best : v < best) {
                out.add(r);
                best = v;
            }
        }
        return out;
    }

    /**
     * The row with the best value of {@code metric} among those costing at most {@code maxMacs} per
     * image (null if none); ties go to the cheaper row.
     */
    public static SweepRow bestWithin(List<SweepRow> rows, String metric, double maxMacs) {
        List<SweepRow> f = frontier(rows, metric);
        SweepRow best = null;
        for (SweepRow r : f) if (r.macsPerImage() <= maxMacs * (1 + 1e-9)) best = r;   // the frontier improves with cost
        return best;
    }
}
