package jdiffusion;

import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Access to the golden reference data (outputs of the real diffusers). Located by the system property
 * {@code jdiffusion.golden} (set by the build to ../shared/golden) or the environment variable
 * {@code JDIFFUSION_GOLDEN}. Where it is absent the test is skipped with a message, except under
 * {@code CI=true}, where a missing oracle is a failure: a skip there would hide a broken path.
 */
public final class Golden {
    private Golden() {
    }

    private static boolean ci() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** The shared golden folder if present, else (outside CI) the small copy bundled with the tests. */
    public static Path dir() {
        String p = System.getenv("JDIFFUSION_GOLDEN");                      // the environment wins (CI sets it)
        if (p == null || p.isBlank()) p = System.getProperty("jdiffusion.golden");
        if (p == null || p.isBlank()) p = "../shared/golden";
        Path dir = Path.of(p).toAbsolutePath().normalize();
        if (Files.isDirectory(dir)) return dir;
        String msg = "golden data not found at " + dir + " (set -Djdiffusion.golden=DIR or JDIFFUSION_GOLDEN)";
        if (ci()) Assertions.fail(msg + " — required under CI=true");
        Path mini = mini();
        if (mini != null) return mini;
        Assumptions.abort(msg);
        return null;
    }

    /** The shared LPIPS folder (JDIFFUSION_LPIPS, -Djdiffusion.lpips, ../shared/lpips); skips (fails under CI) when absent. */
    public static Path lpipsDir() {
        String p = System.getenv("JDIFFUSION_LPIPS");
        if (p == null || p.isBlank()) p = System.getProperty("jdiffusion.lpips");
        if (p == null || p.isBlank()) p = "../shared/lpips";
        Path d = Path.of(p).toAbsolutePath().normalize();
        if (!Files.isDirectory(d)) {
            String msg = "LPIPS weights not found at " + d + " (set JDIFFUSION_LPIPS or -Djdiffusion.lpips=DIR)";
            if (ci()) Assertions.fail(msg + " — required under CI=true");
            Assumptions.abort(msg);
        }
        return d;
    }

    /** reference/src/test/resources/golden-mini as copied to the test class path (null if not a directory). */
    static Path mini() {
        try {
            var url = Golden.class.getResource("/golden-mini");
            if (url == null || !"file".equals(url.getProtocol())) return null;
            return Path.of(url.toURI());
        } catch (java.net.URISyntaxException e) {
            return null;
        }
    }

    public static Path path(String first, String... more) {
        Path p = dir().resolve(first);
        for (String m : more) p = p.resolve(m);
        if (!Files.exists(p)) {
            String msg = "golden file missing: " + p + (dir().equals(mini()) ? " (only a small copy of the golden data is bundled; "
                    + "point -Djdiffusion.golden at ../shared/golden for the full set)" : "");
            if (ci()) Assertions.fail(msg);
            Assumptions.abort(msg);
        }
        return p;
    }

    public static Tensor tensor(SafeTensorsFile f, String key) {
        return Tensor.of(f.floats(key), f.entry(key).intShape());
    }

    /** ||a − b|| / ||b|| in double. */
    public static double relL2(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("length " + a.length + " vs " + b.length);
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            num += d * d;
            den += (double) b[i] * b[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    public static double relL2(Tensor a, Tensor b) {
        if (!a.sameShape(b)) throw new AssertionError("shape " + a.shapeString() + " vs " + b.shapeString());
        return relL2(a.data(), b.data());
    }
}
