package jdiffusion.serve;

import java.time.Duration;

/**
 * The server's settings (the {@code serve} command's options), validated once.
 *
 * @param host          the address to listen on (127.0.0.1 by default: put a proxy in front to expose it)
 * @param port          TCP port; 0 = any free port (tests)
 * @param maxQueue      jobs accepted and not finished (queued + running) before new ones get 429
 * @param maxBatch      images per UNet batch when requests share one
 * @param batchWindow   how long the oldest queued request waits for companions to share its batch
 * @param maxBodyBytes  request bodies above this get 413
 * @param idleTimeout   a connection with no bytes moving for this long is closed (slow clients)
 * @param shutdownGrace on SIGTERM, how long in-flight jobs may finish before they are cancelled
 * @param warmupSteps   UNet steps run per model at start-up so the first request does not pay the JIT (0 = none)
 */
public record ServeConfig(String host, int port, int maxQueue, int maxBatch, Duration batchWindow, int maxBodyBytes,
                          Duration idleTimeout, Duration shutdownGrace, int warmupSteps) {

    /** The most images one request may ask for (one request's images always run in one UNet batch, as in generate). */
    public static final int MAX_IMAGES_PER_REQUEST = 16;

    public ServeConfig {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be 0..65535, got " + port);
        if (maxQueue < 1) throw new IllegalArgumentException("--max-queue must be at least 1, got " + maxQueue);
        if (maxBatch < 1 || maxBatch > 64) throw new IllegalArgumentException("--max-batch must be 1..64, got " + maxBatch);
        if (batchWindow.isNegative() || batchWindow.toMillis() > 10_000)
            throw new IllegalArgumentException("--batch-window-ms must be 0..10000, got " + batchWindow.toMillis());
        if (maxBodyBytes < 256) throw new IllegalArgumentException("--max-body-bytes must be at least 256, got " + maxBodyBytes);
        if (idleTimeout.toMillis() < 100) throw new IllegalArgumentException("--idle-timeout-ms must be at least 100, got " + idleTimeout.toMillis());
        if (shutdownGrace.isNegative()) throw new IllegalArgumentException("--shutdown-seconds must be ≥ 0, got " + shutdownGrace.toSeconds());
        if (warmupSteps < 0) throw new IllegalArgumentException("--warmup-steps must be ≥ 0, got " + warmupSteps);
    }

    /** The defaults of {@code ./jdiffusion serve}. */
    public static ServeConfig defaults() {
        return new ServeConfig("127.0.0.1", 8080, 32, 8, Duration.ofMillis(20), 64 * 1024, Duration.ofSeconds(30),
                Duration.ofSeconds(30), 8);
    }

    public ServeConfig withPort(int p) {
        return new ServeConfig(host, p, maxQueue, maxBatch, batchWindow, maxBodyBytes, idleTimeout, shutdownGrace, warmupSteps);
    }

    public ServeConfig withQueue(int queue, int batch, Duration window) {
        return new ServeConfig(host, port, queue, batch, window, maxBodyBytes, idleTimeout, shutdownGrace, warmupSteps);
    }

    public ServeConfig withTimeouts(Duration idle, Duration grace) {
        return new ServeConfig(host, port, maxQueue, maxBatch, batchWindow, maxBodyBytes, idle, grace, warmupSteps);
    }

    public ServeConfig withWarmup(int steps) {
        return new ServeConfig(host, port, maxQueue, maxBatch, batchWindow, maxBodyBytes, idleTimeout, shutdownGrace, steps);
    }
}
