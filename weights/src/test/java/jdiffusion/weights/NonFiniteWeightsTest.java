package jdiffusion.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NaN/Infinity weights are reported when the model is loaded (which tensor, how many values, the
 * first), instead of running and giving an all-black image. Before, loading accepted them silently.
 */
class NonFiniteWeightsTest {
    @TempDir
    Path dir;

    @Test
    void nonFiniteValuesAreReportedAtLoadNamingTensorAndCount() {
        Path f = dir.resolve("w.safetensors");
        new SafeTensorsWriter()
                .put("conv.weight", new int[]{2, 2}, new float[]{1, Float.NaN, Float.POSITIVE_INFINITY, 4})
                .put("conv.bias", new int[]{2}, new float[]{0, 1})
                .write(f);
        try (WeightStore store = WeightStore.open(f)) {
            CheckpointReader r = new CheckpointReader(store);
            assertArrayEquals(new float[]{0, 1}, r.take("conv.bias", 2));
            r.take("conv.weight", 2, 2);
            WeightsException e = assertThrows(WeightsException.class, () -> r.finish("test model"));
            assertTrue(e.getMessage().contains("w.safetensors") && e.getMessage().contains("1 tensors hold non-finite values")
                    && e.getMessage().contains("conv.weight: 2 of 4 values (the first at index 1 is NaN)")
                    && !e.getMessage().contains("conv.bias"), e.getMessage());
        }
    }

    @Test
    void finiteWeightsPassAndTheCountIsExact() {
        assertEquals(0, CheckpointReader.countNonFinite(new float[]{0, -0f, Float.MAX_VALUE, -Float.MIN_VALUE}));
        assertEquals(3, CheckpointReader.countNonFinite(new float[]{Float.NaN, 1, Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0x7fc00001)}));
    }

    /** A config far larger than its weights: mis-shaped keys are listed and nothing of the configured size is allocated. */
    @Test
    void misShapedKeysAllocateNothing() {
        Path f = dir.resolve("small.safetensors");
        new SafeTensorsWriter().put("w", new int[]{2}, new float[]{1, 2}).write(f);
        try (WeightStore store = WeightStore.open(f)) {
            CheckpointReader r = new CheckpointReader(store);
            // 2^31 × 2^31 × 9 values: before, take() returned new float[(int) n] for it
            assertEquals(null, r.take("w", Integer.MAX_VALUE, Integer.MAX_VALUE, 3, 3));
            assertEquals(null, r.take("absent", 65536, 65536));
            WeightsException e = assertThrows(WeightsException.class, () -> r.finish("test model"));
            assertTrue(e.getMessage().contains("w: file has [2], model expects [2147483647, 2147483647, 3, 3]")
                    && e.getMessage().contains("absent [65536, 65536]"), e.getMessage());
        }
    }
}
