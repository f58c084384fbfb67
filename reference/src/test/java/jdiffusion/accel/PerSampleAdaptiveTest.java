package jdiffusion.accel;

import com.fasterxml.jackson.databind.JsonNode;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.nn.ForwardHooks;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Generation;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Progress;
import jdiffusion.sample.StepAction;
import jdiffusion.sample.StepPlan;
import jdiffusion.sample.Trace;
import jdiffusion.schedule.Schedulers;
import jdiffusion.tensor.NoiseSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * AdaptiveDiffusion per sample (--adaptive-scope sample) on the bundled models: a batch gives every
 * sample exactly the image, the decisions and the MACs that the official per-batch rule gives it alone
 * at batch 1, while the samples' decisions differ from one another; the trace records them per sample.
 * And the scope's plumbing: ids, refused combinations, plan validation.
 */
class PerSampleAdaptiveTest {
    static final CpuBackend CPU = new CpuBackend(2);

    @AfterAll
    static void close() {
        CPU.close();
    }

    static Pipeline bundled(String name) {
        Path dir = Path.of(System.getProperty("jdiffusion.root", "..")).resolve("weights/models").resolve(name).toAbsolutePath().normalize();
        Assumptions.assumeTrue(Files.isDirectory(dir), "bundled model " + dir + " not present");
        return Pipeline.load(dir);
    }

    static Generation generate(Pipeline p, Schedulers.Resolved sched, Conditioning all, int images, int batch, int steps, String policy) {
        PolicySpec spec = PolicySpec.parse(policy);
        return Generation.run(p, sched::create, CPU, all, new Generation.Settings(images, batch, steps, 11), b -> spec.build(p, new NoiseSource(0), steps),
                Progress.NONE);
    }

    @ParameterizedTest(name = "{0}, {1}, δ={2}")
    @CsvSource({"fashion-ddpm-32,ddim,0.05", "fashion-cond-32,ddim,0.05", "fashion-cond-32,dpmpp2m,0.05"})
    void aBatchGivesEachSampleWhatTheOfficialRuleGivesItAlone(String model, String scheduler, double delta) {
        Pipeline p = bundled(model);
        Schedulers.Resolved sched = Schedulers.resolve(scheduler, p.schedulerConfig(), 0);
        int n = 4, steps = 30;
        Conditioning all = p.classes() == null ? null : p.classes().condition(new int[]{0, 3, 7, 9}, 3.0);
        String ad = "ad-d" + PolicySpec.num(delta) + "-c4";
        Generation batched = generate(p, sched, all, n, n, steps, ad + "-s");
        Generation alone = generate(p, sched, all, n, 1, steps, ad);            // the official rule, one image per batch
        assertArrayEquals(alone.images().data(), batched.images().data(), "each image as alone, bit for bit");
        Trace t = batched.traces().getFirst();
        Set<String> patterns = new HashSet<>();
        int evaluations = 0;
        for (int j = 0; j < n; j++) {
            Trace one = alone.traces().get(j);
            assertEquals(one.pattern(), t.samplePattern(j), "sample " + j + "'s decisions");
            patterns.add(t.samplePattern(j));
            evaluations += one.unetCalls();
        }
        assertEquals(evaluations, t.sampleEvaluations(), "sample evaluations = the UNet calls of the runs alone");
        assertEquals(alone.totalMacs(), batched.totalMacs(), "MACs count only the samples computed");
        assertTrue(patterns.size() > 1, "the samples should decide differently here: " + patterns);
        assertTrue(t.sampleEvaluations() < n * steps, "some sample reused an output");
        System.out.printf("%s %s δ=%s: %d of %d sample evaluations, %d UNet calls; patterns %s%n", model, scheduler, delta,
                t.sampleEvaluations(), n * steps, t.unetCalls(), patterns);
        // the trace: documented fields as before, plus per-step actions and criteria per sample
        JsonNode json = t.toJson();
        for (String f : List.of("model", "scheduler", "policy", "steps", "unet_calls", "partial_calls", "macs", "full_step_macs", "mac_speedup", "ms", "pattern"))
            assertTrue(json.has(f), f);
        assertEquals(n, json.get("batch").asInt());
        assertEquals(t.sampleEvaluations(), json.get("sample_evaluations").asInt());
        JsonNode step = json.get("steps").get(steps - 1);
        assertEquals(n, step.get("sample_actions").size());
        for (int j = 0; j < n; j++)
            assertEquals(StepAction.ofLabel(step.get("sample_actions").get(j).asText()).letter(false), t.samplePattern(j).charAt(steps - 1));
        for (JsonNode st : json.get("steps")) {
            boolean anySkipped = false;
            for (JsonNode act : st.get("sample_actions")) anySkipped |= act.asText().equals("skipped");
            assertEquals(anySkipped, st.has("sample_criteria"), "the criteria of the samples that reused, step " + st.get("index"));
            if (anySkipped) assertEquals(n, st.get("sample_criteria").size());
        }
    }

