package jdiffusion.cli;

import jdiffusion.Golden;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `bench` as scripts use it: the last line is median_ms=<the median of the timed runs>; bad values are refused. */
class BenchCommandTest {

    @Test
    void lastLineIsTheMedianOfTheTimedRuns() {
        CliRun r = CliRun.runCapturingSystemStreams("bench", "--model", Golden.path("unet2d-tiny").toString(), "--batch", "2", "--runs", "3",
                "--warmup", "1", "--warmup-seconds", "0", "--warmup-max-seconds", "0", "--gemm-size", "64", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().lines().toArray(String[]::new);
        String last = lines[lines.length - 1];
        assertTrue(last.matches("median_ms=\\d+\\.\\d"), last);
        Pattern run = Pattern.compile("^run \\d+: ([\\d.]+) ms(, \\d+ page faults)?$");
        double[] ms = Arrays.stream(lines).map(run::matcher).filter(Matcher::matches).mapToDouble(m -> Double.parseDouble(m.group(1))).sorted().toArray();
        assertEquals(3, ms.length, "three timed runs");
        assertEquals(String.format("median_ms=%.1f", ms[1]), last);
        List<String> all = List.of(lines);
        assertTrue(all.stream().anyMatch(l -> l.startsWith("warmup 1: ")), "at least one warm-up run");
        assertTrue(all.stream().anyMatch(l -> l.matches("macs_per_forward=[1-9][\\d.]* G.*|macs_per_forward=0\\.\\d*[1-9]\\d* G.*")), "MACs counted");
        assertTrue(all.stream().anyMatch(l -> l.startsWith("gemm_64=")), "GEMM measured");
        assertTrue(all.stream().anyMatch(l -> l.matches("peak_rss_mib=[1-9]\\d* .*")), "peak memory reported");
        if (java.nio.file.Files.isReadable(java.nio.file.Path.of("/proc/self/stat")))
            assertTrue(all.stream().filter(l -> l.startsWith("run ")).allMatch(l -> l.endsWith(" page faults")), "page faults per run on Linux");
    }

    @Test
    void refusesBadValuesNamingTheOption() {
        CliRun r = CliRun.run("bench", "--model", Golden.path("unet2d-tiny").toString(), "--batch", "0");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("--batch"), r.err());
        r = CliRun.run("bench", "--model", Golden.path("unet2d-tiny").toString(), "--warmup-max-seconds", "-1");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("--warmup-max-seconds"), r.err());
    }

    /** bench --arch sd-vae: SD 1.5's VAE decoder (49.49 M parameters), MACs of the published layout, median_ms last. */
    @Test
    void benchTimesTheSdVaeDecoder() {
        CliRun r = CliRun.runCapturingSystemStreams("bench", "--arch", "sd-vae", "--size", "16", "--runs", "1", "--warmup", "0",
                "--warmup-seconds", "0", "--warmup-max-seconds", "0", "--gemm-size", "0", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.getFirst().contains("sd-vae (AutoencoderKL decoder, 49.49 M parameters, block_out_channels [128, 256, 512, 512]"),
                lines.getFirst());
        assertTrue(lines.getFirst().contains("latents [1, 4, 2, 2] -> image 16×16"), lines.getFirst());
        // convolution MACs Cout·Cin·k²·pixels, linear MACs tokens·in·out, attention 2·T²·D, image 16×16 from latents 2×2:
        long px0 = 4, px1 = 16, px2 = 64, px3 = 256;
        long macs = conv(4, 4, 1, px0) + conv(512, 4, 3, px0)                                       // post_quant_conv, conv_in
                + 4 * conv(512, 512, 3, px0) + 4 * px0 * 512 * 512 + 2 * px0 * px0 * 512                // mid block: 2 resnets, attention
                + 6 * conv(512, 512, 3, px0) + conv(512, 512, 3, px1)                                  // up_blocks.0 + upsampler
                + 6 * conv(512, 512, 3, px1) + conv(512, 512, 3, px2)                                  // up_blocks.1 + upsampler
                + conv(256, 512, 3, px2) + 5 * conv(256, 256, 3, px2) + conv(256, 512, 1, px2) + conv(256, 256, 3, px3)
                + conv(128, 256, 3, px3) + 5 * conv(128, 128, 3, px3) + conv(128, 256, 1, px3) + conv(3, 128, 3, px3);
        assertEquals(1_211_031_616L, macs);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith(String.format("macs_per_forward=%.3f G", macs / 1e9))), r.out());
        assertTrue(lines.stream().anyMatch(l -> l.matches("median_ms=[\\d.]+  min_ms=[\\d.]+  ms_per_image=[\\d.]+  GMAC/s=[\\d.]+")), r.out());
        assertTrue(lines.getLast().matches("median_ms=\\d+\\.\\d"), lines.getLast());
        CliRun bad = CliRun.run("bench", "--arch", "sd-vae", "--size", "100");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--size must be a multiple of 8"), bad.err());
        bad = CliRun.run("bench", "--arch", "sd-vae", "--weights-dtype", "f16");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("the VAE decoder keeps its weights in float32"), bad.err());
        bad = CliRun.run("bench", "--arch", "sd15", "--size", "512");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--size is the decoded image size of --arch sd-vae"), bad.err());
    }

    private static long conv(long cout, long cin, long k, long pixels) {
        return cout * cin * k * k * pixels;
    }
}
