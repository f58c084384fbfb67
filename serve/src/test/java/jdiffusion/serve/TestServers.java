package jdiffusion.serve;

import com.fasterxml.jackson.databind.JsonNode;
import jdiffusion.kernels.Backend;
import jdiffusion.kernels.Backends;
import jdiffusion.nn.WeightPrecision;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** In-process servers on a random port with the bundled models, and a small HTTP client for the tests. */
final class TestServers {
    private TestServers() {
    }

    private static ImageRequest.Models models, textModels;
    private static Backend backend;
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    static Path root() {
        return Path.of(System.getProperty("jdiffusion.root", "..")).toAbsolutePath().normalize();
    }

    /** Both bundled models, loaded once for all tests. */
    static synchronized ImageRequest.Models models() {
        if (models == null) {
            models = new ImageRequest.Models(Main.BUNDLED.stream()
                    .map(m -> ServedModel.load(root().resolve(m), WeightPrecision.F32)).toList());
        }
        return models;
    }

    /** The tiny Stable Diffusion folder of the golden data (skips without it, fails under CI=true). */
    static Path sdTiny() {
        return jdiffusion.Golden.path("sd-text2img-tiny");
    }

    /** The tiny Stable Diffusion folder (the default) and the bundled class-conditional model, loaded once. */
    static synchronized ImageRequest.Models textModels() {
        if (textModels == null)
            textModels = new ImageRequest.Models(List.of(ServedModel.load(sdTiny(), WeightPrecision.F32), models().get("fashion-cond-32")));
        return textModels;
    }

    static synchronized Backend backend() {
        if (backend == null) backend = Backends.create("cpu", Backends.defaultThreads());
        return backend;
    }

    /** The CLI's defaults on a free port, no warm-up (the tests' first requests warm the JIT). */
    static ServeConfig config() {
        return ServeConfig.defaults().withPort(0).withWarmup(0);
    }

    static Server start(ServeConfig cfg) {
        return new Server(cfg, models(), backend()).start();
    }

    static Server start(ServeConfig cfg, Batcher.Runner runner) {
        return new Server(cfg, models(), runner).start();
    }

    static URI uri(Server s, String path) {
        return URI.create("http://127.0.0.1:" + s.port() + path);
    }

    static HttpResponse<byte[]> post(Server s, String json, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(s, "/v1/images")).POST(HttpRequest.BodyPublishers.ofString(json))
                .header("Content-Type", "application/json").timeout(Duration.ofMinutes(5));
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return send(b.build());
    }

    /** POST with Prefer: respond-async; returns the job id (fails unless 202). */
    static String submit(Server s, String json) {
        HttpResponse<byte[]> r = post(s, json, "Prefer", "respond-async");
        if (r.statusCode() != 202) throw new AssertionError("expected 202 for " + json + ", got " + r.statusCode() + ": " + text(r));
        return json(r).get("id").asText();
    }

    static HttpResponse<byte[]> get(Server s, String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(s, path)).GET().timeout(Duration.ofMinutes(5));
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return send(b.build());
    }

    static HttpResponse<byte[]> delete(Server s, String path) {
        return send(HttpRequest.newBuilder(uri(s, path)).DELETE().timeout(Duration.ofMinutes(1)).build());
    }

    static HttpResponse<byte[]> send(HttpRequest r) {
        try {
            return HTTP.send(r, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The body as text (a short note instead for images, so assertion messages stay readable). */
    static String text(HttpResponse<byte[]> r) {
        if (r.headers().firstValue("Content-Type").orElse("").startsWith("image/")) return "<" + r.body().length + " bytes of image>";
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    static JsonNode json(HttpResponse<byte[]> r) {
        try {
            return Server.JSON.readTree(r.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON (" + r.statusCode() + "): " + text(r), e);
        }
    }

    /** One parsed server-sent event. */
    record Sse(String name, JsonNode data) {
    }

    /** Reads a job's whole event stream (until the server closes it after the terminal event). */
    static List<Sse> events(Server s, String id) {
        HttpResponse<byte[]> r = get(s, "/v1/jobs/" + id + "/events", "Accept", "text/event-stream");
        if (r.statusCode() != 200) throw new AssertionError("events of " + id + ": " + r.statusCode() + " " + text(r));
        List<Sse> out = new java.util.ArrayList<>();
        String name = null;
        StringBuilder data = new StringBuilder();
        for (String line : text(r).split("\n", -1)) {
            if (line.startsWith("event: ")) name = line.substring(7);
            else if (line.startsWith("data: ")) data.append(line.substring(6));
            else if (line.isEmpty() && name != null) {
                try {
                    out.add(new Sse(name, Server.JSON.readTree(data.toString())));
                } catch (IOException e) {
                    throw new AssertionError("bad event data " + data, e);
                }
                name = null;
                data.setLength(0);
            }
        }
        return out;
    }
}
