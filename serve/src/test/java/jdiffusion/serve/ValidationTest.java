package jdiffusion.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.stream.Stream;

import static jdiffusion.serve.TestServers.json;
import static jdiffusion.serve.TestServers.post;
import static jdiffusion.serve.TestServers.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input gets a 4xx JSON error naming the field; an engine failure a 500 with an error id; and neither
 * crashes the server or leaks a queue slot (checked after every test).
 */
class ValidationTest {
    static Server server;
    static final long ENGINE_FAILS_FOR_SEED = 666;

    @BeforeAll
    static void start() {
        BatchRun real = new BatchRun(TestServers.backend());
        Batcher.Runner failing = (requests, listener) -> {
            if (requests.stream().anyMatch(r -> r.seed() == ENGINE_FAILS_FOR_SEED))
                throw new IllegalStateException("injected engine failure");
            return real.run(requests, listener);
        };
        server = TestServers.start(TestServers.config().withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(5)), failing);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @AfterEach
    void noSlotLeaks() throws InterruptedException {
        for (int i = 0; i < 100 && server.batcher().freeSlots() != ServeConfig.defaults().maxQueue(); i++) Thread.sleep(50);
        assertEquals(ServeConfig.defaults().maxQueue(), server.batcher().freeSlots(), "every slot is free again");
        assertEquals(200, TestServers.get(server, "/health").statusCode(), "still healthy");
    }

    static Stream<Arguments> badBodies() {
        String cond = "\"model\":\"fashion-cond-32\",";
        return Stream.of(
                Arguments.of("not json", 400, "malformed_json", null),
                Arguments.of("{\"steps\": 3", 400, "malformed_json", null),
                Arguments.of("{\"steps\":1,\"steps\":2}", 400, "malformed_json", null),      // duplicate field
                Arguments.of("{} {}", 400, "malformed_json", null),                          // trailing content
                Arguments.of("", 400, "invalid_body", null),
                Arguments.of("[1,2]", 400, "invalid_body", null),
                Arguments.of("{\"stpes\":3}", 400, "unknown_field", "stpes"),
                Arguments.of("{\"steps\":0}", 400, "invalid_field", "steps"),
                Arguments.of("{\"steps\":1001}", 400, "invalid_field", "steps"),
                Arguments.of("{\"steps\":2.5}", 400, "invalid_field", "steps"),
                Arguments.of("{\"steps\":\"20\"}", 400, "invalid_field", "steps"),
                Arguments.of("{\"num_images\":0}", 400, "invalid_field", "num_images"),
                Arguments.of("{\"num_images\":17}", 400, "invalid_field", "num_images"),
                Arguments.of("{\"seed\":\"a\"}", 400, "invalid_field", "seed"),
                Arguments.of("{\"seed\":1e30}", 400, "invalid_field", "seed"),
                Arguments.of("{\"seed\":99999999999999999999}", 400, "invalid_field", "seed"),
                Arguments.of("{\"size\":64}", 400, "invalid_field", "size"),
                Arguments.of("{\"model\":\"sd15\"}", 400, "unknown_model", "model"),
                Arguments.of("{\"model\":7}", 400, "invalid_field", "model"),
                Arguments.of("{\"scheduler\":\"plms\"}", 400, "invalid_field", "scheduler"),
                Arguments.of("{\"response_format\":\"gif\"}", 400, "invalid_field", "response_format"),
                Arguments.of("{\"guidance\":3}", 400, "invalid_field", "guidance"),             // unconditional model
                Arguments.of("{\"class\":\"Bag\"}", 400, "invalid_field", "class"),
                Arguments.of("{\"prompt\":\"a red dress\"}", 400, "invalid_field", "prompt"),
                Arguments.of("{" + cond + "\"prompt\":\"a red dress\"}", 400, "invalid_field", "prompt"),
                Arguments.of("{" + cond + "\"negative_prompt\":\"blurry\"}", 400, "invalid_field", "negative_prompt"),
                Arguments.of("{" + cond + "\"class\":\"Dragon\"}", 400, "invalid_field", "class"),
                Arguments.of("{" + cond + "\"class\":10}", 400, "invalid_field", "class"),
                Arguments.of("{" + cond + "\"class\":[]}", 400, "invalid_field", "class"),
                Arguments.of("{" + cond + "\"guidance\":-1}", 400, "invalid_field", "guidance"),
                Arguments.of("{" + cond + "\"guidance\":51}", 400, "invalid_field", "guidance"),
                Arguments.of("{" + cond + "\"guidance\":\"high\"}", 400, "invalid_field", "guidance"),
                Arguments.of("{\"accel\":\"warp\"}", 400, "invalid_field", "accel"),
                Arguments.of("{\"accel\":5}", 400, "invalid_field", "accel"),
                Arguments.of("{\"accel\":{\"interval\":2}}", 400, "invalid_field", "accel.method"),
                Arguments.of("{\"accel\":{\"method\":\"deepcache\",\"interval\":0}}", 400, "invalid_field", "accel.interval"),
                Arguments.of("{\"accel\":{\"method\":\"deepcache\",\"branch\":99}}", 400, "invalid_field", "accel.branch"),
                Arguments.of("{\"accel\":{\"method\":\"deepcache\",\"center\":3}}", 400, "invalid_field", "accel.center"),
                Arguments.of("{\"accel\":{\"method\":\"deepcache\",\"warp\":1}}", 400, "unknown_field", "accel.warp"),
                Arguments.of("{\"accel\":{\"method\":\"adaptive\",\"interval\":2}}", 400, "invalid_field", "accel.interval"),
                Arguments.of("{\"accel\":{\"method\":\"adaptive\",\"delta\":\"x\"}}", 400, "invalid_field", "accel.delta"),
                Arguments.of("{\"accel\":{\"method\":[\"adaptive\",\"teleport\"]}}", 400, "invalid_field", "accel.method"),
                Arguments.of("{\"accel\":\"xattn\"}", 400, "invalid_field", "accel.method"),     // unconditional model
                Arguments.of("{\"accel\":{\"method\":\"mixed-res\",\"beta\":0}}", 400, "invalid_field", "accel.beta"),
                Arguments.of("{\"accel\":{\"method\":\"mixed-res\",\"low_res_fraction\":1.5}}", 400, "invalid_field", "accel.low_res_fraction"),
                Arguments.of("{\"accel\":\"dc-n0-b0-u\"}", 400, "invalid_field", "accel"));
    }

