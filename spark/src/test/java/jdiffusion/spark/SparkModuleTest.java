package jdiffusion.spark;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import jdiffusion.Layers;
import jdiffusion.sample.StepAction;
import jdiffusion.sample.StepPlan;
import jdiffusion.sample.StepRecord;
import jdiffusion.sample.Trace;
import org.apache.spark.launcher.JavaModuleOptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The module's seams: its layer, the JVM options file, the command line under spark-submit, the traces' transport. */
class SparkModuleTest {

    @Test
    void sparkIsTheTopLayerAndTheEngineNeverSeesSpark() {
        // main classes only: this module's, and the engine's from its jar (not from reference's test-jar, also on the class path)
        JavaClasses classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(location -> !location.contains("-tests.jar")).importPackages("jdiffusion");
        Layers.rule().check(classes);
        noClasses().that().resideOutsideOfPackage("jdiffusion.spark..").should().dependOnClassesThat().resideInAPackage("org.apache.spark..")
                .because("Spark is provided only with --spark: the engine and the CLI reach it through jdiffusion.cli.Cluster").check(classes);
    }

    @Test
    void jvmOptionsFileHasEveryOptionSparkSubmitWouldAdd() throws IOException {
        List<String> file = Files.readAllLines(Runs.ROOT.resolve("spark/conf/jvm.options")).stream()
                .map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        for (String o : JavaModuleOptions.defaultModuleOptionArray())
            assertTrue(file.contains(o), "spark/conf/jvm.options lacks " + o + ", which this Spark's spark-submit adds to every JVM");
    }

    @Test
    void underSparkSubmitTheCommandsRunOnItsMaster() {
        assertEquals(List.of("sweep", "--quick", "--spark", "spark://h:7077"), SparkMain.withSubmitMaster(new String[]{"sweep", "--quick"}, "spark://h:7077"));
        assertEquals(List.of("sweep", "--spark=local[2]"), SparkMain.withSubmitMaster(new String[]{"sweep", "--spark=local[2]"}, "spark://h:7077"));
        assertEquals(List.of("forward", "--steps", "2"), SparkMain.withSubmitMaster(new String[]{"forward", "--steps", "2"}, "spark://h:7077"),
                "a command without --spark is left alone");
        assertEquals(List.of("sweep"), SparkMain.withSubmitMaster(new String[]{"sweep"}, null), "not under spark-submit");
    }

    @Test
    void aMasterSparkCannotUseIsOneLineNamingIt() {
        Runs.Result r = Runs.run(Runs.args("generate", "--model", Runs.MODEL.toString(), "--num-images", "1", "--steps", "1",
                "--out", System.getProperty("java.io.tmpdir") + "/jdiffusion-never-written", "--spark", "nowhere[2]"));
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("error: --spark nowhere[2]: Spark could not start") && !r.err().contains("\tat "), r.err());
    }

    @Test
    void tracesTravelExactly() {
        Map<String, Double> crit = new LinkedHashMap<>();
        crit.put("xi", 0.0123456789);
        crit.put("nan", Double.NaN);
        crit.put("none", null);
        var full = new StepPlan.Sample(StepAction.FULL, Map.of());
        var skipped = new StepPlan.Sample(StepAction.SKIPPED, Map.of("third_order", 0.25, "threshold", Double.NaN));
        Trace t = new Trace("m", "ddim", "AdaptiveDiffusion", 3, 123456789012L, List.of(
                new StepRecord(0, 999.5f, StepAction.FULL, false, 100L, 1.25, new int[]{32, 32}, null, List.of(full, full)),
                new StepRecord(1, 500f, StepAction.SKIPPED, true, 0L, 0.001, new int[]{16, 16}, crit, List.of(skipped, skipped)),
                new StepRecord(2, 1f, StepAction.FULL, false, 7L, Double.MIN_VALUE, null, Map.of(), List.of(skipped, full))));
        List<Trace> back = Tasks.decode(Tasks.encode(List.of(t, t)));
        assertEquals(2, back.size());
        Trace b = back.get(1);
        assertEquals(List.of(t.model(), t.scheduler(), t.policy(), t.steps(), t.fullStepMacs()), List.of(b.model(), b.scheduler(), b.policy(), b.steps(), b.fullStepMacs()));
        for (int i = 0; i < 3; i++) {
            StepRecord x = t.records().get(i), y = b.records().get(i);
            assertEquals(List.of(x.index(), x.timestep(), x.action(), x.lowRes(), x.macs(), x.ms()), List.of(y.index(), y.timestep(), y.action(), y.lowRes(), y.macs(), y.ms()));
            assertEquals(x.resolution() == null ? null : List.of(x.resolution()[0], x.resolution()[1]),
                    y.resolution() == null ? null : List.of(y.resolution()[0], y.resolution()[1]));
            assertEquals(x.criterion(), y.criterion());
            assertEquals(x.samples(), y.samples(), "per-sample actions and criteria, step " + i);
        }
        assertEquals(t.pattern(), b.pattern());
        assertEquals(t.sampleEvaluations(), b.sampleEvaluations());
        assertEquals(t.samplePattern(0), b.samplePattern(0));
    }
}
