package jdiffusion.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.kernels.Backend;
import jdiffusion.metrics.FashionClassifier;
import jdiffusion.metrics.FashionMnist;
import jdiffusion.metrics.FrechetDistance;
import jdiffusion.sample.ClassEmbeddings;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Generation;
import jdiffusion.sample.MemoryBudget;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.sample.StepPolicy;
import jdiffusion.schedule.Schedulers;
import jdiffusion.accel.PolicySpec;
import jdiffusion.sweep.Sweep;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.AtomicFiles;
import jdiffusion.weights.SafeTensorsFile;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Sample quality of a Fashion-MNIST model against real data: FD-FMNIST, a real-vs-real baseline, class accuracy. */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"FD-FMNIST and class accuracy of a Fashion-MNIST model, for its model card.",
                "FD-FMNIST (Frechet distance of the bundled classifier's features) of N generated",
                "images vs N test images (vs the classifier's shipped test-set statistics when",
                "the Fashion-MNIST data is absent); the same FD between two disjoint halves of",
                "the test set (the floor at this N); for a class-conditional model the",
                "classifier's accuracy on its samples (image k is generated for class k mod 10),",
                "per guidance scale. --accel evaluates an accelerated sampler the same way.", ""})
public final class EvaluateCommand implements Callable<Integer>, Distributable {
    @Option(names = "--model", description = "Pipeline folder (default: the bundled model).")
    Path model;

    @Option(names = "--num-images", defaultValue = "1000", description = "Generated images per guidance value, and real images per set (default 1000, at most 5000).")
    int numImages;

    @Option(names = "--steps", defaultValue = "50", description = "Sampling steps (default 50).")
    int steps;

    @Option(names = "--scheduler", defaultValue = "ddim", description = "ddim, ddpm, euler or dpmpp2m (default ddim).")
    String scheduler;

    @Option(names = "--guidance", split = ",", description = "Guidance scales for a conditional model (default 1,3,5).")
    List<Double> guidance;

    @Option(names = "--classifier", description = "Fashion-MNIST classifier folder (default: fmnist-classifier beside the model, or weights/models/fmnist-classifier).")
    Path classifier;

    @Option(names = "--fmnist", description = "Fashion-MNIST IDX folder (default: Debian's /usr/share/datasets/fashion-mnist).")
    Path fmnist;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the generated images.")
    long seed;

    @Option(names = "--batch", defaultValue = "50", description = "Images per UNet batch (default 50).")
    int batch;

    @Option(names = "--out", description = "Also write the results as JSON.")
    Path out;

    @Mixin
    AccelOptions accelOptions;

    @Mixin
    BackendOptions backendOptions;

    @Mixin
    ClusterOptions clusterOptions;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** What real data FD is measured against: N test images (null without the data set) and the full test set's statistics. */
    private record RealData(FrechetDistance.Stats firstN, FrechetDistance.Stats fullTest) {
    }

    /** The images of one evaluated setting, with the class each was generated for (null when unconditional). */
    private record Samples(Generation generation, int[] classes) {
    }

