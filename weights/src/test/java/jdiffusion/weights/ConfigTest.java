package jdiffusion.weights;

import jdiffusion.weights.config.SchedulerConfig;
import jdiffusion.weights.config.UNet2DConditionConfig;
import jdiffusion.weights.config.UNet2DConfig;
import jdiffusion.weights.layout.ModelFolder;
import jdiffusion.weights.layout.PipelineFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Config parsing: defaults, unsupported values and unknown keys are errors naming file and key. */
class ConfigTest {
    @TempDir
    Path dir;

    private Path write(String name, String json) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, json);
        return p;
    }

    private static final String UNET = """
            {"_class_name":"UNet2DModel","block_out_channels":[32,64],"down_block_types":["DownBlock2D","AttnDownBlock2D"],
             "up_block_types":["AttnUpBlock2D","UpBlock2D"],"norm_num_groups":8,"attention_head_dim":null %s}""";

    @Test
    void unet2dDefaults() throws IOException {
        UNet2DConfig c = UNet2DConfig.parse(write("config.json", UNET.formatted("")));
        assertEquals(128, c.timeEmbeddingDim());
        assertEquals(2, c.layersPerBlock());
        assertNull(c.attentionHeadDim());
        assertTrue(c.flipSinToCos());
    }

    @Test
    void unsupportedActivationIsRejected() throws IOException {
        Path p = write("config.json", UNET.formatted(",\"act_fn\":\"mish\""));
        WeightsException e = assertThrows(WeightsException.class, () -> UNet2DConfig.parse(p));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("'act_fn'") && e.getMessage().contains("mish"), e.getMessage());
    }

    @Test
    void unsupportedBlockTypeIsRejected() throws IOException {
        Path p = write("config.json", UNET.formatted("").replace("\"AttnDownBlock2D\"", "\"SkipDownBlock2D\""));
        WeightsException e = assertThrows(WeightsException.class, () -> UNet2DConfig.parse(p));
        assertTrue(e.getMessage().contains("SkipDownBlock2D") && e.getMessage().contains("down_block_types"), e.getMessage());
    }

    @Test
    void unknownOptionIsRejectedNotIgnored() throws IOException {
        Path p = write("config.json", UNET.formatted(",\"magic_option\":true"));
        WeightsException e = assertThrows(WeightsException.class, () -> UNet2DConfig.parse(p));
        assertTrue(e.getMessage().contains("'magic_option'") && e.getMessage().contains("unknown config option"), e.getMessage());
    }

    @Test
    void nonDefaultValueOfAnUnimplementedOptionIsRejected() throws IOException {
        Path p = write("config.json", UNET.formatted(",\"class_embed_type\":\"timestep\""));
        WeightsException e = assertThrows(WeightsException.class, () -> UNet2DConfig.parse(p));
        assertTrue(e.getMessage().contains("'class_embed_type'"), e.getMessage());
    }

    @Test
    void wrongClassName() throws IOException {
        Path p = write("config.json", UNET.formatted("").replace("UNet2DModel", "UNet3DConditionModel"));
        WeightsException e = assertThrows(WeightsException.class, () -> UNet2DConfig.parse(p));
        assertTrue(e.getMessage().contains("UNet3DConditionModel"), e.getMessage());
    }

    @Test
    void conditionalHeadsPerLevel() throws IOException {
        Path p = write("config.json", """
                {"_class_name":"UNet2DConditionModel","block_out_channels":[16,32],"attention_head_dim":[2,4],
                 "down_block_types":["CrossAttnDownBlock2D","DownBlock2D"],"up_block_types":["UpBlock2D","CrossAttnUpBlock2D"],
                 "cross_attention_dim":24,"norm_num_groups":8}""");
        UNet2DConditionConfig c = UNet2DConditionConfig.parse(p);
        assertEquals(4, c.heads()[1]);
        assertEquals(24, c.crossAttentionDim()[1]);
    }

    @Test
    void schedulerDefaultsDependOnTheScheduler() throws IOException {
        Path p = write("scheduler_config.json", "{\"_class_name\":\"PNDMScheduler\",\"beta_schedule\":\"scaled_linear\",\"beta_start\":0.00085,\"beta_end\":0.012,\"skip_prk_steps\":true,\"steps_offset\":1,\"clip_sample\":false,\"set_alpha_to_one\":false}");
        SchedulerConfig euler = SchedulerConfig.parse(p, SchedulerConfig.Kind.EULER);
        assertEquals("linspace", euler.timestepSpacing());
        assertTrue(euler.notUsed().contains("skip_prk_steps") && euler.notUsed().contains("clip_sample"));
        SchedulerConfig ddim = SchedulerConfig.parse(p, SchedulerConfig.Kind.DDIM);
        assertEquals("leading", ddim.timestepSpacing());
        assertEquals(1, ddim.stepsOffset());
        WeightsException e = assertThrows(WeightsException.class, () -> SchedulerConfig.parse(p));
        assertTrue(e.getMessage().contains("PNDMScheduler"), e.getMessage());
    }

    @Test
    void schedulerRejectsUnsupportedValues() throws IOException {
        Path p = write("s.json", "{\"_class_name\":\"EulerDiscreteScheduler\",\"use_karras_sigmas\":true}");
        WeightsException e = assertThrows(WeightsException.class, () -> SchedulerConfig.parse(p));
        assertTrue(e.getMessage().contains("'use_karras_sigmas'"), e.getMessage());
        Path q = write("q.json", "{\"_class_name\":\"DDIMScheduler\",\"beta_schedule\":\"sigmoid\"}");
        e = assertThrows(WeightsException.class, () -> SchedulerConfig.parse(q));
        assertTrue(e.getMessage().contains("'beta_schedule'") && e.getMessage().contains("sigmoid"), e.getMessage());
        Path r = write("r.json", "{\"_class_name\":\"DPMSolverMultistepScheduler\",\"lambda_min_clipped\":-Infinity,\"bogus\":1}");
        e = assertThrows(WeightsException.class, () -> SchedulerConfig.parse(r));
        assertTrue(e.getMessage().contains("'bogus'"), e.getMessage());
    }

    @Test
    void folders() throws IOException {
        Path m = Files.createDirectories(dir.resolve("model"));
        Files.writeString(m.resolve("config.json"), UNET.formatted(""));
        WeightsException e = assertThrows(WeightsException.class, () -> ModelFolder.open(m));
        assertTrue(e.getMessage().contains("no safetensors weights"), e.getMessage());
        Files.write(m.resolve("diffusion_pytorch_model.bin"), new byte[1]);
        e = assertThrows(WeightsException.class, () -> ModelFolder.open(m));
        assertTrue(e.getMessage().contains("Pickle"), e.getMessage());
        new SafeTensorsWriter().put("x", new int[]{1}, new float[]{1}).write(m.resolve("diffusion_pytorch_model.safetensors"));
        assertEquals("UNet2DModel", ModelFolder.open(m).className());

        Path pl = Files.createDirectories(dir.resolve("pipe"));
        Files.writeString(pl.resolve("model_index.json"), "{\"_class_name\":\"DDPMPipeline\",\"unet\":[\"diffusers\",\"UNet2DModel\"],\"scheduler\":[\"diffusers\",\"DDPMScheduler\"],\"safety_checker\":[null,null]}");
        PipelineFolder pf = PipelineFolder.open(pl);
        assertEquals("UNet2DModel", pf.components().get("unet"));
        assertTrue(!pf.components().containsKey("safety_checker"));
        e = assertThrows(WeightsException.class, () -> pf.component("unet"));
        assertTrue(e.getMessage().contains("unet/") && e.getMessage().contains("missing"), e.getMessage());
    }
}
