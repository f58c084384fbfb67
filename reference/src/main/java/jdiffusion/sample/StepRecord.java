package jdiffusion.sample;

import java.util.List;
import java.util.Map;

/**
 * What happened at one sampling step, as the trace reports it.
 *
 * @param action     full, partial or skipped (full when the UNet ran for any sample of a per-sample plan)
 * @param lowRes     whether the latent was below the model's full resolution (mixed resolution)
 * @param macs       multiply-accumulates actually executed in the UNet this step (the samples it ran for)
 * @param ms         wall time of the step (model + guidance + scheduler), milliseconds
 * @param resolution the latent's height and width at this step
 * @param samples    per sample of the batch: its action and, for per-sample decisions, their criterion
 */
public record StepRecord(int index, float timestep, StepAction action, boolean lowRes, long macs, double ms,
                         int[] resolution, Map<String, Double> criterion, List<StepPlan.Sample> samples) {

    public StepRecord {
        samples = List.copyOf(samples);
    }

    /** Full UNet evaluations this step: 1 for a full step (on all samples or a sub-batch), 0 for skipped and partial ones. */
    public int unetCalls() {
        return action == StepAction.FULL ? 1 : 0;
    }

    /** Samples the UNet ran for this step (fully or partially; a [uncond, cond] pair counts once). */
    public int sampleEvaluations() {
        return (int) samples.stream().filter(s -> s.action().callsModel()).count();
    }

    /** The trace file's word for the step: "full", "partial", "skipped", prefixed "low-res " at reduced resolution. */
    public String label() {
        return (lowRes ? "low-res " : "") + action.label();
    }
}
