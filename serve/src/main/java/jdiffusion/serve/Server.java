package jdiffusion.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.http.sse.SseClient;
import io.javalin.http.sse.SseHandler;
import io.javalin.http.staticfiles.Location;
import jdiffusion.kernels.Backend;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;

/**
 * The HTTP side: routes, request bodies, errors as JSON, SSE, static page, start and graceful stop.
 * Everything about images is in {@link ImageRequest} (what is asked), {@link Batcher} (when and with whom
 * it runs) and {@link BatchRun} (the engine calls).
 */
public final class Server implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Server.class);

    /** One API route: method and path pattern (the web page's static files are served besides the routes). */
    public record Route(String method, String path) {
    }

    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final ServeConfig cfg;
    private final ImageRequest.Models models;
    private final Batcher batcher;
    private final Semaphore sseStreams;
    private final int sseLimit;
    private final java.util.concurrent.atomic.AtomicInteger answering = new java.util.concurrent.atomic.AtomicInteger();  // sync POSTs not yet answered
    private final byte[] openApi;
    private final Javalin app;
    private volatile boolean ready;      // port open
    private volatile boolean draining;   // shutdown began

    /** A server computing on {@code backend}; {@link #start()} opens the port. */
    public Server(ServeConfig cfg, ImageRequest.Models models, Backend backend) {
        this(cfg, models, new BatchRun(backend));
    }

    /** With another batch runner (tests put a failing one around the real one). */
    Server(ServeConfig cfg, ImageRequest.Models models, Batcher.Runner runner) {
        this.cfg = cfg;
        this.models = models;
        this.batcher = new Batcher(cfg, runner);
        this.sseLimit = 4 * cfg.maxQueue() + 16;
        this.sseStreams = new Semaphore(sseLimit);
        this.openApi = resource("/openapi.json");
        this.app = Javalin.create(c -> {
            c.startup.showJavalinBanner = false;
            c.concurrency.useVirtualThreads = true;
            c.jetty.host = cfg.host();
            c.jetty.port = cfg.port();
            c.http.maxRequestSize = cfg.maxBodyBytes();
            c.http.prefer405over404 = true;
            c.jetty.addConnector((server, http) -> {
                ServerConnector con = new ServerConnector(server, new org.eclipse.jetty.server.HttpConnectionFactory(http));
                con.setHost(cfg.host());
                con.setPort(cfg.port());
                con.setIdleTimeout(cfg.idleTimeout().toMillis());   // slow or silent clients are dropped
                return con;
            });
            c.staticFiles.add("/web", Location.CLASSPATH);
            c.routes.post("/v1/images", this::images);
            c.routes.get("/v1/models", this::listModels);
            c.routes.get("/v1/jobs/{id}/events", this::events);
            c.routes.delete("/v1/jobs/{id}", this::cancel);
            c.routes.get("/health", this::health);
            c.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(batcher.metrics().scrape()));
            c.routes.get("/openapi.json", ctx -> ctx.contentType("application/json").result(openApi));
            c.routes.exception(ApiError.class, (e, ctx) -> error(ctx, e));
            c.routes.exception(HttpResponseException.class, (e, ctx) -> error(ctx, fromFramework(e)));
            c.routes.exception(Exception.class, (e, ctx) -> {
                String id = "err-" + UUID.randomUUID().toString().substring(0, 8);
                LOG.error("{}: {} {} failed", id, ctx.method(), ctx.path(), e);
                error(ctx, ApiError.of(500, "internal_error", "internal error; error id " + id + " is in the server log"));
            });
        });
    }

    public Server start() {
        app.start();
        ready = true;
        return this;
    }

    /** The port the server listens on (the chosen one when started with port 0). */
    public int port() {
        return app.port();
    }

    Batcher batcher() {
        return batcher;
    }

    /** The routes as the framework registered them (a test holds openapi.json to exactly these). */
    List<Route> routes() {
        return app.unsafe.internalRouter.allHttpHandlers().stream()
                .map(e -> new Route(e.endpoint.method.name(), e.endpoint.path)).toList();
    }

    /**
     * Graceful stop: refuse new jobs (503), let queued and running ones finish for {@code grace}, cancel the
     * rest, then close the port. True when nothing had to be cancelled.
     */
    public boolean shutdown(Duration grace) throws InterruptedException {
        draining = true;
        boolean drained = batcher.shutdown(grace);
        // every job has ended: let the waiting callers and event streams write their answers before the port closes
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while ((answering.get() > 0 || sseStreams.availablePermits() < sseLimit) && System.nanoTime() < deadline) Thread.sleep(20);
        Thread.sleep(100);   // the framework writes a handler's result just after the handler returns
        app.stop();
        return drained;
    }

    /** Stops at once: queued and running jobs are cancelled (tests; the command uses {@link #shutdown}). */
    @Override
    public void close() {
        try {
            shutdown(Duration.ZERO);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- handlers ----

    private void images(Context ctx) throws Exception {
        ImageRequest r;
        try {
            r = ImageRequest.parse(parseBody(ctx), models);
        } catch (ApiError e) {
            batcher.metrics().count(Metrics.Outcome.BAD_REQUEST);
            throw e;
        }
        Job j = batcher.submit(r);
        ctx.header("X-Job-Id", j.id());
        String prefer = ctx.header("Prefer");
        if (prefer != null && prefer.toLowerCase(java.util.Locale.ROOT).contains("respond-async")) {
            ctx.status(202).header("Location", "/v1/jobs/" + j.id() + "/events");
            json(ctx, JsonNodeFactory.instance.objectNode().put("id", j.id()).put("status", "queued")
                    .put("events", "/v1/jobs/" + j.id() + "/events"));
            return;
        }
        answering.incrementAndGet();
        try {
            answer(ctx, j, r);
        } finally {
            answering.decrementAndGet();
        }
    }

    /** Waits for the job's outcome and writes it: the image (or JSON), 409 when cancelled, the error when failed. */
    private void answer(Context ctx, Job j, ImageRequest r) throws InterruptedException {
        Job.Outcome o;
        try {
            o = j.outcome().get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("job " + j.id() + " ended without an outcome", e);
        }
        switch (o) {
            case Job.Done d -> {
                JobResult res = d.result();
                ctx.header("X-Batch-Images", Integer.toString(res.batchImages()))
                        .header("X-Batch-Requests", Integer.toString(res.batchRequests()))
                        .header("X-Unet-Calls", Integer.toString(res.trace().unetCalls()))
                        .header("X-Macs", Long.toString(res.trace().totalMacs()));
                for (String w : res.warnings()) ctx.res().addHeader("X-Warning", headerText(w));
                if (r.format() == ImageRequest.Format.PNG) ctx.contentType("image/png").result(res.grid());
                else json(ctx, res.toJson(j));
            }
            case Job.Cancelled c -> error(ctx, new ApiError(409, "cancelled", null, "job " + j.id() + " was cancelled: " + c.reason(), null));
            case Job.Failed f -> error(ctx, f.error());
        }
    }

    private void listModels(Context ctx) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("default", models.defaultModel().name());
        var arr = o.putArray("models");
        for (ServedModel m : models.all()) arr.add(m.describe(m == models.defaultModel()));
        json(ctx, o);
    }

    private void health(Context ctx) {
        boolean isReady = ready && !draining && batcher.accepting();
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("status", draining ? "draining" : isReady ? "ready" : "stopped");
        o.put("live", true);
        o.put("ready", isReady);
        o.put("queue", batcher.queueDepth());
        o.put("running", batcher.runningJobs());
        o.put("max_queue", cfg.maxQueue());
        o.put("max_batch", cfg.maxBatch());
        ctx.status(isReady ? 200 : 503);
        json(ctx, o);
    }

    private Job job(Context ctx) {
        Job j = batcher.job(ctx.pathParam("id"));
        if (j == null) throw new ApiError(404, "unknown_job", "id", "no job '" + ctx.pathParam("id") + "' (finished jobs are kept for the last " + Batcher.RETAINED + ")", null);
        return j;
    }

    private void cancel(Context ctx) {
        Job j = job(ctx);
        if (!batcher.cancel(j))
            throw new ApiError(409, "already_finished", null, "job " + j.id() + " already ended (" + j.state().name().toLowerCase(java.util.Locale.ROOT) + ")", null);
        ctx.status(202);
        json(ctx, JsonNodeFactory.instance.objectNode().put("id", j.id())
                .put("status", j.finished() ? "cancelled" : "cancelling (at the next step boundary)"));
    }

    /** Server-sent events of one job: every event so far, then each new one, until its terminal event. */
    private void events(Context ctx) throws Exception {
        Job j = job(ctx);
        String accept = ctx.header("Accept");
        if (accept == null || !accept.contains("text/event-stream"))
            throw new ApiError(406, "not_acceptable", null, "this is a server-sent event stream: send Accept: text/event-stream", null);
        if (!sseStreams.tryAcquire())
            throw new ApiError(429, "too_many_streams", null, "too many open event streams; retry later", 5);
        try {
            new SseHandler(0, client -> stream(j, client)).handle(ctx);
        } catch (RuntimeException e) {
            sseStreams.release();
            throw e;
        }
    }

    private void stream(Job j, SseClient client) {
        // a comment line at least every 15 s, and well within the idle timeout, keeps a waiting stream open
        long keepAliveMs = Math.max(100, Math.min(15_000, cfg.idleTimeout().toMillis() / 2));
        try {
            int next = 0;
            while (!client.terminated()) {
                List<Job.Event> evs = j.eventsFrom(next, keepAliveMs);
                if (evs.isEmpty()) {
                    if (j.finished()) break;
                    client.sendComment("keep-alive");
                    continue;
                }
                for (Job.Event e : evs) client.sendEvent(e.name(), JSON.writeValueAsString(e.data()), Integer.toString(e.seq()));
                next = evs.getLast().seq() + 1;
                if (j.finished() && j.eventsFrom(next, 0).isEmpty()) break;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (JsonProcessingException e) {
            LOG.error("cannot write an event of job {}", j.id(), e);
        } finally {
            sseStreams.release();
            client.close();
        }
    }

    // ---- bodies, JSON, errors ----

    private JsonNode parseBody(Context ctx) {
        long declared = ctx.req().getContentLengthLong();
        if (declared > cfg.maxBodyBytes())
            throw new ApiError(413, "body_too_large", null, "the body has " + declared + " bytes; the limit is " + cfg.maxBodyBytes(), null);
        byte[] body;
        try (InputStream in = ctx.bodyInputStream()) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            byte[] chunk = new byte[8192];
            for (int n; (n = in.read(chunk)) != -1; ) {
                if (buf.size() + n > cfg.maxBodyBytes())
                    throw new ApiError(413, "body_too_large", null, "the body is larger than the limit of " + cfg.maxBodyBytes() + " bytes", null);
                buf.write(chunk, 0, n);
            }
            body = buf.toByteArray();
        } catch (IOException e) {
            throw new ApiError(408, "body_timeout", null, "the body did not arrive (" + e.getMessage() + "; idle limit " + cfg.idleTimeout().toMillis() + " ms)", null);
        }
        if (body.length == 0) throw ApiError.of(400, "invalid_body", "the body is empty: send a JSON object ({} for all defaults)");
        try {
            return JSON.readTree(body);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw ApiError.of(400, "malformed_json", "the body is not valid JSON" + where + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiError.of(400, "malformed_json", "the body is not valid JSON: " + e.getMessage());
        }
    }

    private static void json(Context ctx, JsonNode node) {
        try {
            ctx.contentType("application/json").result(JSON.writeValueAsBytes(node));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A warning as a header value: printable ASCII, anything else as a \\uXXXX escape (the JSON format has the text as is). */
    static String headerText(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char ch : s.toCharArray()) {
            if (ch >= 0x20 && ch < 0x7f && ch != '\\') b.append(ch);
            else b.append(String.format("\\u%04x", (int) ch));
        }
        return b.toString();
    }

    private static void error(Context ctx, ApiError e) {
        ctx.status(e.status());
        if (e.retryAfterSeconds() != null) ctx.header("Retry-After", Integer.toString(e.retryAfterSeconds()));
        json(ctx, e.toJson());
    }

    /** The framework's own refusals (404 no route, 405, 413 …) in the same JSON form. */
    private static ApiError fromFramework(HttpResponseException e) {
        String code = switch (e.getStatus()) {
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 413 -> "body_too_large";
            default -> "http_" + e.getStatus();
        };
        return ApiError.of(e.getStatus(), code, e.getMessage());
    }

    private static byte[] resource(String name) {
        try (InputStream in = Server.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("resource " + name + " is missing from the serve jar");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read resource " + name, e);
        }
    }
}
