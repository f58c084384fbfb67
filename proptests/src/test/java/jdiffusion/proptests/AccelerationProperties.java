package jdiffusion.proptests;

import jdiffusion.accel.AdaptiveSkip;
import jdiffusion.accel.CombinedPolicy;
import jdiffusion.accel.CrossAttentionCache;
import jdiffusion.accel.DeepCache;
import jdiffusion.accel.MixedResolution;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.sample.Sampler;
import jdiffusion.sample.StepPolicy;
import jdiffusion.sample.StepRecord;
import jdiffusion.weights.config.SchedulerConfig;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.PropertyDefaults;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Structural properties of the acceleration policies on small random diffusers models (random layouts,
 * random weights, random seeds, all three deterministic schedulers): the degenerate settings are
 * exactly full-step sampling, and AdaptiveDiffusion's decisions obey the official rule's invariants.
 * Each try runs one or two 8–20-step samplings of a 16×16 model, so tries are few.
 */
@PropertyDefaults(tries = 25)
class AccelerationProperties {

    @Provide
    Arbitrary<SchedulerConfig.Kind> schedulers() {
        return Arbitraries.of(SchedulerConfig.Kind.DDIM, SchedulerConfig.Kind.DPMPP_2M, SchedulerConfig.Kind.EULER);
    }

    static RandomModels.Model model(long seed, boolean conditional) {
        return conditional ? RandomModels.conditional(seed) : RandomModels.unconditional(seed);
    }

    /** δ < 0, C_max = 0, DeepCache N = 1 and mixed-resolution s = 0 each reproduce full-step sampling bit for bit. */
    @Property
    void degenerateSettingsAreFullStep(@ForAll long seed, @ForAll boolean conditional, @ForAll("schedulers") SchedulerConfig.Kind kind,
                                       @ForAll @IntRange(min = 6, max = 14) int steps,
                                       @ForAll @IntRange(min = 0, max = 4) int which, @ForAll @DoubleRange(min = -1, max = -0.01) double negativeDelta) {
        var m = model(seed, conditional);
        StepPolicy policy = switch (which) {
            case 0 -> new CombinedPolicy(null, new AdaptiveSkip(negativeDelta, 4), null, null);
            case 1 -> new CombinedPolicy(null, new AdaptiveSkip(0.5, 0), null, null);
            case 2 -> new CombinedPolicy(null, null, DeepCache.uniform(1, (int) Math.floorMod(seed, 6)), null);
            case 3 -> new CombinedPolicy(new MixedResolution(0.5, 0, m.unet().sizeMultiple(), new NoiseSource(seed)), null, null, null);
            default -> new CombinedPolicy(new MixedResolution(0.5, 0, m.unet().sizeMultiple(), new NoiseSource(seed)),
                    new AdaptiveSkip(negativeDelta, 0), DeepCache.uniform(1, 0), null);
        };
        Statistics.label("setting").collect(List.of("δ<0", "C_max=0", "N=1", "s=0", "all four").get(which));
        Sampler.Result full = Runs.sample(m.unet(), kind, steps, seed, StepPolicy.NONE);
        Sampler.Result acc = Runs.sample(m.unet(), kind, steps, seed, policy);
        assertArrayEquals(full.out().data(), acc.out().data(), policy.describe() + " must be bit-identical to full-step");
        assertEquals(steps, acc.trace().unetCalls());
    }

