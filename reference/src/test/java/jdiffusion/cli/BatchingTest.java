package jdiffusion.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batching does not change images: {@code generate --num-images 4 --batch 4} writes the same PNG bytes
 * as {@code --batch 1}, for the bundled unconditional and class-conditional models, full-step (also with
 * DDPM's per-step noise, drawn per image) and with AdaptiveDiffusion decided per sample; and the scope
 * option's errors name what is wrong.
 */
class BatchingTest {
    @TempDir
    Path tmp;

    static Path bundled(String name) {
        Path dir = Path.of(System.getProperty("jdiffusion.root", "..")).resolve("weights/models").resolve(name).toAbsolutePath().normalize();
        Assumptions.assumeTrue(Files.isDirectory(dir), "bundled model " + dir + " not present");
        return dir;
    }

    private byte[] generate(String model, int batch, String steps, String accel) throws IOException {
        Path png = tmp.resolve(model + "-b" + batch + ".png");
        List<String> args = new ArrayList<>(List.of("generate", "--model", bundled(model).toString(), "--num-images", "4", "--batch", String.valueOf(batch),
                "--steps", steps, "--seed", "3", "--threads", "2", "--out", png.toString()));
        if (!accel.isBlank()) args.addAll(Arrays.asList(accel.trim().split(" ")));
        CliRun r = CliRun.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return Files.readAllBytes(png);
    }

    @ParameterizedTest(name = "{0} {2}")
    @CsvSource({"fashion-ddpm-32,12,''", "fashion-cond-32,12,''", "fashion-ddpm-32,12,--scheduler ddpm", "fashion-cond-32,20,--accel adaptive --adaptive-scope sample --delta 0.05",
            "fashion-ddpm-32,20,--accel adaptive --adaptive-scope sample --delta 0.05 --scheduler dpmpp2m"})
    void aBatchOfFourWritesTheSamePngAsFourBatchesOfOne(String model, String steps, String accel) throws IOException {
        assertArrayEquals(generate(model, 1, steps, accel), generate(model, 4, steps, accel));
    }

    @Test
    void theScopeOptionNamesItsErrors() {
        String model = bundled("fashion-ddpm-32").toString();
        String[][] cases = {
                {"--accel", "adaptive,deepcache", "--adaptive-scope", "sample"},
                {"--accel", "adaptive", "--adaptive-scope", "each"},
                {"--adaptive-scope", "sample"}};
        String[] expect = {"--adaptive-scope sample does not combine with deepcache", "--adaptive-scope must be batch or sample, got 'each'",
                "--adaptive-scope sample applies to AdaptiveDiffusion: add adaptive to --accel"};
        for (int c = 0; c < cases.length; c++) {
            List<String> args = new ArrayList<>(List.of("generate", "--model", model, "--num-images", "1", "--steps", "2", "--out", tmp.resolve("x.png").toString()));
            args.addAll(List.of(cases[c]));
            CliRun r = CliRun.run(args.toArray(String[]::new));
            assertNotEquals(0, r.code(), String.join(" ", cases[c]));
            assertTrue(r.err().contains(expect[c]) && !r.err().contains("\tat "), r.err());
        }
    }
}
