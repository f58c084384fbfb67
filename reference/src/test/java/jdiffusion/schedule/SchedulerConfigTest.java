package jdiffusion.schedule;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jdiffusion.Golden;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.config.SchedulerConfig;
import jdiffusion.weights.config.SchedulerConfig.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** scheduler_config.json: defaults for absent keys, and a clear error naming the key for what is not implemented. */
class SchedulerConfigTest {

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
            EULER    | "use_karras_sigmas": true                  | use_karras_sigmas
            DPMPP_2M | "use_karras_sigmas": true                  | use_karras_sigmas
            DPMPP_2M | "solver_order": 3                          | solver_order
            DPMPP_2M | "algorithm_type": "sde-dpmsolver++"        | algorithm_type
            DPMPP_2M | "solver_type": "bh2"                       | solver_type
            DPMPP_2M | "euler_at_final": true                     | euler_at_final
            DPMPP_2M | "lambda_min_clipped": -5.1                 | lambda_min_clipped
            DPMPP_2M | "final_sigmas_type": "sigma_min"           | final_sigmas_type
            EULER    | "interpolation_type": "log_linear"         | interpolation_type
            EULER    | "timestep_type": "continuous"              | timestep_type
            EULER    | "use_exponential_sigmas": true             | use_exponential_sigmas
            DDIM     | "thresholding": true                       | thresholding
            DDIM     | "rescale_betas_zero_snr": true             | rescale_betas_zero_snr
            DDIM     | "timestep_spacing": "karras"               | timestep_spacing
            DDIM     | "prediction_type": "x0"                    | prediction_type
            DDIM     | "beta_schedule": "sigmoid"                 | beta_schedule
            DDPM     | "variance_type": "learned_range"           | variance_type
            DDPM     | "clip_sample": "yes"                       | clip_sample
            DDIM     | "trained_betas": [0.1, 0.2]                | trained_betas
            DDIM     | "my_own_option": 1                         | my_own_option
            EULER    | "sigma_max": 80.0                          | sigma_max
            """)
    void unsupportedOptionIsAnErrorNamingTheKey(Kind kind, String keys, String key) {
        var e = assertThrows(WeightsException.class, () -> Configs.parse(kind, keys));
        assertTrue(e.getMessage().contains("'" + key + "'"), e.getMessage());
    }

    @Test
    void absentKeysTakeEachSchedulersDiffusersDefaults() {
        SchedulerConfig ddim = Configs.parse(Kind.DDIM, "");
        assertEquals("leading", ddim.timestepSpacing());
        assertTrue(ddim.clipSample());
        assertTrue(ddim.setAlphaToOne());
        assertEquals("linear", ddim.betaSchedule());
        assertEquals(1000, ddim.numTrainTimesteps());
        assertEquals("epsilon", ddim.predictionType());
        assertEquals("fixed_small", Configs.parse(Kind.DDPM, "").varianceType());
        assertEquals("linspace", Configs.parse(Kind.EULER, "").timestepSpacing());
        SchedulerConfig dpm = Configs.parse(Kind.DPMPP_2M, "");
        assertEquals("linspace", dpm.timestepSpacing());
        assertEquals(2, dpm.solverOrder());
        assertEquals("midpoint", dpm.solverType());
        assertTrue(dpm.lowerOrderFinal());
    }

    @Test
    void keysOfOtherSchedulersAreListedAsNotUsed() {
        // diffusers' from_config: a DDIM config read for Euler
        SchedulerConfig c = SchedulerConfig.parse(write("{\"_class_name\": \"DDIMScheduler\", \"clip_sample\": false, \"set_alpha_to_one\": false}"), Kind.EULER);
        assertEquals(List.of("clip_sample", "set_alpha_to_one"), c.notUsed());
        assertFalse(c.notUsed().contains("_class_name"));
    }

    @Test
    void trainedBetasAreUsedAsGiven() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 10; i++) b.append(i == 0 ? "" : ", ").append(0.01 * (i + 1));
        SchedulerConfig c = Configs.parse(Kind.DDIM, "\"num_train_timesteps\": 10, \"trained_betas\": [" + b + "]");
        float[] betas = BetaSchedule.betas(c);
        assertEquals(10, betas.length);
        assertEquals(0.1f, betas[9]);
    }

    /** The pipeline golden configs give only some keys: the rest must default (not be rejected). */
    @Test
    void partialConfigsOfThePipelineGoldenDataParse() throws IOException {
        Path dir = Golden.path("pipeline");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        assertFalse(files.isEmpty());
        ObjectMapper json = new ObjectMapper();
        for (Path f : files) {
            JsonNode run = json.readTree(f.toFile());
            var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) run.get("scheduler_config").deepCopy();
            cfg.put("_class_name", run.get("scheduler").asText());
            SchedulerConfig c = SchedulerConfig.parse(write(json.writeValueAsString(cfg)));
            Scheduler s = Schedulers.create(c, 0);
            s.setTimesteps(run.get("steps").asInt());
            assertEquals(run.get("steps").asInt(), s.numSteps(), f.toString());
        }
    }

    private static Path write(String text) {
        try {
            Path f = Files.createTempFile("scheduler_config", ".json");
            f.toFile().deleteOnExit();
            Files.writeString(f, text);
            return f;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
