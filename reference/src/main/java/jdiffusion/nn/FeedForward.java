package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/** diffusers FeedForward with GEGLU (Shazeer 2020): net.0.proj (dim → 2·4·dim), h·gelu(g), net.2 (4·dim → dim). */
public record FeedForward(Linear proj, Linear out) {

    public static FeedForward load(Params p, int dim) {
        int inner = 4 * dim;
        return new FeedForward(Linear.load(p.at("net", 0).at("proj"), dim, 2 * inner, true), Linear.load(p.at("net", 2), inner, dim, true));
    }

    /** [B, T, dim] → [B, T, dim] */
    public Tensor forward(Ctx c, Tensor x) {
        return out.forward(c, c.backend().geglu(proj.forward(c, x)));
    }
}
