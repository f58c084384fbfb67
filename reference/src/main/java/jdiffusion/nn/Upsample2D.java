package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/** diffusers Upsample2D with use_conv: nearest 2× interpolation, then a 3×3 conv. */
public record Upsample2D(Conv2d conv) {

    public static Upsample2D load(Params p, int channels) {
        return new Upsample2D(Conv2d.load(p.at("conv"), channels, channels, 3, 1, 1));
    }

    /** [N, C, H, W] → [N, C, 2H, 2W] */
    public Tensor forward(Ctx c, Tensor x) {
        Tensor up = c.backend().upsampleNearest2x(x);                        // [N, C, 2H, 2W]
        Tensor out = conv.forward(c, up);
        up.release();
        return out;
    }
}
