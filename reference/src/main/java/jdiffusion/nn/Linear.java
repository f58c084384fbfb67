package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/** torch.nn.Linear (keys: weight [out, in], bias [out] when present). */
public record Linear(Tensor weight, Tensor bias) {

    public static Linear load(Params p, int in, int out, boolean bias) {
        return new Linear(p.take("weight", out, in), bias ? p.take("bias", out) : null);
    }

    public Tensor forward(Ctx c, Tensor x) {
        return c.backend().linear(x, weight, bias);
    }
}
