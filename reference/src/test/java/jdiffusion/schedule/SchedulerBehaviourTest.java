package jdiffusion.schedule;

import jdiffusion.Golden;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.config.SchedulerConfig.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stochastic samplers, the forward process, DPM-Solver++'s history and the factory. */
class SchedulerBehaviourTest {
    static final int[] SHAPE = {1, 4, 8, 8};

    /** The model the golden data uses (any smooth function would do here). */
    static Tensor model(Scheduler s, Tensor x, int i) {
        return SchedulerGoldenTest.syntheticModel(s.scaleModelInput(x, i), s.timestep(i));
    }

    /** A full run from a seeded initial latent, with per-step noise from {@code stepNoise}. */
    static Tensor run(Scheduler s, long seed, NoiseSource stepNoise) {
        Tensor x = new NoiseSource(seed).gaussian(SHAPE);
        float sigma = s.initNoiseSigma();
        x = Elementwise.map(x, v -> v * sigma);
        for (int i = 0; i < s.numSteps(); i++) x = s.step(model(s, x, i), i, x, stepNoise);
        return x;
    }

    // ---- DDPM -------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"fixed_small", "fixed_large"})
    void ddpmIsDeterministicForASeed(String variance) {
        String cfg = "\"variance_type\": \"" + variance + "\"";
        Tensor a = run(Configs.create(Kind.DDPM, cfg, 0, 20), 7, new NoiseSource(42));
        Tensor b = run(Configs.create(Kind.DDPM, cfg, 0, 20), 7, new NoiseSource(42));
        Tensor c = run(Configs.create(Kind.DDPM, cfg, 0, 20), 7, new NoiseSource(43));
        assertArrayEquals(a.data(), b.data(), "same seeds, same trajectory");
        assertTrue(Golden.relL2(a, c) > 1e-3, "another noise seed must change the result");
    }

    /** One DDPM step against Ho et al. eq. 6–7 evaluated in double, with the same noise draw. */
    @ParameterizedTest
    @ValueSource(strings = {"fixed_small", "fixed_large"})
    void ddpmStepIsTheStridedPosterior(String variance) {
        Scheduler s = Configs.create(Kind.DDPM, "\"variance_type\": \"" + variance + "\", \"clip_sample\": false", 0, 10);
        NoiseSchedule ns = NoiseSchedule.of(s.config());
        Tensor x = new NoiseSource(1).gaussian(SHAPE);
        for (int i : new int[]{0, 4, 8}) {
            int t = (int) s.timestep(i), prev = t - 100;
            Tensor eps = model(s, x, i);
            Tensor got = s.step(eps, i, x, new NoiseSource(99));
            float[] z = new NoiseSource(99).gaussian(SHAPE).data();
            double aT = ns.alphaBar(t), aP = ns.alphaBar(prev), betaT = 1 - aT / aP;
            double var = variance.equals("fixed_small") ? (1 - aP) / (1 - aT) * betaT : betaT;
            float[] want = new float[z.length];
            for (int k = 0; k < z.length; k++) {
                double xt = x.data()[k], e = eps.data()[k];
                double x0 = (xt - Math.sqrt(1 - aT) * e) / Math.sqrt(aT);
                double mean = Math.sqrt(aP) * betaT / (1 - aT) * x0 + Math.sqrt(1 - betaT) * (1 - aP) / (1 - aT) * xt;
                want[k] = (float) (mean + Math.sqrt(var) * z[k]);
            }
            double err = Golden.relL2(got.data(), want);
            assertTrue(err < 1e-5, "step " + i + ": " + err);
        }
    }

    @Test
    void ddpmDrawsNoNoiseAtTimestepZero() {
        Scheduler s = Configs.create(Kind.DDPM, "", 0, 10); // leading, offset 0: the last timestep is 0
        int last = s.numSteps() - 1;
        assertEquals(0f, s.timestep(last));
        Tensor x = new NoiseSource(3).gaussian(SHAPE);
        Tensor a = s.step(model(s, x, last), last, x, null); // no noise needed
        Tensor b = s.step(model(s, x, last), last, x, new NoiseSource(5));
        assertArrayEquals(a.data(), b.data());
        var e = assertThrows(NullPointerException.class, () -> s.step(model(s, x, 0), 0, x, null));
        assertTrue(e.getMessage().contains("noise"), e.getMessage());
    }

    // ---- DDIM with η > 0 --------------------------------------------------------------------------

