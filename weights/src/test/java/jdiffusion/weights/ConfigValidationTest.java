package jdiffusion.weights;

import jdiffusion.weights.config.AutoencoderKLConfig;
import jdiffusion.weights.config.ConfigReader;
import jdiffusion.weights.config.SchedulerConfig;
import jdiffusion.weights.config.UNet2DConditionConfig;
import jdiffusion.weights.config.UNet2DConfig;
import jdiffusion.weights.layout.PipelineFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Config values are validated, never coerced: each bad value is an error naming file, key, the value
 * and what is allowed. Every case here was read without complaint (or crashed with an unnamed
 * exception) before ConfigReader's typed getters; and every real config still parses.
 */
class ConfigValidationTest {
    @TempDir
    Path dir;

    private static final String UNET = """
            {"_class_name":"UNet2DModel","block_out_channels":[32,64],"down_block_types":["DownBlock2D","AttnDownBlock2D"],
             "up_block_types":["AttnUpBlock2D","UpBlock2D"],"norm_num_groups":8 %s}""";
    private static final String COND = """
            {"_class_name":"UNet2DConditionModel","block_out_channels":[16,32],"attention_head_dim":[2,4],
             "down_block_types":["CrossAttnDownBlock2D","DownBlock2D"],"up_block_types":["UpBlock2D","CrossAttnUpBlock2D"],
             "cross_attention_dim":24,"norm_num_groups":8 %s}""";

    private Path write(String json) throws IOException {
        return Files.writeString(dir.resolve("config.json"), json);
    }

    /** Asserts a WeightsException whose message names the file and contains every fragment. */
    private static void rejects(Executable parse, String... fragments) {
        WeightsException e = assertThrows(WeightsException.class, parse);
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
    }

    private void unet(String extra, String... fragments) throws IOException {
        Path p = write(UNET.formatted(extra));
        rejects(() -> UNet2DConfig.parse(p), fragments);
    }

    private void cond(String extra, String... fragments) throws IOException {
        Path p = write(COND.formatted(extra));
        rejects(() -> UNet2DConditionConfig.parse(p), fragments);
    }

    @Test
    void integerThatDoesNotFitIsNotTruncated() throws IOException {
        // asInt() read 4294967299 (2^32 + 3) as 3
        unet(",\"in_channels\":4294967299", "'in_channels'", "expected an integer in 1..2147483647, found 4294967299");
    }

    @Test
    void negativeAndZeroSizesAreNamedErrors() throws IOException {
        unet(",\"norm_num_groups\":-8", "'norm_num_groups'", "expected an integer in 1..2147483647, found -8");
        unet(",\"sample_size\":-4", "'sample_size'", "found -4");
        unet(",\"layers_per_block\":0", "'layers_per_block'", "expected an integer in 1..32, found 0");
        unet(",\"attention_head_dim\":0", "'attention_head_dim'", "found 0");
        cond(",\"attention_head_dim\":[-2,-4]", "'attention_head_dim'", "entry 0: expected an integer in 1..2147483647, found -2");
        cond(",\"attention_head_dim\":[2,0]", "'attention_head_dim'", "entry 1");   // was ArithmeticException: / by zero
        Path p = write(UNET.formatted("").replace("[32,64]", "[]"));             // was ArrayIndexOutOfBoundsException
        rejects(() -> UNet2DConfig.parse(p), "'block_out_channels'", "expected a non-empty list of integers");
    }

    @Test
    void crossFieldRulesOfDiffusers() throws IOException {
        Path p = write(UNET.formatted("").replace("[32,64]", "[30,64]"));
        rejects(() -> UNet2DConfig.parse(p), "'norm_num_groups'", "block_out_channels[0] = 30 is not divisible by norm_num_groups = 8");
        unet(",\"attention_head_dim\":24", "'attention_head_dim'", "64 channels are not divisible by attention_head_dim 24");
        cond(",\"layers_per_block\":[1,2,3]", "'layers_per_block'", "has 3 entries, but the model has 2 levels");
        cond(",\"conv_in_kernel\":4", "'conv_in_kernel'", "must be odd");
        unet(",\"freq_shift\":16", "'freq_shift'", "expected an integer in 0..15, found 16");
        unet(",\"sample_size\":[32,16]", "'sample_size'", "non-square size [32,16]");
    }

    @Test
    void numbersMustBeFiniteAndInRange() throws IOException {
        unet(",\"norm_eps\":-1e-5", "'norm_eps'", "expected a finite number in (0, inf), found -1.0E-5");
        Path vae = write("{\"_class_name\":\"AutoencoderKL\",\"block_out_channels\":[32],\"norm_num_groups\":8,\"scaling_factor\":0}");
        rejects(() -> AutoencoderKLConfig.parse(vae), "'scaling_factor'", "found 0");
        Path nan = write("{\"_class_name\":\"DDIMScheduler\",\"beta_start\":NaN}");
        rejects(() -> SchedulerConfig.parse(nan), "'beta_start'", "expected a finite number in (0, 1), found NaN");
    }

