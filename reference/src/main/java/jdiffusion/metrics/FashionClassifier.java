package jdiffusion.metrics;

import jdiffusion.kernels.Backend;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.config.ConfigReader;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The bundled Fashion-MNIST classifier ({@code weights/models/fmnist-classifier}, trained by
 * weights/train/train.py), run on the engine's backend: a stack of layers spelled out in its config
 * (conv2d 3×3, group_norm, silu, global_avg_pool, linear). Its penultimate activations ("features")
 * feed the Fréchet distance FD-FMNIST; its logits give the class accuracy of conditional samples.
 * Input: [N, 1, 32, 32] in [−1, 1], the diffusion models' own output space.
 */
public final class FashionClassifier {
    private sealed interface Layer permits Conv, Norm, Silu, Pool, Fc {
    }

    private record Conv(Tensor w, Tensor b, int stride, int pad) implements Layer {
    }

    private record Norm(int groups, float eps, Tensor w, Tensor b) implements Layer {
    }

    private record Silu(boolean features) implements Layer {
    }

    private record Pool() implements Layer {
    }

    private record Fc(Tensor w, Tensor b, boolean features) implements Layer {
    }

    /** Features (penultimate layer) and logits for a batch. */
    public record Output(Tensor features, Tensor logits) {
        public int[] predictions() {
            int n = logits.dim(0), k = logits.dim(1);
            int[] p = new int[n];
            for (int i = 0; i < n; i++) {
                int best = 0;
                for (int c = 1; c < k; c++) if (logits.data()[i * k + c] > logits.data()[i * k + best]) best = c;
                p[i] = best;
            }
            return p;
        }
    }

    private final List<Layer> layers;
    private final List<String> classNames;
    private final double testAccuracy;
    private final Path dir;

    private FashionClassifier(Path dir, List<Layer> layers, List<String> classNames, double testAccuracy) {
        this.dir = dir;
        this.layers = layers;
        this.classNames = classNames;
        this.testAccuracy = testAccuracy;
    }

    public static FashionClassifier load(Path dir) {
        Path cfgFile = dir.resolve("config.json");
        ConfigReader r = ConfigReader.read(cfgFile);
        r.className("FashionClassifier");
        String weightsFile = r.string("weights_file", "model.safetensors");
        r.require(weightsFile.matches("[A-Za-z0-9_.-]+") && !weightsFile.matches("\\.+"), "weights_file",
                "'" + weightsFile + "' must be a file name in the classifier's folder");
        List<String> names = r.strings("class_names", null);
        r.require(r.positive("num_classes", names.size()) == names.size(), "num_classes", "does not match the " + names.size() + " class_names");
        double testAccuracy = r.number("test_accuracy", Double.NaN, 0, 1);
        // descriptive: the layer shapes come from the weights file, the input format is documented in "input"
        r.inert("in_channels", "sample_size", "feature_dim", "feature_layer", "input", "test_set", "parameters", "training");
        List<ConfigReader> layerConfigs = r.objects("layers");
        r.finish();
        List<Layer> layers = new ArrayList<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve(weightsFile))) {
            for (ConfigReader l : layerConfigs) {
                String type = l.string("type", null, "conv2d", "group_norm", "silu", "global_avg_pool", "linear");
                l.require(type != null, "type", "missing (one of conv2d, group_norm, silu, global_avg_pool, linear)");
                boolean feat = "features".equals(l.string("output", null, "features", "logits"));   // logits: the last layer
                String key = type.equals("silu") || type.equals("global_avg_pool") ? null : l.string("weights", null);
                l.require(key != null || type.equals("silu") || type.equals("global_avg_pool"), "weights", "missing: the layer's key prefix in " + weightsFile);
                l.inert("comment", "in_channels", "out_channels", "num_channels", "in_features", "out_features");
                Layer layer = switch (type) {
                    case "conv2d" -> {
                        l.integer("kernel_size", 3, 3, 3);     // the run is 3×3 with padding 1
                        l.integer("padding", 1, 1, 1);
                        yield new Conv(t(f, key + ".weight"), t(f, key + ".bias"), l.integer("stride", 1, 1, 2), 1);
                    }
                    case "group_norm" -> {
                        int groups = l.positive("num_groups", null);
                        Tensor w = t(f, key + ".weight");
                        l.require(w.dim(0) % groups == 0, "num_groups", w.dim(0) + " channels are not divisible into " + groups + " groups");
                        yield new Norm(groups, (float) l.positiveNumber("eps", 1e-5), w, t(f, key + ".bias"));
                    }
                    case "silu" -> new Silu(feat);
                    case "global_avg_pool" -> new Pool();
                    default -> new Fc(t(f, key + ".weight"), t(f, key + ".bias"), feat);
                };
                l.finish();
                layers.add(layer);
            }
        }
        return new FashionClassifier(dir, layers, List.copyOf(names), testAccuracy);
    }

    private static Tensor t(SafeTensorsFile f, String key) {
        float[] v = f.floats(key);
        jdiffusion.weights.CheckpointReader.requireFinite(f.file(), key, v);   // a NaN weight would make every score NaN
        return Tensor.of(v, f.entry(key).intShape());
    }

    public List<String> classNames() {
        return classNames;
    }

    public double testAccuracy() {
        return testAccuracy;
    }

    public Path dir() {
        return dir;
    }

    public Output run(Backend be, Tensor images) {
        Tensor x = images, features = null;
        for (Layer l : layers) {
            x = switch (l) {
                case Conv c -> be.conv2d(x, c.w(), c.b(), c.stride(), c.pad(), c.pad(), c.pad(), c.pad());
                case Norm n -> be.groupNorm(x, n.groups(), n.w(), n.b(), n.eps(), false);
                case Silu s -> be.silu(x);
                case Pool p -> meanPool(x);
                case Fc fc -> be.linear(x, fc.w(), fc.b());
            };
            if ((l instanceof Silu s && s.features()) || (l instanceof Fc fc && fc.features())) features = x;
        }
        return new Output(features, x);
    }

    private static Tensor meanPool(Tensor x) {
        int n = x.dim(0), c = x.dim(1), hw = x.numel() / (n * c);
        Tensor o = Tensor.zeros(n, c);
        for (int p = 0; p < n * c; p++) {
            double s = 0;
            for (int i = 0; i < hw; i++) s += x.data()[p * hw + i];
            o.data()[p] = (float) (s / hw);
        }
        return o;
    }

    /** Features of many images, in batches, as rows of doubles (for the Fréchet distance). */
    public double[][] features(Backend be, Tensor images, int batch) {
        int n = images.dim(0);
        double[][] out = new double[n][];
        for (int i = 0; i < n; i += batch) {
            int k = Math.min(batch, n - i);
            Tensor f = run(be, images.slice0(i, k)).features();
            int d = f.dim(1);
            for (int j = 0; j < k; j++) {
                out[i + j] = new double[d];
                for (int e = 0; e < d; e++) out[i + j][e] = f.data()[j * d + e];
            }
        }
        return out;
    }
}
