package jdiffusion.sample;

import java.util.Map;

/**
 * What happened at one sampling step, as the trace reports it.
 *
 * @param action     full, partial or skipped
 * @param lowRes     whether the latent was below the model's full resolution (mixed resolution)
 * @param macs       multiply-accumulates actually executed in the UNet this step (all batch elements)
 * @param ms         wall time of the step (model + guidance + scheduler), milliseconds
 * @param resolution the latent's height and width at this step
 */
public record StepRecord(int index, float timestep, StepAction action, boolean lowRes, long macs, double ms,
                         int[] resolution, Map<String, Double> criterion) {

    /** Full UNet evaluations this step: 1 for a full step, 0 for skipped and partial ones. */
    public int unetCalls() {
        return action == StepAction.FULL ? 1 : 0;
    }

    /** The trace file's word for the step: "full", "partial", "skipped", prefixed "low-res " at reduced resolution. */
    public String label() {
        return (lowRes ? "low-res " : "") + action.label();
    }
}
