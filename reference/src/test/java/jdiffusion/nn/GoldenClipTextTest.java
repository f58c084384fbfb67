package jdiffusion.nn;

import jdiffusion.Golden;
import jdiffusion.kernels.Backend;
import jdiffusion.kernels.Backends;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.layout.ModelFolder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLIP text encoders (SD 1.x layout: quick_gelu, first-EOS pooling; SD 2.x layout: gelu, legacy argmax pooling)
 * against transformers: every hidden state, last_hidden_state, clip_skip 1 and pooled within 1e-4 relative L2, on
 * both host backends.
 */
class GoldenClipTextTest {

    static Stream<Arguments> cases() {
        return Stream.of("clip-text-sd1-layout", "clip-text-sd2-layout")
                .flatMap(c -> Stream.of("scalar", "cpu").map(b -> Arguments.of(c, b)));
    }

    /** input_ids [B, T] of an io file as int rows. */
    static int[][] ids(SafeTensorsFile io) {
        long[] flat = io.longs("input_ids");
        int[] shape = io.entry("input_ids").intShape();
        int[][] out = new int[shape[0]][shape[1]];
        for (int b = 0; b < shape[0]; b++)
            for (int t = 0; t < shape[1]; t++) out[b][t] = Math.toIntExact(flat[b * shape[1] + t]);
        return out;
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void matchesTransformers(String name, String backendName) {
        ClipTextModel model = ClipTextModel.load(ModelFolder.open(Golden.path(name)), WeightPrecision.F32);
        Backend backend = Backends.create(backendName, 2);
        try (SafeTensorsFile io = SafeTensorsFile.open(Golden.path(name, "io.safetensors"))) {
            int[][] ids = ids(io);
            Ctx c = new Ctx(backend);
            ClipTextModel.Output out = model.forward(c, ids);
            StringBuilder report = new StringBuilder();
            double worst = 0;
            assertEquals(model.numLayers() + 1, out.hiddenStates().size());
            for (int i = 0; i < out.hiddenStates().size(); i++)
                worst = Math.max(worst, check(report, "hidden_states." + i, out.hiddenStates().get(i), io));
            worst = Math.max(worst, check(report, "last_hidden_state", out.lastHiddenState(), io));
            worst = Math.max(worst, check(report, "pooled", out.pooled(), io));
            worst = Math.max(worst, check(report, "clip_skip1", model.encode(c, ids, 1), io));
            // encode with clip skip 0 is last_hidden_state, computed the short way
            worst = Math.max(worst, check(report, "last_hidden_state", model.encode(c, ids, 0), io));
            System.out.printf("%s on %s:%n%s", name, backendName, report);
            assertTrue(worst <= 1e-4, name + " on " + backendName + " exceeds 1e-4:\n" + report);
        }
    }

    private static double check(StringBuilder report, String key, Tensor got, SafeTensorsFile io) {
        double e = Golden.relL2(got, Golden.tensor(io, key));
        report.append(String.format("  %-18s %.2e%n", key, e));
        return e;
    }
}
