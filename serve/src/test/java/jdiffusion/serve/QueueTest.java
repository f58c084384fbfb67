package jdiffusion.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static jdiffusion.serve.TestServers.events;
import static jdiffusion.serve.TestServers.json;
import static jdiffusion.serve.TestServers.post;
import static jdiffusion.serve.TestServers.submit;
import static jdiffusion.serve.TestServers.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bounded queue (429), cancellation of queued and running jobs, and the SSE progress stream. */
class QueueTest {

    /** The real runner behind a gate the test opens: jobs stay queued or running as long as it needs. */
    static final class Gated implements Batcher.Runner {
        final CountDownLatch open = new CountDownLatch(1);
        final BatchRun real = new BatchRun(TestServers.backend());

        @Override
        public List<JobResult> run(List<ImageRequest> requests, StepHook.Listener listener) {
            try {
                if (!open.await(2, TimeUnit.MINUTES)) throw new IllegalStateException("the test never opened the gate");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return real.run(requests, listener);
        }
    }

    private static ServeConfig small(int queue, int batch, Duration window) {
        return TestServers.config().withQueue(queue, batch, window);
    }

    private static String terminal(List<TestServers.Sse> evs) {
        return evs.getLast().name();
    }

    @Test
    void aFullQueueAnswers429WithRetryAfterAndRecovers() throws Exception {
        Gated gate = new Gated();
        try (Server s = TestServers.start(small(2, 1, Duration.ZERO), gate)) {
            String a = submit(s, "{\"seed\":1,\"steps\":2}");
            String b = submit(s, "{\"seed\":2,\"steps\":2}");
            HttpResponse<byte[]> full = post(s, "{\"seed\":3,\"steps\":2}");
            assertEquals(429, full.statusCode(), text(full));
            assertEquals("queue_full", json(full).get("error").get("code").asText());
            int retry = Integer.parseInt(full.headers().firstValue("Retry-After").orElseThrow());
            assertTrue(retry >= 1 && retry <= 60, "Retry-After " + retry);
            HttpResponse<byte[]> fullSync = post(s, "{\"seed\":3,\"steps\":2}", "Prefer", "respond-async");
            assertEquals(429, fullSync.statusCode());
            gate.open.countDown();
            assertEquals("done", terminal(events(s, a)));
            assertEquals("done", terminal(events(s, b)));
            assertEquals(200, post(s, "{\"seed\":3,\"steps\":2}").statusCode(), "a slot is free again");
            assertEquals(2, s.batcher().freeSlots());
            assertTrue(text(TestServers.get(s, "/metrics")).contains("jdiffusion_requests_total{outcome=\"rejected\"} 2.0"));
        }
    }

    @Test
    void cancellingAQueuedJobFreesItsSlotAtOnce() throws Exception {
        Gated gate = new Gated();
        try (Server s = TestServers.start(small(2, 1, Duration.ZERO), gate)) {
            String a = submit(s, "{\"seed\":1,\"steps\":2}");          // taken by the worker, held at the gate
            String b = submit(s, "{\"seed\":2,\"steps\":2}");          // queued behind it
            assertEquals(429, post(s, "{\"seed\":3,\"steps\":2}").statusCode());
            HttpResponse<byte[]> del = TestServers.delete(s, "/v1/jobs/" + b);
            assertEquals(202, del.statusCode(), text(del));
            assertEquals("cancelled", json(del).get("status").asText());
            String c = submit(s, "{\"seed\":3,\"steps\":2}");           // b's slot is free
            List<TestServers.Sse> eb = events(s, b);
            assertEquals(List.of("queued", "cancelled"), eb.stream().map(TestServers.Sse::name).toList());
            HttpResponse<byte[]> again = TestServers.delete(s, "/v1/jobs/" + b);
            assertEquals(409, again.statusCode(), "cancelling twice: " + text(again));
            assertEquals(404, TestServers.delete(s, "/v1/jobs/no-such-job").statusCode());
            gate.open.countDown();
            assertEquals("done", terminal(events(s, a)));
            assertEquals("done", terminal(events(s, c)));
            assertEquals(2, s.batcher().freeSlots());
        }
    }

