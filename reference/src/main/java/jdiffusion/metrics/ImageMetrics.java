package jdiffusion.metrics;

import jdiffusion.tensor.Tensor;

/**
 * Pixel fidelity between two images in the model's range [−1, 1] (NCHW, one image or a batch): both
 * are mapped to [0, 1] (x/2 + ½, clamped, as diffusers' postprocessing does) before comparing.
 */
public final class ImageMetrics {
    private ImageMetrics() {
    }

    static float unit(float v) {
        return Math.min(1f, Math.max(0f, v / 2f + 0.5f));
    }

    /** PSNR in dB with peak 1: 10·log10(1 / MSE) over all pixels (∞ for identical images). */
    public static double psnr(Tensor a, Tensor b) {
        check(a, b);
        double se = 0;
        float[] x = a.data(), y = b.data();
        for (int i = 0; i < x.length; i++) {
            double d = unit(x[i]) - unit(y[i]);
            se += d * d;
        }
        double mse = se / x.length;
        return mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(1.0 / mse);
    }

    /**
     * Mean SSIM (Wang, Bovik, Sheikh &amp; Simoncelli 2004) with their constants: 11×11 Gaussian window
     * σ = 1.5, K1 = 0.01, K2 = 0.03, dynamic range 1, "valid" windows only (as the authors' ssim_index.m),
     * computed per image and channel and averaged. Images smaller than the window use a window the
     * size of the image.
     */
    public static double ssim(Tensor a, Tensor b) {
        check(a, b);
        int n = a.dim(0), c = a.dim(1), h = a.dim(2), w = a.dim(3);
        int win = Math.min(11, Math.min(h, w));
        double[] g = gaussian(win, 1.5);
        double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03, total = 0;
        int maps = 0;
        float[] x = a.data(), y = b.data();
        for (int p = 0; p < n * c; p++) {
            int base = p * h * w;
            for (int i = 0; i + win <= h; i++)
                for (int j = 0; j + win <= w; j++) {
                    double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
                    for (int u = 0; u < win; u++)
                        for (int v = 0; v < win; v++) {
                            double wt = g[u] * g[v];
                            double xv = unit(x[base + (i + u) * w + j + v]), yv = unit(y[base + (i + u) * w + j + v]);
                            mx += wt * xv;
                            my += wt * yv;
                            sxx += wt * xv * xv;
                            syy += wt * yv * yv;
                            sxy += wt * xv * yv;
                        }
                    double vx = sxx - mx * mx, vy = syy - my * my, cov = sxy - mx * my;
                    total += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
                    maps++;
                }
        }
        return total / maps;
    }

    /** Normalised 1-D Gaussian of the given size and σ (the 2-D window is its outer product). */
    static double[] gaussian(int size, double sigma) {
        double[] g = new double[size];
        double sum = 0, mid = (size - 1) / 2.0;
        for (int i = 0; i < size; i++) sum += g[i] = Math.exp(-(i - mid) * (i - mid) / (2 * sigma * sigma));
        for (int i = 0; i < size; i++) g[i] /= sum;
        return g;
    }

    private static void check(Tensor a, Tensor b) {
        if (!a.sameShape(b) || a.rank() != 4)
            throw new IllegalArgumentException("images must have the same [N, C, H, W] shape: " + a.shapeString() + " vs " + b.shapeString());
    }
}
