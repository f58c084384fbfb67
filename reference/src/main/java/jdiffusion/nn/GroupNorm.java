package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/** torch.nn.GroupNorm with affine parameters (keys: weight, bias). */
public record GroupNorm(int groups, float eps, Tensor weight, Tensor bias) {

    public static GroupNorm load(Params p, int groups, int channels, double eps) {
        if (channels % groups != 0)
            throw new IllegalArgumentException(p.path() + ": " + channels + " channels are not divisible into " + groups + " groups");
        return new GroupNorm(groups, (float) eps, p.take("weight", channels), p.take("bias", channels));
    }

    public Tensor forward(Ctx c, Tensor x) {
        return c.backend().groupNorm(x, groups, weight, bias, eps, false);
    }

    /** GroupNorm followed by SiLU, fused (resnets always use them together). */
    public Tensor forwardSilu(Ctx c, Tensor x) {
        return c.backend().groupNorm(x, groups, weight, bias, eps, true);
    }
}
