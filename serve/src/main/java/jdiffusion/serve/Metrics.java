package jdiffusion.serve;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * GET /metrics: Micrometer meters in the Prometheus text format. Names as Prometheus shows them:
 * jdiffusion_queue_depth, jdiffusion_jobs_running, jdiffusion_requests_total{outcome}, jdiffusion_batch_images
 * (histogram of images per UNet batch), jdiffusion_batch_requests, jdiffusion_step_seconds (histogram),
 * jdiffusion_request_seconds (accepted → answered), jdiffusion_images_total (images delivered; images/s =
 * rate(jdiffusion_images_total[1m])), plus JVM memory, threads and CPU.
 */
final class Metrics {
    /** Outcomes of POST /v1/images. */
    enum Outcome { OK, BAD_REQUEST, REJECTED, UNAVAILABLE, CANCELLED, ERROR }

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final DistributionSummary batchImages, batchRequests;
    private final Timer step, request;
    private final Counter images;

    Metrics(int maxBatch, Supplier<Number> queueDepth, Supplier<Number> running) {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        Gauge.builder("jdiffusion.queue.depth", queueDepth).description("jobs accepted and waiting for a batch").register(registry);
        Gauge.builder("jdiffusion.jobs.running", running).description("jobs in the batch on the UNet").register(registry);
        for (Outcome o : Outcome.values()) outcome(o);
        batchImages = DistributionSummary.builder("jdiffusion.batch.images").description("images per UNet batch")
                .serviceLevelObjectives(buckets(Math.max(maxBatch, ServeConfig.MAX_IMAGES_PER_REQUEST))).register(registry);
        batchRequests = DistributionSummary.builder("jdiffusion.batch.requests").description("requests per UNet batch")
                .serviceLevelObjectives(buckets(maxBatch)).register(registry);
        step = Timer.builder("jdiffusion.step").description("wall time of one sampling step of a batch")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60)).register(registry);
        request = Timer.builder("jdiffusion.request").description("accepted to answered, per finished job")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(10)).maximumExpectedValue(Duration.ofMinutes(30)).register(registry);
        images = Counter.builder("jdiffusion.images").description("images generated").register(registry);
    }

    private static double[] buckets(int max) {
        double[] b = new double[max];
        for (int i = 0; i < max; i++) b[i] = i + 1;
        return b;
    }

    private Counter outcome(Outcome o) {
        return Counter.builder("jdiffusion.requests").description("POST /v1/images by outcome")
                .tag("outcome", o.name().toLowerCase(java.util.Locale.ROOT)).register(registry);
    }

    void count(Outcome o) {
        outcome(o).increment();
    }

    void batch(int imageCount, int requestCount) {
        batchImages.record(imageCount);
        batchRequests.record(requestCount);
    }

    void step(double ms) {
        step.record((long) (ms * 1e6), TimeUnit.NANOSECONDS);
    }

    /** A job ended: its outcome, its time since acceptance and, when done, its images. */
    void finished(Job j) {
        request.record(System.nanoTime() - j.acceptedNanos(), TimeUnit.NANOSECONDS);
        switch (j.state()) {
            case DONE -> {
                count(Outcome.OK);
                images.increment(j.request().numImages());
            }
            case CANCELLED -> count(Outcome.CANCELLED);
            case FAILED -> count(Outcome.ERROR);
            default -> throw new IllegalStateException("job " + j.id() + " finished in state " + j.state());
        }
    }

    String scrape() {
        return registry.scrape();
    }
}
