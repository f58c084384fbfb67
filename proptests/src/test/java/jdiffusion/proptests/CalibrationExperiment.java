package jdiffusion.proptests;

import jdiffusion.accel.AdaptiveSkip;
import jdiffusion.accel.CombinedPolicy;
import jdiffusion.accel.DeepCache;
import jdiffusion.sample.StepPolicy;
import jdiffusion.weights.config.SchedulerConfig;

/** Not a test: the calibration run behind the bounds stated in AccelerationProperties (run by hand). */
public class CalibrationExperiment {
    public static void main(String[] a) {
        if (a[0].equals("mixed")) {
            mixed(Integer.parseInt(a[1]));
            return;
        }
        double worstA = 0, worstD = 0;
        String wa = "", wd = "";
        int models = Integer.parseInt(a[0]);
        for (long seed = 100; seed < 100 + models; seed++) {
            var m = seed % 3 == 0 ? RandomModels.conditional(seed) : RandomModels.unconditional(seed);
            for (var kind : new SchedulerConfig.Kind[]{SchedulerConfig.Kind.DDIM, SchedulerConfig.Kind.DPMPP_2M, SchedulerConfig.Kind.EULER}) {
                int steps = seed % 2 == 0 ? 20 : 30;
                var full = Runs.sample(m.unet(), kind, steps, seed, StepPolicy.NONE);
                for (double d : new double[]{0.01, 0.03, 0.05, 0.1, 0.2}) {
                    for (int cmax : new int[]{2, 4}) {
                        var r = Runs.sample(m.unet(), kind, steps, seed, new CombinedPolicy(null, new AdaptiveSkip(d, cmax), null, null));
                        double e = Runs.relL2(r.out(), full.out());
                        if (e / d > worstA) { worstA = e / d; wa = "seed " + seed + " " + kind + " δ=" + d + " cmax " + cmax + " err " + e; }
                    }
                }
                for (int n : new int[]{2, 3, 4, 5}) for (int b : new int[]{0, 1, 2, 3}) {
                    var r = Runs.sample(m.unet(), kind, steps, seed, new CombinedPolicy(null, null, DeepCache.uniform(n, b), null));
                    double e = Runs.relL2(r.out(), full.out());
                    if (e / (n - 1) > worstD) { worstD = e / (n - 1); wd = "seed " + seed + " " + kind + " N=" + n + " b=" + b + " err " + e; }
                }
            }
            System.out.printf("after %d models: worst err/δ %.3f (%s); worst err/(N-1) %.3f (%s)%n", seed - 99, worstA, wa, worstD, wd);
        }
        System.exit(0);
    }

    /** Mixed resolution on the bundled trained model: worst error/s over seeds, schedulers, s and β. */
    static void mixed(int seeds) {
        var unet = BundledModel.unet();
        double worst = 0;
        String w = "";
        for (long seed = 100; seed < 100 + seeds; seed++) {
            for (var kind : new SchedulerConfig.Kind[]{SchedulerConfig.Kind.DDIM, SchedulerConfig.Kind.DPMPP_2M, SchedulerConfig.Kind.EULER}) {
                int steps = seed % 2 == 0 ? 20 : 30;
                var full = Runs.sample(unet, kind, steps, seed, StepPolicy.NONE);
                for (double s : new double[]{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}) for (double beta : new double[]{0.5, 0.75}) {
                    var r = Runs.sample(unet, kind, steps, seed, new CombinedPolicy(
                            new jdiffusion.accel.MixedResolution(beta, s, unet.sizeMultiple(), new jdiffusion.tensor.NoiseSource(seed)), null, null, null));
                    double e = Runs.relL2(r.out(), full.out());
                    System.out.printf("seed %d %s steps %d s %.1f beta %.2f err %.4f err/s %.3f%n", seed, kind, steps, s, beta, e, e / s);
                    if (e / s > worst) { worst = e / s; w = "seed " + seed + " " + kind + " s=" + s + " β=" + beta + " err " + e; }
                }
            }
            System.out.printf("after %d seeds: worst err/s %.3f (%s)%n", seed - 99, worst, w);
        }
        System.exit(0);
    }
}
