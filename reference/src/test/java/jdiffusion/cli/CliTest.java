package jdiffusion.cli;

import jdiffusion.Golden;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI as a user runs it: parity through `forward`, determinism of `generate`, clear errors for bad input. */
class CliTest {
    @TempDir
    Path tmp;

    static CliRun run(String... args) {
        return CliRun.run(args);
    }

    @ParameterizedTest(name = "forward {0}")
    @ValueSource(strings = {"unet2d-tiny", "unet2d-ddpm-cifar-layout", "unet2dcond-sd15-layout", "unet2dcond-sd2-layout", "vae-sd-layout"})
    void forwardMatchesDiffusers(String model) {
        Path out = tmp.resolve("out.safetensors");
        CliRun r = run("forward", "--model", Golden.path(model).toString(), "--input", Golden.path(model, "io.safetensors").toString(),
                "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        try (SafeTensorsFile got = SafeTensorsFile.open(out); SafeTensorsFile want = SafeTensorsFile.open(Golden.path(model, "io.safetensors"))) {
            double e = Golden.relL2(got.floats("out"), want.floats("out"));
            assertTrue(e <= 1e-4, model + ": relative L2 " + e);
        }
    }

    /** Same seed, model and settings → identical output bytes, across runs and for 1 vs 2 threads (a stochastic sampler). */
    @Test
    void generateIsDeterministicAcrossRunsAndThreadCounts() throws IOException {
        List<byte[]> pngs = new ArrayList<>();
        for (String threads : new String[]{"1", "2", "2"}) {
            Path png = tmp.resolve("g" + pngs.size() + ".png");
            CliRun r = run("generate", "--model", Golden.path("unet2d-tiny").toString(), "--scheduler", "ddpm", "--steps", "6",
                    "--num-images", "3", "--batch", "2", "--seed", "7", "--threads", threads, "--out", png.toString());
            assertEquals(0, r.code(), r.err());
            pngs.add(Files.readAllBytes(png));
        }
        assertArrayEquals(pngs.get(0), pngs.get(1), "1 vs 2 threads");
        assertArrayEquals(pngs.get(1), pngs.get(2), "two runs");
        Path other = tmp.resolve("other.png");
        assertEquals(0, run("generate", "--model", Golden.path("unet2d-tiny").toString(), "--scheduler", "ddpm", "--steps", "6",
                "--num-images", "3", "--seed", "8", "--out", other.toString()).code());
        assertNotEquals(new String(pngs.get(0)), new String(Files.readAllBytes(other)), "another seed gives other images");
    }

    /** compare as a user runs it: a table with the full-step and accelerated rows, fewer MACs for DeepCache, the PNG. */
    @Test
    void compareShowsTheAcceleratedRunsSavingsAndWritesThePng() throws IOException {
        Path png = tmp.resolve("compare.png");
        java.io.PrintStream old = System.out;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        CliRun r;
        System.setOut(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            r = run("compare", "--model", Golden.path("unet2d-tiny").toString(), "--steps", "8", "--num-images", "2",
                    "--accel", "deepcache", "--interval", "2", "--warmup-seconds", "0", "--out", png.toString());
        } finally {
            System.setOut(old);
        }
        assertEquals(0, r.code(), r.err());
        List<String> lines = buf.toString(java.nio.charset.StandardCharsets.UTF_8).lines().toList();
        int header = lines.indexOf(lines.stream().filter(l -> l.startsWith("run ")).findFirst().orElseThrow());
        String[] full = lines.get(header + 1).trim().split("\\s+"), acc = lines.get(header + 2).trim().split("\\s+");
        assertEquals("full-step", full[0]);
        // columns from the end: … UNet calls, sample evals, GMACs, wall ms, MAC x, time x, PSNR, SSIM
        assertEquals(8, Integer.parseInt(full[full.length - 8]));
        assertEquals(4, Integer.parseInt(acc[acc.length - 8]), "N = 2: every other step runs the full UNet");
        assertEquals(2 * 8, Integer.parseInt(acc[acc.length - 7]), "the UNet ran (fully or partly) for both images at every step");
        assertTrue(Double.parseDouble(acc[acc.length - 4]) > 1.0, "DeepCache costs fewer MACs: " + lines.get(header + 2));
        // random golden weights: the images differ (PSNR ≈ 8.5 dB); the bundled model reaches > 30 dB (docs/results.md)
        assertTrue(Double.parseDouble(acc[acc.length - 2]) > 0, "PSNR vs full-step: " + lines.get(header + 2));
        assertTrue(Files.size(png) > 1000, "side-by-side PNG written");
    }

