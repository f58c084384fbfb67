package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/** diffusers TimestepEmbedding: linear_1 → SiLU → linear_2. */
public record TimestepEmbedding(Linear linear1, Linear linear2) {

    public static TimestepEmbedding load(Params p, int in, int dim) {
        return new TimestepEmbedding(Linear.load(p.at("linear_1"), in, dim, true), Linear.load(p.at("linear_2"), dim, dim, true));
    }

    /** [N, in] → [N, dim] */
    public Tensor forward(Ctx c, Tensor t) {
        Tensor h = linear1.forward(c, t);
        Tensor a = c.backend().silu(h);
        h.release();
        Tensor out = linear2.forward(c, a);
        a.release();
        return out;
    }
}
