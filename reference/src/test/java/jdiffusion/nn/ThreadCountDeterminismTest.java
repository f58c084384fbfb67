package jdiffusion.nn;

import jdiffusion.kernels.CpuBackend;
import jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * A whole forward pass of the fast backend (Winograd, direct and 1×1 convolutions, fused attention,
 * GEMMs split by rows and by columns) gives the same bits for 1, 2 and 3 threads, and the same bits
 * cold (first call, code still interpreted) and warm.
 */
class ThreadCountDeterminismTest {

    @Test
    void ddpmCifar10ForwardIsBitIdentical() {
        UNet unet = Architectures.random("ddpm-cifar10", 11);
        Tensor x = Tensor.zeros(2, 3, 32, 32);
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < x.numel(); i++) x.data()[i] = (float) r.nextGaussian();
        float[] t = {3f, 999f};
        float[] first = null;
        for (int threads : new int[]{1, 2, 3, 1}) {
            try (CpuBackend cpu = new CpuBackend(threads)) {
                float[] out = unet.forward(new Ctx(cpu), x, t, null).data();
                if (first == null) first = out;
                else assertArrayEquals(first, out, threads + " threads");
            }
        }
    }
}
