package jdiffusion.cli;

import jdiffusion.Golden;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** generate/sample with prompts on a Stable Diffusion folder as a user runs them: prompts files, warnings, named errors. */
class Text2ImageCliTest {
    @TempDir
    Path tmp;

    private static Path sd() {
        return Golden.path("sd-text2img-tiny");
    }

    /** A bad command: exit code 1, one "error:" line naming the fragments, never a stack trace. */
    private static void assertError(CliRun r, String... fragments) {
        assertEquals(1, r.code(), "should fail: " + r.out() + r.err());
        assertTrue(r.err().startsWith("error: ") || r.err().contains("\nerror: "), r.err());
        for (String f : fragments) assertTrue(r.err().contains(f), "message should mention '" + f + "':\n" + r.err());
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), "no stack trace:\n" + r.err());
    }

    /** A copy of sd-text2img-tiny with one component folder left out ({@code missing}) or replaced by another folder. */
    private Path pipelineWith(String missing, String component, Path replacement) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("sd-" + (missing != null ? "no-" + missing : "other-" + component)));
        Files.copy(sd().resolve("model_index.json"), dir.resolve("model_index.json"));
        for (String c : List.of("scheduler", "text_encoder", "tokenizer", "unet", "vae")) {
            if (c.equals(missing)) continue;
            Path from = c.equals(component) ? replacement : sd().resolve(c);
            try (var files = Files.list(from)) {
                Files.createDirectories(dir.resolve(c));
                for (Path f : files.toList()) Files.copy(f, dir.resolve(c).resolve(f.getFileName().toString()));
            }
        }
        return dir;
    }

    /** Latents [n, 4, 8, 8] in a --noise file, row j seeded by j. */
    private Path noise(String name, int n, int firstSeed) {
        float[] x = new float[n * 4 * 8 * 8];
        java.util.Random r = new java.util.Random();
        for (int j = 0; j < n; j++) {
            r.setSeed(firstSeed + j);
            for (int i = 0; i < 256; i++) x[j * 256 + i] = (float) r.nextGaussian();
        }
        Path p = tmp.resolve(name);
        new SafeTensorsWriter().put("x_T", new int[]{n, 4, 8, 8}, x).write(p);
        return p;
    }

    @Test
    void badTextToImageInputGivesNamedErrors() throws IOException {
        String out = tmp.resolve("o.png").toString();
        // a prompt for a model without text encoder: class-conditional, unconditional, and an SD folder without text_encoder/
        Path cond = Path.of(System.getProperty("jdiffusion.root", "..")).resolve("weights/models/fashion-cond-32");
        assertError(CliRun.run("generate", "--model", cond.toString(), "--prompt", "a coat", "--steps", "2", "--out", out),
                "--prompt", "has no text encoder", "class-conditional", "--class NAME");
        assertError(CliRun.run("generate", "--model", Golden.path("unet2d-tiny").toString(), "--prompt", "a coat", "--out", out),
                "unconditional", "--prompt");
        assertError(CliRun.run("generate", "--model", pipelineWith("text_encoder", null, null).toString(), "--prompt", "x", "--out", out),
                "model_index.json", "text_encoder", "is missing");
        // --clip-skip ≥ the encoder's 3 layers, and < 0
        assertError(CliRun.run("generate", "--model", sd().toString(), "--prompt", "x", "--clip-skip", "3", "--out", out),
                "--clip-skip 3", "has 3 layers", "0..2");
        assertError(CliRun.run("generate", "--model", sd().toString(), "--prompt", "x", "--clip-skip", "-1", "--out", out),
                "--clip-skip -1", "0..2");
        // --prompt together with --cond or --class; a negative prompt or clip skip without a prompt or without guidance
        Path condFile = tmp.resolve("cond.safetensors");
        new SafeTensorsWriter().put("cond", new int[]{77, 32}, new float[77 * 32]).write(condFile);
        assertError(CliRun.run("generate", "--model", sd().toString(), "--prompt", "x", "--cond", condFile.toString(), "--out", out),
                "--prompt", "--cond", "not both");
        assertError(CliRun.run("generate", "--model", sd().toString(), "--prompt", "x", "--class", "Coat", "--out", out),
                "--prompt", "--class", "not both");
        assertError(CliRun.run("generate", "--model", sd().toString(), "--negative-prompt", "x", "--out", out), "--negative-prompt", "--prompt");
        assertError(CliRun.run("generate", "--model", sd().toString(), "--prompt", "x", "--negative-prompt", "y", "--guidance", "1", "--out", out),
                "--negative-prompt needs --guidance > 1");
        assertError(CliRun.run("generate", "--model", sd().toString(), "--class", "Coat", "--out", out), "--class", "not a class-conditional", "--prompt TEXT");
        assertError(CliRun.run("generate", "--model", sd().toString(), "--out", out), "give --prompt TEXT");
        // an empty prompts file, a missing one, and --prompt with --prompts-file
        Path empty = tmp.resolve("empty.txt");
        Files.writeString(empty, "\n  \n");
        assertError(CliRun.run("generate", "--model", sd().toString(), "--prompts-file", empty.toString(), "--out", out),
                "--prompts-file", "empty.txt", "no prompts");
        assertError(CliRun.run("generate", "--model", sd().toString(), "--prompts-file", tmp.resolve("none.txt").toString(), "--out", out),
                "none.txt", "no such file");
        assertError(CliRun.run("generate", "--model", sd().toString(), "--prompts-file", empty.toString(), "--prompt", "x", "--out", out),
                "--prompt or --prompts-file");
        // model_index names a component whose folder is missing
        assertError(CliRun.run("generate", "--model", pipelineWith("vae", null, null).toString(), "--prompt", "x", "--out", out),
                "model_index.json", "'vae'", "AutoencoderKL", "is missing");
        // a text encoder of width 48 for a UNet with cross_attention_dim 32
        assertError(CliRun.run("generate", "--model", pipelineWith(null, "text_encoder", Golden.path("clip-text-sd1-layout")).toString(),
                "--prompt", "x", "--out", out), "hidden_size", "48", "cross_attention_dim 32");
        // an unknown component and a component of an unsupported class
        Path odd = pipelineWith(null, "tokenizer", sd().resolve("tokenizer"));
        Files.writeString(odd.resolve("model_index.json"), Files.readString(odd.resolve("model_index.json"))
                .replace("\"image_encoder\": [\n    null,\n    null\n  ]", "\"text_encoder_2\": [\"transformers\", \"CLIPTextModelWithProjection\"]"));
        assertError(CliRun.run("generate", "--model", odd.toString(), "--prompt", "x", "--out", out), "text_encoder_2", "not one jdiffusion loads");
        assertFalse(Files.exists(Path.of(out)), "no output for a refused command");
    }

    @Test
    void promptsFileGivesOneImagePerPromptInBatchesAsEachPromptAlone() throws IOException {
        List<String> prompts = List.of("a red apple on a wooden table", "a photo of an astronaut riding a horse on mars", "a cat");
        Path file = tmp.resolve("prompts.txt");
        Files.writeString(file, String.join("\n", prompts.get(0), "", prompts.get(1), prompts.get(2)) + "\n");
        Path grid = tmp.resolve("grid.png");
        CliRun r = CliRun.runCapturingSystemStreams("generate", "--model", sd().toString(), "--prompts-file", file.toString(), "--batch", "2",
                "--steps", "3", "--noise", noise("three.safetensors", 3, 100).toString(), "--out", grid.toString());
        assertEquals(0, r.code(), r.err());
        BufferedImage g = ImageIO.read(grid.toFile());
        int scale = 2, pad = 2, size = 64;                                    // 64×64 images, a 2×2 grid at 2×
        assertEquals(2 * (size * scale + pad) + pad, g.getWidth());
        for (int k = 0; k < prompts.size(); k++) {
            Path one = tmp.resolve("one" + k + ".png");
            r = CliRun.runCapturingSystemStreams("generate", "--model", sd().toString(), "--prompt", prompts.get(k), "--steps", "3",
                    "--noise", noise("one" + k + ".safetensors", 1, 100 + k).toString(), "--out", one.toString());
            assertEquals(0, r.code(), r.err());
            BufferedImage alone = ImageIO.read(one.toFile());
            assertEquals(size, alone.getWidth(), "one image is written as itself");
            int x0 = pad + (k % 2) * (size * scale + pad), y0 = pad + (k / 2) * (size * scale + pad), worst = 0;
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++) {
                    int a = alone.getRGB(x, y), b = g.getRGB(x0 + x * scale, y0 + y * scale);
                    for (int s = 0; s <= 16; s += 8) worst = Math.max(worst, Math.abs(((a >> s) & 0xff) - ((b >> s) & 0xff)));
                }
            assertTrue(worst <= 1, "prompt " + k + " in a batch of the file vs alone: pixels differ by " + worst);
        }
    }

    @Test
    void longPromptIsTruncatedWithAWarningAndSampleWritesTheImage() throws IOException {
        String longPrompt = "a very detailed painting of a lighthouse on a cliff ".repeat(9).strip();
        Path out = tmp.resolve("traj.safetensors");
        CliRun r = CliRun.runCapturingSystemStreams("sample", "--model", sd().toString(), "--prompt", longPrompt, "--steps", "2",
                "--noise", noise("x.safetensors", 2, 5).toString(), "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: prompt: The following part of your input was truncated because CLIP can only handle sequences up to 77 tokens"),
                r.err());
        assertEquals(1, r.err().split("truncated", -1).length - 1, "one warning for one distinct prompt, not one per image:\n" + r.err());
        try (SafeTensorsFile f = SafeTensorsFile.open(out)) {
            assertEquals("[2, 3, 64, 64]", java.util.Arrays.toString(f.entry("image").intShape()));
            float[] img = f.floats("image");
            float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
            for (float v : img) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            assertTrue(min >= 0 && max <= 1 && max > min, "image in [0, 1]: " + min + ".." + max);
        }
        // the same prompt with another negative prompt changes the result; clip skip too
        Path a = tmp.resolve("a.safetensors"), b = tmp.resolve("b.safetensors");
        Path x = noise("x1.safetensors", 1, 9);
        assertEquals(0, CliRun.run("sample", "--model", sd().toString(), "--prompt", "a cat", "--steps", "2", "--noise", x.toString(),
                "--output", a.toString()).code());
        assertEquals(0, CliRun.run("sample", "--model", sd().toString(), "--prompt", "a cat", "--negative-prompt", "a dog", "--steps", "2",
                "--noise", x.toString(), "--output", b.toString()).code());
        try (SafeTensorsFile fa = SafeTensorsFile.open(a); SafeTensorsFile fb = SafeTensorsFile.open(b)) {
            assertNotEquals(java.util.Arrays.toString(fa.floats("out")), java.util.Arrays.toString(fb.floats("out")));
        }
    }
}
