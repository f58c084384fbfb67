package jdiffusion.tornado;

import jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The device pool: dead tensors' memory is reused (after a collection if needed); a tensor that cannot fit is a clear error. */
class MemoryTest {

    @Test
    void garbageIsReclaimedAndOverflowIsReported() {
        long poolFloats = 1 << 20;                     // a 4 MB pool of its own
        try (TornadoBackend t = new TornadoBackend(poolFloats, TornadoBackend.Gemm.AUTO)) {
            Tensor keep = t.scale(SharedBackend.random(1, 1000), 1f);
            float expect = keep.data()[7] * 2f;
            // 200 × (1 MB upload + 1 MB result) through a 4 MB pool: only works if dead tensors are freed
            for (int i = 0; i < 200; i++) {
                Tensor x = Tensor.zeros(1 << 18);
                x.data()[0] = i;
                Tensor y = t.scale(x, 2f);
                if (i % 50 == 0) assertTrue(y.data()[0] == 2f * i);
            }
            assertTrue(t.scale(keep, 2f).data()[7] == expect, "a live tensor must survive the collections");
            assertTrue(t.deviceFloatsInUse() <= poolFloats);
            System.out.println("small pool: " + t.stats());
            RuntimeException e = assertThrows(RuntimeException.class, () -> t.scale(Tensor.zeros(2 << 20), 1f));
            System.out.println("overflow: " + e.getMessage());
            assertTrue(e.getMessage().contains("jdiffusion.tornado.memory"), e.getMessage());
        }
    }
}