    @Test
    void sampleTrajectoryIsBitIdenticalForOneAndTwoThreads() {
        float[][] outs = new float[2][];
        for (int k = 0; k < 2; k++) {
            Path out = tmp.resolve("s" + k + ".safetensors");
            CliRun r = run("sample", "--model", Golden.path("unet2dcond-sd15-layout").toString(), "--scheduler", "dpmpp2m", "--steps", "5",
                    "--noise", Golden.path("pipeline", "unet2dcond-sd15-layout-dpmpp2m-20.safetensors").toString(),
                    "--cond", Golden.path("pipeline", "unet2dcond-sd15-layout-dpmpp2m-20.safetensors").toString(), "--guidance", "7.5",
                    "--threads", String.valueOf(k + 1), "--output", out.toString());
            assertEquals(0, r.code(), r.err());
            try (SafeTensorsFile f = SafeTensorsFile.open(out)) {
                outs[k] = f.floats("out");
            }
        }
        assertArrayEquals(outs[0], outs[1]);
    }

    /** A Stable-Diffusion-style pipeline folder (unet/, vae/, scheduler/) loads as a whole and generates decoded images. */
    @Test
    void pipelineFolderGeneratesDecodedImages() throws IOException {
        Path pipe = Files.createDirectories(tmp.resolve("sd-like"));
        Files.writeString(pipe.resolve("model_index.json"), """
                {"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"],
                 "vae": ["diffusers", "AutoencoderKL"], "scheduler": ["diffusers", "PNDMScheduler"],
                 "safety_checker": [null, null], "requires_safety_checker": false}""");
        for (String[] c : new String[][]{{"unet", "unet2dcond-sd15-layout"}, {"vae", "vae-sd-layout"}}) {
            Path d = Files.createDirectories(pipe.resolve(c[0]));
            Files.copy(Golden.path(c[1], "config.json"), d.resolve("config.json"));
            Files.copy(Golden.path(c[1], "diffusion_pytorch_model.safetensors"), d.resolve("diffusion_pytorch_model.safetensors"));
        }
        Files.createDirectories(pipe.resolve("scheduler"));
        Files.writeString(pipe.resolve("scheduler/scheduler_config.json"), """
                {"_class_name": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
                 "num_train_timesteps": 1000, "skip_prk_steps": true, "steps_offset": 1, "set_alpha_to_one": false, "clip_sample": false}""");
        Path cond = tmp.resolve("cond.safetensors");
        try (SafeTensorsFile g = SafeTensorsFile.open(Golden.path("pipeline", "unet2dcond-sd15-layout-ddim-20.safetensors"))) {
            new SafeTensorsWriter().put("cond", g.entry("cond").intShape(), g.floats("cond"))
                    .put("uncond", g.entry("uncond").intShape(), g.floats("uncond")).write(cond);
        }
        Path png = tmp.resolve("sd.png");
        CliRun r = run("generate", "--model", pipe.toString(), "--scheduler", "euler", "--steps", "4", "--num-images", "2",
                "--cond", cond.toString(), "--out", png.toString());
        assertEquals(0, r.code(), r.err());
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(png.toFile());
        // 16×16 latents decode to 32×32 images (one VAE upsampling level), shown at 4× in a 2×1 grid
        assertEquals(2 * (32 * 4 + 2) + 2, img.getWidth());
        assertEquals(32 * 4 + 4, img.getHeight());
    }

