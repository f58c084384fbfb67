package jdiffusion.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jdiffusion.Golden;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsTest {

    static Path lpipsDir() {
        return Golden.lpipsDir();
    }

    static Tensor png(Path p) throws IOException {
        BufferedImage img = ImageIO.read(p.toFile());
        int h = img.getHeight(), w = img.getWidth();
        Tensor t = Tensor.zeros(1, 3, h, w);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                for (int c = 0; c < 3; c++) t.data()[(c * h + y) * w + x] = ((rgb >> (16 - 8 * c)) & 0xff) / 255f * 2 - 1;
            }
        return t;
    }

    @Test
    void lpipsMatchesTheLpipsPackage() throws IOException {
        Path dir = lpipsDir();
        JsonNode g = new ObjectMapper().readTree(dir.resolve("golden.json").toFile());
        Lpips lp = Lpips.load(dir);
        try (CpuBackend be = new CpuBackend(2)) {
            Tensor ref = png(dir.resolve("ex_ref.png")), p0 = png(dir.resolve("ex_p0.png")), p1 = png(dir.resolve("ex_p1.png"));
            double d0 = lp.distance(be, ref, p0)[0], d1 = lp.distance(be, ref, p1)[0], dd = lp.distance(be, ref, ref)[0];
            System.out.printf("LPIPS ref/p0 %.6f (golden %.6f), ref/p1 %.6f (golden %.6f), ref/ref %.2e%n", d0, g.get("ref_p0").asDouble(), d1, g.get("ref_p1").asDouble(), dd);
            assertEquals(g.get("ref_p0").asDouble(), d0, 1e-4 * g.get("ref_p0").asDouble() + 1e-6);
            assertEquals(g.get("ref_p1").asDouble(), d1, 1e-4 * g.get("ref_p1").asDouble() + 1e-6);
            assertEquals(0, dd, 1e-9);
            try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("random-pair.safetensors"))) {
                double[] d = lp.distance(be, Golden.tensor(f, "a"), Golden.tensor(f, "b"));
                for (int i = 0; i < 2; i++) assertEquals(g.get("random_pair").get(i).asDouble(), d[i], 1e-4 * d[i] + 1e-7, "random pair " + i);
            }
        }
    }

    @Test
    void psnrAndSsim() {
        Tensor a = Tensor.zeros(1, 1, 16, 16), b = Tensor.zeros(1, 1, 16, 16);
        Random r = new Random(3);
        for (int i = 0; i < a.numel(); i++) {
            a.data()[i] = (float) (r.nextDouble() * 2 - 1);
            b.data()[i] = a.data()[i] + 0.02f;   // 0.01 in [0, 1] units, except where clamped
        }
        assertEquals(Double.POSITIVE_INFINITY, ImageMetrics.psnr(a, a));
        assertEquals(1.0, ImageMetrics.ssim(a, a), 1e-12);
        double psnr = ImageMetrics.psnr(a, b);
        assertTrue(psnr > 39.5 && psnr < 40.5, "PSNR of a 0.01 shift ≈ 40 dB, got " + psnr);
        double s = ImageMetrics.ssim(a, b);
        assertTrue(s > 0.99 && s < 1, "SSIM " + s);
        Tensor noise = Tensor.zeros(1, 1, 16, 16);
        for (int i = 0; i < noise.numel(); i++) noise.data()[i] = (float) (r.nextDouble() * 2 - 1);
        assertTrue(ImageMetrics.ssim(a, noise) < 0.2);
    }

    @Test
    void frechetDistanceOfGaussians() {
        Random r = new Random(5);
        int n = 4000, d = 3;
        double[][] x = new double[n][d], y = new double[n][d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) {
                x[i][j] = r.nextGaussian();
                y[i][j] = 2 * r.nextGaussian() + 1;     // N(1, 4): d² = 3·1 + 3·(1 + 4 − 2·2) = 6
            }
        assertEquals(0, FrechetDistance.between(x, x), 1e-9);
        assertEquals(6.0, FrechetDistance.between(x, y), 0.3);
    }
}
