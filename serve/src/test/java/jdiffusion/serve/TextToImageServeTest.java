package jdiffusion.serve;

import com.fasterxml.jackson.databind.JsonNode;
import jdiffusion.cli.CliRun;
import jdiffusion.kernels.Backend;
import jdiffusion.kernels.Backends;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static jdiffusion.serve.TestServers.get;
import static jdiffusion.serve.TestServers.json;
import static jdiffusion.serve.TestServers.post;
import static jdiffusion.serve.TestServers.submit;
import static jdiffusion.serve.TestServers.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Text-to-image through the server, on the tiny Stable Diffusion folder of the golden data (CLIP tokenizer and text
 * encoder, UNet2DConditionModel, VAE): every request's PNG is generate's for the same prompt, negative prompt, clip
 * skip, seed, steps, scheduler and guidance, alone and in a UNet batch with other prompts; text fields are validated
 * against the model; a prompt the tokenizer cuts is a warning, as generate prints it. Skips without the golden data,
 * fails under CI=true.
 */
class TextToImageServeTest {
    static final String SD = "sd-text2img-tiny";
    static Server server;

    @BeforeAll
    static void start() {
        server = new Server(TestServers.config(), TestServers.textModels(), TestServers.backend()).start();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    /** generate's run for these CLI arguments (its PNG written to {@code out}), System.err captured. */
    static CliRun generate(Path out, String... args) {
        List<String> a = new ArrayList<>(List.of("generate", "--model", TestServers.sdTiny().toString(), "--out", out.toString()));
        a.addAll(List.of(args));
        CliRun r = CliRun.runCapturingSystemStreams(a.toArray(String[]::new));
        assertEquals(0, r.code(), "generate " + a + " failed: " + r.err());
        return r;
    }

    static byte[] generatePng(Path tmp, String... args) throws IOException {
        Path out = tmp.resolve("cli-" + System.nanoTime() + ".png");
        generate(out, args);
        return Files.readAllBytes(out);
    }

    @Test
    void modelsDescribeTheTextToImageModel() {
        JsonNode m = json(get(server, "/v1/models"));
        assertEquals(SD, m.get("default").asText());
        JsonNode sd = m.get("models").get(0);
        assertEquals("text-to-image", sd.get("kind").asText());
        assertEquals("ddim", sd.get("default_scheduler").asText(), "the folder's scheduler");
        assertEquals(7.5, sd.get("default_guidance").asDouble());
        assertEquals(8, sd.get("sample_size").asInt(), "latent side");
        assertEquals(64, sd.get("image_size").asInt(), "VAE output side");
        JsonNode te = sd.get("text_encoder");
        assertEquals("CLIPTextModel", te.get("class").asText());
        assertEquals(32, te.get("hidden_size").asInt());
        assertEquals(3, te.get("layers").asInt());
        assertEquals(2, te.get("max_clip_skip").asInt());
        assertEquals(77, te.get("max_tokens").asInt());
        assertTrue(te.get("parameters").asLong() > 0);
        assertTrue(m.get("models").get(1).get("text_encoder").isNull(), "the class-conditional model has none");
        // openapi.json's Model schema names exactly what an entry holds
        JsonNode schema = json(get(server, "/openapi.json")).get("components").get("schemas").get("Model").get("properties");
        for (JsonNode entry : m.get("models"))
            entry.fieldNames().forEachRemaining(f -> assertTrue(schema.has(f), "openapi.json's Model lacks '" + f + "'"));
        te.fieldNames().forEachRemaining(f -> assertTrue(schema.get("text_encoder").get("properties").has(f), "text_encoder." + f));
        java.util.Set<String> documented = new java.util.HashSet<>(), given = new java.util.HashSet<>();
        schema.fieldNames().forEachRemaining(documented::add);
        for (JsonNode entry : m.get("models")) entry.fieldNames().forEachRemaining(given::add);
        assertEquals(documented, given, "every documented field appears for one of the kinds");
    }

    @Test
    void promptNegativePromptClipSkip_areGenerateByteForByte(@TempDir Path tmp) throws IOException {
        HttpResponse<byte[]> r = post(server, "{\"prompt\":\"a red apple on a wooden table\",\"negative_prompt\":\"blurry\",\"seed\":3,"
                + "\"steps\":6,\"scheduler\":\"euler\",\"guidance\":5}");
        assertEquals(200, r.statusCode(), text(r));
        assertEquals("image/png", r.headers().firstValue("Content-Type").orElse(""));
        assertArrayEquals(generatePng(tmp, "--prompt", "a red apple on a wooden table", "--negative-prompt", "blurry", "--seed", "3",
                "--steps", "6", "--scheduler", "euler", "--guidance", "5"), r.body());
        assertEquals("6", r.headers().firstValue("X-Unet-Calls").orElse(""));

        // defaults (the folder's DDIM, guidance 7.5), two images of a prompt, the penultimate layer's output
        HttpResponse<byte[]> two = post(server, "{\"prompt\":\"a cozy cabin in the snowy woods\",\"clip_skip\":1,\"num_images\":2,\"seed\":-7,\"steps\":4}");
        assertEquals(200, two.statusCode(), text(two));
        assertArrayEquals(generatePng(tmp, "--prompt", "a cozy cabin in the snowy woods", "--clip-skip", "1", "--num-images", "2",
                "--seed", "-7", "--steps", "4"), two.body());

        // no guidance (conditional branch only), DPM-Solver++, DeepCache
        HttpResponse<byte[]> g1 = post(server, "{\"prompt\":\"a cat\",\"guidance\":1,\"seed\":5,\"steps\":5,\"scheduler\":\"dpmpp2m\","
                + "\"accel\":{\"method\":\"deepcache\",\"interval\":2}}");
        assertEquals(200, g1.statusCode(), text(g1));
        assertArrayEquals(generatePng(tmp, "--prompt", "a cat", "--guidance", "1", "--seed", "5", "--steps", "5", "--scheduler", "dpmpp2m",
                "--accel", "deepcache", "--interval", "2"), g1.body());
    }

    @Test
    void aPromptTheTokenizerCutsIsAWarningAsGenerateWarns(@TempDir Path tmp) throws IOException {
        String longPrompt = "a red apple on a wooden table, ".repeat(12).trim();
        HttpResponse<byte[]> r = post(server, "{\"prompt\":\"" + longPrompt + "\",\"steps\":2,\"seed\":1,\"response_format\":\"json\"}");
        assertEquals(200, r.statusCode(), text(r));
        JsonNode o = json(r);
        assertEquals(1, o.get("warnings").size(), o.get("warnings").toString());
        String w = o.get("warnings").get(0).asText();
        assertTrue(w.startsWith("prompt: "), w);
        assertEquals(longPrompt, o.get("prompt").asText());
        assertEquals(0, o.get("clip_skip").asInt());
        Path out = tmp.resolve("long.png");
        CliRun cli = generate(out, "--prompt", longPrompt, "--steps", "2", "--seed", "1");
        assertTrue(cli.err().contains("warning: " + w), "generate prints the same warning:\n" + cli.err());
        assertArrayEquals(Files.readAllBytes(out), Base64.getDecoder().decode(o.get("grid").asText()));

        HttpResponse<byte[]> png = post(server, "{\"prompt\":\"" + longPrompt + "\",\"steps\":2,\"seed\":1}");
        assertEquals(List.of(Server.headerText(w)), png.headers().allValues("X-Warning"));
        HttpResponse<byte[]> fits = post(server, "{\"prompt\":\"a cat\",\"steps\":2,\"seed\":1}");
        assertTrue(fits.headers().allValues("X-Warning").isEmpty());
    }

    static Stream<Arguments> badBodies() {
        String sd = "\"model\":\"" + SD + "\",";
        return Stream.of(
                Arguments.of("{" + sd + "\"steps\":2}", "prompt"),                                      // required
                Arguments.of("{" + sd + "\"prompt\":5}", "prompt"),
                Arguments.of("{" + sd + "\"prompt\":\"a cat\",\"class\":\"Bag\"}", "class"),
                Arguments.of("{" + sd + "\"prompt\":\"a cat\",\"clip_skip\":3}", "clip_skip"),          // 3 layers: 0..2
                Arguments.of("{" + sd + "\"prompt\":\"a cat\",\"clip_skip\":-1}", "clip_skip"),
                Arguments.of("{" + sd + "\"prompt\":\"a cat\",\"clip_skip\":1.5}", "clip_skip"),
                Arguments.of("{" + sd + "\"prompt\":\"a cat\",\"clip_skip\":\"1\"}", "clip_skip"),
                Arguments.of("{" + sd + "\"prompt\":\"a cat\",\"negative_prompt\":[\"x\"]}", "negative_prompt"),
                Arguments.of("{" + sd + "\"prompt\":\"a cat\",\"negative_prompt\":\"blurry\",\"guidance\":1}", "negative_prompt"),
                Arguments.of("{" + sd + "\"prompt\":\"a cat\",\"guidance\":51}", "guidance"),
                Arguments.of("{" + sd + "\"prompt\":\"a cat\",\"size\":8}", "size"),                     // the latent side is not the image's
                Arguments.of("{" + sd + "\"prompt\":\"" + "x".repeat(4097) + "\"}", "prompt"),
                Arguments.of("{" + sd + "\"prompt\":\"a \\ud800 cat\"}", "prompt"),                 // not Unicode text: the tokenizer's refusal
                Arguments.of("{" + sd + "\"prompt\":\"a cat\",\"negative_prompt\":\"\\udc00\"}", "negative_prompt"),
                Arguments.of("{\"model\":\"fashion-cond-32\",\"clip_skip\":1}", "clip_skip"),           // no text encoder
                Arguments.of("{\"model\":\"fashion-cond-32\",\"prompt\":\"a bag\"}", "prompt"));
    }

    @ParameterizedTest(name = "{0} -> 400 {1}")
    @MethodSource("badBodies")
    void textFieldsAreValidatedAgainstTheModel(String body, String field) {
        HttpResponse<byte[]> r = post(server, body);
        assertEquals(400, r.statusCode(), text(r));
        JsonNode e = json(r).get("error");
        assertEquals("invalid_field", e.get("code").asText(), text(r));
        assertEquals(field, e.get("field").asText(), text(r));
        assertTrue(e.get("message").asText().startsWith(field + ": "), text(r));
        assertEquals(ServeConfig.defaults().maxQueue(), server.batcher().freeSlots(), "nothing was queued");
    }

    @Test
    void messagesSayWhatIsAllowed() {
        assertTrue(message("{\"prompt\":\"a cat\",\"clip_skip\":3}").contains("has 3 layers, so clip skip must be 0..2"));
        assertTrue(message("{\"model\":\"fashion-cond-32\",\"prompt\":\"a bag\"}").contains("this model has no text encoder"));
        assertTrue(message("{\"steps\":2}").contains("required"));
        assertTrue(message("{\"prompt\":\"a cat\",\"size\":8}").contains("64×64"));
    }

    private static String message(String body) {
        return json(post(server, body)).get("error").get("message").asText();
    }

    /** Four requests with different prompts, negative prompts, clip skips, seeds and image counts: one UNet batch. */
    static final List<String> GROUP = List.of(
            "{\"prompt\":\"a photo of an astronaut riding a horse on mars\",\"seed\":1,\"steps\":4,\"guidance\":6}",
            "{\"prompt\":\"a cat\",\"negative_prompt\":\"blurry, low quality\",\"seed\":2,\"steps\":4,\"guidance\":6}",
            "{\"prompt\":\"a cozy cabin in the snowy woods\",\"clip_skip\":1,\"num_images\":2,\"seed\":3,\"steps\":4,\"guidance\":6}",
            "{\"prompt\":\"a red apple on a wooden table\",\"seed\":-4,\"steps\":4,\"guidance\":6}");

    /** The CLI arguments of GROUP's requests. */
    static final List<String[]> GROUP_CLI = List.of(
            new String[]{"--prompt", "a photo of an astronaut riding a horse on mars", "--seed", "1", "--steps", "4", "--guidance", "6"},
            new String[]{"--prompt", "a cat", "--negative-prompt", "blurry, low quality", "--seed", "2", "--steps", "4", "--guidance", "6"},
            new String[]{"--prompt", "a cozy cabin in the snowy woods", "--clip-skip", "1", "--num-images", "2", "--seed", "3", "--steps", "4", "--guidance", "6"},
            new String[]{"--prompt", "a red apple on a wooden table", "--seed", "-4", "--steps", "4", "--guidance", "6"});

    /**
     * Batched with other prompts: one UNet batch of 5 images from 4 requests, each request's images bit for bit
     * as it gets them alone and its PNG generate's, on the CPU backend (batch-invariant kernels) and on the scalar
     * reference backend.
     */
    @Test
    void differentPromptsShareOneBatch_eachAsAloneAndAsGenerate(@TempDir Path tmp) throws Exception {
        List<byte[]> cli = new ArrayList<>();
        for (String[] a : GROUP_CLI) cli.add(generatePng(tmp, a));
        Result cpu = batchedVsAlone(TestServers.backend());
        cpu.print("cpu");
        assertTrue(cpu.allBits, "batched vs alone on the (batch-invariant) cpu backend must be bit-identical:\n" + String.join("\n", cpu.verdicts));
        for (int k = 0; k < GROUP.size(); k++) {
            assertArrayEquals(cli.get(k), cpu.alone.get(k).grid(), "alone: generate's PNG for " + GROUP.get(k));
            assertArrayEquals(cli.get(k), cpu.batched.get(k).grid(), "batched with 3 other prompts: generate's PNG for " + GROUP.get(k));
        }

        Result s = batchedVsAlone(Backends.create("scalar", 1));
        s.print("scalar");
        assertTrue(s.allBits, "batched vs alone on the scalar backend must be bit-identical:\n" + String.join("\n", s.verdicts));
    }

    record Result(boolean allBits, double worst, List<String> verdicts, List<JobResult> batched, List<JobResult> alone) {
        void print(String backend) {
            System.out.println("text-to-image batching (" + backend + "): bit-identical = " + allBits + ", worst relative L2 = " + worst);
            verdicts.forEach(v -> System.out.println("  " + v));
        }
    }

    static Result batchedVsAlone(Backend backend) throws Exception {
        List<String> verdicts = new ArrayList<>();
        List<JobResult> batchedResults = new ArrayList<>(), aloneResults = new ArrayList<>();
        boolean allBits = true;
        double worst = 0;
        try (Server batched = new Server(TestServers.config().withQueue(16, 8, Duration.ofSeconds(10)), TestServers.textModels(), backend).start();
             Server alone = new Server(TestServers.config().withQueue(16, 1, Duration.ZERO), TestServers.textModels(), backend).start()) {
            List<String> ids = new ArrayList<>();
            for (String req : GROUP) ids.add(submit(batched, req));
            for (int k = 0; k < GROUP.size(); k++) {
                JobResult b = result(batched, ids.get(k));
                assertEquals(GROUP.size(), b.batchRequests(), "the 4 requests shared one batch");
                assertEquals(5, b.batchImages());
                JobResult a = result(alone, submit(alone, GROUP.get(k)));
                assertEquals(1, a.batchRequests());
                assertEquals(a.trace().pattern(), b.trace().pattern());
                assertEquals(a.trace().totalMacs(), b.trace().totalMacs(), "a request's share of the batch's MACs = its MACs alone");
                float[] x = b.images().data(), y = a.images().data();
                boolean bits = Arrays.equals(x, y);
                double rel = BatchingEquivalenceTest.relL2(x, y);
                allBits &= bits;
                worst = Math.max(worst, rel);
                verdicts.add(GROUP.get(k) + ": " + (bits ? "bit-identical" : "relative L2 " + rel) + (Arrays.equals(a.grid(), b.grid()) ? ", same PNG" : ", PNG differs"));
                batchedResults.add(b);
                aloneResults.add(a);
            }
        }
        assertFalse(batchedResults.isEmpty());
        return new Result(allBits, worst, verdicts, batchedResults, aloneResults);
    }

    private static JobResult result(Server s, String id) throws Exception {
        Job.Outcome o = s.batcher().job(id).outcome().get(5, TimeUnit.MINUTES);
        if (!(o instanceof Job.Done d)) throw new AssertionError(id + " ended " + o);
        return d.result();
    }
}
