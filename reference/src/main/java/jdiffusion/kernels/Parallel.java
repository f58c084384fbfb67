package jdiffusion.kernels;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed pool of worker threads for the fast backend. A range is cut into chunks that the calling
 * thread and {@code threads − 1} helpers take from a shared counter until none are left, so a thread
 * that is descheduled (the machine is shared) simply takes fewer chunks instead of holding up the rest.
 *
 * <p>Work is split by output index only, never by reduction index, so every output element is
 * computed by the same sequence of operations whatever the thread count: results are bit-identical
 * for 1 or N threads.
 */
public final class Parallel implements AutoCloseable {
    /** A range body: process indices [from, to). */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    private final int threads;
    private final ExecutorService pool;

    public Parallel(int threads) {
        if (threads < 1 || threads > 1 << 16) throw new IllegalArgumentException("threads must be between 1 and 65536, got " + threads);
        this.threads = threads;
        AtomicInteger n = new AtomicInteger();
        ThreadFactory tf = r -> {
            Thread t = new Thread(r, "jdiffusion-worker-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, tf);
    }

    public int threads() {
        return threads;
    }

    /** Runs body over [0, n) cut into at most {@code threads × 4} contiguous chunks of at least {@code grain}. */
    public void forRange(int n, int grain, Range body) {
        if (n <= 0) return;
        int chunks = Math.min(threads * 4, Math.max(1, n / Math.max(1, grain)));
        if (pool == null || chunks == 1) {
            body.run(0, n);
            return;
        }
        Job job = new Job(n, chunks, body, Thread.currentThread());
        for (int i = Math.min(threads - 1, chunks - 1); i > 0; i--) pool.execute(job::work);
        job.work();
        job.awaitDone();
        if (job.error instanceof RuntimeException re) throw re;
        if (job.error instanceof Error err) throw err;
        if (job.error != null) throw new IllegalStateException(job.error);
    }

    /** One forRange call: chunks handed out by a counter; the caller waits for the ones others took. */
    private static final class Job {
        final int n, chunks;
        final Range body;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger(), done = new AtomicInteger();
        volatile Throwable error;

        Job(int n, int chunks, Range body, Thread caller) {
            this.n = n;
            this.chunks = chunks;
            this.body = body;
            this.caller = caller;
        }

        void work() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                try {
                    if (error == null) body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
                } catch (Throwable t) {
                    error = t;
                } finally {
                    if (done.incrementAndGet() == chunks) LockSupport.unpark(caller);
                }
            }
        }

        void awaitDone() {
            for (int spins = 0; done.get() < chunks; spins++) {
                if (spins < 2000) Thread.onSpinWait();
                else LockSupport.park(this);
            }
        }
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }
}
