package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/** torch.nn.Conv2d with zero padding (keys: weight [out, in, k, k], bias [out]). */
public record Conv2d(Tensor weight, Tensor bias, int stride, int padTop, int padLeft, int padBottom, int padRight) {

    public static Conv2d load(Params p, int in, int out, int k, int stride, int padding) {
        return new Conv2d(p.take("weight", out, in, k, k), p.take("bias", out), stride, padding, padding, padding, padding);
    }

    public int outChannels() {
        return weight.dim(0);
    }

    public Tensor forward(Ctx c, Tensor x) {
        return c.backend().conv2d(x, weight, bias, stride, padTop, padLeft, padBottom, padRight);
    }
}