    private void assertError(CliRun r, String... fragments) {
        assertNotEquals(0, r.code(), "should fail: " + r.out());
        String all = r.err() + r.out();
        for (String f : fragments) assertTrue(all.contains(f), "message should mention '" + f + "':\n" + all);
    }

    @Test
    void badInputGivesClearErrors() throws IOException {
        String tiny = Golden.path("unet2d-tiny").toString();
        Path noise = Golden.path("pipeline", "unet2d-tiny-ddim-20.safetensors");
        assertError(run("generate", "--model", tiny, "--steps", "0"), "--steps", "at least 1");
        assertError(run("generate", "--model", tiny, "--scheduler", "plms"), "plms");
        assertError(run("generate", "--model", tiny, "--steps", "abc"), "--steps", "abc");
        assertError(run("generate", "--model", tiny, "--backend", "gpu"), "gpu");
        assertError(run("generate", "--model", tiny, "--threads", "0"), "--threads");
        assertError(run("generate", "--model", tiny, "--accel", "magic"), "magic");
        assertError(run("generate", "--model", tiny, "--class", "Coat"), "unconditional");
        assertError(run("generate", "--model", tmp.resolve("nowhere").toString()), "nowhere", "does not exist");
        assertError(run("generate", "--model", tiny, "--accel", "adaptive", "--max-skip", "-1"), "C_max");
        assertError(run("generate", "--model", tiny, "--accel", "deepcache", "--interval", "0"), "interval");
        assertError(run("generate", "--model", tiny, "--accel", "mixed-res", "--beta", "1.5"), "β");
        assertError(run("generate", "--model", tiny, "--eta", "0.5", "--scheduler", "euler"), "--eta");
        // a noise file without x_T: names the file and the key
        Path bad = tmp.resolve("bad.safetensors");
        new SafeTensorsWriter().put("latents", new int[]{1}, new float[]{0}).write(bad);
        assertError(run("sample", "--model", tiny, "--steps", "2", "--noise", bad.toString(), "--output", tmp.resolve("o.safetensors").toString()),
                "bad.safetensors", "x_T");
        // a scheduler config with an unknown option
        Path cfg = tmp.resolve("scheduler_config.json");
        Files.writeString(cfg, "{\"_class_name\":\"DDIMScheduler\",\"warp_speed\":9}");
        assertError(run("sample", "--model", tiny, "--steps", "2", "--noise", noise.toString(), "--scheduler-config", cfg.toString(),
                "--output", tmp.resolve("o.safetensors").toString()), "scheduler_config.json", "warp_speed");
        // conditional model without conditioning
        assertError(run("sample", "--model", Golden.path("unet2dcond-sd15-layout").toString(), "--steps", "2", "--noise",
                Golden.path("pipeline", "unet2dcond-sd15-layout-ddim-20.safetensors").toString(), "--output", tmp.resolve("o.safetensors").toString()),
                "conditional", "--cond");
        // a truncated weights file inside a model folder
        Path model = Files.createDirectories(tmp.resolve("broken"));
        Files.copy(Golden.path("unet2d-tiny", "config.json"), model.resolve("config.json"));
        byte[] w = Files.readAllBytes(Golden.path("unet2d-tiny", "diffusion_pytorch_model.safetensors"));
        Files.write(model.resolve("diffusion_pytorch_model.safetensors"), java.util.Arrays.copyOf(w, w.length / 2));
        assertError(run("generate", "--model", model.toString()), "diffusion_pytorch_model.safetensors", "truncated");
        assertEquals(0, run("generate", "--help").code());
    }

    /** Every command's help renders: a lone '%' in a description makes picocli warn and print it unformatted. */
    @Test
    void everyCommandsHelpRendersWithoutFormatWarnings() {
        for (String name : Main.commandLine().getSubcommands().keySet()) {
            CliRun r = CliRun.runCapturingSystemStreams(name, "--help");
            assertEquals(0, r.code(), name + " --help: " + r.err());
            assertTrue(!r.err().contains("WARN") && !r.out().contains("%n"), name + " --help: " + r.err());
        }
    }
}