    @Test
    void nonNumericListEntriesAreNotZero() throws IOException {
        // asDouble() read "a" as 0.0
        Path p = write("{\"_class_name\":\"DDPMScheduler\",\"num_train_timesteps\":3,\"trained_betas\":[0.1,\"a\",0.3]}");
        rejects(() -> SchedulerConfig.parse(p), "'trained_betas'", "entry 1: expected a finite number in (0, 1), found \"a\"");
        Path q = write("{\"_class_name\":\"DDPMScheduler\",\"num_train_timesteps\":3,\"trained_betas\":[0.1,null,0.3]}");
        rejects(() -> SchedulerConfig.parse(q), "'trained_betas'", "entry 1", "found null");
        Path r = write(UNET.formatted("").replace("[32,64]", "[32,\"64\"]"));
        rejects(() -> UNet2DConfig.parse(r), "'block_out_channels'", "entry 1: expected an integer in 1..2147483647, found \"64\"");
        Path s = write("{\"_class_name\":\"DDIMScheduler\",\"steps_offset\":1000}");
        rejects(() -> SchedulerConfig.parse(s), "'steps_offset'", "expected an integer in 0..999, found 1000");
    }

    @Test
    void pipelineIndexEntriesAreComponentsOrOptions() throws IOException {
        Path pipe = Files.createDirectories(dir.resolve("pipe"));
        Files.writeString(pipe.resolve("model_index.json"), "{\"_class_name\":\"DDPMPipeline\",\"unet\":[\"diffusers\",5]}");
        WeightsException e = assertThrows(WeightsException.class, () -> PipelineFolder.open(pipe));  // was read as class "5"
        assertTrue(e.getMessage().contains("'unet'") && e.getMessage().contains("[library, class]"), e.getMessage());
        Files.writeString(pipe.resolve("model_index.json"), "{\"_class_name\":\"DDPMPipeline\",\"../unet\":[\"diffusers\",\"UNet2DModel\"]}");
        e = assertThrows(WeightsException.class, () -> PipelineFolder.open(pipe));
        assertTrue(e.getMessage().contains("'../unet'") && e.getMessage().contains("sub-folder"), e.getMessage());
    }

    @Test
    void binaryConfigIsNamedAsNotText() throws IOException {
        Path p = Files.write(dir.resolve("config.json"), new byte[]{'{', '"', (byte) 0xff, '"', '}'});
        rejects(() -> UNet2DConfig.parse(p), "not UTF-8 text");   // was "cannot read: Input length = 1"
    }

    /** The configs of the golden data, the bundled models and the built-in architectures all still parse. */
    @Test
    void everyRealConfigStillParses() throws IOException {
        Path root = Path.of(System.getProperty("jdiffusion.root", ".."));
        List<Path> roots = new ArrayList<>(List.of(root.resolve("weights/models"), root.resolve("reference/src/main/resources/jdiffusion/architectures"),
                root.resolve("reference/src/test/resources/golden-mini")));
        Path golden = Path.of(System.getProperty("jdiffusion.golden", "../../shared/golden"));
        if (Files.isDirectory(golden)) roots.add(golden);
        int parsed = 0;
        for (Path r : roots) {
            if (!Files.isDirectory(r)) continue;
            List<Path> files;
            try (Stream<Path> s = Files.walk(r)) {
                files = s.filter(f -> f.toString().endsWith(".json")).toList();
            }
            for (Path f : files) {
                String cls;
                try {
                    cls = ConfigReader.read(f).json().path("_class_name").asText("");
                } catch (WeightsException notAnObject) {   // e.g. a golden index that is a JSON list
                    continue;
                }
                switch (cls) {
                    case "UNet2DModel" -> UNet2DConfig.parse(f);
                    case "UNet2DConditionModel" -> UNet2DConditionConfig.parse(f);
                    case "AutoencoderKL" -> AutoencoderKLConfig.parse(f);
                    case "DDIMScheduler", "DDPMScheduler", "EulerDiscreteScheduler", "DPMSolverMultistepScheduler" -> SchedulerConfig.parse(f);
                    default -> {
                        if (f.getFileName().toString().equals("model_index.json")) PipelineFolder.open(f.getParent());
                        else continue;
                    }
                }
                parsed++;
            }
        }
        assertTrue(parsed >= 8, "only " + parsed + " configs found under " + roots);
    }

    @Test
    void validValuesAreReadExactly() throws IOException {
        UNet2DConfig c = UNet2DConfig.parse(write(UNET.formatted(",\"in_channels\":33554431,\"sample_size\":[8,8],\"norm_eps\":1e-6")));
        assertEquals(33554431, c.inChannels());   // 33554431 × 8 × 8 values: the largest sample a Java array holds
        assertEquals(8, c.sampleSize());
        assertEquals(1e-6, c.normEps());
    }
}
