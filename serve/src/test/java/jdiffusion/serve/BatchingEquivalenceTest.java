package jdiffusion.serve;

import jdiffusion.kernels.Backend;
import jdiffusion.kernels.Backends;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static jdiffusion.serve.TestServers.submit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A batch of 4 different requests = the 4 requests alone: same images bit for bit, same traces (which steps
 * ran, each request's share of the MACs), whatever the companions — on the scalar reference backend, whose
 * kernels compute every image alone, and on the CPU backend, whose kernels are batch-invariant (algorithms
 * chosen per sample shape; {@code BatchInvarianceTest} in reference). The server's part (per-request noise,
 * conditioning rows, one policy and scheduler for the batch, the split of the trace) is exact. On the CPU
 * backend two more groups share a batch since the engine allows it: DDPM (step noise from each image's own
 * stream) and per-sample AdaptiveDiffusion (each image decides on its own latents, so the images compute at
 * different steps inside one batch).
 */
class BatchingEquivalenceTest {

    /**
     * Two groups of 4 requests, each one batch: unconditional full-step; class-conditional, guided, DeepCache.
     * The full size fills 8-image batches; the small one (for the slow scalar backend) has 5 images at 1 step
     * and 4 at 2 steps (a full and a DeepCache-partial one).
     */
    static List<List<String>> groups(int steps, boolean small) {
        String s = "\"steps\":" + steps, su = small ? "\"steps\":1" : s;   // the small unconditional group: 1 step
        String cond = "\"model\":\"fashion-cond-32\"," + s + ",\"guidance\":3,\"accel\":{\"method\":\"deepcache\",\"interval\":2},";
        return List.of(
                List.of("{\"seed\":1," + su + "}", "{\"seed\":2," + su + ",\"num_images\":2}",
                        "{\"seed\":3," + su + (small ? "" : ",\"num_images\":2") + "}", "{\"seed\":-4," + su + ",\"num_images\":" + (small ? 1 : 3) + "}"),
                List.of("{" + cond + "\"seed\":5,\"class\":\"Bag\"}", "{" + cond + "\"seed\":6,\"class\":7}",
                        "{" + cond + "\"seed\":7," + (small ? "\"class\":\"Shirt\"}" : "\"num_images\":2,\"class\":[\"Shirt\",\"Coat\"]}"),
                        "{" + cond + "\"seed\":8,\"num_images\":" + (small ? 1 : 4) + "}"));
    }

    @Test
    void onTheScalarReferenceBackend_aBatchOfFourEqualsTheFourAlone_bitForBit() throws Exception {
        Result r = compare(Backends.create("scalar", 1), groups(2, true));
        r.print("scalar");
        assertTrue(r.allBits, "batched vs alone on the scalar backend must be bit-identical:\n" + String.join("\n", r.verdicts));
    }

    /** DDPM (stochastic) on the unconditional model; per-sample AdaptiveDiffusion, guided, on the conditional one. */
    static List<List<String>> sharedSinceBatchInvariance() {
        String ddpm = "\"scheduler\":\"ddpm\",\"steps\":4";
        String ad = "\"model\":\"fashion-cond-32\",\"steps\":12,\"scheduler\":\"dpmpp2m\",\"guidance\":3,"
                + "\"accel\":{\"method\":\"adaptive\",\"delta\":0.05,\"adaptive_scope\":\"sample\"},";
        return List.of(
                List.of("{" + ddpm + ",\"seed\":11}", "{" + ddpm + ",\"seed\":12,\"num_images\":2}", "{" + ddpm + ",\"seed\":13}",
                        "{" + ddpm + ",\"seed\":14,\"num_images\":3}"),
                List.of("{" + ad + "\"seed\":21,\"class\":\"Trouser\"}", "{" + ad + "\"seed\":22,\"num_images\":2,\"class\":[\"Shirt\",\"Bag\"]}",
                        "{" + ad + "\"seed\":23,\"class\":\"Sneaker\"}", "{" + ad + "\"seed\":24,\"num_images\":3}"));
    }

    @Test
    void onTheCpuBackend_aBatchOfFourEqualsTheFourAlone_bitForBit() throws Exception {
        List<List<String>> groups = new ArrayList<>(groups(4, false));
        groups.addAll(sharedSinceBatchInvariance());
        Result r = compare(TestServers.backend(), groups);
        r.print("cpu");
        assertTrue(r.allBits, "batched vs alone on the cpu backend must be bit-identical:\n" + String.join("\n", r.verdicts));
    }

    record Result(boolean allBits, double worst, List<String> verdicts) {
        void print(String backend) {
            System.out.println("batching equivalence (" + backend + "): bit-identical = " + allBits + ", worst relative L2 = " + worst);
            verdicts.forEach(v -> System.out.println("  " + v));
        }
    }

    /** Runs each group as one shared batch and each request alone on {@code backend}; exact checks inline. */
    static Result compare(Backend backend, List<List<String>> groups) throws Exception {
        List<String> verdicts = new ArrayList<>();
        boolean allBits = true;
        double worst = 0;
        try (Server batched = new Server(TestServers.config().withQueue(16, 8, Duration.ofSeconds(10)), TestServers.models(), backend).start();
             Server alone = new Server(TestServers.config().withQueue(16, 1, Duration.ZERO), TestServers.models(), backend).start()) {
            for (List<String> group : groups) {
                int images = 0;
                List<String> ids = new ArrayList<>();
                for (String req : group) ids.add(submit(batched, req));
                for (String id : ids) images += batched.batcher().job(id).request().numImages();
                for (int k = 0; k < group.size(); k++) {
                    JobResult b = result(batched, ids.get(k));
                    assertEquals(4, b.batchRequests(), "the 4 requests shared one batch");
                    assertEquals(images, b.batchImages());
                    JobResult a = result(alone, submit(alone, group.get(k)));
                    assertEquals(1, a.batchRequests());
                    assertEquals(a.trace().pattern(), b.trace().pattern(), "same steps run");
                    assertEquals(a.trace().totalMacs(), b.trace().totalMacs(), "a request's share of the batch's MACs = its MACs alone");
                    assertEquals(a.trace().fullStepMacs(), b.trace().fullStepMacs());
                    assertEquals(a.trace().unetCalls(), b.trace().unetCalls());
                    float[] x = b.images().data(), y = a.images().data();
                    assertEquals(y.length, x.length);
                    boolean bits = Arrays.equals(x, y);
                    double rel = relL2(x, y);
                    allBits &= bits;
                    worst = Math.max(worst, rel);
                    verdicts.add(group.get(k) + ": " + (bits ? "bit-identical" : "relative L2 " + rel + ", max |Δ| " + maxAbsDiff(x, y))
                            + (Arrays.equals(a.grid(), b.grid()) ? ", same PNG" : ", PNG differs") + ", steps " + b.trace().pattern());
                }
            }
        }
        return new Result(allBits, worst, verdicts);
    }

    private static JobResult result(Server s, String id) throws Exception {
        Job.Outcome o = s.batcher().job(id).outcome().get(5, TimeUnit.MINUTES);
        if (!(o instanceof Job.Done d)) throw new AssertionError(id + " ended " + o);
        return d.result();
    }

    static double relL2(float[] x, float[] y) {
        double num = 0, den = 0;
        for (int i = 0; i < x.length; i++) {
            double d = (double) x[i] - y[i];
            num += d * d;
            den += (double) y[i] * y[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-30));
    }

    static double maxAbsDiff(float[] x, float[] y) {
        double m = 0;
        for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs((double) x[i] - y[i]));
        return m;
    }
}
