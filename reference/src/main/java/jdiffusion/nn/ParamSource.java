package jdiffusion.nn;

import jdiffusion.weights.CheckpointReader;
import jdiffusion.weights.DType;

import java.util.SplittableRandom;

/** Where a model's parameters come from: a checkpoint, or (for benchmarks) seeded random draws. */
public interface ParamSource {
    /**
     * The parameter {@code key} with the given shape, as float32, or null when the source does not hold
     * it in that shape (a checkpoint records the problem and reports it when loading finishes).
     */
    float[] take(String key, int... shape);

    /** Whether the source has an (optional) parameter. */
    boolean has(String key);

    /** The dtype the parameter is stored in at the source (float32 unless a checkpoint says otherwise). */
    default DType dtype(String key) {
        return DType.F32;
    }

    static ParamSource of(CheckpointReader reader) {
        return new ParamSource() {
            @Override
            public float[] take(String key, int... shape) {
                return reader.take(key, shape);
            }

            @Override
            public boolean has(String key) {
                return reader.has(key);
            }

            @Override
            public DType dtype(String key) {
                return reader.dtype(key);
            }
        };
    }

    /**
     * Seeded random parameters for any architecture, so that e.g. the full Stable Diffusion UNet can be
     * built from its published config without a download: weights ~ N(0, 1/fan_in) (keeps activations
     * in range), norm scales 1 + N(0, 0.1²), biases N(0, 0.02²). Each key's values depend only on
     * (seed, key), not on the order of requests.
     */
    static ParamSource random(long seed) {
        return new ParamSource() {
            @Override
            public float[] take(String key, int... shape) {
                long n = 1;
                for (int d : shape) {
                    n *= d;
                    if (n > Integer.MAX_VALUE - 8)
                        throw new IllegalArgumentException(key + " " + java.util.Arrays.toString(shape) + ": too large for random weights (more values than a Java array holds)");
                }
                float[] v = new float[(int) n];
                SplittableRandom r = new SplittableRandom(seed ^ (key.hashCode() * 0x9E3779B97F4A7C15L));
                boolean norm = key.matches(".*(norm[^.]*|group_norm|conv_norm_out)\\.weight");
                boolean bias = key.endsWith(".bias");
                double fanIn = 1;
                for (int i = 1; i < shape.length; i++) fanIn *= shape[i];
                double std = bias ? 0.02 : norm ? 0.1 : 1.0 / Math.sqrt(fanIn);
                for (int i = 0; i < v.length; i++) {
                    double g = gaussian(r);
                    v[i] = (float) ((norm ? 1.0 : 0.0) + std * g);
                }
                return v;
            }

            @Override
            public boolean has(String key) {
                return true;
            }
        };
    }

    private static double gaussian(SplittableRandom r) {
        double u1 = 1.0 - r.nextDouble(), u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