    @Test
    void ddimWithEtaIsDeterministicForASeedAndEtaZeroIgnoresNoise() {
        Tensor a = run(Configs.create(Kind.DDIM, "", 1.0, 20), 7, new NoiseSource(42));
        Tensor b = run(Configs.create(Kind.DDIM, "", 1.0, 20), 7, new NoiseSource(42));
        Tensor c = run(Configs.create(Kind.DDIM, "", 1.0, 20), 7, new NoiseSource(43));
        assertArrayEquals(a.data(), b.data());
        assertTrue(Golden.relL2(a, c) > 1e-3);
        Tensor d = run(Configs.create(Kind.DDIM, "", 0, 20), 7, null);
        Tensor e = run(Configs.create(Kind.DDIM, "", 0, 20), 7, new NoiseSource(42));
        assertArrayEquals(d.data(), e.data(), "eta = 0 is deterministic");
    }

    /** One DDIM step against Song et al. eq. 12 and 16 evaluated in double. */
    @ParameterizedTest
    @ValueSource(doubles = {0.0, 0.5, 1.0})
    void ddimStepIsEquation12(double eta) {
        Scheduler s = Configs.create(Kind.DDIM, "\"clip_sample\": false, \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012, \"set_alpha_to_one\": false, \"steps_offset\": 1", eta, 25);
        NoiseSchedule ns = NoiseSchedule.of(s.config());
        Tensor x = new NoiseSource(1).gaussian(SHAPE);
        for (int i : new int[]{0, 12, 24}) {
            int t = (int) s.timestep(i), prev = t - 40;
            Tensor eps = model(s, x, i);
            Tensor got = s.step(eps, i, x, new NoiseSource(99));
            float[] z = new NoiseSource(99).gaussian(SHAPE).data();
            double aT = ns.alphaBar(t), aP = prev >= 0 ? ns.alphaBar(prev) : ns.alphaBar(0);
            double sigma = eta * Math.sqrt((1 - aP) / (1 - aT) * (1 - aT / aP));
            float[] want = new float[z.length];
            for (int k = 0; k < z.length; k++) {
                double e = eps.data()[k], x0 = (x.data()[k] - Math.sqrt(1 - aT) * e) / Math.sqrt(aT);
                want[k] = (float) (Math.sqrt(aP) * x0 + Math.sqrt(1 - aP - sigma * sigma) * e + (eta > 0 ? sigma * z[k] : 0));
            }
            double err = Golden.relL2(got.data(), want);
            assertTrue(err < 1e-5, "eta " + eta + " step " + i + ": " + err);
        }
    }

    // ---- the forward process ----------------------------------------------------------------------

    /** predictOriginal(ε, i, addNoise(x0, ε, i)) ≈ x0 for epsilon prediction, at the first, a middle and the last step. */
    @ParameterizedTest
    @EnumSource(Kind.class)
    void addNoiseThenPredictOriginalRoundTrips(Kind kind) {
        for (String schedule : new String[]{"", "\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012"}) {
            Scheduler s = Configs.create(kind, schedule, 0, 20);
            Tensor x0 = Elementwise.map(new NoiseSource(11).gaussian(SHAPE), v -> 0.5f * (float) Math.tanh(v));
            Tensor eps = new NoiseSource(12).gaussian(SHAPE);
            for (int i : new int[]{0, 10, s.numSteps() - 1}) {
                Tensor xt = s.addNoise(x0, eps, i);
                double err = Golden.relL2(s.predictOriginal(eps, i, xt), x0);
                assertTrue(err < 1e-4, kind + " " + schedule + " step " + i + ": " + err);
            }
        }
    }

    /** The latent the forward process gives matches each scheduler's parametrisation (VE for Euler). */
    @Test
    void addNoiseUsesEachSchedulersParametrisation() {
        Tensor x0 = Tensor.of(new float[]{1f}, 1), eps = Tensor.of(new float[]{0f}, 1);
        Scheduler euler = Configs.create(Kind.EULER, "", 0, 10), ddim = Configs.create(Kind.DDIM, "", 0, 10);
        assertEquals(1f, euler.addNoise(x0, eps, 0).data()[0], "x0 + σ·0");
        float a = NoiseSchedule.of(ddim.config()).alphaBar((int) ddim.timestep(0));
        assertEquals((float) Math.sqrt(a), ddim.addNoise(x0, eps, 0).data()[0], 1e-7f, "√ᾱ·x0");
    }

    // ---- DPM-Solver++ history ---------------------------------------------------------------------

    @Test
    void dpmResetHistoryMakesTheNextStepFirstOrder() {
        Scheduler second = Configs.create(Kind.DPMPP_2M, "", 0, 20);
        Scheduler first = Configs.create(Kind.DPMPP_2M, "\"solver_order\": 1", 0, 20);
        Tensor x = new NoiseSource(5).gaussian(SHAPE);
        for (int i = 0; i < 5; i++) x = second.step(model(second, x, i), i, x, null);
        Tensor m = model(second, x, 5);

        Tensor firstOrder = first.step(m, 5, x, null); // an order-1 solver needs no history
        second.resetHistory();
        Tensor afterReset = second.step(m, 5, x, null);
        assertArrayEquals(firstOrder.data(), afterReset.data(), "after resetHistory the step is first order");

        // the step after that is second order again (it differs from the first-order update)
        Tensor m6 = model(second, afterReset, 6);
        Tensor so = second.step(m6, 6, afterReset, null);
        Tensor fo = first.step(m6, 6, afterReset, null);
        assertTrue(Golden.relL2(so, fo) > 1e-6, "second order resumes after one step");
    }

