package jdiffusion.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jdiffusion.Golden;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.SafeTensorsWriter;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * diffusers 0.31's own StableDiffusionPipeline.__call__ on the sd-text2img-tiny folder (sd-text2img-runs/: DDIM and
 * Euler, guidance 7.5 and 1, with and without a negative prompt, clip_skip 1), run through the CLI as a user runs it:
 * {@code sample --model sd-text2img-tiny --prompt … [--negative-prompt …] [--clip-skip K] --guidance G --noise x_T}
 * (Euler runs: {@code --scheduler euler} on the folder's config, as EulerDiscreteScheduler.from_config), then
 * {@code generate} with the same latent, whose PNG must hold the pipeline's PNG pixels.
 */
class GoldenText2ImageTest {
    @TempDir
    Path tmp;

    static Stream<String> runs() throws IOException {
        return GoldenSamplingTest.jsonCases("sd-text2img-runs");
    }

    /** The CLI arguments that ask for the run: prompt, negative prompt, clip skip, guidance, scheduler, steps, latent. */
    private List<String> runArgs(JsonNode spec, Path noise) {
        List<String> a = new ArrayList<>(List.of("--model", Golden.path(spec.get("pipeline").asText()).toString(),
                "--prompt", spec.get("prompt").asText(), "--guidance", spec.get("guidance_scale").asText(),
                "--steps", spec.get("num_inference_steps").asText(), "--noise", noise.toString()));
        if (spec.hasNonNull("negative_prompt")) a.addAll(List.of("--negative-prompt", spec.get("negative_prompt").asText()));
        if (spec.hasNonNull("clip_skip")) a.addAll(List.of("--clip-skip", spec.get("clip_skip").asText()));
        String scheduler = spec.get("scheduler").asText();
        if (!scheduler.equals("DDIMScheduler")) a.addAll(List.of("--scheduler", GoldenSamplingTest.cliName(scheduler)));  // the folder's is DDIM
        return a;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runs")
    void sampleAndGenerateGiveThePipelinesLatentsImageAndPixels(String name) throws IOException {
        JsonNode spec = new ObjectMapper().readTree(Golden.path("sd-text2img-runs", name + ".json").toFile());
        Path goldenFile = Golden.path("sd-text2img-runs", name + ".safetensors");
        Path noise = tmp.resolve("x_T.safetensors");
        try (SafeTensorsFile g = SafeTensorsFile.open(goldenFile)) {
            // the loop starts at x_T · init_noise_sigma: that is the x_T sample and generate --noise take
            new SafeTensorsWriter().put("x_T", g.entry("x_T_scaled").intShape(), g.floats("x_T_scaled")).write(noise);
        }
        Path out = tmp.resolve("out.safetensors");
        List<String> sample = new ArrayList<>(List.of("sample", "--output", out.toString()));
        sample.addAll(runArgs(spec, noise));
        CliRun r = CliRun.runCapturingSystemStreams(sample.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        int steps = spec.get("num_inference_steps").asInt();
        try (SafeTensorsFile got = SafeTensorsFile.open(out); SafeTensorsFile want = SafeTensorsFile.open(goldenFile)) {
            double worst = 0;
            for (int i = 0; i < steps; i++) {
                double e = Golden.relL2(got.floats("x." + i), want.floats("x." + i));
                assertTrue(e <= 1e-4, "x." + i + " relative L2 " + e);
                worst = Math.max(worst, e);
            }
            double eOut = Golden.relL2(got.floats("out"), want.floats("out")), eImage = Golden.relL2(got.floats("image"), want.floats("image"));
            System.out.printf("sd-text2img %s: latents ≤ %.2e, out %.2e, image %.2e%n", name, worst, eOut, eImage);
            assertTrue(eOut <= 1e-4, "out relative L2 " + eOut);
            assertTrue(eImage <= 1e-4, "image relative L2 " + eImage);
            assertEquals(steps, (int) got.floats("unet_calls")[0], "one UNet evaluation per step");
        }

        Path png = tmp.resolve(name + ".png");
        List<String> generate = new ArrayList<>(List.of("generate", "--out", png.toString()));
        generate.addAll(runArgs(spec, noise));
        r = CliRun.runCapturingSystemStreams(generate.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        BufferedImage img = ImageIO.read(png.toFile());
        float[] want;
        int[] shape;
        try (SafeTensorsFile g = SafeTensorsFile.open(goldenFile)) {
            want = g.floats("image_u8");                                                  // [1, H, W, 3]
            shape = g.entry("image_u8").intShape();
        }
        int h = shape[1], w = shape[2], maxDiff = 0, differing = 0;
        assertEquals(w, img.getWidth(), "PNG width");
        assertEquals(h, img.getHeight(), "PNG height");
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                int[] px = {(rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff};
                for (int c = 0; c < 3; c++) {
                    int d = Math.abs(px[c] - (int) want[(y * w + x) * 3 + c]);
                    maxDiff = Math.max(maxDiff, d);
                    if (d > 0) differing++;
                }
            }
        System.out.printf("sd-text2img %s: PNG max |Δ| %d, %d of %d values differ%n", name, maxDiff, differing, 3 * h * w);
        assertTrue(maxDiff <= 1, "PNG pixels differ from the pipeline's by up to " + maxDiff);
    }
}
