package jdiffusion.sweep;

import jdiffusion.accel.PolicySpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static jdiffusion.sweep.Report.BUDGETS;
import static jdiffusion.sweep.Report.adaptiveRows;
import static jdiffusion.sweep.Report.format;
import static jdiffusion.sweep.Report.macsText;
import static jdiffusion.sweep.Report.of;

/**
 * The sweep's document (results.md and report.html carry the same content): the answer to "fewer or
 * cheaper steps?" per budget, the best configuration per budget, AdaptiveDiffusion's claim, every row,
 * and the skip statistics per class.
 */
final class ReportTables {
    private ReportTables() {
    }

    static Doc document(Path dir, List<SweepRow> rows, Report.Info info, List<String> schedulers, String primary, List<String> metrics,
                                Map<String, Path> plots, Map<String, Path> skips, Map<String, List<Path>> grids) {
        Doc d = new Doc();
        d.h(1, "Fewer steps or cheaper steps? Sweep of " + info.model());
        long ok = rows.stream().filter(r -> !r.failed()).count();
        double total = rows.stream().mapToDouble(SweepRow::seconds).sum();
        int images = info.groups().size() * info.perGroup();
        d.p(String.format(Locale.ROOT, "Model `%s` (%s). %d configurations (%d schedulers), each generating the same %d images (%s × %d seeds from seed %d%s). "
                        + "Reference per scheduler: full-step sampling with %d steps. Backend %s; batch %d (AdaptiveDiffusion configurations: one image per batch).",
                info.model(), info.modelDir(), ok, schedulers.size(), images,
                info.guidance() == null ? "unconditional" : info.groups().size() == 1 ? "1 prompt"
                        : info.groups().size() + " classes/prompts (" + String.join(", ", info.groups()) + ")",
                info.perGroup(), info.seed(), info.guidance() == null ? "" : String.format(Locale.ROOT, ", guidance %s", PolicySpec.num(info.guidance())),
                info.referenceSteps(), info.backend(), info.batch()));
        d.p(String.format(Locale.ROOT, "**Run time:** %s of sampling and metrics for the rows below (what a sweep from scratch costs on this machine); "
                + "this invocation ran %s.", Sweep.duration(total), Sweep.duration(info.sessionSeconds())));
        d.p("**Metrics.** MACs: multiply-accumulates of the UNet per image, counted by the engine (with classifier-free guidance the batch is doubled and counted). "
                + "Latency: time of the sampling loop per image on this machine, which other work shared while it ran; to keep bursts of that work out, "
                + "each kind of step (full, partial, skipped, low-res) counts with its median time (results.csv also has the raw total, ms_per_image). "
                + "Time speedups are still approximate; MAC speedups are exact. "
                + "PSNR (pooled over all images), SSIM and LPIPS compare each configuration's images with its scheduler's reference images from the same seeds"
                + (info.realSource() != null ? "; FD-FMNIST is the Fréchet distance of the Fashion-MNIST classifier's features of the generated images to those of " + info.realSource() : "")
                + (info.fdFloor() != null ? String.format(Locale.ROOT, " (real test images at this sample size reach %.3f: FD is biased upwards for small samples, compare rows with each other)", info.fdFloor()) : "")
                + ".");
        for (String n : info.notes()) d.p("Note: " + n);
        d.h(2, "Command");
        d.code(String.join("\n", info.commands()));

        d.h(2, "The answer: fewer steps or cheaper steps?");
        List<String> fidelity = new ArrayList<>(List.of(primary));
        if (metrics.contains("fd")) fidelity.add("fd");
        List<String> summary = new ArrayList<>();
        for (String m : fidelity)
            for (String s : schedulers) {
                Tally t = answerTable(null, s, of(rows, s), m);
                if (t.compared() > 0)
                    summary.add(String.format(Locale.ROOT, "%s by %s: cheaper steps win at %d of %d budgets%s", s, m.toUpperCase(Locale.ROOT),
                            t.cheaperWins(), t.compared(), Double.isNaN(t.lowestWin()) ? "" : String.format(Locale.ROOT, " (down to %.0f%% of the MACs)", 100 * t.lowestWin())));
            }
        d.p("Each full-step run with fewer steps than the reference sets a budget (its MACs); the best configuration of the other families "
                + "(cheaper steps) within that budget is compared with it. " + (summary.isEmpty() ? "No budget could be compared." : String.join("; ", summary) + "."));
        for (String s : schedulers) {
            List<SweepRow> rs = of(rows, s);
            for (String m : fidelity) answerTable(d, s, rs, m);
        }
        d.h(3, "Best configuration within a compute budget");
        equalComputeTable(d, rows, schedulers, fidelity);
        adaptiveClaim(d, rows, schedulers);

        d.h(2, "Fidelity vs compute");
        d.p("One figure per scheduler: each point a configuration, coloured by method family; the full-step line is the \"fewer steps\" curve; "
                + "the dashed line is the Pareto frontier (no configuration is both cheaper and better), labelled with its configurations.");
        for (String s : schedulers) d.image(plots.get(s), "fidelity vs MACs per image, " + s);

        d.h(2, "All configurations");
        d.p("Rows: methods; bold rows lie on the Pareto frontier of " + primary.toUpperCase(Locale.ROOT) + (fidelity.contains("fd") ? " or FD" : "")
                + ". Speedups are relative to the scheduler's " + info.referenceSteps() + "-step full-step reference; steps = full / partial / skipped UNet evaluations per run"
                + " (lower-case in patterns = low resolution).");
        for (String s : schedulers) resultsTable(d, of(rows, s), s, primary, fidelity);

        d.h(2, "AdaptiveDiffusion: skipped steps per " + (info.groups().size() > 1 ? "class / prompt" : "seed"));
        skipSection(d, rows, schedulers, info.groups(), skips);

        d.h(2, "Images at equal compute");
        d.p("Same seeds; rows are the reference and, per method family, the configuration with the best " + primary.toUpperCase(Locale.ROOT)
                + " within the budget.");
        for (String s : schedulers) for (Path g : grids.getOrDefault(s, List.of())) d.image(g, "equal-compute grid: " + g.getFileName());

        List<SweepRow> failed = rows.stream().filter(SweepRow::failed).toList();
        if (!failed.isEmpty()) {
            d.h(2, "Configurations that could not run");
            List<List<String>> t = new ArrayList<>();
            for (SweepRow r : failed) t.add(List.of(r.id(), r.error()));
            d.table(List.of("configuration", "reason"), t, null);
        }
        d.p("Files: results.csv and results.json (every row), rows.jsonl (the resumable store), plot-*.png, skips-*.png, grid-*.png, report.html (self-contained).");
        return d;
    }

