package jdiffusion.sample;

import java.util.Map;

/**
 * What happened at one sampling step, as the trace reports it.
 *
 * @param action    "full", "partial", "skipped", "low-res full", ...
 * @param unetCalls full UNet evaluations this step (1 for "full"; 0 for skipped and partial steps)
 * @param macs      multiply-accumulates actually executed in the UNet this step (all batch elements)
 * @param ms        wall time of the step (model + guidance + scheduler), milliseconds
 */
public record StepRecord(int index, float timestep, String action, int unetCalls, long macs, double ms,
                         int[] resolution, Map<String, Double> criterion) {
}
