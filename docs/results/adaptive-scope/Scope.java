import jdiffusion.accel.PolicySpec;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Generation;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.schedule.Schedulers;
import jdiffusion.tensor.NoiseSource;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Cost of AdaptiveDiffusion's batch vs sample scope vs full-step on fashion-cond-32, one class per image
 * (10 classes), DPM-Solver++ 50 steps, guidance 3, batch 10, one cpu thread: the policies alternate in a
 * rotating order each round (seed = round), and each run's CPU time (the calling thread does all the work
 * with one thread) and wall time are recorded; per policy the median and the median of per-round ratios to
 * full-step. usage: java -cp jdiffusion.jar Scope.java ROUNDS THREADS policy...
 */
public class Scope {
    public static void main(String[] a) {
        int rounds = Integer.parseInt(a[0]), threads = Integer.parseInt(a[1]);
        List<String> ids = Arrays.asList(a).subList(2, a.length);
        Pipeline p = Pipeline.load(Path.of("/work/wt-adaptive/weights/models/fashion-cond-32"));
        Schedulers.Resolved sched = Schedulers.resolve("dpmpp2m", p.schedulerConfig(), 0);
        Conditioning cond = p.classes().condition(new int[]{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 3.0);
        var mx = ManagementFactory.getThreadMXBean();
        int n = ids.size(), steps = 50;
        double[][] cpu = new double[n][rounds], wall = new double[n][rounds];
        int[] evals = new int[n];
        try (CpuBackend backend = new CpuBackend(threads)) {
            // warm-up: one short run of each policy
            for (String id : ids) run(p, sched, backend, cond, PolicySpec.parse(id), 8, 99);
            for (int r = 0; r < rounds; r++)
                for (int k = 0; k < n; k++) {
                    int v = (r + k) % n;
                    long c0 = mx.getCurrentThreadCpuTime(), t0 = System.nanoTime();
                    Generation g = run(p, sched, backend, cond, PolicySpec.parse(ids.get(v)), steps, r);
                    wall[v][r] = (System.nanoTime() - t0) / 1e6;
                    cpu[v][r] = (mx.getCurrentThreadCpuTime() - c0) / 1e6;
                    evals[v] += g.sampleEvaluations();
                    System.out.printf("round %d %-16s cpu %8.0f ms wall %8.0f ms evals %d calls %d%n", r, ids.get(v), cpu[v][r], wall[v][r],
                            g.sampleEvaluations(), g.unetCalls());
                }
        }
        System.out.printf("%d rounds (seeds 0..%d), %d thread(s), load %s%n", rounds, rounds - 1, threads,
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        for (int v = 0; v < n; v++)
            System.out.printf("%-16s evals/round %6.1f | cpu median %8.0f ms, ratio to %s %.3f | wall median %8.0f ms, ratio %.3f%n", ids.get(v),
                    evals[v] / (double) rounds, median(cpu[v]), ids.get(0), medianRatio(cpu[v], cpu[0]), median(wall[v]), medianRatio(wall[v], wall[0]));
    }

    static Generation run(Pipeline p, Schedulers.Resolved sched, CpuBackend backend, Conditioning cond, PolicySpec spec, int steps, long seed) {
        return Generation.run(p, sched::create, backend, cond, new Generation.Settings(10, 10, steps, seed),
                b -> spec.build(p, new NoiseSource(seed), steps), Progress.NONE);
    }

    static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double medianRatio(double[] x, double[] ref) {
        double[] r = new double[x.length];
        for (int i = 0; i < x.length; i++) r[i] = x[i] / ref[i];
        return median(r);
    }
}
