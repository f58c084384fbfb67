package jdiffusion.tornado;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The user's path with the GPU backend enabled: {@code ./jdiffusion} with {@code TORNADOVM_HOME} set starts the
 * JVM with TornadoVM's module path, and everything else must keep working (the CPU-side features used to die on
 * EJML 0.38 from TornadoVM's SDK), and TornadoVM's own failures must read like the rest: one {@code error:} line,
 * no stack trace. Run by failsafe after the jars are packaged (the launcher then finds them fresh and builds
 * nothing), in the tornado profile only.
 */
class LauncherIT {
    static final Path ROOT = Path.of(System.getProperty("jdiffusion.root", "..")).toAbsolutePath().normalize();
    static final Path MODEL = ROOT.resolve("weights/models/fashion-ddpm-32");
    static final String TORNADOVM_HOME = System.getenv("TORNADOVM_HOME");

    @TempDir
    Path tmp;

    record Run(int exit, String out, String err) {
        String all() {
            return out + err;
        }
    }

    /** Runs ./jdiffusion with TORNADOVM_HOME set (and the given extra environment), at most 15 minutes. */
    Run launcher(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("jdiffusion").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile());
        pb.environment().put("TORNADOVM_HOME", TORNADOVM_HOME);
        pb.environment().put("JDIFFUSION_HEAP", "4g");
        pb.environment().remove("JDIFFUSION_DEBUG");
        pb.environment().putAll(env);
        Path out = Files.createTempFile(tmp, "out", ".txt"), err = Files.createTempFile(tmp, "err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("./jdiffusion " + String.join(" ", args) + " did not finish in 15 minutes");
        }
        Run r = new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        System.out.printf("$ ./jdiffusion %s%n-> exit %d%n%s%s%n", String.join(" ", args), r.exit(), r.out(), r.err());
        return r;
    }

    static void assertNoStackTrace(Run r) {
        assertFalse(r.all().contains("Exception in thread") || r.all().matches("(?s).*\\n\\s+at [\\w.$]+\\(.*"),
                "a stack trace reached the user:\n" + r.all());
    }

    static void assertSucceeded(Run r) {
        assertNoStackTrace(r);
        assertEquals(0, r.exit(), "exit code\n" + r.all());
    }

    @Test
    void sweepEvaluateAndCompareWorkWithTornadoVMOnTheModulePath() throws Exception {
        assertTrue(Files.isDirectory(MODEL), "bundled model missing: " + MODEL);
        Path sweep = tmp.resolve("sweep");
        assertSucceeded(launcher(Map.of(), "sweep", "--model", MODEL.toString(), "--configs", "full@2,dc-n2-b0-u@4", "--schedulers", "ddim",
                "--reference-steps", "4", "--seeds", "2", "--batch", "2", "--out", sweep.toString()));
        // every row ran (a failed configuration is stored as a row with an error) and has FD, the metric that needs EJML
        JsonNode rows = new ObjectMapper().readTree(sweep.resolve("results.json").toFile()).get("rows");
        assertTrue(rows != null && rows.size() >= 2, "results.json has no rows");
        for (JsonNode row : rows) {
            assertTrue(row.path("error").isMissingNode() || row.path("error").isNull(), "a configuration failed: " + row);
            assertTrue(row.path("fd").isNumber(), "a row has no FD: " + row);
        }
        assertTrue(Files.exists(sweep.resolve("report.html")), "no report.html");

        Run eval = launcher(Map.of(), "evaluate", "--model", MODEL.toString(), "--num-images", "4", "--steps", "2", "--out", tmp.resolve("eval").toString());
        assertSucceeded(eval);
        assertTrue(eval.out().matches("(?s).*\\n-\\s+-\\s+\\d+\\.\\d+.*"), "evaluate printed no FD value:\n" + eval.out());

        // compare on the TornadoVM device itself: both in one JVM
        Path png = tmp.resolve("compare.png");
        assertSucceeded(launcher(Map.of(), "compare", "--model", MODEL.toString(), "--steps", "4", "--num-images", "2", "--accel", "deepcache",
                "--interval", "2", "--backend", "tornado", "--out", png.toString()));
        assertTrue(Files.size(png) > 0, "compare wrote no PNG");
    }

    /**
     * No package of the CLI jar (other than jdiffusion's own) is also in a jar of TornadoVM's module path: there
     * the module's copy would win over the CLI jar's (relocate such a package in reference/pom.xml's shade
     * configuration, as EJML is).
     */
    @Test
    void noPackageOfTheCliJarIsShadowedByTornadoVM() throws IOException {
        Set<String> cli = packages(ROOT.resolve("reference/target/jdiffusion.jar"));
        cli.removeIf(p -> p.startsWith("jdiffusion/") || p.startsWith("META-INF"));
        assertFalse(cli.isEmpty(), "the CLI jar has no third-party packages: was it built?");
        Set<String> tornado = new TreeSet<>();
        for (Path dir : modulePathDirs()) {
            try (Stream<Path> jars = Files.list(dir)) {
                for (Path j : jars.filter(f -> f.toString().endsWith(".jar")).toList()) tornado.addAll(packages(j));
            }
        }
        assertTrue(tornado.size() > 100, "found only " + tornado.size() + " packages on TornadoVM's module path");
        cli.retainAll(tornado);
        assertTrue(cli.isEmpty(), "packages of reference/target/jdiffusion.jar that TornadoVM's module path shadows: " + cli);
    }

    /** The directories of --module-path and --upgrade-module-path in $TORNADOVM_HOME/tornado-argfile. */
    static List<Path> modulePathDirs() throws IOException {
        List<Path> dirs = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(TORNADOVM_HOME, "tornado-argfile"))) {
            String[] w = line.trim().split("\\s+", 2);
            if (w.length == 2 && (w[0].equals("--module-path") || w[0].equals("--upgrade-module-path")))
                for (String d : w[1].split(":")) if (!d.equals(".")) dirs.add(Path.of(d));
        }
        assertFalse(dirs.isEmpty(), "no --module-path in " + TORNADOVM_HOME + "/tornado-argfile");
        return dirs;
    }

    static Set<String> packages(Path jar) throws IOException {
        Set<String> out = new TreeSet<>();
        try (ZipFile z = new ZipFile(jar.toFile())) {
            z.stream().map(e -> e.getName()).filter(n -> n.endsWith(".class") && n.contains("/") && !n.endsWith("module-info.class"))
                    .map(n -> n.substring(n.startsWith("META-INF/versions/") ? n.indexOf('/', 18) + 1 : 0, n.lastIndexOf('/')))
                    .forEach(out::add);
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------ errors

    private Run generateOnTornado(Map<String, String> env) throws Exception {
        return launcher(env, "generate", "--model", ROOT.resolve("../shared/golden/unet2d-tiny").normalize().toString(), "--backend", "tornado",
                "--steps", "2", "--out", tmp.resolve("g.png").toString());
    }

    static void assertNamedError(Run r, String... expected) {
        assertNoStackTrace(r);
        assertNotEquals(0, r.exit(), "should fail:\n" + r.all());
        assertTrue(r.err().contains("error: "), "no error: line\n" + r.err());
        for (String e : expected) assertTrue(r.err().contains(e), "the error should say '" + e + "':\n" + r.err());
    }

    /** No OpenCL platform (an ICD loader that finds no vendor): a named error, not ExceptionInInitializerError. */
    @Test
    void noOpenClPlatformIsANamedError() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("no-icd"));
        Run r = generateOnTornado(Map.of("OCL_ICD_VENDORS", empty.toString()));
        assertNamedError(r, "TornadoVM found no OpenCL platform", "pocl-opencl-icd");
        assertFalse(r.all().contains("ExceptionInInitializerError"), r.all());
    }

    @Test
    void aDeviceThatDoesNotExistIsANamedErrorListingTheDevices() throws Exception {
        Run r = generateOnTornado(Map.of("JDIFFUSION_JAVA_OPTS", "-Djdiffusion.tornado.device=9:9"));
        assertNamedError(r, "jdiffusion.tornado.device=9:9", "no such device", "0:0 ");
    }

    @Test
    void anExhaustedDevicePoolNamesTheFlagThatRaisesIt() throws Exception {
        Run r = generateOnTornado(Map.of("JDIFFUSION_JAVA_OPTS", "-Djdiffusion.tornado.memory=64k"));
        assertNamedError(r, "device memory pool exhausted", "-Djdiffusion.tornado.memory=", "JDIFFUSION_JAVA_OPTS");
    }
}
