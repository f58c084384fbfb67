package jdiffusion.sample;

import jdiffusion.nn.Ctx;
import jdiffusion.nn.UNet;
import jdiffusion.tensor.Tensor;

/**
 * The UNet seen from the sampler: evaluates the raw model output for a latent batch at one timestep,
 * batching [uncond, cond] for classifier-free guidance as diffusers' Stable Diffusion pipeline does,
 * and combines the halves. Keeping the raw (pre-guidance) output separate lets a policy reuse it and
 * still re-apply guidance.
 */
public final class Denoiser {
    private final UNet unet;

    public Denoiser(UNet unet) {
        this.unet = unet;
    }

    public UNet unet() {
        return unet;
    }

    /**
     * @param x     the scaled model input [K, C, H, W]
     * @param cond  conditioning for conditional models (null for unconditional ones)
     * @param guide whether to run the [uncond, cond] batch (false: conditional branch only)
     * @return the raw output: [2K, C, H, W] = [uncond; cond] when guiding, else [K, C, H, W]
     */
    public Tensor raw(Ctx c, Tensor x, float t, Conditioning cond, boolean guide) {
        if (unet.conditional() && cond == null)
            throw new IllegalArgumentException("this model is conditional (UNet2DConditionModel): give conditioning (--cond or --class)");
        if (!unet.conditional() && cond != null)
            throw new IllegalArgumentException("this model is unconditional (UNet2DModel): it takes no conditioning");
        Tensor in = guide ? Tensor.cat0(x, x) : x;
        Tensor context = cond == null ? null : guide ? Tensor.cat0(cond.uncond(), cond.cond()) : cond.cond();
        float[] ts = new float[in.dim(0)];
        java.util.Arrays.fill(ts, t);
        return unet.forward(c, in, ts, context);
    }

    /**
     * The raw output with the rows of {@code samples} computed now (the UNet runs on that sub-batch, with
     * their [uncond, cond] pairs when guiding) and every other sample's rows taken from {@code previous}:
     * per-sample step skipping. Batch invariance of the kernels makes each computed row the bits that
     * sample would get alone.
     *
     * @param x        the scaled model input of the whole batch [K, C, H, W]
     * @param samples  indices of the samples to compute, ascending
     * @param previous the previous raw output of the whole batch, same layout ([2K, …] when guiding)
     */
    public Tensor raw(Ctx c, Tensor x, float t, Conditioning cond, boolean guide, int[] samples, Tensor previous) {
        int k = x.dim(0), m = samples.length;
        if (previous.dim(0) != (guide ? 2 * k : k))
            throw new IllegalArgumentException("previous raw output " + previous.shapeString() + " does not fit a batch of " + k + (guide ? " guided" : ""));
        Tensor sub = raw(c, rows(x, samples), t, cond == null ? null : cond.select(samples), guide);   // [m or 2m, C, H, W]
        Tensor out = previous.copy();
        int per = out.numel() / out.dim(0);
        for (int j = 0; j < m; j++) {
            System.arraycopy(sub.data(), j * per, out.data(), samples[j] * per, per);
            if (guide) System.arraycopy(sub.data(), (m + j) * per, out.data(), (k + samples[j]) * per, per);
        }
        return out;
    }

    /** Rows {@code idx} of the leading dimension, in that order. */
    static Tensor rows(Tensor t, int[] idx) {
        Tensor[] parts = new Tensor[idx.length];
        for (int j = 0; j < idx.length; j++) parts[j] = t.slice0(idx[j], 1);
        return Tensor.cat0(parts);
    }

    /** ε from a raw output: ε_u + g·(ε_c − ε_u) for a guided batch, the output itself otherwise. */
    public static Tensor guided(Tensor raw, Conditioning cond, boolean guide) {
        if (!guide) return raw;
        int k = raw.dim(0) / 2;
        Tensor u = raw.slice0(0, k), c = raw.slice0(k, k);
        float g = (float) cond.guidance();
        float[] o = u.data(), cd = c.data();
        for (int i = 0; i < o.length; i++) o[i] = o[i] + g * (cd[i] - o[i]);
        return u;
    }
}