    @Test
    void dpmWithoutResetUsesSecondOrderAndSetTimestepsStartsAfresh() {
        Scheduler second = Configs.create(Kind.DPMPP_2M, "", 0, 20);
        Scheduler first = Configs.create(Kind.DPMPP_2M, "\"solver_order\": 1", 0, 20);
        Tensor x = new NoiseSource(5).gaussian(SHAPE);
        Tensor step0 = second.step(model(second, x, 0), 0, x, null);
        assertArrayEquals(first.step(model(first, x, 0), 0, x, null).data(), step0.data(), "the first step is first order");
        Tensor m1 = model(second, step0, 1);
        assertNotEquals(0, Golden.relL2(second.step(m1, 1, step0, null), first.step(m1, 1, step0, null)), "then second order");

        second.setTimesteps(20);
        assertArrayEquals(step0.data(), second.step(model(second, x, 0), 0, x, null).data(), "setTimesteps clears the history");
    }

    @Test
    void dpmLastStepIsFirstOrder() {
        Scheduler second = Configs.create(Kind.DPMPP_2M, "\"lower_order_final\": false", 0, 20);
        Scheduler first = Configs.create(Kind.DPMPP_2M, "\"solver_order\": 1", 0, 20);
        Tensor x = new NoiseSource(5).gaussian(SHAPE);
        int last = second.numSteps() - 1;
        for (int i = 0; i < last; i++) x = second.step(model(second, x, i), i, x, null);
        Tensor m = model(second, x, last);
        // final σ = 0: diffusers always finishes first order (x_next = x̂0)
        assertArrayEquals(first.step(m, last, x, null).data(), second.step(m, last, x, null).data());
    }

    @Test
    void dpmRejectsStepsOutOfOrderWhileItHasHistory() {
        Scheduler s = Configs.create(Kind.DPMPP_2M, "", 0, 20);
        Tensor x = new NoiseSource(5).gaussian(SHAPE);
        Tensor x1 = s.step(model(s, x, 0), 0, x, null);
        var e = assertThrows(IllegalStateException.class, () -> s.step(model(s, x1, 2), 2, x1, null));
        assertTrue(e.getMessage().contains("expected step 1"), e.getMessage());
        s.resetHistory();
        s.step(model(s, x1, 2), 2, x1, null); // without history any step may come next
    }

    /** The second-order update against Lu et al. 2022b Alg. 2 evaluated in double (midpoint) and its Heun variant. */
    @ParameterizedTest
    @ValueSource(strings = {"midpoint", "heun"})
    void dpmSecondOrderStepIsAlgorithm2(String solverType) {
        var s = (DpmSolverMultistepScheduler) Configs.create(Kind.DPMPP_2M, "\"solver_type\": \"" + solverType + "\"", 0, 20);
        float[] sig = s.sigmas();
        Tensor x0 = new NoiseSource(5).gaussian(SHAPE);
        Tensor e0 = model(s, x0, 0), m1 = s.predictOriginal(e0, 0, x0);
        Tensor x1 = s.step(e0, 0, x0, null);
        Tensor e1 = model(s, x1, 1), m0 = s.predictOriginal(e1, 1, x1);
        Tensor got = s.step(e1, 1, x1, null);
        double lt = lambda(sig[2]), l0 = lambda(sig[1]), l1 = lambda(sig[0]);
        double h = lt - l0, r0 = (l0 - l1) / h, alphaT = 1 / Math.sqrt(sig[2] * (double) sig[2] + 1);
        double ratio = (sig[2] * alphaT) / (sig[1] / Math.sqrt(sig[1] * (double) sig[1] + 1));
        double w1 = solverType.equals("midpoint") ? -0.5 * alphaT * Math.expm1(-h) : alphaT * (Math.expm1(-h) / h + 1);
        float[] want = new float[got.numel()];
        for (int k = 0; k < want.length; k++) {
            double d0 = m0.data()[k], d1 = (d0 - m1.data()[k]) / r0;
            want[k] = (float) (ratio * x1.data()[k] - alphaT * Math.expm1(-h) * d0 + w1 * d1);
        }
        double err = Golden.relL2(got.data(), want);
        assertTrue(err < 1e-5, solverType + ": " + err);
    }

