package jdiffusion.schedule;

import jdiffusion.tensor.Tensor;

/**
 * Per-element float32 arithmetic on latents. The lambdas are written with Java {@code float}
 * operators, each of which rounds to float32 exactly as one PyTorch float32 kernel does, so an
 * expression like {@code (x - a * m) / b} reproduces diffusers' {@code (x - a * m) / b} on tensors.
 */
final class Elementwise {
    private Elementwise() {
    }

    @FunctionalInterface
    interface F1 {
        float apply(float x);
    }

    @FunctionalInterface
    interface F2 {
        float apply(float x, float y);
    }

    @FunctionalInterface
    interface F3 {
        float apply(float x, float y, float z);
    }

    static Tensor map(Tensor a, F1 f) {
        float[] x = a.data(), o = new float[x.length];
        for (int i = 0; i < o.length; i++) o[i] = f.apply(x[i]);
        return Tensor.of(o, a.shape());
    }

    static Tensor zip(Tensor a, Tensor b, F2 f) {
        same(a, b);
        float[] x = a.data(), y = b.data(), o = new float[x.length];
        for (int i = 0; i < o.length; i++) o[i] = f.apply(x[i], y[i]);
        return Tensor.of(o, a.shape());
    }

    static Tensor zip(Tensor a, Tensor b, Tensor c, F3 f) {
        same(a, b);
        same(a, c);
        float[] x = a.data(), y = b.data(), z = c.data(), o = new float[x.length];
        for (int i = 0; i < o.length; i++) o[i] = f.apply(x[i], y[i], z[i]);
        return Tensor.of(o, a.shape());
    }

    /** {@code x ** 0.5} of a float32 scalar tensor (correctly rounded, like PyTorch's sqrt). */
    static float sqrt(float x) {
        return (float) Math.sqrt(x);
    }

    /** Integer timesteps as the floats the {@link Scheduler} interface hands out. */
    static float[] floats(int[] values) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) f[i] = values[i];
        return f;
    }

    /** {@code a.clamp(-range, range)} with the range in float32. */
    static Tensor clamp(Tensor a, double range) {
        float r = (float) range;
        return map(a, x -> Math.min(Math.max(x, -r), r));
    }

    private static void same(Tensor a, Tensor b) {
        if (!a.sameShape(b)) throw new IllegalArgumentException("shape mismatch: " + a.shapeString() + " vs " + b.shapeString());
    }
}
