package jdiffusion.tensor;


import java.util.SplittableRandom;

/**
 * Seeded standard Gaussian noise. The stream is defined here (SplittableRandom + Box–Muller, both
 * fully specified), so the same seed gives the same bits on every JVM and thread count. Streams for
 * different purposes (initial latent, per-step noise, re-noising) are split off by name so that adding
 * a consumer does not shift the others.
 */
public final class NoiseSource {
    private final long seed;
    private final SplittableRandom rng;

    public NoiseSource(long seed) {
        this.seed = seed;
        this.rng = new SplittableRandom(seed);
    }

    public long seed() {
        return seed;
    }

    /** An independent stream for {@code purpose}, derived from this seed only. */
    public NoiseSource fork(String purpose) {
        return new NoiseSource(seed * 0x9E3779B97F4A7C15L + purpose.hashCode());
    }

    public Tensor gaussian(int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i += 2) {
            // Box–Muller: two uniforms in (0, 1] → two independent N(0, 1)
            double u1 = 1.0 - rng.nextDouble(), u2 = rng.nextDouble();
            double r = Math.sqrt(-2.0 * Math.log(u1)), th = 2.0 * Math.PI * u2;
            d[i] = (float) (r * Math.cos(th));
            if (i + 1 < d.length) d[i + 1] = (float) (r * Math.sin(th));
        }
        return t;
    }
}