    @Test
    void theScopeIsPartOfTheSpecAndStandsAlone() {
        PolicySpec s = PolicySpec.parse("ad-d0.02-c3-s");
        assertEquals(AdaptiveSkip.Scope.SAMPLE, s.adaptive().scope());
        assertEquals("ad-d0.02-c3-s", s.id());
        assertEquals("ad-d0.02-c3", PolicySpec.parse("ad-d0.02-c3").id());
        assertEquals("AD δ=0.02 C=3 per-sample", s.label());
        assertEquals("--steps 20 --accel adaptive --delta 0.02 --max-skip 3 --adaptive-scope sample", s.cliFlags(20));
        assertEquals(PolicySpec.parse("ad-d0.02-c3").family(), s.family());
        for (String combo : List.of("ad-d0.02-c3-s+dc-n3-b0-u", "mr-b0.5-s0.5+ad-d0.02-c3-s", "ad-d0.02-c3-s+xa")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PolicySpec.parse(combo));
            assertTrue(e.getMessage().contains("bad configuration '" + combo + "'") && e.getMessage().contains("--adaptive-scope sample does not combine with"),
                    e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PolicySpec.parse("dc-n3-b0-u-s"));
        assertTrue(e.getMessage().contains("'s' (per sample) is a flag of ad only"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new CombinedPolicy(null, new AdaptiveSkip(0.01, 4, AdaptiveSkip.Scope.SAMPLE), DeepCache.uniform(2, 0), null));
    }

    @Test
    void perSamplePlansAreValidated() {
        var full = new StepPlan.Sample(StepAction.FULL, Map.of());
        var skip = new StepPlan.Sample(StepAction.SKIPPED, Map.of("third_order", 0.1, "threshold", 0.2));
        StepPlan plan = StepPlan.perSample(true, List.of(skip, full, skip));
        assertEquals(StepAction.FULL, plan.action());
        assertArrayEquals(new int[]{1}, plan.computing(3));
        assertEquals(StepAction.SKIPPED, StepPlan.perSample(true, List.of(skip, skip)).action());
        assertArrayEquals(new int[]{0, 1}, StepPlan.full(false).computing(2));
        assertThrows(IllegalStateException.class, () -> plan.computing(4), "one decision per sample");
        assertThrows(IllegalArgumentException.class, () -> StepPlan.perSample(true, List.of(new StepPlan.Sample(StepAction.PARTIAL, Map.of()))));
        assertThrows(IllegalArgumentException.class, () -> new StepPlan(StepAction.FULL, new ForwardHooks() {
        }, true, Map.of(), List.of(full)), "no module hooks on sub-batches");
        assertThrows(IllegalArgumentException.class, () -> new StepPlan(StepAction.SKIPPED, ForwardHooks.NONE, true, Map.of(), List.of(full)));
    }
}