    @Override
    public Integer call() {
        checkArguments();
        Path modelDir = SamplingOptions.resolveModel(model);
        long weights = MemoryBudget.checkWeights(modelDir, backendOptions.weightPrecision());
        Pipeline p = Pipeline.load(modelDir, backendOptions.weightPrecision());
        Path clfDir = classifierFor(p);
        Backend backend = backendOptions.create();
        double gMax = guidance == null ? 5.0 : guidance.stream().mapToDouble(Double::doubleValue).max().orElse(5.0);
        SamplingOptions.checkMemory("evaluate", p, weights, backendOptions.weightPrecision(), backend,
                p.unet().conditional() ? p.classes().condition(new int[]{0}, gMax) : null, numImages, batch, steps, 1, 0, "");
        FashionClassifier clf = FashionClassifier.load(clfDir);
        Schedulers.Resolved sched = SchedulerOptions.resolve(scheduler, p.schedulerConfig(), 0);
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("model", p.name());
        root.put("command", "./jdiffusion " + String.join(" ", spec.commandLine().getParseResult().originalArgs()));
        root.put("images", numImages);
        root.put("steps", steps);
        root.put("scheduler", scheduler);
        root.put("seed", seed);
        System.err.printf("evaluate: %s, %s %d steps, %d images per setting, classifier %s (test accuracy %s)%n", p.name(), scheduler, steps, numImages,
                clfDir, Double.isNaN(clf.testAccuracy()) ? "?" : String.format(Locale.ROOT, "%.4f", clf.testAccuracy()));
        RealData real = measureRealData(clf, clfDir, backend, root);
        try (Cluster cluster = clusterOptions.connect(spec)) {   // null without --spark
            root.put("ran_on", backend.name() + (cluster == null ? "" : ", on " + cluster.where()));
            evaluate(p, sched, backend, clf, real, cluster, root);
        }
        if (out != null) {
            AtomicFiles.write(out, o -> new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(o, root));
            System.out.println("wrote " + out);
        }
        return 0;
    }

    /** Steps 4 and 5 per guidance value: the images (here or on the cluster), their FD and class accuracy, into {@code root}. */
    private void evaluate(Pipeline p, Schedulers.Resolved sched, Backend backend, FashionClassifier clf, RealData real, Cluster cluster, ObjectNode root) {
        ArrayNode results = root.putArray("results");
        boolean conditional = p.unet().conditional();
        List<Double> gs = conditional ? (guidance != null ? guidance : List.of(1.0, 3.0, 5.0)) : java.util.Collections.singletonList((Double) null);
        System.out.println(String.format("%-10s %14s %18s %10s  %s", "guidance", "FD vs N test", "FD vs test stats", "accuracy", "per-class accuracy"));
        // on a cluster every guidance value is submitted at once: its tasks fill the slots while the driver measures the one before
        List<Cluster.Job> jobs = cluster == null ? null : gs.stream().map(g -> cluster.submit(unit(g), 0, numImages, batch)).toList();
        for (int gi = 0; gi < gs.size(); gi++) {
            Double g = gs.get(gi);
            long t0 = System.nanoTime();
            Samples s = jobs == null ? generate(p, sched, backend, g, 0, numImages)
                    : new Samples(Generation.concat(jobs.get(gi).await().stream().map(Sweep.Part::generation).toList()), classes(p));
            ObjectNode r = results.addObject();
            if (g != null) r.put("guidance", g);
            FrechetDistance.Stats gen = FrechetDistance.Stats.of(clf.features(backend, s.generation().images(), 250));
            Double fdN = real.firstN() == null ? null : FrechetDistance.between(gen, real.firstN());
            double fdAll = FrechetDistance.between(gen, real.fullTest());
            if (fdN != null) r.put("fd_vs_test_n", fdN);
            r.put("fd_vs_test_stats", fdAll);
            r.put("seconds", (System.nanoTime() - t0) / 1e9);
            r.put("macs_per_image", (double) s.generation().totalMacs() / numImages);
            Double acc = null;
            String perClass = "";
            if (conditional) {
                acc = classAccuracy(clf, backend, p.classes(), s, r);
                StringBuilder sb = new StringBuilder();
                r.get("accuracy_per_class").properties().forEach(e -> sb.append(String.format(Locale.ROOT, "%s %.2f  ", e.getKey(), e.getValue().asDouble())));
                perClass = sb.toString().trim();
            }
            System.out.println(String.format(Locale.ROOT, "%-10s %14s %18.3f %10s  %s", g == null ? "-" : PolicySpec.num(g),
                    fdN == null ? "-" : String.format(Locale.ROOT, "%.3f", fdN), fdAll, acc == null ? "-" : String.format(Locale.ROOT, "%.4f", acc), perClass));
        }
    }

    /** A guidance value as a task's unit ("-" unconditional); Double.toString reads back to the same value. */
    private static String unit(Double g) {
        return g == null ? "-" : Double.toString(g);
    }

