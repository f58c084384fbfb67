package jdiffusion.serve;

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
 * A batch of 4 different requests = the 4 requests alone: same images, same traces.
 *
 * <p>Bit-for-bit equality needs batch-invariant kernels; today CpuBackend.conv2d picks Winograd or im2col by
 * batch × tiles, so the images of a shared batch may differ from the single runs in the last bits. Until the
 * batch-invariance work is merged this test asserts them equal within 1e-6 relative L2 and prints the
 * bit-level verdict ("batching equivalence: bit-identical …"); everything else (noise, conditioning,
 * traces, MAC shares, which steps ran) is asserted exactly.
 */
class BatchingEquivalenceTest {
    static final double TOLERANCE = 1e-6;

    @Test
    void aBatchOfFourDifferentRequestsEqualsTheFourAlone() throws Exception {
        // two groups of 4 requests, each filling an 8-image batch: unconditional full-step, and class-conditional
        // with guidance and DeepCache (its caches hold all rows)
        List<List<String>> groups = List.of(
                List.of("{\"seed\":1,\"steps\":4}", "{\"seed\":2,\"steps\":4,\"num_images\":2}",
                        "{\"seed\":3,\"steps\":4,\"num_images\":2}", "{\"seed\":-4,\"steps\":4,\"num_images\":3}"),
                List.of(cond("\"seed\":5,\"class\":\"Bag\""), cond("\"seed\":6,\"class\":7"),
                        cond("\"seed\":7,\"num_images\":2,\"class\":[\"Shirt\",\"Coat\"]"), cond("\"seed\":8,\"num_images\":4")));
        List<String> verdicts = new ArrayList<>();
        boolean allBits = true;
        double worst = 0;
        try (Server batched = TestServers.start(TestServers.config().withQueue(16, 8, Duration.ofSeconds(30)));
             Server alone = TestServers.start(TestServers.config().withQueue(16, 1, Duration.ZERO))) {
            for (List<String> group : groups) {
                List<String> ids = new ArrayList<>();
                for (String req : group) ids.add(submit(batched, req));
                for (int k = 0; k < group.size(); k++) {
                    JobResult b = result(batched, ids.get(k));
                    assertEquals(4, b.batchRequests(), "the 4 requests shared one batch");
                    assertEquals(8, b.batchImages());
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
                    verdicts.add(group.get(k) + ": " + (bits ? "bit-identical" : "rel L2 " + rel) + (Arrays.equals(a.grid(), b.grid()) ? ", same PNG" : ", PNG differs"));
                    assertTrue(rel <= TOLERANCE, group.get(k) + " batched vs alone: relative L2 " + rel);
                }
            }
        }
        System.out.println("batching equivalence: bit-identical = " + allBits + ", worst relative L2 = " + worst);
        verdicts.forEach(v -> System.out.println("  " + v));
    }

    private static String cond(String fields) {
        return "{\"model\":\"fashion-cond-32\",\"steps\":4,\"guidance\":3,\"accel\":{\"method\":\"deepcache\",\"interval\":2}," + fields + "}";
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
}
