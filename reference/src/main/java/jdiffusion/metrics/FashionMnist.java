package jdiffusion.metrics;

import jdiffusion.tensor.Tensor;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST test images from the IDX files (Xiao, Rasul &amp; Vollgraf 2017), as Debian's
 * {@code dataset-fashion-mnist} package installs them under /usr/share/datasets/fashion-mnist
 * ({@code apt-get install dataset-fashion-mnist}). Images are padded from 28×28 to 32×32 with black
 * and mapped to [−1, 1], the space the bundled models generate in.
 */
public final class FashionMnist {
    public static final Path DEBIAN_DIR = Path.of("/usr/share/datasets/fashion-mnist");

    private FashionMnist() {
    }

    public record Split(Tensor images, int[] labels) {
    }

    /** The data folder: {@code dir} if given, else Debian's; null when neither has the files. */
    public static Path locate(Path dir) {
        Path d = dir != null ? dir : DEBIAN_DIR;
        return Files.isRegularFile(d.resolve("t10k-images-idx3-ubyte.gz")) ? d : null;
    }

    /** The first {@code limit} images of the t10k (test) split. */
    public static Split test(Path dir, int limit) {
        try {
            byte[] px = readIdx(dir.resolve("t10k-images-idx3-ubyte.gz"), 0x803);
            byte[] lb = readIdx(dir.resolve("t10k-labels-idx1-ubyte.gz"), 0x801);
            int n = Math.min(limit, lb.length);
            Tensor t = Tensor.zeros(n, 1, 32, 32);
            java.util.Arrays.fill(t.data(), -1f);
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                labels[i] = lb[i];
                for (int y = 0; y < 28; y++)
                    for (int x = 0; x < 28; x++)
                        t.data()[i * 1024 + (y + 2) * 32 + x + 2] = (px[i * 784 + y * 28 + x] & 0xff) / 255f * 2 - 1;
            }
            return new Split(t, labels);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read Fashion-MNIST from " + dir + ": " + e.getMessage(), e);
        }
    }

    private static byte[] readIdx(Path file, int magic) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file)); DataInputStream d = new DataInputStream(in)) {
            int m = d.readInt();
            if (m != magic) throw new IOException(file + ": bad IDX magic " + Integer.toHexString(m));
            int dims = magic & 0xff, count = 1;
            for (int i = 0; i < dims; i++) count *= d.readInt();
            byte[] data = new byte[count];
            d.readFully(data);
            return data;
        }
    }
}
