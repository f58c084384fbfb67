package jdiffusion.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import jdiffusion.weights.config.SchedulerConfig;
import jdiffusion.weights.layout.PipelineFolder;

import java.nio.file.Path;

/**
 * The config readers of the weights module: scheduler_config.json (for its own class and read for
 * every implemented scheduler, as --scheduler does) and a pipeline's model_index.json. The UNet and VAE
 * configs are fuzzed together with the model build, in the reference module (ModelConfigFuzzTest).
 */
class ConfigFuzzTest {

    @FuzzTest(maxDuration = "10m")
    void scheduler(byte[] data) throws Exception {
        Path f = Fuzz.write(Fuzz.dir("scheduler"), "scheduler_config.json", data);
        Fuzz.holds(() -> SchedulerConfig.parse(f));
        for (SchedulerConfig.Kind k : SchedulerConfig.Kind.values()) Fuzz.holds(() -> SchedulerConfig.parse(f, k));
    }

    @FuzzTest(maxDuration = "10m")
    void modelIndex(byte[] data) throws Exception {
        Path dir = Fuzz.dir("pipeline");
        Fuzz.write(dir, "model_index.json", data);
        Fuzz.holds(() -> {
            PipelineFolder p = PipelineFolder.open(dir);
            for (String c : p.components().keySet()) p.has(c);
        });
    }
}
