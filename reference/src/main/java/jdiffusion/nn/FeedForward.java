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
        Tensor p = proj.forward(c, x);                                    // [B, T, 2·4·dim]
        Tensor g = c.backend().geglu(p);                                  // [B, T, 4·dim]
        p.release();
        Tensor o = out.forward(c, g);
        g.release();
        return o;
    }
}
