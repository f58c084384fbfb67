package jdiffusion.tensor;


import java.util.List;
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
    private final List<NoiseSource> images;   // per-image streams (perImage), or null

    public NoiseSource(long seed) {
        this.seed = seed;
        this.rng = new SplittableRandom(seed);
        this.images = null;
    }

    private NoiseSource(List<NoiseSource> images) {
        this.seed = images.getFirst().seed;
        this.rng = null;
        this.images = List.copyOf(images);
    }

    /**
     * Noise for a batch whose image j has its own stream {@code images.get(j)}: a draw of shape [K, …] is
     * image 0's draw of [1, …], then image 1's, and so on. An image's noise thus depends only on its own
     * stream, not on the batch it is drawn in.
     */
    public static NoiseSource perImage(List<NoiseSource> images) {
        if (images.isEmpty()) throw new IllegalArgumentException("perImage needs at least one stream");
        return new NoiseSource(images);
    }

    public long seed() {
        return seed;
    }

    /** An independent stream for {@code purpose}, derived from this seed only (per image for a per-image source). */
    public NoiseSource fork(String purpose) {
        if (images != null) return perImage(images.stream().map(n -> n.fork(purpose)).toList());
        return new NoiseSource(seed * 0x9E3779B97F4A7C15L + purpose.hashCode());
    }

    public Tensor gaussian(int... shape) {
        if (images != null) {
            if (shape.length == 0 || shape[0] != images.size())
                throw new IllegalArgumentException("per-image noise for " + images.size() + " images cannot fill shape " + java.util.Arrays.toString(shape));
            int[] one = shape.clone();
            one[0] = 1;
            return Tensor.cat0(images.stream().map(n -> n.gaussian(one)).toArray(Tensor[]::new));
        }
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
