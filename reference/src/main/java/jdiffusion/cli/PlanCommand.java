package jdiffusion.cli;

import jdiffusion.sweep.Planner;
import jdiffusion.sweep.Report;
import jdiffusion.sweep.ResultStore;
import jdiffusion.sweep.SweepRow;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** The compute-budget planner over a sweep's results. */
@Command(name = "plan", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Picks the best measured configuration within a compute budget.",
                "From a sweep's results (./jdiffusion sweep): the configuration with the best",
                "fidelity within the budget, with the generate flags that reproduce it.", ""})
public final class PlanCommand implements Callable<Integer> {
    @Option(names = "--model", description = "The model the sweep ran on (its folder name finds the default results, report/<name>).")
    Path model;

    @Option(names = "--results", description = "A sweep folder (rows.jsonl) or results.json (default: report/<model name>, docs/results/<model name>, report/<model name>-quick).")
    Path results;

    @Option(names = "--budget-macs", description = "At most this many UNet MACs per image: 2.5e9, 2500M, 2.5G.")
    String budgetMacs;

    @Option(names = "--speedup", description = "At least this MAC speedup over the 50-step full-step reference (e.g. 2 = half the compute).")
    Double speedup;

    @Option(names = "--time-speedup", description = "At least this measured wall-time speedup over the reference.")
    Double timeSpeedup;

    @Option(names = "--scheduler", description = "Only this scheduler's configurations (default: all).")
    String scheduler;

    @Option(names = "--metric", description = "Fidelity to maximise: lpips, psnr or ssim (vs the reference), fd (vs real data), accuracy. Default: lpips if measured, else psnr.")
    String metric;

    @Option(names = "--top", defaultValue = "5", description = "Alternatives to list (default 5).")
    int top;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Path src = results != null ? results : defaultResults();
        List<SweepRow> rows = ResultStore.readRows(src);
        if (rows.isEmpty()) throw new IllegalArgumentException("no rows in " + src);
        String m = metric != null ? metric.toLowerCase(Locale.ROOT) : Report.primaryMetric(rows);
        SweepRow.higherIsBetter(m);   // validates the name
        Planner.Budget b = new Planner.Budget(budgetMacs == null ? null : Planner.parseMacs(budgetMacs), speedup, timeSpeedup, scheduler);
        List<SweepRow> ranked = Planner.rank(rows, m, b);
        if (ranked.isEmpty()) {
            SweepRow cheapest = rows.stream().filter(r -> !r.failed() && (scheduler == null || scheduler.equalsIgnoreCase(r.scheduler())))
                    .min(java.util.Comparator.comparingDouble(SweepRow::macsPerImage)).orElse(null);
            throw new IllegalArgumentException("no measured configuration fits " + b.describe() + " with " + m.toUpperCase(Locale.ROOT)
                    + (cheapest == null ? "" : String.format(Locale.ROOT, "; the cheapest measured is %s at %sMACs (%.2fx)", cheapest.id(),
                    Report.macsText(cheapest.macsPerImage()), cheapest.macSpeedup())));
        }
        SweepRow best = ranked.getFirst();
        java.io.PrintWriter out = spec.commandLine().getOut();
        out.println("budget: " + b.describe() + "; maximising " + m.toUpperCase(Locale.ROOT) + " (" + src + ", " + rows.size() + " rows)");
        out.println();
        out.printf(Locale.ROOT, "best: %s  [%s]%n", best.id(), best.family());
        out.printf(Locale.ROOT, "      %s%n", best.label());
        out.printf(Locale.ROOT, "      %sMACs per image (%.1f%% of the reference, %.2fx), %.1f ms per image (%.2fx measured)%n",
                Report.macsText(best.macsPerImage()), 100 * best.macFraction(), best.macSpeedup(), best.latencyMs(), best.timeSpeedup());
        out.printf(Locale.ROOT, "      PSNR %s, SSIM %s, LPIPS %s, FD %s, accuracy %s%n", Report.format("psnr", best.metric("psnr")),
                Report.format("ssim", best.ssim()), Report.format("lpips", best.lpips()), Report.format("fd", best.fd()), Report.format("accuracy", best.accuracy()));
        String modelArg = model != null ? model.toString() : "DIR";
        out.println("      reproduce: ./jdiffusion generate --model " + modelArg + " --scheduler " + best.scheduler() + " "
                + best.config().policy().cliFlags(best.steps()));
        if (scheduler == null && !m.equals("fd") && !m.equals("accuracy") && rows.stream().map(SweepRow::scheduler).distinct().count() > 1)
            out.println("      (" + m.toUpperCase(Locale.ROOT) + " is measured against each scheduler's own reference; pass --scheduler to stay with one)");
        if (ranked.size() > 1 && top > 0) {
            out.println();
            out.println("alternatives within the budget:");
            for (SweepRow r : ranked.subList(1, Math.min(ranked.size(), top + 1)))
                out.printf(Locale.ROOT, "  %-48s %-18s %sMACs (%.2fx)  %s %s%n", r.id(), r.family(), Report.macsText(r.macsPerImage()), r.macSpeedup(),
                        m.toUpperCase(Locale.ROOT), Report.format(m, r.metric(m)));
        }
        out.flush();
        return 0;
    }

    private Path defaultResults() {
        if (model == null) throw new IllegalArgumentException("give --results DIR (a sweep folder) or --model DIR (then report/<model name> is used)");
        String name = model.toAbsolutePath().normalize().getFileName().toString();
        Path home = Path.of(System.getProperty("jdiffusion.home", "."));
        for (Path p : List.of(Path.of("report", name), home.resolve("docs/results").resolve(name), Path.of("report", name + "-quick")))
            if (Files.isRegularFile(p.resolve("rows.jsonl")) || Files.isRegularFile(p.resolve("results.json"))) return p;
        throw new IllegalArgumentException("no sweep results for " + name + " in report/" + name + " or docs/results/" + name
                + " (run ./jdiffusion sweep --model " + model + ", or pass --results DIR)");
    }
}