    /** On an executor: the model, scheduler and backend of this command line; a task's unit is a guidance value. */
    @Override
    public Worker worker() {
        Pipeline p = Pipeline.load(SamplingOptions.resolveModel(model), backendOptions.weightPrecision());
        Schedulers.Resolved sched = SchedulerOptions.resolve(scheduler, p.schedulerConfig(), 0);
        Backend backend = backendOptions.create();
        return (unit, first, count) -> {
            long t0 = System.nanoTime();
            Generation g = generate(p, sched, backend, unit.equals("-") ? null : Double.valueOf(unit), first, count).generation();
            return new Sweep.Part(first, g, Double.NaN, (System.nanoTime() - t0) / 1e9);
        };
    }

    /** Step 1: the options, and the output path, before anything is computed. */
    private void checkArguments() {
        Checks.atLeast("--num-images", numImages, 2);
        Checks.atLeast("--steps", steps, 1);
        Checks.atLeast("--batch", batch, 1);
        if (guidance != null)
            for (double g : guidance) if (g < 0) throw new IllegalArgumentException("--guidance must be ≥ 0, got " + g);
        if (numImages > 5000) throw new IllegalArgumentException("--num-images is at most 5000 (the real-vs-real baseline uses two disjoint halves of the 10 000 test images)");
        if (out != null) AtomicFiles.checkWritable(out, "--out");
    }

    /** Step 2: the classifier folder, and whether this model's images and conditioning are ones evaluate can judge. */
    private Path classifierFor(Pipeline p) {
        Path clfDir = classifier != null ? classifier : SweepCommand.defaultClassifier(p);
        if (!Files.isRegularFile(clfDir.resolve("config.json")))
            throw new IllegalArgumentException("evaluate needs the Fashion-MNIST classifier: none at " + clfDir + " (pass --classifier DIR)");
        int[] shape = SweepCommand.imageShape(p);
        if (shape[0] != 1 || shape[1] != 32 || shape[2] != 32)
            throw new IllegalArgumentException(p.name() + " makes " + shape[0] + "×" + shape[1] + "×" + shape[2] + " images; the Fashion-MNIST classifier reads 1×32×32");
        boolean conditional = p.unet().conditional();
        if (conditional && p.classes() == null) throw new IllegalArgumentException(p.name() + " is conditional without class embeddings: evaluate handles class-conditional models");
        if (!conditional && guidance != null) throw new IllegalArgumentException(p.name() + " is unconditional: --guidance does not apply");
        return clfDir;
    }

    /**
     * Step 3: real data. Two disjoint halves of the test set, N images each, give the real-vs-real FD (the
     * floor at this N) and the classifier's accuracy; without the data set, the shipped statistics only.
     */
    private RealData measureRealData(FashionClassifier clf, Path clfDir, Backend backend, ObjectNode root) {
        Path data = FashionMnist.locate(fmnist);
        FrechetDistance.Stats fullTest = null;
        Path statsFile = clfDir.resolve("test_feature_stats.safetensors");
        if (Files.isRegularFile(statsFile)) {
            try (SafeTensorsFile f = SafeTensorsFile.open(statsFile)) {
                fullTest = FrechetDistance.Stats.of(f.floats("mu"), f.floats("sigma"));
            }
        }
        if (data == null) {
            System.err.println("note: no Fashion-MNIST test data (" + FashionMnist.DEBIAN_DIR + " or --fmnist DIR): FD against the shipped "
                    + statsFile.getFileName() + " only, no real-vs-real baseline");
            if (fullTest == null) throw new IllegalArgumentException("neither the Fashion-MNIST test data nor " + statsFile + " is available: no reference for FD");
            return new RealData(null, fullTest);
        }
        FashionMnist.Split test = FashionMnist.test(data, 10_000);
        Tensor a = test.images().slice0(0, numImages), b = test.images().slice0(5000, numImages);
        FrechetDistance.Stats realA = FrechetDistance.Stats.of(clf.features(backend, a, 250));
        FrechetDistance.Stats realB = FrechetDistance.Stats.of(clf.features(backend, b, 250));
        double base = FrechetDistance.between(realA, realB);
        if (fullTest == null) fullTest = FrechetDistance.Stats.of(clf.features(backend, test.images(), 500));
        int[] pred = clf.run(backend, a).predictions();
        int ok = 0;
        for (int i = 0; i < numImages; i++) if (pred[i] == test.labels()[i]) ok++;
        double vsStats = FrechetDistance.between(realB, fullTest);
        root.put("real_vs_real_fd", base);
        root.put("real_fd_vs_test_stats", vsStats);
        root.put("classifier_accuracy_on_real", (double) ok / numImages);
        System.out.printf(Locale.ROOT, "real vs real (test[0:%d] vs test[5000:%d]): FD %.3f; test[5000:] vs all-test statistics: FD %.3f; classifier accuracy on test[0:%d]: %.4f%n",
                numImages, 5000 + numImages, base, vsStats, numImages, (double) ok / numImages);
        return new RealData(realA, fullTest);
    }

