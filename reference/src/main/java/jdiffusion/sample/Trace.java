package jdiffusion.sample;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.weights.AtomicFiles;

import java.nio.file.Path;
import java.util.List;

/**
 * The explanation of one sampling run: per step what ran and what it cost, and a summary against a
 * full-step run of the same length. JSON ({@link #toJson}): model, scheduler, policy, steps,
 * unet_calls, partial_calls, macs, full_step_macs, mac_speedup, ms, pattern, batch,
 * sample_evaluations; per step index, timestep, action, unet_calls, macs, ms, resolution, criterion
 * (when the decision had one), sample_actions (one action word per sample) and sample_criteria (one
 * object per sample, when decisions were made per sample).
 *
 * @param fullStepMacs MACs one full UNet evaluation costs at full resolution with this batch (the
 *                     yardstick for "MACs vs full")
 */
public record Trace(String model, String scheduler, String policy, int steps, long fullStepMacs, List<StepRecord> records) {

    public int unetCalls() {
        return records.stream().mapToInt(StepRecord::unetCalls).sum();
    }

    /** Samples in the batch. */
    public int batch() {
        return records.isEmpty() ? 0 : records.getFirst().samples().size();
    }

    /** UNet evaluations counted per sample over the run (a [uncond, cond] pair counts once): batch × steps for full-step. */
    public int sampleEvaluations() {
        return records.stream().mapToInt(StepRecord::sampleEvaluations).sum();
    }

    public long partialCalls() {
        return count(StepAction.PARTIAL);
    }

    public long skippedSteps() {
        return count(StepAction.SKIPPED);
    }

    private long count(StepAction a) {
        return records.stream().filter(r -> r.action() == a).count();
    }

    public long totalMacs() {
        return records.stream().mapToLong(StepRecord::macs).sum();
    }

    public double totalMs() {
        return records.stream().mapToDouble(StepRecord::ms).sum();
    }

    /** Full-step MACs over this run's MACs. */
    public double macSpeedup() {
        long m = totalMacs();
        return m == 0 ? Double.POSITIVE_INFINITY : (double) fullStepMacs * steps / m;
    }

    /** The computed/skipped pattern, one character per step: F full, P partial, S skipped, lower case at low resolution. */
    public String pattern() {
        StringBuilder sb = new StringBuilder();
        for (StepRecord r : records) sb.append(r.action().letter(r.lowRes()));
        return sb.toString();
    }

    /** Sample j's pattern: F full, P partial, S skipped (its own reuse under per-sample decisions), lower case at low resolution. */
    public String samplePattern(int j) {
        StringBuilder sb = new StringBuilder();
        for (StepRecord r : records) sb.append(r.samples().get(j).action().letter(r.lowRes()));
        return sb.toString();
    }

    /** Whether any step decided per sample (its samples' actions differ or carry their own criterion). */
    public boolean perSample() {
        return records.stream().anyMatch(r -> r.samples().stream().anyMatch(s -> s.action() != r.action() || !s.criterion().isEmpty()));
    }

    public String summary() {
        String s = String.format("%s | %s | %d steps: %d full UNet calls, %d partial, %d skipped | MACs %.3g G (%.1f%% of full-step, %.2fx) | %.0f ms | pattern %s",
                policy, scheduler, steps, unetCalls(), partialCalls(),
                skippedSteps(),
                totalMacs() / 1e9, 100.0 * totalMacs() / Math.max(1, (double) fullStepMacs * steps), macSpeedup(), totalMs(), pattern());
        if (!perSample()) return s;
        StringBuilder sb = new StringBuilder(s).append(String.format("%n  per sample: %d of %d sample evaluations", sampleEvaluations(), batch() * steps));
        for (int j = 0; j < batch(); j++) sb.append(String.format("%n  sample %d  %s", j, samplePattern(j)));
        return sb.toString();
    }

    public ObjectNode toJson() {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.put("model", model);
        root.put("scheduler", scheduler);
        root.put("policy", policy);
        root.put("steps", steps);
        root.put("unet_calls", unetCalls());
        root.put("partial_calls", partialCalls());
        root.put("macs", totalMacs());
        root.put("full_step_macs", fullStepMacs * steps);
        root.put("mac_speedup", macSpeedup());
        root.put("ms", totalMs());
        root.put("pattern", pattern());
        root.put("batch", batch());
        root.put("sample_evaluations", sampleEvaluations());
        ArrayNode steps = root.putArray("steps");
        for (StepRecord r : records) {
            ObjectNode s = steps.addObject();
            s.put("index", r.index());
            s.put("timestep", r.timestep());
            s.put("action", r.label());
            s.put("unet_calls", r.unetCalls());
            s.put("macs", r.macs());
            s.put("ms", r.ms());
            ArrayNode res = s.putArray("resolution");
            for (int d : r.resolution()) res.add(d);
            if (!r.criterion().isEmpty()) {
                ObjectNode c = s.putObject("criterion");
                r.criterion().forEach(c::put);
            }
            ArrayNode actions = s.putArray("sample_actions");
            for (StepPlan.Sample p : r.samples()) actions.add((r.lowRes() ? "low-res " : "") + p.action().label());
            if (r.samples().stream().anyMatch(p -> !p.criterion().isEmpty())) {
                ArrayNode crit = s.putArray("sample_criteria");
                for (StepPlan.Sample p : r.samples()) {
                    ObjectNode c = crit.addObject();
                    p.criterion().forEach(c::put);
                }
            }
        }
        return root;
    }

    /** Writes {@link #toJson()} to {@code file}, atomically ({@link AtomicFiles}). */
    public void writeJson(Path file) {
        ObjectNode json = toJson();
        AtomicFiles.write(file, out -> new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out, json));
    }
}
