package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/**
 * diffusers Downsample2D with use_conv: a 3×3 stride-2 conv. With padding 0 (downsample_padding=0, the
 * original DDPM layout) diffusers first pads by one column right and one row bottom.
 */
public record Downsample2D(Conv2d conv) {

    public static Downsample2D load(Params p, int channels, int padding) {
        Params cp = p.at("conv");
        Tensor w = cp.take("weight", channels, channels, 3, 3), b = cp.take("bias", channels);
        Conv2d conv = padding == 0 ? new Conv2d(w, b, 2, 0, 0, 1, 1) : new Conv2d(w, b, 2, padding, padding, padding, padding);
        return new Downsample2D(conv);
    }

    /** [N, C, H, W] → [N, C, H/2, W/2] */
    public Tensor forward(Ctx c, Tensor x) {
        return conv.forward(c, x);
    }
}
