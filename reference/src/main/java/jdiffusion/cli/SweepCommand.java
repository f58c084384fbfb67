package jdiffusion.cli;

import jdiffusion.image.Images;

import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.kernels.Backend;
import jdiffusion.sample.MemoryBudget;
import jdiffusion.sample.Pipeline;
import jdiffusion.sweep.Evaluator;
import jdiffusion.sweep.Grid;
import jdiffusion.sweep.ImageSet;
import jdiffusion.sweep.Report;
import jdiffusion.sweep.ResultStore;
import jdiffusion.sweep.Sweep;
import jdiffusion.sweep.SweepConfig;
import jdiffusion.sweep.SweepRow;
import jdiffusion.weights.AtomicFiles;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** The trade-off sweep: a grid of full-step and accelerated configurations × schedulers, measured and reported. */
@Command(name = "sweep", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fewer steps or cheaper steps? The trade-off sweep, with plots and a report.",
                "Runs a grid of configurations from the same seeds - full-step at several step",
                "counts, AdaptiveDiffusion, DeepCache, PostDiff mixed resolution, hybrid caching,",
                "combinations - x schedulers (DDIM, DPM-Solver++, Euler). Measures UNet MACs,",
                "time, speedup vs the 50-step full-step reference, fidelity to it (PSNR, SSIM,",
                "LPIPS) and to real data (FD-FMNIST, class accuracy). Writes rows.jsonl",
                "(resumable: rerun to continue), results.csv/json, plots with the Pareto",
                "frontier, image grids at equal compute, results.md and report.html.",
                "Configuration ids: <scheduler>/<policy>@<steps>; policy = full | ad-d0.01-c4 |",
                "dc-n3-b0-u | dc-n3-b0-nu | mr-b0.5-s0.5 | xa[-m12], combined with '+'.", ""})
public final class SweepCommand implements Callable<Integer>, Distributable {
    @Option(names = "--model", description = "Pipeline or UNet folder (default: the bundled model).")
    Path model;

    @Option(names = "--out", description = "Report folder (default: report/<model name>, or report/<model name>-quick with --quick). Rerunning into it resumes.")
    Path out;

    @Option(names = "--quick", description = "Smoke run: the quick grid (6 settings), one scheduler (ddim), few images; a few minutes on the bundled models.")
    boolean quick;

    @Option(names = "--grid", description = "Named grid: default or quick (default: default, or quick with --quick).")
    String grid;

    @Option(names = "--configs", split = ",", paramLabel = "POLICY@STEPS",
            description = "Explicit configurations instead of a named grid, e.g. full@10,dc-n3-b0-u@50,mr-b0.5-s0.5+dc-n2-b0-u@25.")
    List<String> configs;

    @Option(names = "--schedulers", split = ",", description = "Schedulers (default ddim,dpmpp2m,euler; ddim with --quick).")
    List<String> schedulers;

    @Option(names = "--reference-steps", defaultValue = "50", description = "Steps of the full-step reference per scheduler (default 50).")
    int referenceSteps;

    @Option(names = "--seeds", description = "Images per class/prompt (unconditional: images). Default 64 unconditional / 4 per class; --quick: 8 / 1.")
    Integer seeds;

    @Option(names = "--seed", defaultValue = "0", description = "Base seed: image j starts from the noise of (seed, j) in every configuration.")
    long seed;

    @Option(names = {"--classes", "--class"}, split = ",", description = "Classes of a class-conditional model (names or indices; default all).")
    List<String> classes;

    @Option(names = {"--cond", "--prompts"}, description = "Prompt embeddings for a conditional model without classes: safetensors with cond/uncond [tokens, dim] or [prompts, tokens, dim].")
    Path condFile;

    @Option(names = "--guidance", description = "Classifier-free guidance scale (default 3 with classes, 7.5 with --cond).")
    Double guidance;

    @Option(names = "--batch", description = "Images per UNet batch (default 16; 8 with classifier-free guidance, which doubles it). AdaptiveDiffusion configurations always run one image per batch.")
    Integer batch;

    @Option(names = "--lpips", description = "LPIPS weights folder (default: ../shared/lpips beside the project, if present).")
    Path lpips;

    @Option(names = "--classifier", description = "Fashion-MNIST classifier folder for FD and accuracy (default: fmnist-classifier beside the model, or weights/models/fmnist-classifier).")
    Path classifier;

    @Option(names = "--fmnist", description = "Fashion-MNIST IDX folder (default: Debian's /usr/share/datasets/fashion-mnist).")
    Path fmnist;

    @Option(names = "--report-only", description = "Do not run anything: rewrite the report from the rows already in --out.")
    boolean reportOnly;

    @Option(names = "--list", description = "Print the configurations the sweep would run (and which are done) and exit.")
    boolean list;

    @Mixin
    BackendOptions backendOptions;