    private static double lambda(double sigma) {
        double alpha = 1 / Math.sqrt(sigma * sigma + 1);
        return Math.log(alpha) - Math.log(sigma * alpha);
    }

    /** predictOriginal for v_prediction and sample prediction inverts the forward process too (v = α·ε − σ_t·x0). */
    @ParameterizedTest
    @EnumSource(Kind.class)
    void vAndSamplePredictionRecoverX0(Kind kind) {
        Scheduler v = Configs.create(kind, "\"prediction_type\": \"v_prediction\"", 0, 20);
        Scheduler x = Configs.create(kind, "\"prediction_type\": \"sample\"", 0, 20);
        Tensor x0 = Elementwise.map(new NoiseSource(11).gaussian(SHAPE), a -> 0.5f * (float) Math.tanh(a));
        Tensor eps = new NoiseSource(12).gaussian(SHAPE);
        for (int i : new int[]{0, 10, 19}) {
            double alpha, sigma; // the VP form's α_t, σ_t at step i
            if (v instanceof EulerDiscreteScheduler e) {
                double s = e.sigmas()[i];
                alpha = 1 / Math.sqrt(s * s + 1);
                sigma = s * alpha;
            } else if (v instanceof DpmSolverMultistepScheduler d) {
                double s = d.sigmas()[i];
                alpha = 1 / Math.sqrt(s * s + 1);
                sigma = s * alpha;
            } else {
                double a = NoiseSchedule.of(v.config()).alphaBar((int) v.timestep(i));
                alpha = Math.sqrt(a);
                sigma = Math.sqrt(1 - a);
            }
            Tensor xt = v.addNoise(x0, eps, i);
            Tensor vTrue = Elementwise.zip(eps, x0, (e, a) -> (float) (alpha * e - sigma * a));
            double err = Golden.relL2(v.predictOriginal(vTrue, i, xt), x0);
            assertTrue(err < 1e-4, kind + " v_prediction step " + i + ": " + err);
            assertArrayEquals(x0.data(), x.predictOriginal(x0, i, x.addNoise(x0, eps, i)).data(), kind + " sample");
        }
    }

    // ---- factory ----------------------------------------------------------------------------------

    @Test
    void factoryNamesAndKinds() {
        for (Kind k : Kind.values()) assertEquals(k, Schedulers.kindOf(Schedulers.name(k)));
        assertEquals(Schedulers.NAMES, java.util.Arrays.stream(Kind.values()).map(Schedulers::name).toList());
        assertEquals(Kind.DPMPP_2M, Schedulers.kindOf("DPMPP2M"));
        var e = assertThrows(IllegalArgumentException.class, () -> Schedulers.kindOf("pndm"));
        assertTrue(e.getMessage().contains("pndm") && e.getMessage().contains("ddim"), e.getMessage());
        assertTrue(Schedulers.create(Configs.parse(Kind.DDIM, ""), 0) instanceof DdimScheduler);
        assertTrue(Schedulers.create(Configs.parse(Kind.DDPM, ""), 0) instanceof DdpmScheduler);
        assertTrue(Schedulers.create(Configs.parse(Kind.EULER, ""), 0) instanceof EulerDiscreteScheduler);
        assertTrue(Schedulers.create(Configs.parse(Kind.DPMPP_2M, ""), 0) instanceof DpmSolverMultistepScheduler);
        var eta = assertThrows(IllegalArgumentException.class, () -> Schedulers.create(Configs.parse(Kind.EULER, ""), 0.5));
        assertTrue(eta.getMessage().contains("eta"), eta.getMessage());
    }

    @Test
    void stepBeforeSetTimestepsIsAClearError() {
        Scheduler s = Schedulers.create(Configs.parse(Kind.EULER, ""), 0);
        var e = assertThrows(IllegalStateException.class, () -> s.timestep(0));
        assertTrue(e.getMessage().contains("setTimesteps"));
        assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(0));
        assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(1001));
    }

    @Test
    void initNoiseSigma() {
        assertEquals(1f, Configs.create(Kind.DDIM, "", 0, 10).initNoiseSigma());
        assertEquals(1f, Configs.create(Kind.DPMPP_2M, "", 0, 10).initNoiseSigma());
        var lin = (EulerDiscreteScheduler) Configs.create(Kind.EULER, "", 0, 10);
        assertEquals(lin.sigmas()[0], lin.initNoiseSigma());
        var lead = (EulerDiscreteScheduler) Configs.create(Kind.EULER, "\"timestep_spacing\": \"leading\"", 0, 10);
        float s0 = lead.sigmas()[0];
        assertEquals((float) Math.sqrt(s0 * s0 + 1f), lead.initNoiseSigma());
        assertFalse(lead.initNoiseSigma() == s0);
    }
}