    /** How often cheaper steps beat fewer steps at equal MACs, and the smallest budget (fraction of the reference) where they did. */
    record Tally(int cheaperWins, int compared, double lowestWin) {
    }

    /**
     * For each fewer-steps row (full-step, k &lt; R steps): the best cheaper-steps row at no more MACs.
     * Adds the table to {@code d} unless it is null; returns the tally.
     */
    static Tally answerTable(Doc d, String scheduler, List<SweepRow> rs, String metric) {
        List<SweepRow> fewer = rs.stream().filter(r -> !r.failed() && !r.reference() && "full-step".equals(r.family()) && r.metric(metric) != null)
                .sorted(Comparator.comparingInt(SweepRow::steps)).toList();
        if (fewer.isEmpty()) return new Tally(0, 0, Double.NaN);
        List<SweepRow> cheaper = rs.stream().filter(r -> !r.failed() && !"full-step".equals(r.family())).toList();
        boolean hi = SweepRow.higherIsBetter(metric);
        List<List<String>> t = new ArrayList<>();
        List<Boolean> bold = new ArrayList<>();
        int cheaperWins = 0, compared = 0;
        double lowestCheaperWin = Double.NaN;
        for (SweepRow f : fewer) {
            SweepRow best = Pareto.bestWithin(cheaper, metric, f.macsPerImage());
            String winner;
            if (best == null) winner = "fewer steps (no cheaper-steps configuration fits)";
            else {
                compared++;
                double a = f.metric(metric), b = best.metric(metric);
                boolean cw = hi ? b > a : b < a;
                if (cw) {
                    cheaperWins++;
                    lowestCheaperWin = Double.isNaN(lowestCheaperWin) ? f.macFraction() : Math.min(lowestCheaperWin, f.macFraction());
                }
                winner = cw ? "cheaper steps" : a == b ? "tie" : "fewer steps";
            }
            t.add(List.of(f.steps() + " steps", String.format(Locale.ROOT, "%.0f%%", 100 * f.macFraction()), format(metric, f.metric(metric)),
                    best == null ? "–" : best.label() + " (" + best.family() + ")", best == null ? "–" : String.format(Locale.ROOT, "%.0f%%", 100 * best.macFraction()),
                    best == null ? "–" : format(metric, best.metric(metric)), winner));
            bold.add(winner.equals("cheaper steps"));
        }
        Tally tally = new Tally(cheaperWins, compared, lowestCheaperWin);
        if (d == null) return tally;
        d.h(3, scheduler + ", by " + metric.toUpperCase(Locale.ROOT));
        d.table(List.of("budget = full-step at", "MACs", metric.toUpperCase(Locale.ROOT), "best cheaper-steps configuration within that budget", "MACs",
                metric.toUpperCase(Locale.ROOT), "winner"), t, bold);
        d.p(String.format(Locale.ROOT, "Cheaper steps win at %d of %d budgets%s.", cheaperWins, compared,
                Double.isNaN(lowestCheaperWin) ? "" : String.format(Locale.ROOT, " (down to %.0f%% of the reference's MACs, i.e. a %.0f%% compute reduction)",
                        100 * lowestCheaperWin, 100 * (1 - lowestCheaperWin))));
        return tally;
    }

