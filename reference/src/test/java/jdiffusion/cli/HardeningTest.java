package jdiffusion.cli;

import jdiffusion.Golden;
import jdiffusion.sweep.Planner;
import jdiffusion.sweep.ResultStore;
import jdiffusion.sweep.SweepConfig;
import jdiffusion.sweep.SweepRow;
import jdiffusion.accel.PolicySpec;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 14, one test per class of failure a hostile user found on 8d33a5f: lost outputs, coerced CLI
 * values, silent non-finite numbers, runs that do not fit the heap, stack traces, sweeps that hide their
 * failures. Each asserts the exit code and the message the user now gets.
 */
class HardeningTest {
    @TempDir
    Path tmp;

    static String tiny() {
        return Golden.path("unet2d-tiny").toString();
    }

    /** Exit code, then every fragment in what the user saw (picocli's streams and System.out/err). */
    private static CliRun expect(int code, CliRun r, String... fragments) {
        String all = r.err() + r.out();
        assertEquals(code, r.code(), "exit code; output:\n" + all);
        for (String f : fragments) assertTrue(all.contains(f), "message should mention '" + f + "':\n" + all);
        assertFalse(all.contains("\tat ") || all.contains("Exception in"), "no stack trace:\n" + all);
        return r;
    }

    private static CliRun run(String... args) {
        return CliRun.runCapturingSystemStreams(args);
    }

