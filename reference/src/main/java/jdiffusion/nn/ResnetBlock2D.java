package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/**
 * diffusers ResnetBlock2D ("default" time scale shift), after Ho et al. 2020's Wide-ResNet block:
 * h = conv1(silu(norm1(x))) + time_emb_proj(silu(temb)); h = conv2(silu(norm2(h)));
 * out = (shortcut(x) + h) / output_scale_factor, with a 1×1 conv_shortcut when channels change.
 */
public record ResnetBlock2D(GroupNorm norm1, Conv2d conv1, Linear timeEmbProj, GroupNorm norm2, Conv2d conv2,
                            Conv2d convShortcut, float outputScaleFactor) {

    /** @param tembChannels width of the time embedding, or 0 for resnets without one (VAE decoder) */
    public static ResnetBlock2D load(Params p, int in, int out, int tembChannels, int groups, double eps, double outputScale) {
        return new ResnetBlock2D(
                GroupNorm.load(p.at("norm1"), groups, in, eps),
                Conv2d.load(p.at("conv1"), in, out, 3, 1, 1),
                tembChannels > 0 ? Linear.load(p.at("time_emb_proj"), tembChannels, out, true) : null,
                GroupNorm.load(p.at("norm2"), groups, out, eps),
                Conv2d.load(p.at("conv2"), out, out, 3, 1, 1),
                in != out ? Conv2d.load(p.at("conv_shortcut"), in, out, 1, 1, 0) : null,
                (float) outputScale);
    }

    /**
     * @param x       [N, in, H, W]
     * @param tembAct silu(time embedding) [N, temb], computed once per forward pass; null without one
     * @return [N, out, H, W]
     */
    public Tensor forward(Ctx c, Tensor x, Tensor tembAct) {
        var b = c.backend();
        Tensor n1 = norm1.forwardSilu(c, x);                            // [N, in, H, W]
        Tensor h = conv1.forward(c, n1);                                // [N, out, H, W]
        n1.release();
        if (timeEmbProj != null) {
            Tensor t = timeEmbProj.forward(c, tembAct);                 // [N, out]
            Tensor ht = b.addChannelBias(h, t);                         // [N, out, H, W]
            h.release();
            t.release();
            h = ht;
        }
        Tensor n2 = norm2.forwardSilu(c, h);                            // [N, out, H, W]
        h.release();
        h = conv2.forward(c, n2);                                       // dropout is identity at inference
        n2.release();
        Tensor skip = convShortcut == null ? x : convShortcut.forward(c, x);
        Tensor out = b.add(skip, h);                                    // [N, out, H, W]
        h.release();
        if (skip != x) skip.release();
        if (outputScaleFactor == 1f) return out;
        Tensor scaled = b.scale(out, 1f / outputScaleFactor);
        out.release();
        return scaled;
    }
}