    static void equalComputeTable(Doc d, List<SweepRow> rows, List<String> schedulers, List<String> fidelity) {
        List<String> header = new ArrayList<>(List.of("scheduler", "budget (MACs)"));
        for (String m : fidelity) {
            header.add("best by " + m.toUpperCase(Locale.ROOT));
            header.add(m.toUpperCase(Locale.ROOT));
        }
        List<List<String>> t = new ArrayList<>();
        for (String s : schedulers) {
            List<SweepRow> rs = of(rows, s);
            SweepRow ref = rs.stream().filter(SweepRow::reference).findFirst().orElse(null);
            if (ref == null) continue;
            for (double b : BUDGETS) {
                List<String> row = new ArrayList<>(List.of(s, String.format(Locale.ROOT, "≤ %.0f%%", 100 * b)));
                for (String m : fidelity) {
                    SweepRow best = Pareto.bestWithin(rs, m, ref.macsPerImage() * b);
                    row.add(best == null ? "–" : best.label() + " (" + best.family() + ", " + String.format(Locale.ROOT, "%.0f%%", 100 * best.macFraction()) + ")");
                    row.add(best == null ? "–" : format(m, best.metric(m)));
                }
                t.add(row);
            }
        }
        d.table(header, t, null);
    }

    static void adaptiveClaim(Doc d, List<SweepRow> rows, List<String> schedulers) {
        List<SweepRow> ad = rows.stream().filter(r -> !r.failed() && "AdaptiveDiffusion".equals(r.family())).toList();
        if (ad.isEmpty()) return;
        d.h(3, "AdaptiveDiffusion: speedup at near-identical output?");
        List<List<String>> t = new ArrayList<>();
        for (String s : schedulers)
            for (SweepRow r : ad)
                if (r.scheduler().equals(s))
                    t.add(List.of(s, r.label(), String.format(Locale.ROOT, "%.1f", r.skippedSteps()), String.format(Locale.ROOT, "%.2fx", r.macSpeedup()),
                            String.format(Locale.ROOT, "%.2fx", r.timeSpeedup()), format("psnr", r.metric("psnr")), format("ssim", r.ssim()),
                            format("lpips", r.lpips()), format("fd", r.fd())));
        d.table(List.of("scheduler", "configuration", "skipped/img", "MAC speedup", "time speedup", "PSNR", "SSIM", "LPIPS", "FD"), t, null);
    }