    /**
     * Step 4: images [first, first + count) of the N images at guidance g (null: unconditional); image k is
     * generated for class k mod (number of classes).
     */
    private Samples generate(Pipeline p, Schedulers.Resolved sched, Backend backend, Double g, int first, int count) {
        int[] classes = classes(p);
        Conditioning cond = classes == null ? null : p.classes().condition(classes, g);
        String label = g == null ? "unconditional" : "guidance " + PolicySpec.num(g);
        Generation gen = Generation.run(p, sched::create, backend, cond, new Generation.Settings(count, batch, steps, seed), first,
                b -> policy(p, b), first == 0 && count == numImages ? batches(label, numImages, batch) : Progress.NONE);
        return new Samples(gen, classes);
    }

    /** The class of each of the N images (k mod the number of classes), or null for an unconditional model. */
    private int[] classes(Pipeline p) {
        if (!p.unet().conditional()) return null;
        int[] classes = new int[numImages];
        for (int k = 0; k < numImages; k++) classes[k] = k % p.classes().classNames().size();
        return classes;
    }

    /** Step 5: the classifier's accuracy on the samples, overall (returned) and per class (into {@code r}). */
    private Double classAccuracy(FashionClassifier clf, Backend backend, ClassEmbeddings ce, Samples s, ObjectNode r) {
        int[] pred = clf.run(backend, s.generation().images()).predictions();
        int n = ce.classNames().size();
        int[] hit = new int[n], tot = new int[n];
        int ok = 0;
        for (int i = 0; i < numImages; i++) {
            int c = s.classes()[i];
            int want = clf.classNames().indexOf(ce.classNames().get(c));
            if (want < 0) want = c;
            tot[c]++;
            if (pred[i] == want) {
                ok++;
                hit[c]++;
            }
        }
        double acc = (double) ok / numImages;
        r.put("accuracy", acc);
        ObjectNode pc = r.putObject("accuracy_per_class");
        for (int c = 0; c < n; c++) pc.put(ce.classNames().get(c), tot[c] == 0 ? Double.NaN : (double) hit[c] / tot[c]);
        return acc;
    }

    private StepPolicy policy(Pipeline p, int batchIndex) {
        return accelOptions.policy(p, new jdiffusion.tensor.NoiseSource(seed).fork("policy").fork("batch-" + batchIndex), steps);
    }

    /** One line per finished batch with an ETA. */
    static Progress batches(String label, int images, int batch) {
        int total = (images + batch - 1) / batch;
        long start = System.nanoTime();
        int[] done = {0};
        return (l, d, t, detail) -> {
            if (d < t) return;
            done[0]++;
            double el = (System.nanoTime() - start) / 1e9;
            System.err.printf(Locale.ROOT, "%s: batch %d/%d [%.0fs elapsed, ETA %.0fs]%n", label, done[0], total, el, el / done[0] * (total - done[0]));
        };
    }
}
