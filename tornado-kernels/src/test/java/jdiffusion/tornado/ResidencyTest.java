package jdiffusion.tornado;

import jdiffusion.Golden;
import jdiffusion.kernels.Backend;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.nn.Ctx;
import jdiffusion.nn.UNet;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.layout.ModelFolder;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where the data lives: weights go to the device once and stay; a forward pass uploads only its own
 * inputs and downloads nothing until host code reads the result (no host round trip per op); tensors of
 * another backend are accepted (read through the host) and device tensors are readable by any backend.
 */
class ResidencyTest {

    @Test
    void weightsOnceActivationsStayOnTheDevice() {
        TornadoBackend t = SharedBackend.get();
        UNet unet = UNet.load(ModelFolder.open(Golden.path("unet2d-tiny")));
        Tensor x0 = SharedBackend.random(1, 2, 3, 32, 32);
        long[] c0 = t.transferCounters();
        unet.forward(new Ctx(t), x0, new float[]{10, 981}, null).data();
        long[] c1 = t.transferCounters();
        // weights (and the two inputs) uploaded during the first pass
        assertTrue(c1[0] - c0[0] > 100, "the first pass should upload the weights, uploads: " + (c1[0] - c0[0]));

        Tensor x1 = SharedBackend.random(2, 2, 3, 32, 32);
        Tensor out = unet.forward(new Ctx(t), x1, new float[]{500, 20}, null);
        long[] c2 = t.transferCounters();
        assertFalse(out.onHost(), "the output stays on the device until it is read");
        assertEquals(2, c2[0] - c1[0], "second pass uploads only the sample and the timestep embedding");
        assertEquals(0, c2[1] - c1[1], "nothing comes back to the host during the pass");
        assertTrue(c2[2] - c1[2] >= 161, "every op ran as a kernel: " + (c2[2] - c1[2]) + " launches");
        out.data();
        long[] c3 = t.transferCounters();
        assertEquals(1, c3[1] - c2[1], "reading the output is the one download");
        assertEquals(0, c3[0] - c2[0]);
    }

    @Test
    void mixesWithOtherBackends() {
        TornadoBackend t = SharedBackend.get();
        try (CpuBackend cpu = new CpuBackend(2)) {
            Tensor x = SharedBackend.random(3, 1, 8, 6, 6), w = SharedBackend.random(4, 5, 8, 3, 3);
            Tensor onDevice = t.conv2d(x, w, null, 1, 1, 1, 1, 1);
            Backend other = cpu;
            Tensor viaCpu = other.silu(onDevice);                     // the CPU backend reads the device tensor
            Tensor back = t.scale(viaCpu, 2f);                        // and tornado takes the host result
            Tensor ref = cpu.scale(cpu.silu(cpu.conv2d(x, w, null, 1, 1, 1, 1, 1)), 2f);
            assertTrue(Golden.relL2(back, ref) <= 1e-5);
        }
    }
}
