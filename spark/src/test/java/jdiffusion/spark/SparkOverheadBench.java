package jdiffusion.spark;

import jdiffusion.kernels.Backend;
import jdiffusion.kernels.Backends;
import jdiffusion.sample.Generation;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.sample.StepPolicy;
import jdiffusion.schedule.Schedulers;
import jdiffusion.sweep.Evaluator;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.tensor.Tensor;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * The inputs of docs/SPARK.md's scaling model, measured on this machine (not a test; run by hand, see
 * docs/SPARK.md): the CPU time one core spends per image (50-step DDIM on the bundled model, and the
 * driver's metrics per image), measured as thread CPU time so that other work on a shared machine does
 * not count, and Spark's own time per job and per task in local mode (no-op tasks, wall time).
 */
public final class SparkOverheadBench {
    private SparkOverheadBench() {
    }

    public static void main(String[] args) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        System.out.printf(Locale.ROOT, "load average %.2f, %d cores%n", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
                Runtime.getRuntime().availableProcessors());
        Backend one = Backends.create("cpu", 1);
        Pipeline p = Pipeline.load(Runs.MODEL);
        var sched = Schedulers.resolve("ddim", p.schedulerConfig(), 0);
        Generation.run(p, sched::create, one, null, new Generation.Settings(16, 16, 10, 1), b -> StepPolicy.NONE, Progress.NONE);   // warm-up
        for (int batch : new int[]{16, 1}) {
            int n = 16;
            long c0 = mx.getCurrentThreadCpuTime(), w0 = System.nanoTime();
            Generation g = Generation.run(p, sched::create, one, null, new Generation.Settings(n, batch, 50, 0), b -> StepPolicy.NONE, Progress.NONE);
            System.out.printf(Locale.ROOT, "generation, DDIM 50 steps, batch %2d, 1 thread: %.0f ms CPU per image (wall %.0f ms), %.3g MACs per image%n", batch,
                    (mx.getCurrentThreadCpuTime() - c0) / 1e6 / n, (System.nanoTime() - w0) / 1e6 / n, (double) g.totalMacs() / n);
        }
        Evaluator ev = Evaluator.create(one, Path.of(System.getProperty("jdiffusion.lpips", "../shared/lpips")),
                Runs.ROOT.resolve("weights/models/fmnist-classifier"), null, new int[]{1, 32, 32}, null);
        int n = 500;
        Tensor a = new NoiseSource(1).gaussian(n, 1, 32, 32), b = new NoiseSource(2).gaussian(n, 1, 32, 32);
        for (float[] d : new float[][]{a.data(), b.data()}) for (int i = 0; i < d.length; i++) d[i] = (float) Math.tanh(d[i]);
        ev.evaluate(a, b, null);
        long c0 = mx.getCurrentThreadCpuTime();
        ev.evaluate(a, b, null);
        System.out.printf(Locale.ROOT, "driver metrics (PSNR, SSIM, LPIPS %s, classifier features + FD %s), 1 thread: %.2f ms CPU per image%n",
                ev.notes().isEmpty() ? "yes" : ev.notes(), ev.hasFd() ? "yes" : "no", (mx.getCurrentThreadCpuTime() - c0) / 1e6 / n);

        long s0 = System.nanoTime();
        SparkSession spark = SparkSession.builder().master("local[2]").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        System.out.printf(Locale.ROOT, "Spark session start (local[2]): %.1f s%n", (System.nanoTime() - s0) / 1e9);
        List<Integer> none = List.of(0);
        for (int i = 0; i < 10; i++) jsc.parallelize(none, 1).map(x -> x).collect();   // warm-up
        double[] job = new double[30];
        for (int i = 0; i < job.length; i++) {
            long t = System.nanoTime();
            jsc.parallelize(none, 1).map(x -> x).collect();
            job[i] = (System.nanoTime() - t) / 1e6;
        }
        List<Integer> many = IntStream.range(0, 400).boxed().toList();
        List<Double> perTask = new ArrayList<>();
        for (int r = 0; r < 5; r++) {
            long t = System.nanoTime();
            jsc.parallelize(many, many.size()).map(x -> x).collect();
            perTask.add((System.nanoTime() - t) / 1e6 / many.size() * 2);   // 2 slots: slot-milliseconds per task
        }
        Arrays.sort(job);
        System.out.printf(Locale.ROOT, "Spark job of one no-op task: %.1f ms (median of %d; min %.1f)%n", job[job.length / 2], job.length, job[0]);
        System.out.printf(Locale.ROOT, "Spark no-op tasks, 400 per job on 2 slots: %.1f slot-ms per task (median of 5: %s)%n",
                perTask.stream().sorted().toList().get(2), perTask.stream().map(v -> String.format(Locale.ROOT, "%.1f", v)).toList());
        spark.stop();
    }
}
