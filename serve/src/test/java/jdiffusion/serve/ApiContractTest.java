package jdiffusion.serve;

import com.fasterxml.jackson.databind.JsonNode;
import jdiffusion.cli.CliRun;
import jdiffusion.schedule.Schedulers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

import static jdiffusion.serve.TestServers.get;
import static jdiffusion.serve.TestServers.json;
import static jdiffusion.serve.TestServers.post;
import static jdiffusion.serve.TestServers.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The API as documented: images equal to generate's, the JSON form, models, health, metrics, OpenAPI, the page. */
class ApiContractTest {
    static Server server;

    @BeforeAll
    static void start() {
        server = TestServers.start(TestServers.config());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** generate's PNG for these CLI arguments (bytes), and its trace when asked for. */
    private static byte[] generate(Path tmp, String... args) throws IOException {
        Path out = tmp.resolve("cli-" + System.nanoTime() + ".png");
        List<String> a = new ArrayList<>(List.of("generate", "--out", out.toString()));
        a.addAll(List.of(args));
        CliRun r = CliRun.run(a.toArray(String[]::new));
        assertEquals(0, r.code(), "generate " + a + " failed: " + r.err());
        return Files.readAllBytes(out);
    }

    @Test
    void issueAcceptance_seed3Steps20_isGenerateByteForByte(@TempDir Path tmp) throws IOException {
        HttpResponse<byte[]> r = post(server, "{\"seed\":3,\"steps\":20}");
        assertEquals(200, r.statusCode(), text(r));
        assertEquals("image/png", r.headers().firstValue("Content-Type").orElse(""));
        assertArrayEquals(generate(tmp, "--seed", "3", "--steps", "20", "--num-images", "1"), r.body(),
                "POST {\"seed\":3,\"steps\":20} must give the PNG of ./jdiffusion generate --seed 3 --steps 20 --num-images 1");
        assertEquals("20", r.headers().firstValue("X-Unet-Calls").orElse(""));
    }

    @Test
    void classConditionalWithGuidance_isGenerateByteForByte(@TempDir Path tmp) throws IOException {
        HttpResponse<byte[]> r = post(server, "{\"model\":\"fashion-cond-32\",\"class\":[\"Sneaker\",\"Bag\"],\"num_images\":2,"
                + "\"steps\":5,\"scheduler\":\"dpmpp2m\",\"seed\":11,\"guidance\":3}");
        assertEquals(200, r.statusCode(), text(r));
        assertArrayEquals(generate(tmp, "--model", TestServers.root().resolve("weights/models/fashion-cond-32").toString(),
                "--class", "Sneaker,Bag", "--num-images", "2", "--steps", "5", "--scheduler", "dpmpp2m", "--seed", "11", "--guidance", "3"), r.body());
    }

    @Test
    void accelerationGivesGeneratesImageAndTrace(@TempDir Path tmp) throws IOException {
        // AdaptiveDiffusion with a parameter, two images, a stochastic scheduler: a job that runs alone
        HttpResponse<byte[]> r = post(server, "{\"accel\":{\"method\":\"adaptive\",\"delta\":0.05,\"max_skip\":2},\"steps\":12,"
                + "\"seed\":4,\"num_images\":2,\"scheduler\":\"ddpm\",\"response_format\":\"json\"}");
        assertEquals(200, r.statusCode(), text(r));
        JsonNode res = json(r);
        Path trace = tmp.resolve("trace.json");
        byte[] cli = generate(tmp, "--accel", "adaptive", "--delta", "0.05", "--max-skip", "2", "--steps", "12", "--seed", "4",
                "--num-images", "2", "--scheduler", "ddpm", "--trace", trace.toString());
        assertArrayEquals(cli, Base64.getDecoder().decode(res.get("grid").asText()));
        JsonNode t = Server.JSON.readTree(trace.toFile());
        for (String k : List.of("policy", "scheduler", "unet_calls", "partial_calls", "macs", "full_step_macs", "pattern"))
            assertEquals(t.get(k), res.get("trace").get(k), "trace." + k);
        assertTrue(res.get("trace").get("pattern").asText().contains("S"), "δ = 0.05 skips some steps: " + res.get("trace"));

        // the PostDiff combination on the conditional model (mixed resolution + DeepCache + cross-attention cache)
        HttpResponse<byte[]> p = post(server, "{\"model\":\"fashion-cond-32\",\"accel\":\"postdiff\",\"steps\":8,\"seed\":9,\"class\":\"Coat\"}");
        assertEquals(200, p.statusCode(), text(p));
        assertArrayEquals(generate(tmp, "--model", TestServers.root().resolve("weights/models/fashion-cond-32").toString(),
                "--accel", "postdiff", "--steps", "8", "--seed", "9", "--class", "Coat", "--num-images", "1"), p.body());
    }

    @Test
    void jsonFormatHasEachImageTheGridAndTheTrace() throws IOException {
        String req = "{\"seed\":21,\"steps\":3,\"num_images\":3,\"accel\":\"deepcache\"";
        HttpResponse<byte[]> png = post(server, req + "}");
        HttpResponse<byte[]> js = post(server, req + ",\"response_format\":\"json\"}");
        assertEquals(200, js.statusCode(), text(js));
        assertEquals("application/json", js.headers().firstValue("Content-Type").orElse(""));
        JsonNode o = json(js);
        assertArrayEquals(png.body(), Base64.getDecoder().decode(o.get("grid").asText()), "grid = the png format's body");
        assertEquals(3, o.get("images").size());
        for (JsonNode i : o.get("images")) {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(i.get("png").asText())));
            assertEquals(32, img.getWidth());
            assertEquals(32, img.getHeight());
        }
        JsonNode t = o.get("trace");
        assertEquals("FPP", t.get("pattern").asText(), "DeepCache N=3: full, partial, partial");
        assertEquals(3, t.get("steps").size());
        assertEquals(1, t.get("unet_calls").asInt());
        assertTrue(t.get("macs").asLong() < t.get("full_step_macs").asLong());
        assertEquals("dc-n3-b0-u", o.get("accel").asText());
        assertEquals(21, o.get("seed").asLong());
    }

    @Test
    void modelsHealthAndMetrics() {
        JsonNode m = json(get(server, "/v1/models"));
        assertEquals("fashion-ddpm-32", m.get("default").asText());
        assertEquals(2, m.get("models").size());
        JsonNode cond = m.get("models").get(1);
        assertEquals("fashion-cond-32", cond.get("name").asText());
        assertEquals("class-conditional", cond.get("kind").asText());
        assertEquals(10, cond.get("classes").size());
        assertEquals("ddim", cond.get("default_scheduler").asText());
        assertEquals(32, cond.get("sample_size").asInt());
        assertTrue(cond.get("parameters").asLong() > 1_000_000);

        HttpResponse<byte[]> h = get(server, "/health");
        assertEquals(200, h.statusCode());
        assertEquals("ready", json(h).get("status").asText());

        post(server, "{\"seed\":1,\"steps\":2}");
        HttpResponse<byte[]> mt = get(server, "/metrics");
        assertTrue(mt.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        String s = text(mt);
        for (String name : List.of("jdiffusion_queue_depth ", "jdiffusion_jobs_running ", "jdiffusion_requests_total{outcome=\"ok\"}",
                "jdiffusion_batch_images_bucket{le=\"1.0\"}", "jdiffusion_step_seconds_bucket", "jdiffusion_request_seconds_count",
                "jdiffusion_images_total ", "jvm_memory_used_bytes"))
            assertTrue(s.contains(name), "/metrics lacks " + name);
    }

    @Test
    void openApiListsExactlyTheServersRoutesAndRequestFields() throws IOException {
        JsonNode doc;
        try (InputStream in = Server.class.getResourceAsStream("/openapi.json")) {
            doc = Server.JSON.readTree(in);
        }
        assertTrue(doc.get("openapi").asText().startsWith("3."), "an OpenAPI 3 document");
        Set<Server.Route> documented = new HashSet<>();
        for (Iterator<String> ps = doc.get("paths").fieldNames(); ps.hasNext(); ) {
            String path = ps.next();
            doc.get("paths").get(path).fieldNames().forEachRemaining(method -> documented.add(new Server.Route(method.toUpperCase(), path)));
        }
        assertEquals(new HashSet<>(server.routes()), documented, "paths of openapi.json vs the routes the server registered");
        assertEquals(7, documented.size());
        JsonNode schemas = doc.get("components").get("schemas");
        assertEquals(ImageRequest.FIELDS, names(schemas.get("ImageRequest").get("properties")), "ImageRequest fields");
        List<String> accel = new ArrayList<>(List.of("method"));
        accel.addAll(AccelField.PARAMETERS.keySet());
        assertEquals(accel, names(schemas.get("Accel").get("properties")), "accel fields");
        JsonNode p = schemas.get("ImageRequest").get("properties");
        assertEquals(Schedulers.NAMES, values(p.get("scheduler").get("enum")));
        assertEquals(ServeConfig.MAX_IMAGES_PER_REQUEST, p.get("num_images").get("maximum").asInt());
        assertEquals(ImageRequest.MAX_STEPS, p.get("steps").get("maximum").asInt());
        assertEquals(ImageRequest.MAX_GUIDANCE, p.get("guidance").get("maximum").asDouble());
        assertEquals(AccelField.METHODS, values(schemas.get("Accel").get("properties").get("method").get("oneOf").get(1).get("items").get("enum")));
        // and the server serves this very document
        assertEquals(doc, json(get(server, "/openapi.json")));
    }

    @Test
    void everyRouteAnswersItself() {
        for (Server.Route r : server.routes()) {
            String path = r.path().replace("{id}", "no-such-job");
            HttpResponse<byte[]> res = switch (r.method()) {
                case "GET" -> get(server, path, "Accept", "text/event-stream");
                case "POST" -> post(server, "not json");
                case "DELETE" -> TestServers.delete(server, path);
                default -> throw new AssertionError(r.method());
            };
            if (res.statusCode() >= 400) {
                String code = json(res).get("error").get("code").asText();
                assertNotEquals("not_found", code, r + " is not routed");
                assertNotEquals("method_not_allowed", code, r + " is not routed");
            }
        }
        HttpResponse<byte[]> put = TestServers.send(java.net.http.HttpRequest.newBuilder(TestServers.uri(server, "/v1/images"))
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build());
        assertEquals(405, put.statusCode());
        assertEquals("method_not_allowed", json(put).get("error").get("code").asText());
        HttpResponse<byte[]> none = get(server, "/v2/nothing");
        assertEquals(404, none.statusCode());
        assertEquals("not_found", json(none).get("error").get("code").asText());
    }

    @Test
    void webPageIsServedWithItsScriptAndStyle() {
        HttpResponse<byte[]> page = get(server, "/");
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertTrue(text(page).contains("<script src=\"app.js\">"));
        for (String f : List.of("/", "/app.js", "/style.css")) {
            HttpResponse<byte[]> r = get(server, f);
            assertEquals(200, r.statusCode(), f);
            assertTrue(!text(r).contains("http://") && !text(r).contains("https://"), f + " loads nothing from outside (works offline)");
        }
    }

    private static List<String> names(JsonNode o) {
        List<String> out = new ArrayList<>();
        o.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static List<String> values(JsonNode arr) {
        List<String> out = new ArrayList<>();
        arr.forEach(v -> out.add(v.asText()));
        return out;
    }
}
