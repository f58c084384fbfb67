package jdiffusion.sweep;

import jdiffusion.accel.PolicySpec;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/**
 * One finished configuration: what it cost and how close it came, one line of {@code rows.jsonl}.
 * Per-run step counts are averages over the configuration's batches (runs); MACs and times are per
 * image. Fidelity metrics are null where they do not apply or could not be computed (e.g. no LPIPS
 * weights, no classifier); PSNR is null for images identical to the reference.
 *
 * @param reference     whether this is its scheduler's full-step reference
 * @param batch         images per run (AdaptiveDiffusion configurations run one image per batch)
 * @param macFraction   MACs per image over the reference's
 * @param macSpeedup    reference MACs over this configuration's
 * @param msPerImage    measured wall time of the sampling loop per image (total / images)
 * @param latencyMs     the same, estimated robustly on a shared machine: per kind of step (full, partial,
 *                      skipped, low-res …) the median time per image over all its steps, summed over the
 *                      run's steps; a burst of other work moves a total but hardly a median
 * @param refLatencyMs  the reference's latencyMs at this configuration's batch size
 * @param timeSpeedup   refLatencyMs / latencyMs
 * @param identical     whether the images are bit-identical to the reference's (PSNR ∞)
 * @param psnr          dB vs the reference images (pooled MSE over all images), null if identical
 * @param lpips         mean LPIPS vs the reference images
 * @param fd            Fréchet distance of the classifier features to the real test set (FD-FMNIST)
 * @param accuracy      fraction of images the classifier assigns to the class they were generated for
 * @param runs          one entry per batch: group (class/prompt), first image, skipped steps, pattern
 * @param seconds       wall time of the whole configuration (sampling + metrics)
 * @param error         why the configuration could not run (other fields then empty)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record SweepRow(String id, String scheduler, int steps, String family, String label, String policy, PolicySpec spec,
                       boolean reference, int images, int batch,
                       double fullSteps, double partialSteps, double skippedSteps, double lowResSteps,
                       double macsPerImage, double msPerImage, double latencyMs, double refLatencyMs, double macFraction, double macSpeedup,
                       double timeSpeedup,
                       boolean identical, Double psnr, Double ssim, Double lpips, Double fd, Double accuracy,
                       String pattern, List<RunRecord> runs, double seconds, String finished, String error) {

    /** One batch of a configuration. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record RunRecord(String group, int first, int images, int skipped, String pattern) {
    }

    public SweepConfig config() {
        return new SweepConfig(scheduler, steps, spec);
    }

    public boolean failed() {
        return error != null;
    }

    /** A failed configuration, kept so that a resumed sweep does not retry it. */
    public static SweepRow failure(SweepConfig c, String error) {
        return new SweepRow(c.id(), c.scheduler(), c.steps(), c.family(), c.label(), null, c.policy(), false, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, null, null, null, null, null, null, null, 0, java.time.Instant.now().toString(), error);
    }

    /** The value of a metric by name (psnr, ssim, lpips, fd, accuracy); null where absent. */
    public Double metric(String name) {
        return switch (name) {
            case "psnr" -> psnr != null ? psnr : identical ? Double.POSITIVE_INFINITY : null;
            case "ssim" -> ssim;
            case "lpips" -> lpips;
            case "fd" -> fd;
            case "accuracy" -> accuracy;
            default -> throw new IllegalArgumentException("unknown metric '" + name + "' (psnr, ssim, lpips, fd, accuracy)");
        };
    }

    /** Whether larger values of the metric are better. */
    public static boolean higherIsBetter(String metric) {
        return switch (metric) {
            case "psnr", "ssim", "accuracy" -> true;
            case "lpips", "fd" -> false;
            default -> throw new IllegalArgumentException("unknown metric '" + metric + "' (psnr, ssim, lpips, fd, accuracy)");
        };
    }
}
