package jdiffusion.sweep;

import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.Marker;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The sweep's charts (XChart, rendered headless to images): fidelity vs MACs with the Pareto frontier; skip counts. */
public final class Plots {
    private Plots() {
    }

    /** Families in legend order, each with a colour and a marker. */
    static final List<String> FAMILIES = List.of("full-step", "AdaptiveDiffusion", "DeepCache", "mixed-res", "xattn cache",
            "hybrid cache", "PostDiff", "combination");
    private static final Color[] COLORS = {new Color(30, 30, 30), new Color(31, 119, 180), new Color(44, 160, 44), new Color(255, 127, 14),
            new Color(140, 86, 75), new Color(148, 103, 189), new Color(214, 39, 40), new Color(23, 190, 207)};
    private static final Marker[] MARKERS = {SeriesMarkers.CIRCLE, SeriesMarkers.DIAMOND, SeriesMarkers.SQUARE, SeriesMarkers.TRIANGLE_UP,
            SeriesMarkers.TRIANGLE_DOWN, SeriesMarkers.OVAL, SeriesMarkers.RECTANGLE, SeriesMarkers.CROSS};

    static Color color(String family) {
        int i = FAMILIES.indexOf(family);
        return COLORS[i < 0 ? COLORS.length - 1 : i];
    }

    static String metricTitle(String metric) {
        return switch (metric) {
            case "psnr" -> "PSNR vs reference (dB, higher is better)";
            case "ssim" -> "SSIM vs reference (higher is better)";
            case "lpips" -> "LPIPS vs reference (lower is better)";
            case "fd" -> "FD-FMNIST vs test set (lower is better)";
            case "accuracy" -> "class accuracy (higher is better)";
            default -> metric;
        };
    }

    /** MACs per image in M or G, whichever reads better for this range. */
    static double macScale(List<SweepRow> rows) {
        double max = rows.stream().mapToDouble(SweepRow::macsPerImage).max().orElse(1);
        return max >= 1e10 ? 1e9 : 1e6;
    }

    static String macUnit(double scale) {
        return scale == 1e9 ? "GMACs" : "MMACs";
    }

    /** One panel: {@code metric} against MACs per image, one series per family, the frontier as a dashed line. */
    public static XYChart fidelityChart(List<SweepRow> rows, String metric, String title, int width, int height) {
        double scale = macScale(rows);
        XYChart chart = new XYChartBuilder().width(width).height(height).title(title)
                .xAxisTitle(macUnit(scale) + " per image (UNet)").yAxisTitle(metricTitle(metric)).build();
        org.knowm.xchart.style.XYStyler st = chart.getStyler();
        st.setChartBackgroundColor(Color.WHITE);
        st.setLegendPosition(Styler.LegendPosition.OutsideS);
        st.setLegendLayout(Styler.LegendLayout.Horizontal);
        st.setMarkerSize(9);
        st.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        st.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        st.setAnnotationTextFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        chart.getStyler().setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        Map<String, List<SweepRow>> byFamily = new LinkedHashMap<>();
        for (String f : FAMILIES) byFamily.put(f, new ArrayList<>());
        List<SweepRow> usable = new ArrayList<>();
        for (SweepRow r : rows) {
            Double v = r.metric(metric);
            if (r.failed() || v == null || v.isNaN() || v.isInfinite()) continue;
            usable.add(r);
            byFamily.computeIfAbsent(r.family(), k -> new ArrayList<>()).add(r);
        }
        if (usable.isEmpty()) {
            chart.addSeries("no data", new double[]{0}, new double[]{0}).setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            return chart;
        }
        int fi = 0;
        for (var e : byFamily.entrySet()) {
            List<SweepRow> fr = new ArrayList<>(e.getValue());
            int idx = fi++;
            if (fr.isEmpty()) continue;
            fr.sort(Comparator.comparingDouble(SweepRow::macsPerImage));
            double[] x = fr.stream().mapToDouble(r -> r.macsPerImage() / scale).toArray();
            double[] y = fr.stream().mapToDouble(r -> r.metric(metric)).toArray();
            XYSeries s = chart.addSeries(e.getKey(), x, y);
            // full-step at k steps is drawn as a line: the "fewer steps" curve
            s.setXYSeriesRenderStyle(e.getKey().equals("full-step") ? XYSeries.XYSeriesRenderStyle.Line : XYSeries.XYSeriesRenderStyle.Scatter);
            s.setMarkerColor(color(e.getKey()));
            s.setLineColor(color(e.getKey()));
            s.setMarker(MARKERS[Math.min(idx, MARKERS.length - 1)]);
        }
        double maxX = usable.stream().mapToDouble(r -> r.macsPerImage() / scale).max().orElse(1);
        st.setXAxisMin(0.0);   // compute axes start at zero: ratios read off the plot honestly
        st.setXAxisMax(maxX * 1.06);
        List<SweepRow> front = Pareto.frontier(usable, metric);
        if (front.size() >= 1) {
            double[] x = front.stream().mapToDouble(r -> r.macsPerImage() / scale).toArray();
            double[] y = front.stream().mapToDouble(r -> r.metric(metric)).toArray();
            XYSeries s = chart.addSeries("Pareto frontier", x, y);
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(new Color(220, 0, 120));
            s.setLineStyle(SeriesLines.DASH_DASH);
            double lo = usable.stream().mapToDouble(r -> r.metric(metric)).min().orElse(0);
            double hi = usable.stream().mapToDouble(r -> r.metric(metric)).max().orElse(1);
            double dy = (hi - lo) * 0.035;
            for (SweepRow r : front)
                chart.addAnnotation(new AnnotationText(shortName(r), r.macsPerImage() / scale, r.metric(metric) + (SweepRow.higherIsBetter(metric) ? -dy : dy), false));
        }
        return chart;
    }

