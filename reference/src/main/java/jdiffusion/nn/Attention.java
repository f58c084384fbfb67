package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/**
 * diffusers Attention (Vaswani et al. 2017, scaled dot-product, multi-head): to_q, to_k, to_v,
 * to_out.0, with scale = dim_head^(-1/2). Two uses:
 * <ul>
 *   <li>spatial self-attention of UNet2DModel/VAE blocks: group_norm first, residual connection,
 *       output divided by rescale_output_factor ({@link #forwardSpatial});</li>
 *   <li>token attention inside a transformer block, self- or cross-attention ({@link #forwardTokens}).</li>
 * </ul>
 */
public record Attention(GroupNorm groupNorm, Linear toQ, Linear toK, Linear toV, Linear toOut, int heads, int dimHead,
                        float rescaleOutputFactor) implements SpatialMixer {

    /** Spatial self-attention block of UNet2DModel / AutoencoderKL (group_norm, biases, residual). */
    public static Attention loadSpatial(Params p, int channels, int dimHead, int groups, double eps, double rescale) {
        int heads = channels / dimHead;
        if (heads * dimHead != channels)
            throw new IllegalArgumentException(p.path() + ": " + channels + " channels are not divisible by attention_head_dim " + dimHead);
        return new Attention(GroupNorm.load(p.at("group_norm"), groups, channels, eps),
                Linear.load(p.at("to_q"), channels, channels, true), Linear.load(p.at("to_k"), channels, channels, true),
                Linear.load(p.at("to_v"), channels, channels, true), Linear.load(p.at("to_out", 0), channels, channels, true),
                heads, dimHead, (float) rescale);
    }

    /** Transformer attention: no biases on q/k/v, keys/values from {@code kvDim}-wide tokens. */
    public static Attention loadTokens(Params p, int dim, int kvDim, int heads) {
        int dimHead = dim / heads;
        return new Attention(null, Linear.load(p.at("to_q"), dim, dim, false), Linear.load(p.at("to_k"), kvDim, dim, false),
                Linear.load(p.at("to_v"), kvDim, dim, false), Linear.load(p.at("to_out", 0), dim, dim, true), heads, dimHead, 1f);
    }

    private float scale() {
        return (float) (1.0 / Math.sqrt(dimHead));
    }

    /** [B, T, C] (queries) and context [B, Tk, Ck] (null = self-attention) → [B, T, C]. */
    public Tensor forwardTokens(Ctx c, Tensor x, Tensor context) {
        Tensor kv = context == null ? x : context;
        Tensor q = toQ.forward(c, x), k = toK.forward(c, kv), v = toV.forward(c, kv);
        Tensor a = c.backend().attention(q, k, v, heads, scale());      // [B, T, C]
        q.release();
        k.release();
        v.release();
        Tensor out = toOut.forward(c, a);
        a.release();
        return out;
    }

    /** [N, C, H, W] → [N, C, H, W]: (x + to_out(attn(group_norm(x)))) / rescale_output_factor. */
    public Tensor forwardSpatial(Ctx c, Tensor x) {
        var b = c.backend();
        int h = x.dim(2), w = x.dim(3);
        Tensor g = groupNorm.forward(c, x);                               // [N, C, H, W]
        Tensor tokens = b.toTokens(g);                                    // [N, HW, C]
        g.release();
        Tensor attn = forwardTokens(c, tokens, null);                     // [N, HW, C]
        tokens.release();
        Tensor back = b.fromTokens(attn, h, w);                           // [N, C, H, W]
        attn.release();
        Tensor out = b.add(back, x);
        back.release();
        if (rescaleOutputFactor == 1f) return out;
        Tensor scaled = b.scale(out, 1f / rescaleOutputFactor);
        out.release();
        return scaled;
    }

    @Override
    public Tensor forward(Ctx c, Tensor x, Tensor encoderHiddenStates) {
        return forwardSpatial(c, x);
    }
}
