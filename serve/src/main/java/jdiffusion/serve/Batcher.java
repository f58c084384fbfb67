package jdiffusion.serve;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.sample.StepAction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The bounded queue and the one worker that feeds the UNet.
 * <ul>
 *   <li>Admission: at most {@code maxQueue} jobs accepted and not finished (queued + running); one more gets
 *       429 with Retry-After. Memory is bounded by that and by {@code maxBatch}.</li>
 *   <li>Batching: the worker takes the oldest job and, for at most {@code batchWindow}, gathers queued jobs with
 *       the same {@link BatchKey} (oldest first) while the images fit in {@code maxBatch}. A job's own images
 *       always run together (as generate runs them), so one job larger than maxBatch runs alone.</li>
 *   <li>Cancellation: a queued job leaves the queue at once; a running one is finished (answered, slot
 *       freed) at the next step boundary, and the batch stops there when none of its jobs is left.</li>
 *   <li>Failure: an exception in a batch fails that batch's jobs with 500 and an error id in the log; the
 *       worker goes on with the next batch.</li>
 * </ul>
 */
final class Batcher {
    private static final Logger LOG = LoggerFactory.getLogger(Batcher.class);
    /** Finished jobs kept for late SSE subscribers and DELETE answers. */
    static final int RETAINED = 256;

    /** Computes one batch: a result per request, in order. */
    interface Runner {
        List<JobResult> run(List<ImageRequest> requests, StepHook.Listener listener);
    }

    private final ServeConfig cfg;
    private final Runner runner;
    private final Metrics metrics;
    private final Semaphore slots;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Job> queue = new ArrayDeque<>();            // guarded by lock
    private List<Job> running = List.of();                               // guarded by lock
    private final Map<String, Job> jobs = new ConcurrentHashMap<>();
    private final ArrayDeque<String> retained = new ArrayDeque<>();      // guarded by itself
    private final Thread worker;
    private volatile boolean accepting = true;
    private volatile boolean stopped;
    private volatile double batchSeconds = 1;                            // moving average, for Retry-After

    Batcher(ServeConfig cfg, Runner runner) {
        this.cfg = cfg;
        this.runner = runner;
        this.slots = new Semaphore(cfg.maxQueue());
        this.metrics = new Metrics(cfg.maxBatch(), this::queueDepth, this::runningJobs);
        this.worker = Thread.ofPlatform().name("jdiffusion-batcher").daemon(true).unstarted(this::work);
        worker.start();
    }

    Metrics metrics() {
        return metrics;
    }

