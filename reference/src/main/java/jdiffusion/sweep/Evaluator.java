package jdiffusion.sweep;

import jdiffusion.kernels.Backend;
import jdiffusion.metrics.FashionClassifier;
import jdiffusion.metrics.FashionMnist;
import jdiffusion.metrics.FrechetDistance;
import jdiffusion.metrics.ImageMetrics;
import jdiffusion.metrics.Lpips;
import jdiffusion.sample.Pipeline;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The sweep's metrics: fidelity to the reference images (PSNR, SSIM, LPIPS) and to real data (FD-FMNIST
 * with the bundled Fashion-MNIST classifier's features; its accuracy on class-conditional samples).
 * Each metric whose ingredients are missing (LPIPS weights, classifier, test data, images the
 * classifier cannot read) is left out with a note, never guessed.
 */
public final class Evaluator {
    /** Fidelity of one configuration's images. */
    public record Metrics(boolean identical, Double psnr, double ssim, Double lpips, Double fd, Double accuracy) {
    }

    private final Backend backend;
    private final Lpips lpips;
    private final FashionClassifier classifier;
    private final FrechetDistance.Stats real;
    private final int[] classMap;
    private final List<String> notes;
    private final String realSource;

    private Evaluator(Backend backend, Lpips lpips, FashionClassifier classifier, FrechetDistance.Stats real, String realSource,
                      int[] classMap, List<String> notes) {
        this.backend = backend;
        this.lpips = lpips;
        this.classifier = classifier;
        this.real = real;
        this.realSource = realSource;
        this.classMap = classMap;
        this.notes = List.copyOf(notes);
    }

    /**
     * @param lpipsDir      folder with lpips-squeeze-v0.1.safetensors (null or absent: no LPIPS)
     * @param classifierDir the fmnist-classifier folder (null or absent: no FD, no accuracy)
     * @param fmnistDir     Fashion-MNIST IDX folder (null: Debian's), used when the classifier has no test_feature_stats
     * @param imageShape    [C, H, W] of the images the pipeline produces
     * @param modelClasses  the pipeline's class names (null for unconditional / prompt models)
     */
    public static Evaluator create(Backend backend, Path lpipsDir, Path classifierDir, Path fmnistDir, int[] imageShape,
                                   List<String> modelClasses) {
        List<String> notes = new ArrayList<>();
        Lpips lp = null;
        if (lpipsDir != null && Files.exists(lpipsDir)) lp = Lpips.load(lpipsDir);
        else notes.add("LPIPS not computed: no weights (lpips-squeeze-v0.1.safetensors) at " + (lpipsDir == null ? "(none given)" : lpipsDir) + "; pass --lpips DIR");
        if (lp != null && imageShape[0] != 1 && imageShape[0] != 3) {
            notes.add("LPIPS not computed: it takes 1- or 3-channel images, the model makes " + imageShape[0] + " channels");
            lp = null;
        }
        FashionClassifier clf = null;
        FrechetDistance.Stats real = null;
        String source = null;
        int[] map = null;
        if (classifierDir == null || !Files.isRegularFile(classifierDir.resolve("config.json"))) {
            notes.add("FD-FMNIST and class accuracy not computed: no Fashion-MNIST classifier at " + (classifierDir == null ? "(none given)" : classifierDir)
                    + " (weights/models/fmnist-classifier; pass --classifier DIR)");
        } else if (imageShape[0] != 1 || imageShape[1] != 32 || imageShape[2] != 32) {
            notes.add("FD-FMNIST and class accuracy not computed: the classifier reads 1×32×32 Fashion-MNIST images, the model makes "
                    + imageShape[0] + "×" + imageShape[1] + "×" + imageShape[2]);
        } else {
            clf = FashionClassifier.load(classifierDir);
            Path stats = classifierDir.resolve("test_feature_stats.safetensors");
            Path data = FashionMnist.locate(fmnistDir);
            if (Files.isRegularFile(stats)) {
                try (SafeTensorsFile f = SafeTensorsFile.open(stats)) {
                    real = FrechetDistance.Stats.of(f.floats("mu"), f.floats("sigma"));
                }
                source = "the 10 000 Fashion-MNIST test images (" + stats.getFileName() + ")";
            } else if (data != null) {
                real = FrechetDistance.Stats.of(clf.features(backend, FashionMnist.test(data, 10_000).images(), 500));
                source = "the 10 000 Fashion-MNIST test images (" + data + ")";
            } else {
                notes.add("FD-FMNIST not computed: neither " + stats + " nor the Fashion-MNIST test data (apt-get install dataset-fashion-mnist, or --fmnist DIR)");
            }
            if (modelClasses != null) {
                map = new int[modelClasses.size()];
                for (int i = 0; i < map.length; i++) {
                    map[i] = -1;
                    for (int j = 0; j < clf.classNames().size(); j++)
                        if (clf.classNames().get(j).equalsIgnoreCase(modelClasses.get(i))) map[i] = j;
                }
                if (Arrays.stream(map).anyMatch(v -> v < 0)) {
                    notes.add("class accuracy not computed: the model's classes " + modelClasses + " are not the classifier's " + clf.classNames());
                    map = null;
                }
            }
        }
        return new Evaluator(backend, lp, clf, real, source, map, notes);
    }