    @Test
    void cancellingARunningJobStopsItAtTheNextStepBoundary() throws Exception {
        try (Server s = TestServers.start(small(4, 1, Duration.ZERO))) {
            String id = submit(s, "{\"seed\":5,\"steps\":1000}");
            Iterator<String> lines = stream(s, id);
            int seen = 0;
            while (seen < 2 && lines.hasNext()) if (lines.next().startsWith("event: step")) seen++;
            Job job = s.batcher().job(id);
            HttpResponse<byte[]> del = TestServers.delete(s, "/v1/jobs/" + id);
            long stepsAtDelete = job.eventsFrom(0, 0).stream().filter(e -> e.name().equals("step")).count();
            assertEquals(202, del.statusCode(), text(del));
            Job.Outcome o = job.outcome().get(10, TimeUnit.MINUTES);
            assertTrue(o instanceof Job.Cancelled, o.toString());
            long stepsRun = job.eventsFrom(0, 0).stream().filter(e -> e.name().equals("step")).count();
            assertTrue(stepsRun <= stepsAtDelete + 1, "cancelled at the next step boundary: " + stepsAtDelete + " steps when DELETE returned, " + stepsRun + " in all");
            String last = null;
            while (lines.hasNext()) {
                String l = lines.next();
                if (l.startsWith("event: ")) last = l.substring(7);
            }
            assertEquals("cancelled", last);
            for (int i = 0; i < 100 && (s.batcher().freeSlots() != 4 || !s.batcher().running().isEmpty()); i++) Thread.sleep(50);
            assertEquals(4, s.batcher().freeSlots(), "the slot is free");
            assertTrue(s.batcher().running().isEmpty(), "the batch stopped: no job of it was left");

            // a caller waiting synchronously for a job that gets cancelled is answered 409
            CompletableFuture<HttpResponse<byte[]>> sync = CompletableFuture.supplyAsync(() -> post(s, "{\"seed\":6,\"steps\":1000}"));
            Job running = null;
            for (int i = 0; i < 600 && running == null; i++) {
                running = s.batcher().running().stream().findFirst().orElse(null);
                if (running == null) Thread.sleep(50);
            }
            assertTrue(running != null, "the synchronous job started");
            assertEquals(202, TestServers.delete(s, "/v1/jobs/" + running.id()).statusCode());
            HttpResponse<byte[]> r = sync.get(10, TimeUnit.MINUTES);
            assertEquals(409, r.statusCode(), text(r));
            assertEquals("cancelled", json(r).get("error").get("code").asText());
        }
    }

    @Test
    void cancellingOneJobOfASharedBatchLeavesItsCompanionBitForBit() throws Exception {
        try (Server s = TestServers.start(small(8, 8, Duration.ofSeconds(2)))) {
            String keep = "{\"seed\":12,\"steps\":100,\"response_format\":\"json\"}";
            String a = submit(s, "{\"seed\":11,\"steps\":100}");
            String b = submit(s, keep);
            Iterator<String> lines = stream(s, a);
            while (lines.hasNext()) if (lines.next().startsWith("event: step")) break;
            assertEquals(202, TestServers.delete(s, "/v1/jobs/" + a).statusCode());
            JobResult rb = ((Job.Done) s.batcher().job(b).outcome().get(10, TimeUnit.MINUTES)).result();
            assertTrue(s.batcher().job(a).outcome().get() instanceof Job.Cancelled);
            assertEquals(2, rb.batchRequests(), "a and b shared a batch");
            // the same pair again, uncancelled: b's rows are computed exactly as before
            String a2 = submit(s, "{\"seed\":11,\"steps\":100}");
            String b2 = submit(s, keep);
            JobResult rb2 = ((Job.Done) s.batcher().job(b2).outcome().get(10, TimeUnit.MINUTES)).result();
            assertTrue(s.batcher().job(a2).outcome().get() instanceof Job.Done);
            assertEquals(2, rb2.batchRequests());
            assertArrayEquals(rb2.images().data(), rb.images().data(), "cancelling a companion changes nothing in b's images");
        }
    }

    @Test
    void eventsReportEachStepWithItsActionThenTheResult() throws Exception {
        try (Server s = TestServers.start(TestServers.config())) {
            String id = submit(s, "{\"seed\":8,\"steps\":6,\"accel\":{\"method\":\"deepcache\",\"interval\":2}}");
            List<TestServers.Sse> evs = events(s, id);
            List<String> names = evs.stream().map(TestServers.Sse::name).toList();
            assertEquals(List.of("queued", "started", "step", "step", "step", "step", "step", "step", "done"), names);
            List<String> actions = new ArrayList<>();
            for (TestServers.Sse e : evs)
                if (e.name().equals("step")) {
                    assertEquals(actions.size() + 1, e.data().get("step").asInt());
                    assertEquals(6, e.data().get("steps").asInt());
                    assertTrue(e.data().get("ms").asDouble() >= 0);
                    actions.add(e.data().get("action").asText());
                }
            assertEquals(List.of("full", "partial", "full", "partial", "full", "partial"), actions);
            JsonNode done = evs.getLast().data();
            assertEquals("FPFPFP", done.get("trace").get("pattern").asText());
            assertEquals(id, done.get("id").asText());
            assertTrue(done.get("grid").asText().length() > 100);
            assertEquals(names, events(s, id).stream().map(TestServers.Sse::name).toList(), "a late subscriber gets every event");
            HttpResponse<byte[]> noAccept = TestServers.get(s, "/v1/jobs/" + id + "/events");
            assertEquals(406, noAccept.statusCode());
            HttpResponse<byte[]> unknown = TestServers.get(s, "/v1/jobs/nope/events", "Accept", "text/event-stream");
            assertEquals(404, unknown.statusCode());
            assertEquals("id", json(unknown).get("error").get("field").asText());
        }
    }

    /** A job's event stream, line by line, as it arrives. */
    private static Iterator<String> stream(Server s, String id) {
        HttpRequest req = HttpRequest.newBuilder(TestServers.uri(s, "/v1/jobs/" + id + "/events")).header("Accept", "text/event-stream").build();
        try {
            return TestServers.HTTP.send(req, HttpResponse.BodyHandlers.ofLines()).body().iterator();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