    static void resultsTable(Doc d, List<SweepRow> rs, String scheduler, String primary, List<String> fidelity) {
        List<SweepRow> sorted = new ArrayList<>(rs.stream().filter(r -> !r.failed()).toList());
        sorted.sort(Comparator.comparing((SweepRow r) -> !r.reference())
                .thenComparingInt(r -> Plots.FAMILIES.indexOf(r.family()) < 0 ? 99 : Plots.FAMILIES.indexOf(r.family()))
                .thenComparing(Comparator.comparingDouble(SweepRow::macsPerImage).reversed()));
        java.util.Set<String> front = new java.util.HashSet<>();
        for (String m : fidelity) Pareto.frontier(sorted, m).forEach(r -> front.add(r.id()));
        boolean lp = rs.stream().anyMatch(r -> r.lpips() != null), fd = rs.stream().anyMatch(r -> r.fd() != null),
                acc = rs.stream().anyMatch(r -> r.accuracy() != null);
        List<String> header = new ArrayList<>(List.of("method", "family", "steps (full/partial/skipped)", "MACs/img", "MACs %", "latency ms/img",
                "speedup MACs", "speedup time", "PSNR", "SSIM"));
        if (lp) header.add("LPIPS");
        if (fd) header.add("FD");
        if (acc) header.add("acc");
        header.add("pattern (first run)");
        List<List<String>> t = new ArrayList<>();
        List<Boolean> bold = new ArrayList<>();
        for (SweepRow r : sorted) {
            List<String> row = new ArrayList<>(List.of(r.reference() ? "reference: full-step, " + r.steps() + " steps" : r.label(), r.family(),
                    String.format(Locale.ROOT, "%s/%s/%s", n1(r.fullSteps()), n1(r.partialSteps()), n1(r.skippedSteps())), macsText(r.macsPerImage()),
                    String.format(Locale.ROOT, "%.1f", 100 * r.macFraction()), String.format(Locale.ROOT, "%.1f", r.latencyMs()),
                    String.format(Locale.ROOT, "%.2fx", r.macSpeedup()), String.format(Locale.ROOT, "%.2fx", r.timeSpeedup()),
                    format("psnr", r.metric("psnr")), format("ssim", r.ssim())));
            if (lp) row.add(format("lpips", r.lpips()));
            if (fd) row.add(format("fd", r.fd()));
            if (acc) row.add(format("accuracy", r.accuracy()));
            row.add("`" + (r.pattern() == null ? "" : r.pattern()) + "`");
            t.add(row);
            bold.add(front.contains(r.id()));
        }
        d.h(3, scheduler);
        d.table(header, t, bold);
    }

    private static String n1(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v);
    }

    static void skipSection(Doc d, List<SweepRow> rows, List<String> schedulers, List<String> groups, Map<String, Path> skips) {
        boolean any = false;
        for (String s : schedulers) {
            List<SweepRow> ad = adaptiveRows(of(rows, s));
            if (ad.isEmpty()) continue;
            any = true;
            d.h(3, s);
            if (groups.size() > 1) {
                List<String> header = new ArrayList<>(List.of("group"));
                for (SweepRow r : ad) header.add(r.config().policyId());
                List<List<String>> t = new ArrayList<>();
                for (String g : groups) {
                    List<String> row = new ArrayList<>(List.of(g));
                    for (SweepRow r : ad) {
                        double[] v = SkipStats.skips(r, g);
                        row.add(v.length == 0 ? "–" : String.format(Locale.ROOT, "%.1f ± %.1f [%d–%d]", SkipStats.mean(v), SkipStats.sd(v),
                                (int) SkipStats.min(v), (int) SkipStats.max(v)));
                    }
                    t.add(row);
                }
                List<String> fRow = new ArrayList<>(List.of("F (between/within classes), permutation p"));
                for (SweepRow r : ad) {
                    List<double[]> gs = new ArrayList<>();
                    for (String g : groups) gs.add(SkipStats.skips(r, g));
                    double f = SkipStats.fStatistic(gs), p = SkipStats.permutationP(gs, 2000, 1);
                    fRow.add(Double.isNaN(f) ? "–" : String.format(Locale.ROOT, "F=%.2f, p=%.3f", f, p));
                }
                t.add(fRow);
                d.table(header, t, null);
                d.p("Cells: skipped steps per image, mean ± sd [min–max] over the group's seeds (one image per run, so every image has its own decisions). "
                        + "A large F with a small p means classes differ by more than seeds within a class do; "
                        + "p ≥ 0.05 means the class does not explain the skip count beyond seed-to-seed variation.");
            } else {
                List<List<String>> t = new ArrayList<>();
                for (SweepRow r : ad) {
                    double[] v = SkipStats.skips(r, null);
                    Map<Integer, Integer> hist = new java.util.TreeMap<>();
                    for (double x : v) hist.merge((int) x, 1, Integer::sum);
                    StringBuilder h = new StringBuilder();
                    hist.forEach((k, c) -> h.append(h.isEmpty() ? "" : ", ").append(k).append(": ").append(c));
                    t.add(List.of(r.config().policyId(), Integer.toString(v.length), String.format(Locale.ROOT, "%.2f", SkipStats.mean(v)),
                            String.format(Locale.ROOT, "%.2f", SkipStats.sd(v)), Integer.toString((int) SkipStats.min(v)),
                            Integer.toString((int) SkipStats.max(v)), h.toString()));
                }
                d.table(List.of("configuration", "images", "mean skipped", "sd", "min", "max", "histogram (skipped: images)"), t, null);
            }
            if (skips.containsKey(s)) d.image(skips.get(s), "AdaptiveDiffusion skipped steps, " + s);
        }
        if (!any) d.p("No AdaptiveDiffusion configuration in this sweep.");
    }
}
