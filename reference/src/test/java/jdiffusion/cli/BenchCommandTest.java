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
}
