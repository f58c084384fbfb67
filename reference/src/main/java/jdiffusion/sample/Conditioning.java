package jdiffusion.sample;

import jdiffusion.tensor.Tensor;

/**
 * What a conditional denoiser is conditioned on, per image: encoder_hidden_states for the prompt (or
 * class) and for the empty prompt, plus the classifier-free guidance scale g (Ho &amp; Salimans 2022):
 * ε = ε_u + g·(ε_c − ε_u). With g ≤ 1 only the conditional branch runs, as in diffusers' pipelines.
 *
 * @param cond   [K, T, D] for K images
 * @param uncond [K, T, D] (may be null when guidance ≤ 1)
 */
public record Conditioning(Tensor cond, Tensor uncond, double guidance) {

    public Conditioning {
        if (cond.rank() != 3) throw new IllegalArgumentException("cond must be [images, tokens, dim], got " + cond.shapeString());
        if (guidance > 1 && (uncond == null || !uncond.sameShape(cond)))
            throw new IllegalArgumentException("guidance " + guidance + " needs uncond of the same shape as cond " + cond.shapeString());
    }

    /** One [T, D] conditioning repeated for {@code images} images. */
    public static Conditioning repeat(Tensor cond, Tensor uncond, double guidance, int images) {
        return new Conditioning(tile(cond, images), uncond == null ? null : tile(uncond, images), guidance);
    }

    private static Tensor tile(Tensor t, int k) {
        Tensor one = t.rank() == 2 ? t.reshape(1, t.dim(0), t.dim(1)) : t;
        if (one.dim(0) == k) return one;
        if (one.dim(0) != 1) throw new IllegalArgumentException("conditioning has " + one.dim(0) + " rows for " + k + " images");
        Tensor[] parts = new Tensor[k];
        java.util.Arrays.fill(parts, one);
        return Tensor.cat0(parts);
    }

    /** The conditioning of images first … first + k − 1. */
    public Conditioning slice(int first, int k) {
        return new Conditioning(cond.slice0(first, k), uncond == null ? null : uncond.slice0(first, k), guidance);
    }

    /** The conditioning of the images listed, in that order (a sub-batch). */
    public Conditioning select(int[] images) {
        return new Conditioning(Denoiser.rows(cond, images), uncond == null ? null : Denoiser.rows(uncond, images), guidance);
    }

    public boolean guided() {
        return guidance > 1 && uncond != null;
    }

    public int images() {
        return cond.dim(0);
    }
}
