package jdiffusion.nn;

import jdiffusion.Golden;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.layout.ModelFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Text encoder folders that do not fit, and inputs that do not fit the model: each a named error. */
class ClipTextModelTest {
    @TempDir
    Path tmp;

    /** The SD 1.x layout golden folder with its config.json edited (the weights copied beside it). */
    private Path withConfig(String from, String to) throws IOException {
        Path src = Golden.path("clip-text-sd1-layout");
        Path d = Files.createDirectories(tmp.resolve("te" + System.nanoTime()));
        String cfg = Files.readString(src.resolve("config.json"));
        assertTrue(cfg.contains(from), "golden config has no " + from);
        Files.writeString(d.resolve("config.json"), cfg.replace(from, to));
        Files.copy(src.resolve("model.safetensors"), d.resolve("model.safetensors"));
        return d;
    }

    private static String loadError(Path dir) {
        return assertThrows(WeightsException.class, () -> ClipTextModel.load(ModelFolder.open(dir), WeightPrecision.F32)).getMessage();
    }

    @Test
    void configAndTensorsThatDisagreeAreListed() throws IOException {
        String m = loadError(withConfig("\"hidden_size\": 48", "\"hidden_size\": 60"));
        assertTrue(m.contains("do not fit CLIPTextModel") && m.contains("mis-shaped")
                && m.contains("text_model.embeddings.token_embedding.weight: file has [49408, 48], model expects [49408, 60]"), m);
        String m2 = loadError(withConfig("\"num_hidden_layers\": 3", "\"num_hidden_layers\": 2"));
        assertTrue(m2.contains("unexpected keys") && m2.contains("text_model.encoder.layers.2.mlp.fc1.weight"), m2);
        String m3 = loadError(withConfig("\"num_hidden_layers\": 3", "\"num_hidden_layers\": 4"));
        assertTrue(m3.contains("missing keys") && m3.contains("text_model.encoder.layers.3.self_attn.q_proj.weight"), m3);
    }

    @Test
    void unsupportedConfigValuesAreNamed() throws IOException {
        String m = loadError(withConfig("\"quick_gelu\"", "\"gelu_new\""));
        assertTrue(m.contains("config.json") && m.contains("'hidden_act'") && m.contains("gelu_new") && m.contains("quick_gelu, gelu"), m);
        String m2 = loadError(withConfig("\"num_attention_heads\": 3", "\"num_attention_heads\": 5"));
        assertTrue(m2.contains("'num_attention_heads'") && m2.contains("not divisible by 5 heads"), m2);
        String m3 = loadError(withConfig("\"vocab_size\": 49408", "\"vocab_size\": 49408, \"use_flash\": true"));
        assertTrue(m3.contains("'use_flash'") && m3.contains("unknown config option"), m3);
        String m4 = loadError(withConfig("\"CLIPTextModel\"", "\"CLIPTextModelWithProjection\""));
        assertTrue(m4.contains("CLIPTextModelWithProjection") && m4.contains("not a CLIPTextModel"), m4);
        String m5 = loadError(withConfig("\"layer_norm_eps\": 1e-05", "\"layer_norm_eps\": 0"));
        assertTrue(m5.contains("'layer_norm_eps'") && m5.contains("expected a finite number in (0, inf), found 0"), m5);
    }

    @Test
    void clipSkipOutOfRangeAndBadIdsAreNamed() {
        ClipTextModel model = ClipTextModel.load(ModelFolder.open(Golden.path("clip-text-sd1-layout")), WeightPrecision.F32);
        try (CpuBackend cpu = new CpuBackend(1)) {
            Ctx c = new Ctx(cpu);
            int[][] ids = {{49406, 320, 49407}};
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.encode(c, ids, 3));
            assertTrue(e.getMessage().contains("clip skip 3") && e.getMessage().contains("3 layers") && e.getMessage().contains("0..2"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> model.encode(c, ids, -1));
            e = assertThrows(IllegalArgumentException.class, () -> model.forward(c, new int[][]{{49406, 49408}}));
            assertTrue(e.getMessage().contains("input_ids[0][1] = 49408") && e.getMessage().contains("0..49407"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> model.forward(c, new int[][]{new int[78]}));
            assertTrue(e.getMessage().contains("78 tokens") && e.getMessage().contains("77 positions"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> model.forward(c, new int[][]{{1, 2}, {3}}));
            assertTrue(e.getMessage().contains("row 1 has 1 tokens"), e.getMessage());
        }
    }

    /**
     * Determinism: the cpu backend gives the same bits for 1 and 2 threads, and for a prompt encoded alone or inside a
     * batch (every kernel works per row, per (prompt, head) or per output element, each sum in a fixed order).
     */
    @Test
    void sameBitsForAnyThreadCountAndBatching() {
        Path dir = Golden.path("clip-text-sd1-layout");
        ClipTextModel model = ClipTextModel.load(ModelFolder.open(dir), WeightPrecision.F32);
        int[][] ids;
        try (SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("io.safetensors"))) {
            ids = GoldenClipTextTest.ids(io);
        }
        try (CpuBackend one = new CpuBackend(1); CpuBackend two = new CpuBackend(2)) {
            float[] batch = model.encode(new Ctx(two), ids, 0).data();
            assertArrayEquals(batch, model.encode(new Ctx(one), ids, 0).data(), "1 vs 2 threads");
            int per = batch.length / ids.length;
            for (int b = 0; b < ids.length; b++) {
                float[] alone = model.encode(new Ctx(two), new int[][]{ids[b]}, 0).data();
                assertArrayEquals(java.util.Arrays.copyOfRange(batch, b * per, (b + 1) * per), alone, "prompt " + b + " alone vs in the batch");
            }
        }
    }

    /** F16 weights kept as F16 in memory (arithmetic still float32) give the same encoding. */
    @Test
    void weightsKeptAsStoredGiveTheSameResult() {
        Path dir = Golden.path("clip-text-sd2-layout");
        ClipTextModel half = ClipTextModel.load(ModelFolder.open(dir), WeightPrecision.FILE);
        try (CpuBackend cpu = new CpuBackend(2); SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("io.safetensors"))) {
            double e = Golden.relL2(half.forward(new Ctx(cpu), GoldenClipTextTest.ids(io)).lastHiddenState(), Golden.tensor(io, "last_hidden_state"));
            assertTrue(e <= 1e-4, "relative L2 " + e);
        }
    }
}