    /** "dc-n3-b0-u@50" without the scheduler, for annotations. */
    static String shortName(SweepRow r) {
        return r.config().policyId();
    }

    /**
     * One image per scheduler: a panel per metric (PSNR, LPIPS, FD, accuracy, whichever exist), two per row.
     */
    public static BufferedImage fidelityFigure(List<SweepRow> rows, List<String> metrics, String title) {
        int w = 820, h = 580;
        List<BufferedImage> panels = new ArrayList<>();
        for (String m : metrics) panels.add(BitmapEncoder.getBufferedImage(fidelityChart(rows, m, title + ": " + m.toUpperCase(), w, h)));
        int cols = Math.min(2, panels.size()), rowsN = (panels.size() + cols - 1) / cols;
        BufferedImage out = new BufferedImage(cols * w, rowsN * h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, out.getWidth(), out.getHeight());
        for (int i = 0; i < panels.size(); i++) g.drawImage(panels.get(i), (i % cols) * w, (i / cols) * h, null);
        g.dispose();
        return out;
    }

    /**
     * Skipped steps per group (class/prompt) for each AdaptiveDiffusion configuration: bars of the mean
     * over the group's images with ± one standard deviation; for a single group (unconditional), one bar
     * per configuration.
     */
    public static BufferedImage skipChart(List<SweepRow> adaptiveRows, List<String> groups, String title) {
        CategoryChart chart = new CategoryChartBuilder().width(1100).height(520).title(title)
                .xAxisTitle(groups.size() > 1 ? "class / prompt" : "configuration").yAxisTitle("skipped steps per image (mean ± sd)").build();
        Styler st = chart.getStyler();
        st.setChartBackgroundColor(Color.WHITE);
        st.setLegendPosition(Styler.LegendPosition.OutsideS);
        st.setLegendLayout(Styler.LegendLayout.Horizontal);
        if (groups.size() > 1) {
            for (SweepRow r : adaptiveRows) {
                List<Double> mean = new ArrayList<>(), sd = new ArrayList<>();
                for (String g : groups) {
                    double[] v = SkipStats.skips(r, g);
                    mean.add(SkipStats.mean(v));
                    sd.add(SkipStats.sd(v));
                }
                chart.addSeries(shortName(r), groups, mean, sd);
            }
        } else {
            List<String> names = new ArrayList<>();
            List<Double> mean = new ArrayList<>(), sd = new ArrayList<>();
            for (SweepRow r : adaptiveRows) {
                double[] v = SkipStats.skips(r, null);
                names.add(shortName(r));
                mean.add(SkipStats.mean(v));
                sd.add(SkipStats.sd(v));
            }
            if (!names.isEmpty()) chart.addSeries("skipped steps", names, mean, sd);
        }
        if (chart.getSeriesMap().isEmpty()) chart.addSeries("no AdaptiveDiffusion rows", List.of("-"), List.of(0.0));
        return BitmapEncoder.getBufferedImage(chart);
    }
}
