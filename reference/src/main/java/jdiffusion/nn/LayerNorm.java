package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/** torch.nn.LayerNorm over the last dimension with affine parameters (keys: weight, bias). */
public record LayerNorm(float eps, Tensor weight, Tensor bias) {

    public static LayerNorm load(Params p, int dim, double eps) {
        return new LayerNorm((float) eps, p.take("weight", dim), p.take("bias", dim));
    }

    public Tensor forward(Ctx c, Tensor x) {
        return c.backend().layerNorm(x, weight, bias, eps);
    }
}