    /**
     * AdaptiveDiffusion: steps 0–3 always run the UNet; no run of reused steps is longer than the rule
     * allows (C_max once more than 4 decisions exist; before that the counter is not consulted, so at most
     * 5); and the UNet ran 4 + (number of "compute" decisions about existing steps) times.
     */
    @Property
    void adaptiveDecisionsFollowTheRule(@ForAll long seed, @ForAll boolean conditional, @ForAll("schedulers") SchedulerConfig.Kind kind,
                                        @ForAll @IntRange(min = 10, max = 24) int steps, @ForAll @DoubleRange(min = 0.0, max = 0.3) double delta,
                                        @ForAll @IntRange(min = 1, max = 5) int maxSkip) {
        var m = model(seed, conditional);
        AdaptiveSkip rule = new AdaptiveSkip(delta, maxSkip);
        Sampler.Result r = Runs.sample(m.unet(), kind, steps, seed, new CombinedPolicy(null, rule, null, null));
        List<StepRecord> recs = r.trace().records();
        for (int i = 0; i < AdaptiveSkip.WARMUP; i++) assertEquals("full", recs.get(i).label(), "warm-up step " + i);
        List<Integer> mask = rule.mask();
        assertEquals(steps - AdaptiveSkip.WARMUP + 1, mask.size(), "one decision after each step from step 3 on");
        int computeDecisions = 0;
        for (int j = 0; j < mask.size() - 1; j++) computeDecisions += mask.get(j);   // the last decides a step that does not exist
        assertEquals(AdaptiveSkip.WARMUP + computeDecisions, r.trace().unetCalls(), "UNet calls = 4 + compute decisions");
        for (int i = AdaptiveSkip.WARMUP; i < steps; i++)
            assertEquals(mask.get(i - AdaptiveSkip.WARMUP) == 1, recs.get(i).label().equals("full"), "step " + i + " follows decision " + (i - 4));
        // once more than 4 decisions exist, a reuse is allowed only while the run of reuses before it is
        // shorter than C_max; before that the counter is not consulted, so early runs are at most 5 long
        int run = 0;
        for (int j = 0; j < mask.size(); j++) {
            if (mask.get(j) == 0) {
                if (j > 4) assertTrue(run < maxSkip, "decision " + j + " reuses after " + run + " reuses in a row (C_max=" + maxSkip + ")");
                run++;
                assertTrue(run <= Math.max(5, maxSkip), "run of " + run + " reused steps at decision " + j);
            } else {
                run = 0;
            }
        }
        long skipped = recs.stream().filter(s -> s.label().equals("skipped")).count();
        Statistics.label("steps").collect(skipped > 0 ? "some skipped" : "all computed");
        Statistics.label("skipped fraction").collect((int) (10.0 * skipped / steps) * 10 + "%");
        Statistics.label("steps").coverage(c -> c.check("some skipped").percentage(p -> p > 30));
        Statistics.label("steps").coverage(c -> c.check("all computed").count(n -> n >= 0));
    }

    /**
     * AdaptiveDiffusion per sample, on the bundled trained model (random-weight models evolve too much
     * alike for their samples to decide differently): in a batch of 3–4 seeds, each sample gets bit for bit
     * the latent and the decisions the official per-batch rule gives it alone, and the batch's MACs are the
     * sum of the runs alone (the UNet ran only on the samples that computed).
     */
    @Property(tries = 8)
    void perSampleDecisionsAreEachSampleAlone(@ForAll long seed, @ForAll("schedulers") SchedulerConfig.Kind kind,
                                              @ForAll @IntRange(min = 12, max = 20) int steps, @ForAll @DoubleRange(min = 0.03, max = 0.1) double delta,
                                              @ForAll @IntRange(min = 1, max = 4) int maxSkip, @ForAll @IntRange(min = 3, max = 4) int batch) {
        var unet = BundledModel.unet();
        long[] seeds = new long[batch];
        for (int j = 0; j < batch; j++) seeds[j] = seed + 1000L * j;
        Sampler.Result all = Runs.sample(unet, kind, steps, seeds, new AdaptiveSkip(delta, maxSkip, AdaptiveSkip.Scope.SAMPLE));
        long macs = 0;
        java.util.Set<String> patterns = new java.util.HashSet<>();
        for (int j = 0; j < batch; j++) {
            Sampler.Result alone = Runs.sample(unet, kind, steps, seeds[j], new AdaptiveSkip(delta, maxSkip));
            assertArrayEquals(alone.out().data(), all.out().slice0(j, 1).data(), "sample " + j + " of " + batch);
            assertEquals(alone.trace().pattern(), all.trace().samplePattern(j), "sample " + j + "'s decisions");
            macs += alone.trace().totalMacs();
            patterns.add(alone.trace().pattern());
        }
        assertEquals(macs, all.trace().totalMacs(), "MACs of the samples computed");
        Statistics.label("decisions").collect(patterns.size() > 1 ? "samples differ" : "all alike");
        Statistics.label("decisions").coverage(c -> c.check("samples differ").count(n -> n >= 1));
    }

