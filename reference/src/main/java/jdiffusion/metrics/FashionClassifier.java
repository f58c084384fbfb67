package jdiffusion.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import jdiffusion.kernels.Backend;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.WeightsException;
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
        JsonNode root = r.json();
        String weightsFile = root.path("weights_file").asText("model.safetensors");
        List<String> names = new ArrayList<>();
        root.path("class_names").forEach(n -> names.add(n.asText()));
        List<Layer> layers = new ArrayList<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve(weightsFile))) {
            for (JsonNode l : root.path("layers")) {
                String type = l.path("type").asText();
                boolean feat = "features".equals(l.path("output").asText(null));
                String key = l.path("weights").asText(null);
                layers.add(switch (type) {
                    case "conv2d" -> {
                        if (l.path("kernel_size").asInt() != 3 || l.path("padding").asInt() != 1)
                            throw WeightsException.at(cfgFile, "layers", "conv2d must be 3×3 with padding 1: " + l);
                        yield new Conv(t(f, key + ".weight"), t(f, key + ".bias"), l.path("stride").asInt(1), 1);
                    }
                    case "group_norm" -> new Norm(l.path("num_groups").asInt(), (float) l.path("eps").asDouble(1e-5),
                            t(f, key + ".weight"), t(f, key + ".bias"));
                    case "silu" -> new Silu(feat);
                    case "global_avg_pool" -> new Pool();
                    case "linear" -> new Fc(t(f, key + ".weight"), t(f, key + ".bias"), feat);
                    default -> throw WeightsException.at(cfgFile, "layers", "unknown layer type '" + type + "'");
                });
            }
        }
        return new FashionClassifier(dir, layers, List.copyOf(names), root.path("test_accuracy").asDouble(Double.NaN));
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
