package jdiffusion.sweep;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The compute-budget planner: from a sweep's measured rows, the configuration with the best fidelity
 * that fits a budget (MACs per image, a MAC speedup or a measured time speedup over the reference).
 */
public final class Planner {
    private Planner() {
    }

    /**
     * @param budgetMacs  at most this many MACs per image (null: no limit)
     * @param macSpeedup  at least this MAC speedup over the scheduler's reference (null: no limit)
     * @param timeSpeedup at least this measured time speedup (null: no limit)
     * @param scheduler   only this scheduler's rows (null: all)
     */
    public record Budget(Double budgetMacs, Double macSpeedup, Double timeSpeedup, String scheduler) {
        public Budget {
            if (budgetMacs == null && macSpeedup == null && timeSpeedup == null)
                throw new IllegalArgumentException("give a budget: --budget-macs X, --speedup S or --time-speedup S");
            if (budgetMacs != null && !(budgetMacs > 0)) throw new IllegalArgumentException("--budget-macs must be > 0, got " + budgetMacs);
            if (macSpeedup != null && !(macSpeedup > 0)) throw new IllegalArgumentException("--speedup must be > 0, got " + macSpeedup);
            if (timeSpeedup != null && !(timeSpeedup > 0)) throw new IllegalArgumentException("--time-speedup must be > 0, got " + timeSpeedup);
        }

        public boolean admits(SweepRow r) {
            if (r.failed()) return false;
            if (scheduler != null && !scheduler.equalsIgnoreCase(r.scheduler())) return false;
            if (budgetMacs != null && r.macsPerImage() > budgetMacs * (1 + 1e-9)) return false;
            if (macSpeedup != null && r.macSpeedup() < macSpeedup * (1 - 1e-9)) return false;
            return timeSpeedup == null || r.timeSpeedup() >= timeSpeedup;
        }

        public String describe() {
            List<String> p = new ArrayList<>();
            if (budgetMacs != null) p.add("≤ " + Report.macsText(budgetMacs) + "MACs per image");
            if (macSpeedup != null) p.add(String.format(Locale.ROOT, "MAC speedup ≥ %.2fx", macSpeedup));
            if (timeSpeedup != null) p.add(String.format(Locale.ROOT, "time speedup ≥ %.2fx", timeSpeedup));
            if (scheduler != null) p.add("scheduler " + scheduler);
            return String.join(", ", p);
        }
    }

    /** The ranked candidates: the best first (ties to the cheaper); empty when nothing fits. */
    public static List<SweepRow> rank(List<SweepRow> rows, String metric, Budget budget) {
        boolean hi = SweepRow.higherIsBetter(metric);
        return rows.stream().filter(budget::admits).filter(r -> r.metric(metric) != null && !r.metric(metric).isNaN())
                .sorted(Comparator.comparingDouble((SweepRow r) -> hi ? -r.metric(metric) : r.metric(metric))
                        .thenComparingDouble(SweepRow::macsPerImage))
                .toList();
    }

    /** Parses 2.5e8, 250M, 1.2G, 300k (MACs). */
    public static double parseMacs(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT).replace("MACS", "").replace("MAC", "").trim();
        double mult = 1;
        if (!t.isEmpty()) {
            char c = t.charAt(t.length() - 1);
            mult = switch (c) {
                case 'K' -> 1e3;
                case 'M' -> 1e6;
                case 'G' -> 1e9;
                case 'T' -> 1e12;
                default -> 1;
            };
            if (mult != 1) t = t.substring(0, t.length() - 1).trim();
        }
        double v;
        try {
            v = Double.parseDouble(t) * mult;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--budget-macs: cannot read '" + s + "' (e.g. 2.5e9, 2500M, 2.5G)");
        }
        if (!Double.isFinite(v) || v <= 0) throw new IllegalArgumentException("--budget-macs must be a finite number of MACs > 0, got '" + s + "'");
        return v;
    }
}