    @Mixin
    ClusterOptions clusterOptions;

    @Option(names = "--task-batches", defaultValue = "4",
            description = "With --spark: batches per task (default 4). A task also times the reference just before and after its batches "
                    + "(about 100 image-steps each), so larger tasks spend less on timing; smaller ones spread a configuration over more cores.")
    int taskBatches;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Checks.atLeast("--reference-steps", referenceSteps, 1);
        if (seeds != null) Checks.atLeast("--seeds", seeds, 1);
        if (batch != null) Checks.atLeast("--batch", batch, 1);
        Path modelDir = SamplingOptions.resolveModel(model);
        // the report folder is checked before anything is loaded or computed
        Path dir = out != null ? out : Path.of("report", modelDir.toAbsolutePath().normalize().getFileName() + (quick ? "-quick" : ""));
        AtomicFiles.checkWritableDirectory(dir, out != null ? "--out" : "the report folder");
        long weights = MemoryBudget.checkWeights(modelDir, backendOptions.weightPrecision());
        Pipeline p = Pipeline.load(modelDir, backendOptions.weightPrecision());
        boolean conditional = p.unet().conditional();
        String gridName = grid != null ? grid : quick ? "quick" : "default";
        int perGroup = perGroup(p);
        ImageSet set = ImageSet.of(p, perGroup, classes, condFile, guidance);
        int bs = batchSize(set);
        List<String> sched = schedulers != null ? schedulers : quick ? List.of("ddim") : Grid.DEFAULT_SCHEDULERS;
        List<String> policies = configs != null ? configs : Grid.policies(gridName, conditional);
        List<SweepConfig> grid = Grid.configs(policies, sched, referenceSteps);
        ResultStore store = ResultStore.open(dir);
        Backend backend = backendOptions.create();
        String command = "./jdiffusion " + String.join(" ", spec.commandLine().getParseResult().originalArgs());

