package jdiffusion.sweep;

import jdiffusion.weights.AtomicFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Everything a sweep publishes from its rows: results.csv and results.json (all rows; {@link ReportWriters}),
 * a fidelity-vs-MACs figure per scheduler with the Pareto frontier, skip-count charts and image grids at
 * equal compute ({@link ReportFigures}), and results.md + report.html ({@link ReportTables}: the same
 * content; the HTML embeds its images and stands alone). This class orders them and holds what they share.
 */
public final class Report {
    private Report() {
    }

    /** What the report says about the sweep besides its rows. */
    public record Info(String model, String modelDir, List<String> groups, int perGroup, long seed, Double guidance, int batch,
                       int referenceSteps, String backend, List<String> notes, String realSource, Double fdFloor,
                       List<String> commands, double sessionSeconds) {
    }

    static final double[] BUDGETS = {0.2, 0.3, 0.4, 0.5, 0.6, 0.8};

    /** Writes the report into {@code dir}; returns the files written. */
    public static List<Path> write(Path dir, List<SweepRow> rows, Info info) {
        List<Path> files = new ArrayList<>();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        files.add(ReportWriters.writeCsv(dir.resolve("results.csv"), rows));
        files.add(ReportWriters.writeJson(dir.resolve("results.json"), rows, info));
        List<String> schedulers = rows.stream().map(SweepRow::scheduler).distinct().toList();
        String primary = primaryMetric(rows);
        List<String> metrics = metrics(rows);
        Map<String, Path> plots = new LinkedHashMap<>(), skips = new LinkedHashMap<>();
        Map<String, List<Path>> grids = new LinkedHashMap<>();
        for (String s : schedulers) {
            ReportFigures.Files f = ReportFigures.write(dir, s, of(rows, s), metrics, primary, info);
            plots.put(s, f.plot());
            if (f.skips() != null) skips.put(s, f.skips());
            grids.put(s, f.grids());
            files.addAll(f.all());
        }
        Doc doc = ReportTables.document(dir, rows, info, schedulers, primary, metrics, plots, skips, grids);
        Path md = dir.resolve("results.md"), html = dir.resolve("report.html");
        AtomicFiles.writeString(md, doc.markdown(dir));
        AtomicFiles.writeString(html, doc.html("jdiffusion sweep: " + info.model()));
        files.add(md);
        files.add(html);
        return files;
    }

    static List<SweepRow> of(List<SweepRow> rows, String scheduler) {
        return rows.stream().filter(r -> r.scheduler().equals(scheduler)).toList();
    }

    static List<SweepRow> adaptiveRows(List<SweepRow> rows) {
        return rows.stream().filter(r -> !r.failed() && r.spec() != null && r.spec().adaptive() != null).toList();
    }

    /** LPIPS when measured, else PSNR: the fidelity-to-reference metric frontiers and grids use. */
    public static String primaryMetric(List<SweepRow> rows) {
        return rows.stream().anyMatch(r -> r.lpips() != null) ? "lpips" : "psnr";
    }

    static List<String> metrics(List<SweepRow> rows) {
        List<String> m = new ArrayList<>(List.of("psnr"));
        if (rows.stream().anyMatch(r -> r.lpips() != null)) m.add("lpips");
        if (rows.stream().anyMatch(r -> r.fd() != null)) m.add("fd");
        if (rows.stream().anyMatch(r -> r.accuracy() != null)) m.add("accuracy");
        return m;
    }

    public static String format(String metric, Double v) {
        if (v == null) return "–";
        if (v.isInfinite()) return "∞";
        return switch (metric) {
            case "psnr" -> String.format(Locale.ROOT, "%.2f", v);
            case "ssim", "lpips", "accuracy" -> String.format(Locale.ROOT, "%.4f", v);
            case "fd" -> String.format(Locale.ROOT, "%.3f", v);
            default -> String.format(Locale.ROOT, "%.4g", v);
        };
    }

    public static String macsText(double m) {
        return m >= 1e9 ? String.format(Locale.ROOT, "%.2f G", m / 1e9) : String.format(Locale.ROOT, "%.1f M", m / 1e6);
    }
}