    @ParameterizedTest(name = "{0} -> {1} {2} {3}")
    @MethodSource("badBodies")
    void badBodyIsA4xxNamingTheField(String body, int status, String code, String field) {
        HttpResponse<byte[]> r = post(server, body);
        assertEquals(status, r.statusCode(), text(r));
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
        JsonNode e = json(r).get("error");
        assertEquals(code, e.get("code").asText(), text(r));
        if (field != null) {
            assertEquals(field, e.get("field").asText(), text(r));
            assertTrue(e.get("message").asText().startsWith(field + ": ") || e.get("message").asText().contains(field), text(r));
        }
    }

    @Test
    void prompt400SaysThereIsNoTextEncoder() {
        String m = json(post(server, "{\"prompt\":\"a cat\"}")).get("error").get("message").asText();
        assertTrue(m.contains("this model has no text encoder"), m);
    }

    @Test
    void oversizedBodyIs413() {
        String big = "{\"seed\":1,\"pad\":\"" + "x".repeat(70_000) + "\"}";
        HttpResponse<byte[]> r = post(server, big);
        assertEquals(413, r.statusCode(), text(r));
        assertEquals("body_too_large", json(r).get("error").get("code").asText());
    }

    @Test
    void aClientSendingItsBodyTooSlowlyIsCutOffAndOthersAreServed() throws IOException {
        long t0 = System.nanoTime();
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/images HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"se")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);   // until the server closes
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(seconds < 15, "the server gave up on the slow body after " + seconds + " s (idle timeout 1 s)");
            if (!answer.isEmpty())
                assertTrue(answer.startsWith("HTTP/1.1 408") || answer.startsWith("HTTP/1.1 400"), answer);
        }
        HttpResponse<byte[]> ok = post(server, "{\"seed\":2,\"steps\":1}");
        assertEquals(200, ok.statusCode(), text(ok));
    }

    @Test
    void engineFailureIs500WithAnErrorIdAndTheNextRequestWorks() {
        HttpResponse<byte[]> r = post(server, "{\"seed\":" + ENGINE_FAILS_FOR_SEED + ",\"steps\":2}");
        assertEquals(500, r.statusCode(), text(r));
        JsonNode e = json(r).get("error");
        assertEquals("internal_error", e.get("code").asText());
        assertTrue(e.get("message").asText().matches(".*error id err-[0-9a-f]{8} is in the server log.*"), e.toString());
        HttpResponse<byte[]> next = post(server, "{\"seed\":1,\"steps\":2}");
        assertEquals(200, next.statusCode(), text(next));
        assertTrue(TestServers.text(TestServers.get(server, "/metrics")).contains("jdiffusion_requests_total{outcome=\"error\"} 1.0"));
    }
}