    /** Accepts a job or refuses it: 503 while shutting down, 429 with Retry-After when the queue is full. */
    Job submit(ImageRequest r) {
        if (!accepting) {
            metrics.count(Metrics.Outcome.UNAVAILABLE);
            throw new ApiError(503, "shutting_down", null, "the server is shutting down and accepts no new jobs", 5);
        }
        if (!slots.tryAcquire()) {
            metrics.count(Metrics.Outcome.REJECTED);
            throw new ApiError(429, "queue_full", null, "the queue is full (" + cfg.maxQueue() + " jobs accepted and not finished); retry later",
                    retryAfterSeconds());
        }
        Job j = new Job(UUID.randomUUID().toString(), r, this::finished);
        jobs.put(j.id(), j);
        int position;
        lock.lock();
        try {
            queue.add(j);
            position = queue.size();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        j.event("queued", JsonNodeFactory.instance.objectNode().put("id", j.id()).put("position", position));
        return j;
    }

    /** Seconds until a slot is likely free: the batches ahead times the recent batch time. */
    int retryAfterSeconds() {
        double batchesAhead = 1 + queueDepth() / (double) cfg.maxBatch();
        return (int) Math.max(1, Math.min(60, Math.ceil(batchesAhead * batchSeconds)));
    }

    Job job(String id) {
        return jobs.get(id);
    }

    /** Cancels a job: a queued one now, a running one at its batch's next step boundary. False if it had ended. */
    boolean cancel(Job j) {
        lock.lock();
        try {
            if (queue.remove(j)) {
                j.finish(new Job.Cancelled("cancelled while queued"));
                return true;
            }
        } finally {
            lock.unlock();
        }
        if (j.finished()) return false;
        j.requestCancel();
        return true;
    }

    int queueDepth() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    int runningJobs() {
        lock.lock();
        try {
            return (int) running.stream().filter(j -> !j.finished()).count();
        } finally {
            lock.unlock();
        }
    }

    /** The jobs of the batch on the UNet now (tests). */
    List<Job> running() {
        lock.lock();
        try {
            return running;
        } finally {
            lock.unlock();
        }
    }

    /** Slots not held by an accepted, unfinished job (tests: none may leak). */
    int freeSlots() {
        return slots.availablePermits();
    }

    boolean accepting() {
        return accepting;
    }

    /**
     * Stops accepting, lets queued and running jobs finish for up to {@code grace}, cancels what is left and
     * stops the worker. True when everything finished within the grace period.
     */
    boolean shutdown(Duration grace) throws InterruptedException {
        accepting = false;
        boolean drained = awaitIdle(System.nanoTime() + grace.toNanos());
        if (!drained) {
            lock.lock();
            try {
                for (Job j : queue) j.finish(new Job.Cancelled("server shutting down"));
                queue.clear();
                for (Job j : running) j.requestCancel();
            } finally {
                lock.unlock();
            }
            awaitIdle(System.nanoTime() + TimeUnit.SECONDS.toNanos(30));   // the running batch stops at its next step
        }
        stopped = true;
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        worker.join(TimeUnit.SECONDS.toMillis(30));
        return drained;
    }

    private boolean awaitIdle(long deadline) throws InterruptedException {
        lock.lock();
        try {
            while (!queue.isEmpty() || !running.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                changed.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void finished(Job j) {
        metrics.finished(j);
        slots.release();
        synchronized (retained) {
            retained.add(j.id());
            while (retained.size() > RETAINED) jobs.remove(retained.poll());
        }
    }

    private void work() {
        while (true) {
            List<Job> batch;
            try {
                batch = nextBatch();
            } catch (InterruptedException e) {
                return;
            }
            if (batch == null) return;
            try {
                runBatch(batch);
            } finally {
                lock.lock();
                try {
                    running = List.of();
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /** The oldest job and its companions (same key, fitting in maxBatch, gathered for up to batchWindow); null once stopped. */
    private List<Job> nextBatch() throws InterruptedException {
        lock.lock();
        try {
            while (queue.isEmpty()) {
                if (stopped) return null;
                changed.await();
            }
            Job head = queue.poll();
            BatchKey key = BatchKey.of(head.id(), head.request());
            List<Job> batch = new ArrayList<>(List.of(head));
            int images = head.request().numImages();
            long deadline = System.nanoTime() + cfg.batchWindow().toNanos();
            while (key.shareable() && images < cfg.maxBatch()) {
                for (Iterator<Job> it = queue.iterator(); it.hasNext() && images < cfg.maxBatch(); ) {
                    Job j = it.next();
                    if (images + j.request().numImages() <= cfg.maxBatch() && BatchKey.of(j.id(), j.request()).equals(key)) {
                        it.remove();
                        batch.add(j);
                        images += j.request().numImages();
                    }
                }
                long left = deadline - System.nanoTime();
                if (images >= cfg.maxBatch() || left <= 0 || !accepting) break;
                changed.awaitNanos(left);
            }
            running = List.copyOf(batch);
            return running;
        } finally {
            lock.unlock();
        }
    }

    private void runBatch(List<Job> batch) {
        List<Job> live = batch.stream().filter(Job::start).toList();
        if (live.isEmpty()) return;
        int images = live.stream().mapToInt(j -> j.request().numImages()).sum();
        for (Job j : live)
            j.event("started", JsonNodeFactory.instance.objectNode().put("id", j.id()).put("batch_images", images).put("batch_requests", live.size()));
        int steps = live.getFirst().request().steps();
        long t0 = System.nanoTime();
        try {
            List<JobResult> results = runner.run(live.stream().map(Job::request).toList(), new StepHook.Listener() {
                @Override
                public void beforeStep(int i) {
                    boolean any = false;
                    for (Job j : live) {
                        if (j.cancelRequested()) j.finish(new Job.Cancelled("cancelled before step " + (i + 1) + "/" + steps));
                        any |= !j.finished();
                    }
                    if (!any) throw new CancellationException("every job of the batch was cancelled");
                }

                @Override
                public void afterStep(int i, StepAction action, boolean lowRes, double ms) {
                    metrics.step(ms);
                    for (Job j : live)
                        j.event("step", stepEvent(i, steps, action, lowRes, ms));
                }
            });
            metrics.batch(images, live.size());
            for (int k = 0; k < live.size(); k++) live.get(k).finish(new Job.Done(results.get(k)));
        } catch (CancellationException e) {
            // every job was finished as cancelled at the step boundary
        } catch (Throwable t) {
            String errorId = "err-" + UUID.randomUUID().toString().substring(0, 8);
            LOG.error("{}: batch of {} failed inside the engine ({} images, model {}, jobs {})", errorId, live.size(), images,
                    live.getFirst().request().model().name(), live.stream().map(Job::id).toList(), t);
            for (Job j : live)
                j.finish(new Job.Failed(new ApiError(500, "internal_error", null,
                        "the engine failed on this request; error id " + errorId + " is in the server log", null)));
        } finally {
            batchSeconds = 0.7 * batchSeconds + 0.3 * (System.nanoTime() - t0) / 1e9;
        }
    }

    private static ObjectNode stepEvent(int i, int steps, StepAction action, boolean lowRes, double ms) {
        return JsonNodeFactory.instance.objectNode().put("step", i + 1).put("steps", steps)
                .put("action", (lowRes ? "low-res " : "") + action.label()).put("ms", Math.round(ms * 10) / 10.0);
    }
}
