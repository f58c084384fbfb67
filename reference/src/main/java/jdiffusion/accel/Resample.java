package jdiffusion.accel;

import jdiffusion.tensor.Tensor;

/** Latent resampling for mixed-resolution sampling (host-side: latents are small). */
public final class Resample {
    private Resample() {
    }

    /**
     * Bilinear resize of [N, C, H, W] to [N, C, oh, ow], as PyTorch's
     * {@code F.interpolate(mode="bilinear", align_corners=False)}: source coordinate
     * (dst + ½)·(in/out) − ½, clamped at 0, neighbours clamped at the border.
     */
    public static Tensor bilinear(Tensor x, int oh, int ow) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Tensor out = Tensor.zeros(n, c, oh, ow);
        float[] X = x.data(), O = out.data();
        float sh = (float) h / oh, sw = (float) w / ow;
        for (int p = 0; p < n * c; p++)
            for (int y = 0; y < oh; y++) {
                float sy = Math.max(0f, sh * (y + 0.5f) - 0.5f);
                int y0 = Math.min((int) sy, h - 1), y1 = Math.min(y0 + 1, h - 1);
                float ly = sy - y0;
                for (int xx = 0; xx < ow; xx++) {
                    float sx = Math.max(0f, sw * (xx + 0.5f) - 0.5f);
                    int x0 = Math.min((int) sx, w - 1), x1 = Math.min(x0 + 1, w - 1);
                    float lx = sx - x0;
                    int base = p * h * w;
                    float top = (1 - lx) * X[base + y0 * w + x0] + lx * X[base + y0 * w + x1];
                    float bot = (1 - lx) * X[base + y1 * w + x0] + lx * X[base + y1 * w + x1];
                    O[(p * oh + y) * ow + xx] = (1 - ly) * top + ly * bot;
                }
            }
        return out;
    }

    /**
     * Downsamples standard Gaussian noise by an integer factor k, keeping it standard Gaussian: each
     * output is the sum of a k×k block divided by k (a sum of k² independent N(0,1) has variance k²).
     * Distinct outputs use disjoint blocks, so they stay independent.
     */
    public static Tensor gaussianDownsample(Tensor x, int k) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = h / k, ow = w / k;
        if (oh * k != h || ow * k != w) throw new IllegalArgumentException(x.shapeString() + " is not divisible by " + k);
        Tensor out = Tensor.zeros(n, c, oh, ow);
        for (int p = 0; p < n * c; p++)
            for (int y = 0; y < oh; y++)
                for (int xx = 0; xx < ow; xx++) {
                    double s = 0;
                    for (int dy = 0; dy < k; dy++)
                        for (int dx = 0; dx < k; dx++) s += x.data()[(p * h + y * k + dy) * w + xx * k + dx];
                    out.data()[(p * oh + y) * ow + xx] = (float) (s / k);
                }
        return out;
    }
}
