package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The vector configuration: the {@value VectorWidth#PROPERTY} property is parsed strictly and really
 * selects the species (the build runs the kernel tests once more with 256 bits and the 16-register plan
 * forced, see reference/pom.xml, so both micro-tiles and widths are checked against the scalar path wherever
 * the machine's preferred width is 512), the register blocking fits the register file, and GEMM, Winograd convolution
 * and attention give the same bits at 256 and 512 bits and with both register plans (child JVMs) as in this JVM.
 */
class VectorWidthTest {

    @Test
    void propertyIsParsedStrictly() {
        assertEquals(FloatVector.SPECIES_PREFERRED, VectorWidth.species(null, FloatVector.SPECIES_PREFERRED));
        assertEquals(FloatVector.SPECIES_128, VectorWidth.species("128", FloatVector.SPECIES_PREFERRED));
        assertEquals(FloatVector.SPECIES_256, VectorWidth.species(" 256 ", FloatVector.SPECIES_PREFERRED));
        assertEquals(FloatVector.SPECIES_512, VectorWidth.species("512", FloatVector.SPECIES_PREFERRED));
        for (String bad : new String[]{"", "64", "1024", "256bit", "avx2"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> VectorWidth.species(bad, FloatVector.SPECIES_256));
            assertEquals("-Djdiffusion.vectorBits=" + bad + ": not a vector width; allowed: 128, 256 or 512 (default: the Vector API's"
                    + " preferred width, here 256)", e.getMessage());
        }
    }

    @Test
    void registerPlanIsParsedStrictly() {
        assertEquals(32, VectorWidth.registers(null));
        assertEquals(32, VectorWidth.registers("32"));
        assertEquals(16, VectorWidth.registers(" 16"));
        var e = assertThrows(IllegalArgumentException.class, () -> VectorWidth.registers("24"));
        assertEquals("-Djdiffusion.vectorRegisters=24: allowed: 16 or 32 (the register count the GEMM blocking plans for; default 32)",
                e.getMessage());
    }

    /** The configuration this JVM runs is the one asked for, and its micro-tile fits the register file. */
    @Test
    void activeConfiguration() {
        String forced = System.getProperty(VectorWidth.PROPERTY), regs = System.getProperty(VectorWidth.REGISTERS_PROPERTY);
        assertEquals(regs == null ? 32 : Integer.parseInt(regs.strip()), VectorWidth.REGISTERS);
        int want = forced != null ? Integer.parseInt(forced.strip()) : FloatVector.SPECIES_PREFERRED.vectorBitSize();
        assertEquals(want, VectorWidth.bits());
        assertEquals(want / 32, VectorWidth.L);
        assertEquals(2 * VectorWidth.L, Gemm.NR);
        // MR·2 accumulators + 2 vectors of B + the broadcast A value
        assertTrue(2 * Gemm.MR + 3 <= VectorWidth.REGISTERS, VectorWidth.describe());
        assertEquals(VectorWidth.REGISTERS >= 32 ? 12 : 6, Gemm.MR);
        assertEquals(0, FlashAttention.BK % Gemm.MR);
        System.out.println(VectorWidth.describe());
    }

    /**
     * Same bits at every width: each GEMM element is one chain of fused multiply-adds over k in order, the
     * Winograd transforms and the online softmax are lane-wise, so neither the lane count nor the micro-tile
     * may change a result. Checked on shapes with ragged edges (rows off both micro-tiles, k over both k-blocks,
     * several key blocks, a head size off MR).
     */
    @Test
    void gemmWinogradAndAttentionGiveTheSameBitsAtEveryWidth() throws Exception {
        String here = Probe.digest();
        for (String[] config : new String[][]{{"256", "32"}, {"256", "16"}, {"512", "32"}}) {
            String child = runProbe(config[0], config[1]);
            assertEquals(here, child, "digest at " + config[0] + " bits, " + config[1] + " registers differs from this JVM's ("
                    + VectorWidth.describe() + ")");
        }
    }

    private static String runProbe(String bits, String registers) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "--add-modules", "jdk.incubator.vector", "-Xmx1g",
                "-D" + VectorWidth.PROPERTY + "=" + bits, "-D" + VectorWidth.REGISTERS_PROPERTY + "=" + registers, "-cp", System.getProperty("java.class.path"), Probe.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "probe at " + bits + " bits did not finish");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "probe at " + bits + " bits failed:\n" + text);
        String[] lines = text.strip().split("\n");
        return lines[lines.length - 1].strip();
    }

    /** Runs the kernels on fixed inputs and prints one SHA-256 over all their output bits. */
    public static final class Probe {
        public static void main(String[] args) throws Exception {
            System.out.println(digest());
        }

        static String digest() throws NoSuchAlgorithmException {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            try (Parallel par = new Parallel(2)) {
                // GEMM: rows off both micro-tiles (37 = 3·12 + 1 = 6·6 + 1), k over both KC blocks, A in place and packed
                for (int[] s : new int[][]{{37, 75, 700}, {13, 600, 333}, {5, 17, 9}}) {
                    int m = s[0], n = s[1], k = s[2];
                    float[] a = random(1, m * k), b = random(2, k * n), c = new float[m * n];
                    Gemm.gemm(par, m, n, k, a, 0, k, b, 0, n, c, 0, n);
                    update(md, c);
                }
                // Winograd F(2×2, 3×3) with a bias, odd sizes (partial tiles)
                int n = 2, cin = 19, cout = 29, h = 13, w = 11;
                float[] x = random(3, n * cin * h * w), wt = random(4, cout * cin * 9), bias = random(5, cout);
                float[] u = Winograd.transformWeights(par, MatA.of(wt, 0, cin * 9), cout, cin);
                float[] y = new float[n * cout * h * w];
                Winograd.conv(par, x, n, cin, h, w, 1, 1, u, bias, cout, h, w, y);
                update(md, y);
                // attention: several key blocks (tk > BK), head size 40 (off MR), causal too
                int batch = 2, heads = 2, d = 40, tq = 70, tk = 300;
                float[] q = random(6, batch * tq * heads * d), kk = random(7, batch * tk * heads * d), v = random(8, batch * tk * heads * d);
                float[] o = new float[batch * tq * heads * d];
                FlashAttention.run(par, q, kk, v, o, batch, tq, tk, heads, d, 0.125f);
                update(md, o);
                float[] kc = random(9, batch * tq * heads * d), vc = random(10, batch * tq * heads * d), oc = new float[o.length];
                FlashAttention.run(par, q, kc, vc, oc, batch, tq, tq, heads, d, 0.125f, true);
                update(md, oc);
            }
            return HexFormat.of().formatHex(md.digest());
        }

        private static float[] random(long seed, int size) {
            Random r = new Random(seed);
            float[] f = new float[size];
            for (int i = 0; i < size; i++) f[i] = (float) r.nextGaussian();
            return f;
        }

        private static void update(MessageDigest md, float[] f) {
            byte[] bytes = new byte[4 * f.length];
            for (int i = 0; i < f.length; i++) {
                int bits = Float.floatToRawIntBits(f[i]);
                bytes[4 * i] = (byte) bits;
                bytes[4 * i + 1] = (byte) (bits >>> 8);
                bytes[4 * i + 2] = (byte) (bits >>> 16);
                bytes[4 * i + 3] = (byte) (bits >>> 24);
            }
            md.update(bytes);
        }
    }
}
