package jdiffusion.sweep;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.weights.AtomicFiles;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The sweep's machine-readable files: results.csv and results.json (every row), each written atomically. */
final class ReportWriters {
    private ReportWriters() {
    }

    static final List<String> CSV_COLUMNS = List.of("id", "scheduler", "steps", "family", "label", "policy", "reference", "images", "batch",
            "full_steps", "partial_steps", "skipped_steps", "low_res_steps", "macs_per_image", "ms_per_image", "latency_ms", "ref_latency_ms",
            "mac_fraction", "mac_speedup", "time_speedup", "identical", "psnr", "ssim", "lpips", "fd", "accuracy", "pattern", "seconds", "error");

    static Path writeCsv(Path f, List<SweepRow> rows) {
        StringBuilder sb = new StringBuilder(String.join(",", CSV_COLUMNS)).append('\n');
        for (SweepRow r : rows) {
            List<Object> v = List.of(r.id(), r.scheduler(), r.steps(), r.family(), r.label(), nz(r.policy()), r.reference(), r.images(), r.batch(),
                    r.fullSteps(), r.partialSteps(), r.skippedSteps(), r.lowResSteps(), r.macsPerImage(), r.msPerImage(), r.latencyMs(), r.refLatencyMs(),
                    r.macFraction(), r.macSpeedup(), r.timeSpeedup(), r.identical(), nz(r.psnr()), nz(r.ssim()), nz(r.lpips()), nz(r.fd()),
                    nz(r.accuracy()), nz(r.pattern()), r.seconds(), nz(r.error()));
            List<String> cells = new ArrayList<>();
            for (Object o : v) cells.add(csv(o));
            sb.append(String.join(",", cells)).append('\n');
        }
        AtomicFiles.writeString(f, sb.toString());
        return f;
    }

    private static Object nz(Object o) {
        return o == null ? "" : o;
    }

    private static String csv(Object o) {
        String s = o instanceof Double d ? (d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString(d.longValue()) : Double.toString(d)) : o.toString();
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    static Path writeJson(Path f, List<SweepRow> rows, Report.Info info) {
        ObjectNode root = ResultStore.JSON.createObjectNode();
        root.put("model", info.model());
        root.put("model_dir", info.modelDir());
        ObjectNode set = root.putObject("settings");
        set.put("groups", String.join(",", info.groups()));
        set.put("seeds_per_group", info.perGroup());
        set.put("seed", info.seed());
        if (info.guidance() != null) set.put("guidance", info.guidance());
        set.put("batch", info.batch());
        set.put("reference_steps", info.referenceSteps());
        set.put("backend", info.backend());
        if (info.realSource() != null) root.put("fd_reference", info.realSource());
        if (info.fdFloor() != null) root.put("fd_floor", info.fdFloor());
        ArrayNode notes = root.putArray("notes");
        info.notes().forEach(notes::add);
        ArrayNode cmds = root.putArray("commands");
        info.commands().forEach(cmds::add);
        root.set("rows", ResultStore.JSON.valueToTree(rows));
        AtomicFiles.write(f, out -> ResultStore.JSON.writerWithDefaultPrettyPrinter().writeValue(out, root));
        return f;
    }
}