    private static List<String> temporaryFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList();
        }
    }

    // ------------------------------------------------------------------------------------------ data loss

    /**
     * A directory given as an output is refused (it used to be replaced by a file, exit 0), and so is an
     * output path that cannot be written, before the model is even loaded; two options naming one file too.
     */
    @Test
    void outputPathsAreCheckedBeforeAnythingIsComputed() throws IOException {
        Path emptyDir = Files.createDirectories(tmp.resolve("empty"));
        Path aFile = Files.writeString(tmp.resolve("file.txt"), "x");
        String png = tmp.resolve("a.png").toString();
        String[] gen = {"generate", "--model", tiny(), "--steps", "2", "--num-images", "1"};
        // a path ending in .png names a PNG: a directory of that name is refused, not replaced (a path without .png
        // names generate's bulk folder output, images/ and manifest.jsonl inside it, which replaces nothing)
        Path pngDir = Files.createDirectories(tmp.resolve("looks-like.png"));
        CliRun r = expect(1, run(concat(gen, "--out", pngDir.toString())), "--out", "is a directory; give a file name");
        assertTrue(Files.isDirectory(pngDir), "the directory is still there");
        assertFalse(r.err().contains("step 1/"), "refused before sampling:\n" + r.err());
        r = expect(1, run(concat(gen, "--out", png, "--trace", aFile.resolve("t.json").toString())), "--trace", "is not a directory");
        assertFalse(r.err().contains("step 1/"), "a bad --trace is found before sampling, not after it:\n" + r.err());
        assertFalse(Files.exists(Path.of(png)));
        expect(1, run(concat(gen, "--out", png, "--trace", png)), "--out and --trace name the same file");
        Path noise = Golden.path("pipeline", "unet2d-tiny-ddim-20.safetensors");
        expect(1, run("sample", "--model", tiny(), "--steps", "2", "--noise", noise.toString(), "--output", emptyDir.toString()),
                "--output", "is a directory");
        expect(1, run("forward", "--model", tiny(), "--input", Golden.path("unet2d-tiny", "io.safetensors").toString(), "--output", emptyDir.toString()),
                "--output", "is a directory");
        expect(1, run("sweep", "--model", tiny(), "--out", aFile.toString(), "--configs", "full@2"), "--out", "exists and is not a directory");
        assertTrue(Files.isDirectory(emptyDir) && Files.readString(aFile).equals("x"));

        // the main output is written before the secondary one
        Path trace = tmp.resolve("t.json");
        r = expect(0, run(concat(gen, "--out", png, "--trace", trace.toString())));
        assertTrue(r.out().indexOf("wrote " + png) < r.out().indexOf("wrote " + trace) && r.out().contains("wrote " + trace), r.out());
    }

    /**
     * A write that fails part way (here: the file-size limit of `ulimit -f`, a real EFBIG from the kernel,
     * as a full disk gives ENOSPC) leaves the previous file intact and no temporary file behind: for the
     * PNG (which ImageIO used to delete first and then write in place) and the safetensors trajectory
     * (whose *.tmp used to stay behind).
     */
    @Test
    void aFailedWriteLeavesThePreviousFileIntactAndNoTemporaryFile() throws Exception {
        byte[] previous = "the previous output, which must survive".getBytes(StandardCharsets.UTF_8);
        Path png = Files.write(tmp.resolve("grid.png"), previous);
        Child c = child(1, "generate", "--model", tiny(), "--steps", "2", "--num-images", "1", "--out", png.toString());
        assertEquals(Main.BAD_INPUT, c.code(), c.output());
        assertArrayEquals(previous, Files.readAllBytes(png), "the previous PNG is intact");
        assertEquals(List.of(), temporaryFiles(tmp));
        assertTrue(c.output().contains("error: cannot write " + png + ": File too large"), c.output());

        Path st = Files.write(tmp.resolve("trajectory.safetensors"), previous);
        c = child(1, "sample", "--model", tiny(), "--steps", "2", "--noise", Golden.path("pipeline", "unet2d-tiny-ddim-20.safetensors").toString(),
                "--output", st.toString());
        assertEquals(Main.BAD_INPUT, c.code(), c.output());
        assertArrayEquals(previous, Files.readAllBytes(st), "the previous trajectory is intact");
        assertEquals(List.of(), temporaryFiles(tmp));
        assertTrue(c.output().contains("error: " + st) && c.output().contains("cannot write") && c.output().contains("File too large"), c.output());
    }

    private record Child(int code, String output) {
    }

    /** The CLI in a child JVM whose files may not grow beyond {@code limitKiB} (bash's ulimit -f). */
    private Child child(int limitKiB, String... args) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "ulimit -f " + limitKiB + " && exec \"$@\"", "bash", java,
                "--add-modules", "jdk.incubator.vector", "-XX:-UsePerfData", "-Xmx1g", "-Xss8m", "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(Arrays.asList(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.MINUTES));
        return new Child(p.exitValue(), out);
    }

    // ------------------------------------------------------------------------------------------ coercion

    /** Infinity, -Infinity, NaN and overflowing literals are refused for every kind of double option, naming it. */
    @Test
    void nonFiniteOptionValuesAreRefusedNamingTheOption() {
        String[] gen = {"generate", "--model", tiny(), "--steps", "2", "--num-images", "1", "--out", tmp.resolve("a.png").toString()};
        String[][] cases = {
                {"--accel", "adaptive", "--delta", "Infinity"}, {"--accel", "adaptive", "--delta", "-Infinity"},
                {"--accel", "deepcache", "--deepcache-schedule", "non-uniform", "--power", "Infinity"},
                {"--accel", "mixed-res", "--beta", "NaN"}, {"--accel", "mixed-res", "--low-res-fraction", "1e400"},
                {"--eta", "Infinity"}, {"--guidance", "Infinity"}};
        for (String[] c : cases)
            expect(Main.USAGE, run(concat(gen, c)), "Invalid value for option '" + c[c.length - 2] + "'", "'" + c[c.length - 1] + "' is not a finite number");
        expect(Main.USAGE, run("compare", "--model", tiny(), "--accel", "deepcache", "--warmup-seconds", "Infinity"),
                "'--warmup-seconds'", "not a finite number");
        expect(Main.USAGE, run("bench", "--model", tiny(), "--warmup-max-seconds", "Infinity"), "'--warmup-max-seconds'", "not a finite number");
        expect(Main.USAGE, run("evaluate", "--guidance", "1,Infinity"), "'--guidance'", "'Infinity' is not a finite number");
        expect(Main.USAGE, run("plan", "--results", tmp.toString(), "--speedup", "NaN"), "'--speedup'", "not a finite number");
        // numbers inside a value: sweep configuration ids and MAC budgets
        expect(1, run("sweep", "--model", tiny(), "--out", tmp.resolve("s").toString(), "--configs", "mr-b1e400-s0.5@2"),
                "bad configuration 'mr-b1e400-s0.5': 'b1e400': the value must be a finite number");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Planner.parseMacs("1e999G"));
        assertTrue(e.getMessage().contains("--budget-macs must be a finite number of MACs > 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PolicySpec.parse("ad-d1e999-c4"));
        // an absurd thread count ran nothing at all (the chunk count overflowed) and exited 0
        expect(1, run(concat(gen, "--threads", "2147483647")), "--threads must be between 1 and 4096, got 2147483647");
    }

    // ------------------------------------------------------------------------------------------ non-finite

    /**
     * Finite weights whose activations overflow float32 (attention queries and keys scaled by 1e30: their
     * products are infinite) used to give an all-black image with exit 0; now the run stops at the step,
     * naming the first module whose output went non-finite. A NaN in the initial latent is refused too.
     */
    @Test
    void activationsThatOverflowStopTheRunNamingStepAndModule() throws IOException {
        Path model = Files.createDirectories(tmp.resolve("overflow"));
        Path src = Golden.path("unet2d-tiny");
        Files.copy(src.resolve("config.json"), model.resolve("config.json"));
        SafeTensorsWriter w = new SafeTensorsWriter();
        List<String> scaled = List.of("down_blocks.1.attentions.0.to_q.weight", "down_blocks.1.attentions.0.to_k.weight");
        try (SafeTensorsFile f = SafeTensorsFile.open(src.resolve("diffusion_pytorch_model.safetensors"))) {
            for (String k : f.entries().keySet()) {
                float[] v = f.floats(k);
                if (scaled.contains(k)) for (int i = 0; i < v.length; i++) v[i] *= 1e30f;
                w.put(k, f.entry(k).intShape(), v);
            }
        }
        w.write(model.resolve("diffusion_pytorch_model.safetensors"));
        Path png = tmp.resolve("a.png");
        expect(Main.NON_FINITE, run("generate", "--model", model.toString(), "--steps", "2", "--num-images", "1", "--out", png.toString()),
                "error: sampling went non-finite at step 1 of 2 (t = 500.0)", "the first UNet module whose output went non-finite: down_blocks.1.attentions.0");
        assertFalse(Files.exists(png), "no image of garbage");

        float[] x = new float[3 * 32 * 32];
        x[7] = Float.NaN;
        Path noise = tmp.resolve("nan.safetensors");
        new SafeTensorsWriter().put("x_T", new int[]{1, 3, 32, 32}, x).write(noise);
        expect(Main.NON_FINITE, run("sample", "--model", tiny(), "--steps", "2", "--noise", noise.toString(), "--output", tmp.resolve("o.safetensors").toString()),
                "error: the initial latent has 1 non-finite (NaN or infinite) values of 3072");
    }

    // ------------------------------------------------------------------------------------------ memory

    /**
     * A run that cannot fit the heap is refused before anything is computed, with the estimate and the
     * flags that would fix it: many images (it used to end in OutOfMemoryError after minutes), and
     * weights larger than the heap (a sparse file: nothing is written to disk).
     */
    @Test
    void aRunThatCannotFitTheHeapIsRefusedUpFrontWithTheFix() throws IOException {
        long t0 = System.nanoTime();
        CliRun r = expect(Main.OUT_OF_MEMORY, run("generate", "--model", tiny(), "--steps", "2", "--num-images", "100000", "--out", tmp.resolve("a.png").toString()),
                "error: generate of 100000 images at batch 100000 needs about", "more than the heap limit of",
                "To fit: raise the limit with JDIFFUSION_HEAP=", "a smaller --batch", "fewer --num-images");
        assertFalse(r.err().contains("step 1/"), r.err());
        assertTrue((System.nanoTime() - t0) / 1e9 < 60, "refused up front");
        // at batch 16 the activations fit; the images and the PNG grid of 100000 images still do not
        expect(Main.OUT_OF_MEMORY, run("generate", "--model", tiny(), "--steps", "2", "--num-images", "100000", "--batch", "16", "--out", tmp.resolve("a.png").toString()),
                "100000 images", "the PNG grid", "fewer --num-images");

        // a sweep builds the conditioning of all its images up front: too many seeds are refused before that
        expect(Main.OUT_OF_MEMORY, run("sweep", "--model", Golden.path("unet2dcond-sd15-layout").toString(), "--cond",
                        Golden.path("pipeline", "unet2dcond-sd15-layout-ddim-20.safetensors").toString(), "--seeds", "2147483647",
                        "--configs", "full@2", "--out", tmp.resolve("s").toString()),
                "error: the conditioning of 2147483647 images (1 groups × --seeds 2147483647) takes", "use fewer --seeds or raise JDIFFUSION_HEAP");

        Path model = Files.createDirectories(tmp.resolve("huge"));
        Files.copy(Golden.path("unet2d-tiny", "config.json"), model.resolve("config.json"));
        // tensors of 1 GiB each, 1.5 × the heap in all, in a sparse file (the reader checks sizes, not contents)
        int tensors = (int) Math.ceil(1.5 * Runtime.getRuntime().maxMemory() / (1 << 30));
        long each = 1L << 30;
        StringBuilder h = new StringBuilder("{");
        for (int i = 0; i < tensors; i++)
            h.append(i == 0 ? "" : ",").append("\"t").append(i).append("\":{\"dtype\":\"F32\",\"shape\":[262144,1024],\"data_offsets\":[")
                    .append(i * each).append(',').append((i + 1) * each).append("]}");
        byte[] header = h.append('}').toString().getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile f = new RandomAccessFile(model.resolve("diffusion_pytorch_model.safetensors").toFile(), "rw")) {
            byte[] len = new byte[8];
            java.nio.ByteBuffer.wrap(len).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(header.length);
            f.write(len);
            f.write(header);
            f.setLength(8 + header.length + tensors * each);
        }
        expect(Main.OUT_OF_MEMORY, run("generate", "--model", model.toString(), "--out", tmp.resolve("b.png").toString()),
                "error: the weights of " + model, "more than the heap limit of", "JDIFFUSION_HEAP=", "--weights-dtype f16 (about");
    }

    // ------------------------------------------------------------------------------------------ stack traces

    /** A command that fails in a way nobody foresaw: one error line, an exit code per kind, no stack trace. */
    @Test
    void unexpectedFailuresBecomeOneErrorLineWithTheirExitCode() throws IOException {
        record Case(Throwable t, int code, String message) {
        }
        for (Case c : List.of(new Case(new NullPointerException("boom"), Main.INTERNAL, "error: internal error (java.lang.NullPointerException: boom); this is a bug"),
                new Case(new OutOfMemoryError("Java heap space"), Main.OUT_OF_MEMORY, "error: out of memory (Java heap space, heap limit"),
                new Case(new StackOverflowError(), Main.OUT_OF_MEMORY, "error: stack overflow: raise the thread stack with JDIFFUSION_JAVA_OPTS=-Xss64m"))) {
            CommandLine cl = Main.commandLine();
            cl.addSubcommand("fail", new Failing(c.t()));
            StringWriter out = new StringWriter(), err = new StringWriter();
            cl.setOut(new PrintWriter(out));
            cl.setErr(new PrintWriter(err));
            CliRun r = new CliRun(cl.execute("fail"), out.toString(), err.toString());
            expect(c.code(), r, c.message(), "run with JDIFFUSION_DEBUG=1 for the stack trace");
        }
        // a refused static configuration (-Djdiffusion.vectorBits=100 fails VectorWidth's initialisation): its own message
        StringWriter vw = new StringWriter();
        assertEquals(Main.BAD_INPUT, Main.report(new ExceptionInInitializerError(new IllegalArgumentException(
                "-Djdiffusion.vectorBits=100: not a vector width; allowed: 128, 256 or 512")), new PrintWriter(vw)));
        assertEquals("error: -Djdiffusion.vectorBits=100: not a vector width; allowed: 128, 256 or 512", vw.toString().strip());

        // user-reachable inputs that used to end in a stack trace or a silent wrong result
        Path noise0 = tmp.resolve("rank0.safetensors");
        new SafeTensorsWriter().put("x_T", new int[]{}, new float[]{1}).write(noise0);
        expect(1, run("sample", "--model", tiny(), "--steps", "2", "--noise", noise0.toString(), "--output", tmp.resolve("o.safetensors").toString()),
                "x_T [] does not fit the model's latent [N, 3, H, W] (N, H, W ≥ 1)");
        Path io0 = tmp.resolve("io0.safetensors");
        new SafeTensorsWriter().put("sample", new int[]{}, new float[]{1}).put("timestep", new int[]{1}, new float[]{1}).write(io0);
        expect(1, run("forward", "--model", tiny(), "--input", io0.toString(), "--output", tmp.resolve("o.safetensors").toString()),
                "key 'sample': shape [] is not [N ≥ 1, channels, H ≥ 1, W ≥ 1]");
        expect(1, run("generate", "--model", tiny(), "--steps", "1", "--num-images", "2147483647", "--out", tmp.resolve("a.png").toString()),
                "a grid of 2147483647 images of 32×32", "more than an image can hold");
        expect(1, run("bench", "--model", tiny(), "--latent", "0"), "--latent must be at least 1, got 0");
        expect(1, run("bench", "--gemm-only", "--gemm-size", "100000"), "--gemm-size must be between 1 and 46340, got 100000");
        Path sweep = Files.createDirectories(tmp.resolve("sweep"));
        Files.writeString(sweep.resolve("sweep.json"), "[]");
        expect(1, run("sweep", "--model", tiny(), "--out", sweep.toString(), "--configs", "full@2", "--reference-steps", "2", "--seeds", "1",
                "--schedulers", "ddim", "--classifier", tmp.resolve("none").toString()), "sweep.json is not a sweep's settings file");
    }

    @CommandLine.Command(name = "fail")
    static final class Failing implements Callable<Integer> {
        private final Throwable t;

        Failing(Throwable t) {
            this.t = t;
        }

        @Override
        public Integer call() throws Exception {
            if (t instanceof Error e) throw e;
            throw (Exception) t;
        }
    }

    // ------------------------------------------------------------------------------------------ sweeps

    /**
     * A sweep with failed configurations exits non-zero and names them (it used to exit 0); the store
     * keeps the failure for the report, and the next run of the same command computes it again.
     */
    @Test
    void failedConfigurationsMakeTheSweepExitNonZeroAndAreRetried() throws IOException {
        Path out = tmp.resolve("sweep");
        String[] cmd = {"sweep", "--model", tiny(), "--schedulers", "ddim", "--reference-steps", "2", "--seeds", "1", "--out", out.toString(),
                "--classifier", tmp.resolve("none").toString(), "--configs", "full@2,xa@2"};
        expect(Main.SWEEP_FAILURES, run(cmd), "error: 1 of 2 configurations failed: ddim/xa@2 (--accel xattn needs a conditional model",
                "rerun the same command to retry the failed ones");
        assertTrue(ResultStore.open(out).get("ddim/xa@2").failed());
        CliRun again = expect(Main.SWEEP_FAILURES, run(cmd), "ddim/xa@2");
        assertTrue(again.err().contains("ddim/xa@2") && again.err().contains("retrying (failed before: --accel xattn"), again.err());
        assertTrue(again.err().contains("ddim/full@2") && again.err().contains("done before"), again.err());

        // a configuration that failed once (e.g. out of memory on a busy machine) and works now
        ResultStore.open(out).append(SweepRow.failure(new SweepConfig("ddim", 2, PolicySpec.FULL), "simulated failure"));
        String[] ok = Arrays.copyOf(cmd, cmd.length);
        ok[ok.length - 1] = "full@2";
        expect(0, run(ok), "wrote");
        assertFalse(ResultStore.open(out).get("ddim/full@2").failed(), "recomputed");
        assertTrue(Files.isRegularFile(out.resolve("sweep.json")));
        assertEquals(List.of(), temporaryFiles(out));
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
