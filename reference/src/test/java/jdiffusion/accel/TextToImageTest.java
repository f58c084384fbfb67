package jdiffusion.accel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jdiffusion.Golden;
import jdiffusion.cli.CliRun;
import jdiffusion.image.Images;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.nn.WeightPrecision;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Java API: diffusers' pipeline output, generate's bits for the same settings, concurrent callers, refused input. */
class TextToImageTest {
    @TempDir
    Path tmp;

    private static CpuBackend cpu;
    private static TextToImage sd;

    @BeforeAll
    static void load() {
        cpu = new CpuBackend(2);
        sd = TextToImage.load(Golden.path("sd-text2img-tiny"), cpu, WeightPrecision.F32);
    }

    @AfterAll
    static void close() {
        if (sd != null) sd.close();
        if (cpu != null) cpu.close();
    }

    @Test
    void givesDiffusersPipelineImage() throws IOException {
        String run = "ddim-g7.5-neg";
        JsonNode spec = new ObjectMapper().readTree(Golden.path("sd-text2img-runs", run + ".json").toFile());
        try (SafeTensorsFile g = SafeTensorsFile.open(Golden.path("sd-text2img-runs", run + ".safetensors"))) {
            TextToImage.Result r = sd.generate(TextToImage.Request.of(spec.get("prompt").asText())
                    .withNegativePrompt(spec.get("negative_prompt").asText()).withGuidance(spec.get("guidance_scale").asDouble())
                    .withSteps(spec.get("num_inference_steps").asInt()).withInitialLatents(Golden.tensor(g, "x_T_scaled")));
            double e = Golden.relL2(r.images(), Golden.tensor(g, "image"));
            assertTrue(e <= 1e-4, "image relative L2 " + e);
            float[] u8 = g.floats("image_u8");                               // [1, 64, 64, 3]
            var img = r.image(0);
            int worst = 0;
            for (int y = 0; y < 64; y++)
                for (int x = 0; x < 64; x++)
                    for (int c = 0; c < 3; c++)
                        worst = Math.max(worst, Math.abs(((img.getRGB(x, y) >> (16 - 8 * c)) & 0xff) - (int) u8[(y * 64 + x) * 3 + c]));
            assertTrue(worst <= 1, "pixels differ by " + worst);
            assertEquals(1, r.traces().size());
            assertEquals(8, r.traces().getFirst().unetCalls());
        }
    }

    @Test
    void givesTheBitsOfGenerateForTheSameSettings() throws IOException {
        List<String> prompts = List.of("a red apple on a wooden table", "a cat");
        Path file = tmp.resolve("prompts.txt");
        Files.writeString(file, String.join("\n", prompts));
        Path cli = tmp.resolve("cli.png");
        CliRun r = CliRun.runCapturingSystemStreams("generate", "--model", Golden.path("sd-text2img-tiny").toString(), "--prompts-file", file.toString(),
                "--negative-prompt", "blurry", "--seed", "3", "--steps", "8", "--scheduler", "euler", "--guidance", "5", "--batch", "1",
                "--accel", "adaptive", "--delta", "0.05", "--max-skip", "2", "--threads", "2", "--out", cli.toString());
        assertEquals(0, r.code(), r.err());
        TextToImage.Result res = sd.generate(TextToImage.Request.of(prompts.toArray(String[]::new)).withNegativePrompt("blurry").withSeed(3)
                .withSteps(8).withScheduler("euler").withGuidance(5).withBatch(1).withAccel(PolicySpec.parse("ad-d0.05-c2")));
        Path api = tmp.resolve("api.png");
        Images.writePng(Images.picture(res.decoded()), api);
        assertArrayEquals(Files.readAllBytes(cli), Files.readAllBytes(api), "API and generate: same PNG bytes");
        assertEquals(2, res.traces().size(), "one trace per batch");
        assertTrue(res.warnings().stream().anyMatch(w -> w.contains("not used by EulerDiscreteScheduler")), res.warnings().toString());
    }

    @Test
    void concurrentCallersGetTheBitsOfOneAtATime() throws Exception {
        List<TextToImage.Request> requests = List.of(
                TextToImage.Request.of("a cat").withSeed(1).withSteps(3),
                TextToImage.Request.of("a photo of an astronaut riding a horse on mars", "a cat").withSeed(2).withSteps(3).withScheduler("dpmpp2m"),
                TextToImage.Request.of("a red apple on a wooden table").withSeed(3).withSteps(3).withGuidance(1).withClipSkip(1),
                TextToImage.Request.of("a cat").withSeed(4).withSteps(3).withAccel(PolicySpec.parse("dc-n2-b0-u")));
        List<float[]> alone = new ArrayList<>();
        for (TextToImage.Request q : requests) alone.add(sd.generate(q).decoded().data());
        ExecutorService pool = Executors.newFixedThreadPool(requests.size());
        try {
            for (int round = 0; round < 2; round++) {
                List<Future<TextToImage.Result>> f = new ArrayList<>();
                for (TextToImage.Request q : requests) f.add(pool.submit(() -> sd.generate(q)));
                for (int i = 0; i < requests.size(); i++)
                    assertArrayEquals(alone.get(i), f.get(i).get().decoded().data(), "request " + i + " run concurrently, round " + round);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void refusesWhatItCannotDo() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TextToImage.load(Golden.path("unet2d-tiny"), cpu, WeightPrecision.F32));
        assertTrue(e.getMessage().contains("not a text-to-image pipeline") && e.getMessage().contains("unconditional"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> sd.generate(TextToImage.Request.of("x").withClipSkip(3)));
        assertTrue(e.getMessage().contains("clip skip 3 is out of range") && e.getMessage().contains("0..2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> sd.generate(TextToImage.Request.of("x").withScheduler("plms")));
        assertTrue(e.getMessage().contains("plms"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> sd.generate(TextToImage.Request.of("x").withNegativePrompt("y").withGuidance(1)));
        assertTrue(e.getMessage().contains("negative prompt needs guidance > 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> sd.generate(TextToImage.Request.of("x", "y").withInitialLatents(Tensor.zeros(1, 4, 8, 8))));
        assertTrue(e.getMessage().contains("do not fit 2 images"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TextToImage.Request.of());
        assertThrows(IllegalArgumentException.class, () -> TextToImage.Request.of("x").withSteps(0));
        assertThrows(IllegalArgumentException.class, () -> TextToImage.Request.of("x").withGuidance(Double.NaN));
    }
}
