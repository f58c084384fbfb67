package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Weights kept as F16 or BF16 bits give exactly the results of float32 weights holding the same
 * (rounded) values: conversion to float32 is exact and happens while packing, the arithmetic is the
 * same. Covered: direct and Winograd convolutions, 1×1 convolutions, linear layers through the GEMM
 * and through the few-rows dot products; and the scalar reference reads 16-bit weights too.
 */
class HalfWeightsTest {

    static Tensor random(long seed, int... shape) {
        Tensor t = Tensor.zeros(shape);
        Random r = new Random(seed);
        for (int i = 0; i < t.numel(); i++) t.data()[i] = (float) r.nextGaussian();
        return t;
    }

    /** (16-bit tensor, float32 tensor with the same values) */
    static Tensor[] halfAndRounded(Tensor w, boolean bf16) {
        float[] v = w.data();
        short[] bits = new short[v.length];
        float[] back = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            bits[i] = HalfFloats.fromFloat(v[i], bf16);
            back[i] = HalfFloats.toFloat(bits[i], bf16);
        }
        return new Tensor[]{Tensor.ofHalf(bits, bf16, w.shape()), Tensor.of(back, w.shape())};
    }

    @ParameterizedTest(name = "conv n={0} {1}->{2} {3}x{3} k={4} stride={5} bf16={6}")
    @CsvSource({"2,24,20,40,3,1,false", "1,24,20,12,3,1,true", "1,17,13,9,3,2,false", "2,30,26,20,1,1,true", "1,5,7,40,3,1,true"})
    void convolutionsMatchExactly(int n, int cin, int cout, int hw, int k, int stride, boolean bf16) {
        Tensor x = random(1, n, cin, hw, hw), b = random(3, cout);
        Tensor[] w = halfAndRounded(random(2, cout, cin, k, k), bf16);
        int p = k / 2;
        try (CpuBackend cpu = new CpuBackend(2)) {
            Tensor half = cpu.conv2d(x, w[0], b, stride, p, p, p, p), f32 = cpu.conv2d(x, w[1], b, stride, p, p, p, p);
            assertArrayEquals(f32.data(), half.data());
        }
        Tensor ref = new ScalarBackend().conv2d(x, w[0], b, stride, p, p, p, p);
        assertArrayEquals(new ScalarBackend().conv2d(x, w[1], b, stride, p, p, p, p).data(), ref.data());
    }

    @ParameterizedTest(name = "linear rows={0} {1}->{2} bf16={3}")
    @CsvSource({"300,70,90,false", "2,64,33,true", "40,129,17,true", "3,5,5,false"})
    void linearLayersMatchExactly(int rows, int in, int out, boolean bf16) {
        Tensor x = random(1, rows, in), b = random(3, out);
        Tensor[] w = halfAndRounded(random(2, out, in), bf16);
        try (CpuBackend cpu = new CpuBackend(2)) {
            assertArrayEquals(cpu.linear(x, w[1], b).data(), cpu.linear(x, w[0], b).data());
        }
    }

    @ParameterizedTest(name = "bf16={0}")
    @CsvSource({"false", "true"})
    void storageIsHalved(boolean bf16) {
        Tensor[] w = halfAndRounded(random(4, 64, 32, 3, 3), bf16);
        assertTrue(w[0].isHalf());
        assertEquals(w[1].storageBytes() / 2, w[0].storageBytes());
        assertArrayEquals(w[1].data(), w[0].data());   // data() of a 16-bit tensor: a float32 copy
    }
}
