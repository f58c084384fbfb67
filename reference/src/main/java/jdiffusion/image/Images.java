package jdiffusion.image;

import jdiffusion.tensor.Tensor;
import jdiffusion.weights.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;

/** Images in [-1, 1] (NCHW) to PNG: single images and grids, grayscale for 1 channel, RGB for 3. */
public final class Images {
    private Images() {
    }

    /**
     * diffusers' postprocessing of one value, in its float32 arithmetic: u = (x / 2 + 0.5).clamp(0, 1)
     * (VaeImageProcessor.denormalize), then numpy's (u · 255).round() (halves to even) as uint8 (numpy_to_pil).
     */
    static int toByte(float v) {
        return (int) Math.rint(unit(v) * 255f);
    }

    /** (x / 2 + 0.5).clamp(0, 1) in float32: a decoded value in [-1, 1] as diffusers' output_type "pt" gives it. */
    public static float unit(float v) {
        return Math.min(1f, Math.max(0f, v / 2f + 0.5f));
    }

    /** {@link #unit} of every value: decoded images [N, C, H, W] in [-1, 1] to [0, 1] (diffusers' output_type "pt"). */
    public static Tensor unit(Tensor decoded) {
        float[] d = decoded.data(), o = new float[d.length];
        for (int i = 0; i < d.length; i++) o[i] = unit(d[i]);
        return Tensor.of(o, decoded.shape());
    }

    /**
     * What generate writes for a batch: the image itself (its own size, the pixels diffusers would save) when
     * there is one, else a grid of all of them, scaled up so that small images stay visible.
     */
    public static BufferedImage picture(Tensor batch) {
        if (batch.dim(0) == 1) return image(batch, 0);
        return grid(batch, (int) Math.ceil(Math.sqrt(batch.dim(0))), defaultScale(batch.dim(2)));
    }

    /** Image {@code k} of a batch; 4-channel latents without a VAE are previewed from their first 3 channels. */
    public static BufferedImage image(Tensor batch, int k) {
        int c = batch.dim(1), h = batch.dim(2), w = batch.dim(3);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        float[] d = batch.data();
        int base = k * c * h * w;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int r, g, b;
                if (c == 1) {
                    r = g = b = toByte(d[base + y * w + x]);
                } else {
                    r = toByte(d[base + y * w + x]);
                    g = toByte(d[base + (h + y) * w + x]);
                    b = toByte(d[base + (2 * h + y) * w + x]);
                }
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        return img;
    }

    /** A grid of the batch with {@code cols} columns, scaled by an integer factor so small images stay visible. */
    public static BufferedImage grid(Tensor batch, int cols, int scale) {
        int n = batch.dim(0), h = batch.dim(2), w = batch.dim(3), rows = (n + cols - 1) / cols, pad = 2;
        gridPixels(n, cols, h, w, scale);
        BufferedImage out = new BufferedImage(cols * (w * scale + pad) + pad, rows * (h * scale + pad) + pad, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, out.getWidth(), out.getHeight());
        for (int k = 0; k < n; k++)
            g.drawImage(image(batch, k), pad + (k % cols) * (w * scale + pad), pad + (k / cols) * (h * scale + pad), w * scale, h * scale, null);
        g.dispose();
        return out;
    }

    /**
     * Pixels of the image {@link #grid} makes of {@code n} images of h×w: refused (before anything is
     * drawn, or computed) when it is larger than a Java image can hold.
     */
    public static long gridPixels(int n, int cols, int h, int w, int scale) {
        if (n < 1 || cols < 1 || h < 1 || w < 1 || scale < 1)
            throw new IllegalArgumentException("a grid needs at least one image of at least 1×1 pixel, got " + n + " images of " + h + "×" + w);
        long pad = 2, rows = (n + (long) cols - 1) / cols;
        long width = cols * (w * (long) scale + pad) + pad, height = rows * (h * (long) scale + pad) + pad;
        if (width > Integer.MAX_VALUE || height > Integer.MAX_VALUE || width * height > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("a grid of " + n + " images of " + h + "×" + w + " (shown at " + scale + "×) would be " + width + "×" + height
                    + " pixels, more than an image can hold (2^31 pixels): make fewer images per run");
        return width * height;
    }

    public static int defaultScale(int size) {
        return Math.max(1, 128 / Math.max(1, size));
    }

    /**
     * Writes {@code img} as a PNG, atomically ({@link AtomicFiles}): a failed write (disk full, no
     * permission) leaves any previous file at {@code file} intact and no temporary file behind.
     */
    public static void writePng(BufferedImage img, Path file) {
        ImageIO.setUseCache(false);   // encode in memory: no cache file in java.io.tmpdir, one failure point
        AtomicFiles.write(file, out -> {
            if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer");
        });
    }
}
