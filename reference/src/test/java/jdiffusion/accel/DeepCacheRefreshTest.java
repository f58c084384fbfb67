package jdiffusion.accel;

import jdiffusion.nn.ModuleId;
import jdiffusion.sample.StepAction;
import jdiffusion.sample.StepPlan;
import jdiffusion.sample.StepPolicy;
import jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * DeepCache's refresh steps when another policy (AdaptiveDiffusion) skips some steps: a refresh that fell on a
 * skipped step is made up at the next step that runs. Before this rule, AdaptiveDiffusion + DeepCache N = 2
 * with C_max = 1 skipped every even (refresh) step from step 10 on, and the odd steps were served the deep
 * features of step 8 for the remaining 40 steps (12.7 dB from the reference on fashion-ddpm-32, DDIM).
 */
class DeepCacheRefreshTest {
    private static final ModuleId MID = new ModuleId("mid_block", ModuleId.Path.MID, "mid_block", 0, 0);

    /** Plans the steps not in {@code skipped} (as CombinedPolicy does: skipped steps are never planned); F / P / S per step. */
    private static String pattern(DeepCache dc, int steps, Set<Integer> skipped) {
        dc.begin(new StepPolicy.RunInfo(steps, new int[]{1, 1, 8, 8}, false, false));
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < steps; i++) {
            if (skipped.contains(i)) {
                sb.append('S');
                continue;
            }
            StepPlan p = dc.plan(i, false);
            p.hooks().module(MID, () -> Tensor.zeros(1, 1, 2, 2));   // a refresh records, a partial step serves
            sb.append(p.action() == StepAction.FULL ? 'F' : 'P');
        }
        return sb.toString();
    }

    @Test
    void aloneTheUniformScheduleIsUnchanged() {
        assertEquals("FPFPFPFPFP", pattern(DeepCache.uniform(2, 0), 10, Set.of()));
        assertEquals("FPPFPPFPPF", pattern(DeepCache.uniform(3, 0), 10, Set.of()));
    }

    @Test
    void aRefreshOnASkippedStepIsMadeUpAtTheNextStepThatRuns() {
        // N = 2: refresh steps 0, 2, 4, ...; AdaptiveDiffusion skips 2, 4, 6 (the C_max = 1 pattern "SPSP")
        assertEquals("FPSFSFSFFP", pattern(DeepCache.uniform(2, 0), 10, Set.of(2, 4, 6)));
        // N = 3: refresh 0, 3, 6, 9; skipping 3 moves that refresh to 4; 6 is a refresh again
        assertEquals("FPPSFPFPPF", pattern(DeepCache.uniform(3, 0), 10, Set.of(3)));
        // a skipped partial step changes nothing
        assertEquals("FSFPFPFPFP", pattern(DeepCache.uniform(2, 0), 10, Set.of(1)));
    }

    @Test
    void nonUniformRefreshesAreMadeUpToo() {
        List<Integer> refresh = DeepCache.nonUniformRefreshSteps(20, 3, 6, 1.4);
        int skipped = refresh.get(2);
        String p = pattern(DeepCache.nonUniform(3, 0, 20, 6, 1.4), 20, Set.of(skipped));
        assertEquals('S', p.charAt(skipped));
        assertEquals('F', p.charAt(skipped + 1), "refresh " + skipped + " made up at the next step: " + p + " (refresh steps " + refresh + ")");
    }
}
