package jdiffusion.sweep;

import jdiffusion.image.Images;
import jdiffusion.tensor.Tensor;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static jdiffusion.sweep.Report.format;

/**
 * The sweep's pictures: per scheduler a fidelity-vs-MACs figure with the Pareto frontier, the
 * AdaptiveDiffusion skip chart, and image grids at equal compute (the images come from the sweep's cache).
 */
final class ReportFigures {
    private ReportFigures() {
    }

    /** The files one scheduler's figures went to (skips null when it has no AdaptiveDiffusion rows). */
    record Files(Path plot, Path skips, List<Path> grids) {
        List<Path> all() {
            List<Path> a = new ArrayList<>(List.of(plot));
            if (skips != null) a.add(skips);
            a.addAll(grids);
            return a;
        }
    }

    /** Draws and writes the figures of scheduler {@code s} into {@code dir}. */
    static Files write(Path dir, String s, List<SweepRow> rs, List<String> metrics, String primary, Report.Info info) {
        Path plot = dir.resolve("plot-" + ResultStore.fileName(s) + ".png");
        Images.writePng(Plots.fidelityFigure(rs, metrics, info.model() + ", " + s), plot);
        Path sk = null;
        List<SweepRow> ad = Report.adaptiveRows(rs);
        if (!ad.isEmpty()) {
            sk = dir.resolve("skips-" + ResultStore.fileName(s) + ".png");
            Images.writePng(Plots.skipChart(ad, info.groups(), "AdaptiveDiffusion skipped steps, " + info.model() + ", " + s), sk);
        }
        List<Path> gs = new ArrayList<>();
        for (double b : new double[]{0.25, 0.4, 0.6}) {
            BufferedImage img = equalComputeGrid(dir, rs, primary, b);
            if (img == null) continue;
            Path gp = dir.resolve(String.format(Locale.ROOT, "grid-%s-%02d.png", ResultStore.fileName(s), Math.round(b * 100)));
            Images.writePng(img, gp);
            gs.add(gp);
        }
        return new Files(plot, sk, gs);
    }

    /**
     * Rows: the reference, then the best configuration (by {@code metric}) of each family costing at
     * most {@code budget} of the reference's MACs; columns: the same seeds. Null when fewer than two
     * families fit the budget or images are missing.
     */
    static BufferedImage equalComputeGrid(Path dir, List<SweepRow> rows, String metric, double budget) {
        SweepRow ref = rows.stream().filter(SweepRow::reference).findFirst().orElse(null);
        if (ref == null) return null;
        List<SweepRow> picks = new ArrayList<>();
        for (String fam : Plots.FAMILIES) {
            List<SweepRow> fr = rows.stream().filter(r -> !r.failed() && !r.reference() && fam.equals(r.family())).toList();
            SweepRow best = Pareto.bestWithin(fr, metric, ref.macsPerImage() * budget);
            if (best != null) picks.add(best);
        }
        if (picks.size() < 2) return null;
        List<SweepRow> shown = new ArrayList<>();
        shown.add(ref);
        shown.addAll(picks);
        List<Tensor> imgs = new ArrayList<>();
        for (SweepRow r : shown) {
            Tensor t = ResultStore.readImages(dir.resolve("cache").resolve("samples").resolve(ResultStore.fileName(r.id()) + ".safetensors"));
            if (t == null) return null;
            imgs.add(t);
        }
        int scale = Math.max(1, 64 / Math.max(1, imgs.getFirst().dim(2)));
        int labelW = 360, pad = 2, title = 26;
        List<BufferedImage> strips = new ArrayList<>();
        for (Tensor t : imgs) strips.add(Images.grid(t, t.dim(0), scale));
        int w = labelW + strips.stream().mapToInt(BufferedImage::getWidth).max().orElse(0);
        int h = title + strips.stream().mapToInt(b -> b.getHeight() + pad).sum();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString(String.format(Locale.ROOT, "%s: best of each family within %.0f%% of the reference's MACs (by %s)", ref.scheduler(),
                100 * budget, metric.toUpperCase(Locale.ROOT)), 6, 17);
        int y = title;
        for (int i = 0; i < shown.size(); i++) {
            SweepRow r = shown.get(i);
            BufferedImage s = strips.get(i);
            g.setColor(Plots.color(r.family()));
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 12));
            g.drawString(r.reference() ? "reference (full-step, " + r.steps() + " steps)" : r.family(), 6, y + 16);
            g.setColor(Color.DARK_GRAY);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            g.drawString(r.reference() ? "" : r.label(), 6, y + 31);
            Double v = r.metric(metric);
            g.drawString(String.format(Locale.ROOT, "MACs %.0f%%%s", 100 * r.macFraction(),
                    r.reference() || v == null ? "" : String.format(Locale.ROOT, ", %s %s", metric.toUpperCase(Locale.ROOT), format(metric, v))), 6, y + 46);
            g.drawImage(s, labelW, y, null);
            y += s.getHeight() + pad;
        }
        g.dispose();
        return out;
    }
}
