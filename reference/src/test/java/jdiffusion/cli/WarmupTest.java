package jdiffusion.cli;

import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.SafeTensorsWriter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernels' JIT warm-up ({@link jdiffusion.kernels.Warmup}) changes when code is compiled, never a result: the same
 * {@code sample} run in two fresh JVMs, one with the warm-up (its first step then runs compiled kernels) and one without
 * (its first step runs the Vector API's interpreted fallbacks), writes the same bits. Fresh JVMs, because in this one
 * the kernels are long compiled.
 */
class WarmupTest {
    @TempDir
    Path tmp;

    @Test
    void warmupChangesNoBitAndCanBeSwitchedOff() throws Exception {
        Path model = Path.of(System.getProperty("jdiffusion.root", "..")).resolve("weights/models/fashion-ddpm-32").toAbsolutePath().normalize();
        Assumptions.assumeTrue(Files.isDirectory(model), "bundled model " + model + " not present");
        Path noise = tmp.resolve("noise.safetensors");
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[4 * 32 * 32];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
        new SafeTensorsWriter().put("x_T", new int[]{4, 1, 32, 32}, x).write(noise);

        String on = sample(model, noise, tmp.resolve("on.safetensors"), true);
        String off = sample(model, noise, tmp.resolve("off.safetensors"), false);
        String byDefault = sample(model, noise, tmp.resolve("default.safetensors"), null);
        assertTrue(on.contains("warmup: Report[") && on.contains("error=null"), "the warm-up ran and finished:\n" + on);
        assertFalse(off.contains("warmup"), "-Djdiffusion.warmup=false starts no warm-up:\n" + off);
        assertTrue(byDefault.contains("warmup: Report[") && byDefault.contains("error=null"), "sample warms up by default:\n" + byDefault);
        assertTrue(Main.warmupByDefault("generate") && Main.warmupByDefault("sample"), "the sampling commands warm up by default");
        for (String other : List.of("forward", "bench", "compare", "sweep", "evaluate"))
            assertFalse(Main.warmupByDefault(other), other + " warms up only when asked");
        assertArrayEquals(Files.readAllBytes(tmp.resolve("default.safetensors")), Files.readAllBytes(tmp.resolve("off.safetensors")), "same file by default");

        try (SafeTensorsFile a = SafeTensorsFile.open(tmp.resolve("on.safetensors"));
             SafeTensorsFile b = SafeTensorsFile.open(tmp.resolve("off.safetensors"))) {
            for (String key : List.of("x.0", "x.1", "x.2", "out")) {
                float[] fa = a.floats(key), fb = b.floats(key);
                assertEquals(fa.length, fb.length, key);
                for (int i = 0; i < fa.length; i++)
                    if (Float.floatToRawIntBits(fa[i]) != Float.floatToRawIntBits(fb[i]))
                        throw new AssertionError(key + "[" + i + "]: " + fa[i] + " with the warm-up, " + fb[i] + " without");
            }
        }
        assertArrayEquals(Files.readAllBytes(tmp.resolve("on.safetensors")), Files.readAllBytes(tmp.resolve("off.safetensors")), "same file");
    }

    /** {@code sample} of 3 DDIM steps in a fresh JVM, the warm-up asked for, refused or left to its default (null); returns its stdout + stderr. */
    private static String sample(Path model, Path noise, Path out, Boolean warmup) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "--add-modules", "jdk.incubator.vector", warmup == null ? "-Djdiffusion.other=1" : "-Djdiffusion.warmup=" + warmup, "-Djdiffusion.warmup.log=true",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "sample", "--model", model.toString(), "--steps", "3", "--threads", "2", "--noise", noise.toString(), "--output", out.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "sample did not finish");
        assertEquals(0, p.exitValue(), "sample failed:\n" + text);
        return text;
    }
}