    /** DeepCache: refreshes exactly every N-th step (full), shallow steps in between cost fewer MACs. */
    @Property
    void deepCacheSchedule(@ForAll long seed, @ForAll boolean conditional, @ForAll("schedulers") SchedulerConfig.Kind kind,
                           @ForAll @IntRange(min = 6, max = 16) int steps, @ForAll @IntRange(min = 2, max = 5) int interval,
                           @ForAll @IntRange(min = 0, max = 5) int branch) {
        var m = model(seed, conditional);
        Sampler.Result r = Runs.sample(m.unet(), kind, steps, seed, new CombinedPolicy(null, null, DeepCache.uniform(interval, branch), null));
        long fullMacs = r.trace().fullStepMacs();
        for (StepRecord s : r.trace().records()) {
            boolean refresh = s.index() % interval == 0;
            assertEquals(refresh ? "full" : "partial", s.label(), "step " + s.index());
            if (refresh) assertEquals(fullMacs, s.macs());
            else assertTrue(s.macs() < fullMacs, "partial step " + s.index() + " costs " + s.macs() + " of " + fullMacs);
        }
        Statistics.label("branch").collect(branch);
    }

    /** Mixed resolution: min(round(s·n), n−1) low-resolution steps, each cheaper than a full-resolution step; then full resolution. */
    @Property
    void mixedResolutionPhases(@ForAll long seed, @ForAll boolean conditional, @ForAll("schedulers") SchedulerConfig.Kind kind,
                               @ForAll @IntRange(min = 6, max = 16) int steps, @ForAll @DoubleRange(min = 0.05, max = 1.0) double s) {
        var m = model(seed, conditional);
        MixedResolution mr = new MixedResolution(0.5, s, m.unet().sizeMultiple(), new NoiseSource(seed));
        Sampler.Result r = Runs.sample(m.unet(), kind, steps, seed, new CombinedPolicy(mr, null, null, null));
        int low = Math.min((int) Math.round(s * steps), steps - 1);
        long fullMacs = r.trace().fullStepMacs();
        for (StepRecord rec : r.trace().records()) {
            boolean isLow = rec.index() < low;
            assertEquals(isLow, rec.label().startsWith("low-res"), "step " + rec.index());
            if (isLow) assertTrue(rec.macs() < fullMacs / 2, "a half-resolution step costs " + rec.macs() + " of " + fullMacs);
            else assertEquals(fullMacs, rec.macs());
        }
        assertEquals(m.unet().sampleSize(), r.out().dim(2), "the result is at full resolution");
        Statistics.label("low-res steps").collect(low == steps - 1 ? "all but the last" : low == 0 ? "none" : "some");
    }

    /** Cross-attention caching: guided until step m, then conditional-only batches with cached cross-attention. */
    @Property(tries = 12)
    void crossAttentionCacheStopsGuidance(@ForAll long seed, @ForAll("schedulers") SchedulerConfig.Kind kind,
                                          @ForAll @IntRange(min = 6, max = 12) int steps, @ForAll @IntRange(min = 0, max = 5) int m) {
        var model = RandomModels.conditional(seed);
        Sampler.Result r = Runs.sample(model.unet(), kind, steps, seed, new CombinedPolicy(null, null, null, new CrossAttentionCache(m)));
        long guidedMacs = r.trace().fullStepMacs();
        for (StepRecord rec : r.trace().records()) {
            if (rec.index() <= m) assertEquals(guidedMacs, rec.macs(), "guided step " + rec.index());
            else assertTrue(rec.macs() < guidedMacs / 2 + 1, "conditional-only step " + rec.index() + " with cached cross-attention");
        }
    }
}
