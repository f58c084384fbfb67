package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/** diffusers TimestepEmbedding: linear_1 → SiLU → linear_2. */
public record TimestepEmbedding(Linear linear1, Linear linear2) {

    public static TimestepEmbedding load(Params p, int in, int dim) {
        return new TimestepEmbedding(Linear.load(p.at("linear_1"), in, dim, true), Linear.load(p.at("linear_2"), dim, dim, true));
    }

    /** [N, in] → [N, dim] */
    public Tensor forward(Ctx c, Tensor t) {
        return linear2.forward(c, c.backend().silu(linear1.forward(c, t)));
    }
}
