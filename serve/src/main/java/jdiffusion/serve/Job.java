package jdiffusion.serve;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * One accepted request from queue to answer. Its events (queued, started, step …, then exactly one of
 * done / cancelled / failed) are kept for SSE subscribers, late ones included. {@link #finish} is the only
 * way out and succeeds once: the slot is released and the caller answered exactly once, whoever
 * finishes first (the batch, a cancellation, a shutdown).
 */
public final class Job {
    public enum State { QUEUED, RUNNING, DONE, CANCELLED, FAILED }

    /** An SSE event: its sequence number, name and JSON data. */
    public record Event(int seq, String name, ObjectNode data) {
    }

    /** How a job ended. */
    public sealed interface Outcome permits Done, Cancelled, Failed {
    }

    public record Done(JobResult result) implements Outcome {
    }

    public record Cancelled(String reason) implements Outcome {
    }

    public record Failed(ApiError error) implements Outcome {
    }

    private final String id;
    private final ImageRequest request;
    private final long acceptedNanos = System.nanoTime();
    private final Consumer<Job> onFinish;
    private final List<Event> events = new ArrayList<>();
    private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    private State state = State.QUEUED;
    private volatile boolean cancelRequested;

    Job(String id, ImageRequest request, Consumer<Job> onFinish) {
        this.id = id;
        this.request = request;
        this.onFinish = onFinish;
    }

    public String id() {
        return id;
    }

    public ImageRequest request() {
        return request;
    }

    public long acceptedNanos() {
        return acceptedNanos;
    }

    public CompletableFuture<Outcome> outcome() {
        return outcome;
    }

    public synchronized State state() {
        return state;
    }

    public synchronized boolean finished() {
        return state == State.DONE || state == State.CANCELLED || state == State.FAILED;
    }

    /** QUEUED → RUNNING; false when the job already finished (e.g. cancelled while the batch was formed). */
    synchronized boolean start() {
        if (state != State.QUEUED) return false;
        state = State.RUNNING;
        return true;
    }

    void requestCancel() {
        cancelRequested = true;
    }

    boolean cancelRequested() {
        return cancelRequested;
    }

    /** Appends a non-terminal event; ignored once the job has finished. */
    public synchronized void event(String name, ObjectNode data) {
        if (finished()) return;
        events.add(new Event(events.size(), name, data));
        notifyAll();
    }

    /**
     * Ends the job with {@code o} (the terminal event, the caller's answer, the slot's release); false if it
     * had already ended, in which case nothing happens.
     */
    public boolean finish(Outcome o) {
        synchronized (this) {
            if (finished()) return false;
            state = switch (o) {
                case Done d -> State.DONE;
                case Cancelled c -> State.CANCELLED;
                case Failed f -> State.FAILED;
            };
            ObjectNode data = switch (o) {
                case Done d -> d.result().toJson(this);
                case Cancelled c -> JsonNodeFactory.instance.objectNode().put("id", id).put("reason", c.reason());
                case Failed f -> f.error().toJson().put("id", id);
            };
            events.add(new Event(events.size(), state.name().toLowerCase(java.util.Locale.ROOT), data));
            notifyAll();
        }
        onFinish.accept(this);
        outcome.complete(o);
        return true;
    }

    /**
     * The events from {@code from} on, waiting up to {@code waitMs} for one when there is none yet; empty
     * after the wait (or when the job has finished and everything was read).
     */
    public synchronized List<Event> eventsFrom(int from, long waitMs) throws InterruptedException {
        long end = System.currentTimeMillis() + waitMs;
        while (events.size() <= from && !finished()) {
            long left = end - System.currentTimeMillis();
            if (left <= 0) break;
            wait(left);
        }
        return from < events.size() ? List.copyOf(events.subList(from, events.size())) : List.of();
    }
}
