package jdiffusion.metrics;

import jdiffusion.kernels.Backend;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.WeightsException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * LPIPS v0.1 with the SqueezeNet-1.1 backbone (Zhang et al., CVPR 2018, "The Unreasonable
 * Effectiveness of Deep Features as a Perceptual Metric"), as the {@code lpips} package defines it:
 * inputs in [−1, 1] are shifted and scaled per channel, passed through SqueezeNet's feature layers, and
 * at 7 taps (after conv0+ReLU, fire 4, fire 7, fire 9, fire 10, fire 11, fire 12) each feature map is
 * unit-normalised over channels; the squared difference is weighted by the learned 1×1 "lin" layer,
 * averaged over space and summed over taps. Grayscale images are repeated to 3 channels.
 */
public final class Lpips {
    private static final float[] SHIFT = {-0.030f, -0.088f, -0.188f}, SCALE = {0.458f, 0.448f, 0.450f};
    /** Feature-layer indices of torchvision's squeezenet1_1().features. */
    private static final int[] FIRES = {3, 4, 6, 7, 9, 10, 11, 12};

    private record Fire(Tensor sw, Tensor sb, Tensor e1w, Tensor e1b, Tensor e3w, Tensor e3b) {
    }

    private final Tensor conv0w, conv0b;
    private final Fire[] fires = new Fire[13];
    private final Tensor[] lin = new Tensor[7];

    private Lpips(SafeTensorsFile f) {
        conv0w = t(f, "backbone.0.weight");
        conv0b = t(f, "backbone.0.bias");
        for (int i : FIRES) {
            String p = "backbone." + i + ".";
            fires[i] = new Fire(t(f, p + "squeeze.weight"), t(f, p + "squeeze.bias"), t(f, p + "expand1x1.weight"),
                    t(f, p + "expand1x1.bias"), t(f, p + "expand3x3.weight"), t(f, p + "expand3x3.bias"));
        }
        for (int k = 0; k < 7; k++) lin[k] = t(f, "lin" + k + ".model.1.weight");
    }

    private static Tensor t(SafeTensorsFile f, String key) {
        float[] v = f.floats(key);
        jdiffusion.weights.CheckpointReader.requireFinite(f.file(), key, v);   // a NaN weight would make every score NaN
        return Tensor.of(v, f.entry(key).intShape());
    }

    /** Loads the weights from a file, or from the folder that holds {@code lpips-squeeze-v0.1.safetensors}. */
    public static Lpips load(Path fileOrDir) {
        Path f = Files.isDirectory(fileOrDir) ? fileOrDir.resolve("lpips-squeeze-v0.1.safetensors") : fileOrDir;
        if (!Files.isRegularFile(f)) throw WeightsException.at(f, null, "LPIPS weights not found (expected lpips-squeeze-v0.1.safetensors)");
        try (SafeTensorsFile st = SafeTensorsFile.open(f)) {
            return new Lpips(st);
        }
    }

    /** LPIPS distance per image pair: a and b are [N, C, H, W] in [−1, 1], C = 1 or 3. */
    public double[] distance(Backend be, Tensor a, Tensor b) {
        if (!a.sameShape(b)) throw new IllegalArgumentException("LPIPS needs images of the same shape: " + a.shapeString() + " vs " + b.shapeString());
        List<Tensor> fa = features(be, prepare(a)), fb = features(be, prepare(b));
        int n = a.dim(0);
        double[] d = new double[n];
        for (int k = 0; k < 7; k++) {
            Tensor x = fa.get(k), y = fb.get(k);
            int c = x.dim(1), hw = x.dim(2) * x.dim(3);
            float[] X = x.data(), Y = y.data(), wl = lin[k].data();
            for (int im = 0; im < n; im++) {
                double layer = 0;
                for (int s = 0; s < hw; s++) {
                    double nx = 0, ny = 0;
                    for (int ch = 0; ch < c; ch++) {
                        float xv = X[(im * c + ch) * hw + s], yv = Y[(im * c + ch) * hw + s];
                        nx += xv * xv;
                        ny += yv * yv;
                    }
                    nx = Math.sqrt(nx) + 1e-10;
                    ny = Math.sqrt(ny) + 1e-10;
                    double acc = 0;
                    for (int ch = 0; ch < c; ch++) {
                        double diff = X[(im * c + ch) * hw + s] / nx - Y[(im * c + ch) * hw + s] / ny;
                        acc += wl[ch] * diff * diff;
                    }
                    layer += acc;
                }
                d[im] += layer / hw;
            }
        }
        return d;
    }

    private static Tensor prepare(Tensor x) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        if (c != 1 && c != 3) throw new IllegalArgumentException("LPIPS takes 1- or 3-channel images, got " + c + " channels");
        Tensor out = Tensor.zeros(n, 3, h, w);
        for (int im = 0; im < n; im++)
            for (int ch = 0; ch < 3; ch++)
                for (int i = 0; i < h * w; i++) {
                    float v = x.data()[(im * c + (c == 1 ? 0 : ch)) * h * w + i];
                    out.data()[(im * 3 + ch) * h * w + i] = (v - SHIFT[ch]) / SCALE[ch];
                }
        return out;
    }

    /** The 7 tapped feature maps. */
    private List<Tensor> features(Backend be, Tensor x) {
        List<Tensor> taps = new ArrayList<>();
        x = relu(be.conv2d(x, conv0w, conv0b, 2, 0, 0, 0, 0));   // features[0..1]
        taps.add(x);
        x = maxPool(x);                                            // features[2]
        x = fire(be, 3, x);
        x = fire(be, 4, x);
        taps.add(x);
        x = maxPool(x);                                            // features[5]
        x = fire(be, 6, x);
        x = fire(be, 7, x);
        taps.add(x);
        x = maxPool(x);                                            // features[8]
        x = fire(be, 9, x);
        taps.add(x);
        for (int i = 10; i <= 12; i++) {
            x = fire(be, i, x);
            taps.add(x);
        }
        return taps;
    }

    /** SqueezeNet Fire module: squeeze 1×1 + ReLU, then [expand 1×1 + ReLU ; expand 3×3 + ReLU]. */
    private Tensor fire(Backend be, int i, Tensor x) {
        Fire f = fires[i];
        Tensor s = relu(be.conv2d(x, f.sw(), f.sb(), 1, 0, 0, 0, 0));
        return be.concatChannels(relu(be.conv2d(s, f.e1w(), f.e1b(), 1, 0, 0, 0, 0)), relu(be.conv2d(s, f.e3w(), f.e3b(), 1, 1, 1, 1, 1)));
    }

    private static Tensor relu(Tensor x) {
        Tensor o = Tensor.zeros(x.shape());
        float[] d = x.data(), od = o.data();
        for (int i = 0; i < d.length; i++) od[i] = Math.max(0f, d[i]);
        return o;
    }

    /** MaxPool2d(3, stride 2, ceil_mode=True): windows may hang over the bottom/right edge (ignored cells). */
    private static Tensor maxPool(Tensor x) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        int oh = (int) Math.ceil((h - 3) / 2.0) + 1, ow = (int) Math.ceil((w - 3) / 2.0) + 1;
        // PyTorch drops a last window that would start entirely outside the input
        if ((oh - 1) * 2 >= h) oh--;
        if ((ow - 1) * 2 >= w) ow--;
        Tensor o = Tensor.zeros(n, c, oh, ow);
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    float m = Float.NEGATIVE_INFINITY;
                    for (int u = 0; u < 3; u++)
                        for (int v = 0; v < 3; v++) {
                            int y = 2 * i + u, xx = 2 * j + v;
                            if (y < h && xx < w) m = Math.max(m, x.data()[(p * h + y) * w + xx]);
                        }
                    o.data()[(p * oh + i) * ow + j] = m;
                }
        return o;
    }
}