        if (list) {
            for (SweepConfig c : grid)
                System.out.printf("%-48s %-18s %s%s%n", c.id(), c.family(), c.label(),
                        !store.has(c.id()) ? "" : store.get(c.id()).failed() ? "  [failed: " + store.get(c.id()).error() + "]" : "  [done]");
            System.out.println(grid.size() + " configurations, " + grid.stream().filter(c -> store.has(c.id()) && !store.get(c.id()).failed()).count()
                    + " done, " + set.images() + " images each");
            return 0;
        }
        int maxSteps = grid.stream().mapToInt(SweepConfig::steps).max().orElse(referenceSteps);
        // per configuration: its images and the reference's, at the sweep's batch
        if (!reportOnly)
            SamplingOptions.checkMemory("sweep", p, weights, backendOptions.weightPrecision(), backend, set.all() == null ? null : set.slice(0, 1),
                    set.images(), bs, maxSteps, 2, 0, "");
        ObjectNode settings = fingerprint(p, set, backend);
        store.checkSettings(settings, reportOnly ? null : command);   // the report lists the commands that computed rows
        Path lp = lpips != null ? lpips : defaultLpips();
        Path clf = classifier != null ? classifier : defaultClassifier(p);
        Evaluator ev = Evaluator.create(backend, lp, clf, fmnist, imageShape(p), p.classes() == null ? null : p.classes().classNames());
        System.err.printf("sweep: %s (%s, %.2f M parameters), %d configurations × %d images (%s), reference %d steps, batch %d, backend %s, into %s%n",
                p.name(), p.unet().kind(), p.unet().parameterCount() / 1e6, grid.size(), set.images(),
                set.all() == null ? "unconditional" : set.groups().size() + (set.groups().size() == 1 ? " prompt" : " classes/prompts") + " × " + perGroup, referenceSteps, bs, backend.name(), dir);
        ev.notes().forEach(n -> System.err.println("note: " + n));
        double session = 0;
        String where = backend.name();
        Path table = null;
        if (!reportOnly) {
            try (Cluster cluster = clusterOptions.connect(spec)) {   // null without --spark
                Sweep sweep = new Sweep(p, backend, set, ev, store, bs, seed, System.err);
                if (cluster != null) {
                    int perTask = bs * Checks.atLeast("--task-batches", taskBatches, 1);   // whole batches: every image in the batch it has without Spark
                    where += ", on " + cluster.where();
                    System.err.println("sweep: tasks of " + perTask + " images on " + cluster.where());
                    sweep.source(new ClusterSweep(cluster, grid.stream().filter(c -> sweep.pending(c, referenceSteps)).toList(), set.images(), perTask));
                }
                Sweep.Outcome o = sweep.run(grid, referenceSteps);
                session = o.seconds();
                System.err.printf("sweep: %d computed, %d done before, %d failed, in %.1f s%n", o.computed(), o.resumed(), o.failed(), o.seconds());
                List<SweepRow> done = grid.stream().filter(c -> store.has(c.id())).map(c -> store.get(c.id())).toList();
                if (cluster != null && !done.isEmpty()) table = cluster.writeRows(dir.resolve("rows.parquet"), done);
            }
        }
        Set<String> ids = grid.stream().map(SweepConfig::id).collect(Collectors.toSet());
        List<SweepRow> rows = new ArrayList<>();
        for (SweepConfig c : grid) if (store.has(c.id())) rows.add(store.get(c.id()));
        if (rows.isEmpty()) throw new IllegalStateException("no finished rows in " + dir + " for this grid: nothing to report");
        if (rows.size() < ids.size()) System.err.println("note: the report covers " + rows.size() + " of " + ids.size() + " configurations (the others have not run)");
        Double floor = ev.hasFd() ? ev.realFloor(fmnist, set.images()) : null;
        Report.Info info = new Report.Info(p.name(), displayPath(p.dir()), set.groups(), perGroup, seed,
                set.all() == null ? null : set.all().guidance(), bs, referenceSteps, where, ev.notes(), ev.realSource(), floor,
                store.commands(), session);
        List<Path> files = new ArrayList<>(Report.write(dir, rows, info));
        if (table != null) files.add(table);
        for (Path f : files) System.out.println("wrote " + f);
        List<SweepRow> failed = rows.stream().filter(SweepRow::failed).toList();
        if (failed.isEmpty()) return 0;
        spec.commandLine().getErr().println("error: " + failed.size() + " of " + grid.size() + " configurations failed: "
                + failed.stream().map(r -> r.id() + " (" + r.error() + ")").collect(Collectors.joining("; "))
                + ". The report covers the others; rerun the same command to retry the failed ones");
        return Main.SWEEP_FAILURES;
    }

    /** Images per class/prompt (unconditional: images). */
    private int perGroup(Pipeline p) {
        boolean conditional = p.unet().conditional();
        return seeds != null ? seeds : conditional && (p.classes() != null) ? (quick ? 1 : 4) : quick ? 8 : 64;
    }

    /** 16 images per UNet batch; 8 under classifier-free guidance, which doubles the batch. */
    private int batchSize(ImageSet set) {
        int bs = batch != null ? batch : Math.min(set.all() != null && set.all().guided() ? 8 : 16, set.images());
        return Checks.atLeast("--batch", bs, 1);
    }

    /** On an executor: the model and image set of this command line, computing one configuration's part per task. */
    @Override
    public Worker worker() {
        Pipeline p = Pipeline.load(SamplingOptions.resolveModel(model), backendOptions.weightPrecision());
        ImageSet set = ImageSet.of(p, perGroup(p), classes, condFile, guidance);
        Sweep sweep = Sweep.worker(p, backendOptions.create(), set, batchSize(set), seed);
        return (unit, first, count) -> sweep.part(SweepConfig.parse(unit, null), first, count, referenceSteps);
    }

    private ObjectNode fingerprint(Pipeline p, ImageSet set, Backend backend) {
        ObjectNode n = com.fasterxml.jackson.databind.json.JsonMapper.builder().build().createObjectNode();
        n.put("model", p.name());
        n.put("unet_parameters", p.unet().parameterCount());
        n.put("groups", String.join(",", set.groups()));
        n.put("seeds_per_group", set.perGroup());
        n.put("seed", seed);
        if (set.all() != null) n.put("guidance", set.all().guidance());
        n.put("reference_steps", referenceSteps);
        n.put("backend", backend.name());
        n.put("weights_dtype", backendOptions.weightPrecision().toString());
        return n;
    }

    /** The model folder as the user would type it here: relative to the working directory when inside it, so committed reports carry no machine paths. */
    static String displayPath(Path dir) {
        Path abs = dir.toAbsolutePath().normalize(), cwd = Path.of("").toAbsolutePath();
        return abs.startsWith(cwd) ? cwd.relativize(abs).toString() : abs.toString();
    }

    static int[] imageShape(Pipeline p) {
        return p.imageShape();
    }

    static Path defaultLpips() {
        String prop = System.getProperty("jdiffusion.lpips");
        if (prop == null || prop.isBlank()) prop = System.getenv("JDIFFUSION_LPIPS");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        Path home = Path.of(System.getProperty("jdiffusion.home", ".")).toAbsolutePath().normalize();
        Path p = home.getParent() == null ? null : home.getParent().resolve("shared").resolve("lpips");
        return p != null && Files.isDirectory(p) ? p : null;
    }

    static Path defaultClassifier(Pipeline p) {
        Path beside = p.dir().toAbsolutePath().normalize().getParent();
        if (beside != null && Files.isRegularFile(beside.resolve("fmnist-classifier").resolve("config.json"))) return beside.resolve("fmnist-classifier");
        return Path.of(System.getProperty("jdiffusion.home", ".")).resolve("weights/models/fmnist-classifier");
    }
}
