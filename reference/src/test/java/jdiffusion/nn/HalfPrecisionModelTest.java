package jdiffusion.nn;

import jdiffusion.Golden;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.kernels.HalfFloats;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A whole UNet (google/ddpm-cifar10-32's architecture, random weights) with its conv and linear weights
 * held as F16 or BF16: its output is within 1e-3 (relative L2) of the float32 model whose weights hold
 * the same rounded values, and its conv/linear weights take half the memory.
 */
class HalfPrecisionModelTest {

    /** The random source with every conv/linear weight rounded to 16 bits (as a float32 model would hold it). */
    static ParamSource rounded(ParamSource inner, boolean bf16) {
        return new ParamSource() {
            @Override
            public float[] take(String key, int... shape) {
                float[] v = inner.take(key, shape);
                if (shape.length >= 2 && key.endsWith(".weight"))
                    for (int i = 0; i < v.length; i++) v[i] = HalfFloats.toFloat(HalfFloats.fromFloat(v[i], bf16), bf16);
                return v;
            }

            @Override
            public boolean has(String key) {
                return inner.has(key);
            }

            @Override
            public DType dtype(String key) {
                return inner.dtype(key);
            }
        };
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"F16", "BF16"})
    void halfWeightsComputeLikeRoundedFloat32(WeightPrecision precision) {
        boolean bf16 = precision == WeightPrecision.BF16;
        UNet half = UNet.fromConfig(Architectures.config("ddpm-cifar10"), ParamSource.random(7), precision);
        UNet f32 = UNet.fromConfig(Architectures.config("ddpm-cifar10"), rounded(ParamSource.random(7), bf16), WeightPrecision.F32);
        UNet exact = Architectures.random("ddpm-cifar10", 7);
        Tensor x = Tensor.zeros(2, 3, 32, 32);
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < x.numel(); i++) x.data()[i] = (float) (r.nextDouble() * 2 - 1);
        float[] t = {10f, 700f};
        try (CpuBackend cpu = new CpuBackend(2)) {
            Ctx c = new Ctx(cpu);
            Tensor a = half.forward(c, x, t, null), b = f32.forward(c, x, t, null), e = exact.forward(c, x, t, null);
            double err = Golden.relL2(a, b), vsExact = Golden.relL2(a, e);
            System.out.printf("%s: vs float32 with rounded weights %.2e, vs unrounded float32 weights %.2e%n", precision, err, vsExact);
            assertTrue(err <= 1e-3, "relative L2 " + err);
        }
    }
}