    public List<String> notes() {
        return notes;
    }

    public boolean hasFd() {
        return real != null;
    }

    /** What FD is measured against. */
    public String realSource() {
        return realSource;
    }

    /**
     * @param classes the class (model index) each image was generated for, or null
     */
    public Metrics evaluate(Tensor images, Tensor reference, int[] classes) {
        boolean identical = Arrays.equals(images.data(), reference.data());
        double p = ImageMetrics.psnr(images, reference);
        Double psnr = Double.isInfinite(p) ? null : p;
        double ssim = ImageMetrics.ssim(images, reference);
        Double lp = lpips == null ? null : Arrays.stream(lpips.distance(backend, images, reference)).average().orElse(0);
        Double fd = null, acc = null;
        if (classifier != null && (real != null || (classes != null && classMap != null))) {
            FashionClassifier.Output out = null;
            double[][] feats = new double[images.dim(0)][];
            int[] pred = new int[images.dim(0)];
            for (int i = 0; i < images.dim(0); i += 250) {
                int k = Math.min(250, images.dim(0) - i);
                out = classifier.run(backend, images.slice0(i, k));
                int d = out.features().dim(1);
                for (int j = 0; j < k; j++) {
                    feats[i + j] = new double[d];
                    for (int e = 0; e < d; e++) feats[i + j][e] = out.features().data()[j * d + e];
                }
                System.arraycopy(out.predictions(), 0, pred, i, k);
            }
            if (real != null && feats.length >= 2) fd = FrechetDistance.between(FrechetDistance.Stats.of(feats), real);
            if (classes != null && classMap != null) {
                int ok = 0;
                for (int i = 0; i < pred.length; i++) if (pred[i] == classMap[classes[i]]) ok++;
                acc = (double) ok / pred.length;
            }
        }
        return new Metrics(identical, psnr, ssim, lp, fd, acc);
    }

    /**
     * FD of {@code n} real test images to the real statistics: the floor a perfect generator reaches
     * with this many samples (FD is biased upwards for small samples). Null when the test data is absent.
     * The images are taken from the second half of the test set.
     */
    public Double realFloor(Path fmnistDir, int n) {
        if (real == null) return null;
        Path data = FashionMnist.locate(fmnistDir);
        if (data == null || n < 2) return null;
        Tensor all = FashionMnist.test(data, 10_000).images();
        int k = Math.min(n, 5000);
        Tensor part = all.slice0(5000, k);
        return FrechetDistance.between(FrechetDistance.Stats.of(classifier.features(backend, part, 250)), real);
    }
}
