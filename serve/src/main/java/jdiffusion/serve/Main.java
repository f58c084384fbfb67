package jdiffusion.serve;

import jdiffusion.cli.BackendOptions;
import jdiffusion.kernels.Backend;
import jdiffusion.weights.WeightsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code ./jdiffusion serve}: loads the models, warms them up, serves until SIGTERM, then stops gracefully and exits 0. */
@Command(name = "serve", mixinStandardHelpOptions = true, version = "jdiffusion serve 0.1.0",
        description = {"Serve image generation over HTTP: JSON API (POST /v1/images, GET /v1/models, /health, /metrics, "
                + "/v1/jobs/{id}/events, DELETE /v1/jobs/{id}, /openapi.json) and a web page at /.",
                "Requests with the same model, scheduler, steps, guidance and acceleration share UNet batches; "
                        + "every image is bit-identical to `generate` with the same settings."})
public final class Main implements Callable<Integer> {
    /** The bundled models, served when no --model is given. */
    static final List<String> BUNDLED = List.of("weights/models/fashion-ddpm-32", "weights/models/fashion-cond-32");

    private static final Logger LOG = LoggerFactory.getLogger(Main.class);
    private static final ServeConfig D = ServeConfig.defaults();

    @Option(names = "--model", paramLabel = "DIR", description = "A diffusers folder to serve (repeat for several; the first is the default): a UNet, a class-conditional pipeline, or a Stable Diffusion folder (text to image). Default: the bundled fashion-ddpm-32 and fashion-cond-32.")
    List<Path> models;

    @Option(names = "--host", description = "Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface).")
    String host = D.host();

    @Option(names = "--port", description = "TCP port (default 8080; 0 = any free port, printed at start).")
    int port = D.port();

    @Option(names = "--max-queue", description = "Jobs accepted and not finished before new ones get 429 (default 32).")
    int maxQueue = D.maxQueue();

    @Option(names = "--max-batch", description = "Images per UNet batch when requests share one (default 8; 1 = no sharing).")
    int maxBatch = D.maxBatch();

    @Option(names = "--batch-window-ms", description = "How long the oldest request waits for others to share its batch (default 20).")
    long batchWindowMs = D.batchWindow().toMillis();

    @Option(names = "--max-body-bytes", description = "Largest request body (default 65536); larger ones get 413.")
    int maxBodyBytes = D.maxBodyBytes();

    @Option(names = "--idle-timeout-ms", description = "Close connections idle this long, e.g. a client sending its body too slowly (default 30000).")
    long idleTimeoutMs = D.idleTimeout().toMillis();

    @Option(names = "--shutdown-seconds", description = "On SIGTERM: how long running and queued jobs may finish before they are cancelled (default 30).")
    long shutdownSeconds = D.shutdownGrace().toSeconds();

    @Option(names = "--warmup-steps", description = "Steps per model at start-up, at batch 1 and --max-batch, so the first requests do not pay the JIT warm-up (default 8; 0 = none).")
    int warmupSteps = D.warmupSteps();

    @Mixin
    BackendOptions backend;

    @Override
    public Integer call() throws Exception {
        ServeConfig cfg = new ServeConfig(host, port, maxQueue, maxBatch, Duration.ofMillis(batchWindowMs), maxBodyBytes,
                Duration.ofMillis(idleTimeoutMs), Duration.ofSeconds(shutdownSeconds), warmupSteps);
        List<ServedModel> loaded = new ArrayList<>();
        for (Path dir : modelDirs()) loaded.add(ServedModel.load(dir, backend.weightPrecision()));
        Backend b = backend.create();
        ImageRequest.Models served = new ImageRequest.Models(loaded);
        // warm up before the port opens: the first request then does not pay the JIT, and nothing else uses the backend meanwhile
        warmUp(served, b, cfg.warmupSteps(), cfg.maxBatch());
        Server server = new Server(cfg, served, b);
        try {
            server.start();
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot listen on " + cfg.host() + ":" + cfg.port() + ": " + e.getMessage(), e);
        }
        java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
        Thread shutdown = Thread.ofPlatform().name("jdiffusion-shutdown").unstarted(() -> {
            LOG.info("stopping: no new jobs; waiting up to {} s for queued and running ones", cfg.shutdownGrace().toSeconds());
            try {
                boolean drained = server.shutdown(cfg.shutdownGrace());
                LOG.info(drained ? "stopped: every job finished" : "stopped: jobs still running after the grace period were cancelled");
            } catch (Throwable t) {
                LOG.error("error while stopping", t);
            }
            stopped.countDown();
        });
        // SIGTERM (and Ctrl-C) start the graceful stop instead of the JVM's immediate exit with status 143;
        // main then returns 0 once the stop is complete
        java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
        for (String sig : List.of("TERM", "INT"))
            sun.misc.Signal.handle(new sun.misc.Signal(sig), s -> {
                if (stopping.compareAndSet(false, true)) shutdown.start();
            });
        System.out.printf("serving %s on http://%s:%d/ (backend %s, max-batch %d, max-queue %d)%n", loaded.stream().map(ServedModel::name).toList(),
                cfg.host(), server.port(), b.name(), cfg.maxBatch(), cfg.maxQueue());
        stopped.await();
        return 0;
    }

    /**
     * Short runs per model through the path requests take, at batch 1 and at max-batch: the kernels differ by
     * batch size (CpuBackend picks Winograd for larger ones), and each path should be compiled before a
     * request needs it.
     */
    static void warmUp(ImageRequest.Models served, Backend b, int steps, int maxBatch) {
        if (steps == 0) return;
        for (ServedModel m : served.all())
            for (int n : maxBatch > 1 ? new int[]{1, Math.min(maxBatch, ServeConfig.MAX_IMAGES_PER_REQUEST)} : new int[]{1}) {
                long t0 = System.nanoTime();
                var body = Server.JSON.createObjectNode().put("model", m.name()).put("steps", steps).put("num_images", n);
                if (m.text() != null) body.put("prompt", "");   // the empty prompt: the unconditional embedding generate uses too
                ImageRequest r = ImageRequest.parse(body, served);
                new BatchRun(b).run(List.of(r), StepHook.Listener.NONE);
                LOG.info("warmed up {} at batch {}: {} steps in {} ms", m.name(), n, steps, (System.nanoTime() - t0) / 1_000_000);
            }
    }

    private List<Path> modelDirs() {
        if (models != null && !models.isEmpty()) return models;
        Path home = Path.of(System.getProperty("jdiffusion.home", "."));
        List<Path> dirs = new ArrayList<>();
        for (String m : BUNDLED) {
            Path p = home.resolve(m);
            if (!Files.isDirectory(p)) throw new IllegalArgumentException("the bundled model " + p + " is not there; pass --model DIR");
            dirs.add(p);
        }
        return dirs;
    }

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof WeightsException || ex instanceof IllegalArgumentException || ex instanceof IllegalStateException
                    || ex instanceof java.io.UncheckedIOException) {
                cmd.getErr().println("error: " + ex.getMessage());
                return 1;
            }
            throw ex;
        });
        int code = cl.execute(args);
        System.exit(code);
    }
}
