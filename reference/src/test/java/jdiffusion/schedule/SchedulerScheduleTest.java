package jdiffusion.schedule;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pure schedule functions (the golden test checks them bit for bit through the sigmas and timesteps). */
class SchedulerScheduleTest {

    @Test
    void ddimTimestepsPerSpacing() {
        int[] leading = TimestepSpacing.discrete("leading", 1000, 50, 1);
        assertEquals(981, leading[0]);
        assertEquals(961, leading[1]);
        assertEquals(1, leading[49]);
        assertArrayEquals(new int[]{999, 888, 777, 666, 555, 444, 333, 222, 111, 0}, TimestepSpacing.discrete("linspace", 1000, 10, 1));
        assertArrayEquals(new int[]{999, 899, 799, 699, 599, 499, 399, 299, 199, 99}, TimestepSpacing.discrete("trailing", 1000, 10, 0));
        // a step that is not a whole number: np.round(np.arange(1000, 0, -1000/7)) - 1
        assertArrayEquals(new int[]{999, 856, 713, 570, 428, 285, 142}, TimestepSpacing.discrete("trailing", 1000, 7, 0));
        // linspace rounds halves to even: 999/2 = 499.5 -> 500
        assertArrayEquals(new int[]{999, 500, 0}, TimestepSpacing.discrete("linspace", 1000, 3, 0));
    }

    @Test
    void eulerTimestepsAreFloatForLinspace() {
        float[] ts = TimestepSpacing.euler("linspace", 1000, 25, 0);
        assertEquals(999f, ts[0]);
        assertEquals(957.375f, ts[1]);
        assertEquals(0f, ts[24]);
        assertArrayEquals(new float[]{901, 801, 701, 601, 501, 401, 301, 201, 101, 1}, TimestepSpacing.euler("leading", 1000, 10, 1));
    }

    @Test
    void dpmSolverTimestepsDropTheLastOfNPlusOnePoints() {
        assertArrayEquals(new int[]{901, 811, 721, 631, 541, 451, 361, 271, 181, 91}, TimestepSpacing.dpmSolver("leading", 1000, 10, 1));
        assertArrayEquals(new int[]{999, 899, 799, 699, 599, 500, 400, 300, 200, 100}, TimestepSpacing.dpmSolver("linspace", 1000, 10, 0));
        assertArrayEquals(new int[]{999, 899, 799, 699, 599, 499, 399, 299, 199, 99}, TimestepSpacing.dpmSolver("trailing", 1000, 10, 0));
    }

    @Test
    void badStepCountsAndSpacings() {
        assertThrows(IllegalArgumentException.class, () -> TimestepSpacing.discrete("leading", 1000, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> TimestepSpacing.euler("linspace", 1000, 1001, 0));
        var e = assertThrows(IllegalArgumentException.class, () -> TimestepSpacing.dpmSolver("karras", 1000, 10, 0));
        assertTrue(e.getMessage().contains("karras"));
    }

    @Test
    void betaSchedules() {
        float[] lin = BetaSchedule.betas("linear", 1000, 1e-4, 0.02);
        assertEquals(1e-4f, lin[0]);
        assertEquals(0.02f, lin[999]);
        for (int i = 1; i < lin.length; i++) assertTrue(lin[i] > lin[i - 1]);
        float[] sl = BetaSchedule.betas("scaled_linear", 1000, 0.00085, 0.012);
        float s0 = (float) Math.sqrt(0.00085);
        assertEquals(s0 * s0, sl[0]);
        float[] cos = BetaSchedule.betas("squaredcos_cap_v2", 1000, 0, 0);
        assertEquals(0.999f, cos[999], "capped at max_beta");
        assertTrue(cos[0] > 0 && cos[0] < 1e-4);
    }

    @Test
    void torchLinspaceHitsBothEnds() {
        for (int n : new int[]{1, 2, 7, 16, 17, 33, 1000}) {
            float[] l = BetaSchedule.torchLinspace(0.25f, 3.5f, n);
            assertEquals(n, l.length);
            assertEquals(0.25f, l[0]);
            if (n > 1) assertEquals(3.5f, l[n - 1]);
        }
    }

    @Test
    void noiseSchedule() {
        NoiseSchedule s = NoiseSchedule.of(BetaSchedule.betas("linear", 1000, 1e-4, 0.02));
        assertEquals(1f - 1e-4f, s.alphaBar(0));
        for (int t = 1; t < 1000; t++) assertTrue(s.alphaBar(t) < s.alphaBar(t - 1));
        float[] sig = s.sigmas();
        assertEquals((float) Math.sqrt((1f - s.alphaBar(0)) / s.alphaBar(0)), sig[0]);
        assertTrue(sig[999] > 150 && sig[999] < 160, "σ_max of the DDPM schedule ≈ 157: " + sig[999]);
    }

    @Test
    void numpyHelpers() {
        assertArrayEquals(new double[]{0, 0.25, 0.5, 0.75, 1}, NumPy.linspace(0, 1, 5));
        assertArrayEquals(new double[]{10, 7, 4, 1}, NumPy.arange(10, 0, -3));
        assertEquals(0, NumPy.arange(0, 10, -1).length);
        assertArrayEquals(new double[]{1, 1.5, 3, 3}, NumPy.interp(new double[]{-1, 0.5, 2, 5}, new double[]{0, 1, 2}, new double[]{1, 2, 3}));
    }
}
