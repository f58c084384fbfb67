package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/**
 * diffusers BasicTransformerBlock (layer_norm variant, as in Stable Diffusion 1.x/2.x):
 * x = attn1(norm1(x)) + x; x = attn2(norm2(x), context) + x; x = ff(norm3(x)) + x.
 * The cross-attention call is exposed to hooks as module "{key}.attn2" (kind "attn2") so that
 * cross-attention caching can act on it from outside.
 */
public record BasicTransformerBlock(String key, LayerNorm norm1, Attention attn1, LayerNorm norm2, Attention attn2,
                                    LayerNorm norm3, FeedForward ff) {

    public static BasicTransformerBlock load(Params p, int dim, int heads, int crossDim) {
        return new BasicTransformerBlock(p.path(),
                LayerNorm.load(p.at("norm1"), dim, 1e-5), Attention.loadTokens(p.at("attn1"), dim, dim, heads),
                LayerNorm.load(p.at("norm2"), dim, 1e-5), Attention.loadTokens(p.at("attn2"), dim, crossDim, heads),
                LayerNorm.load(p.at("norm3"), dim, 1e-5), FeedForward.load(p.at("ff"), dim));
    }

    /** [B, T, dim] with context [B, Tk, crossDim] → [B, T, dim] */
    public Tensor forward(Ctx c, Tensor x, Tensor context) {
        var b = c.backend();
        Tensor n1 = norm1.forward(c, x);                                  // [B, T, dim]
        Tensor a1 = attn1.forwardTokens(c, n1, null);
        n1.release();
        Tensor x1 = b.add(a1, x);
        a1.release();
        Tensor xn = norm2.forward(c, x1);
        Tensor cross = c.hooks().module(new ModuleId(key + ".attn2", ModuleId.Path.OTHER, "attn2", -1, -1),
                () -> attn2.forwardTokens(c, xn, context));
        xn.release();
        Tensor x2 = b.add(cross, x1);
        cross.release();                                                  // a cached (pinned) output stays
        x1.release();
        Tensor n3 = norm3.forward(c, x2);
        Tensor f = ff.forward(c, n3);
        n3.release();
        Tensor out = b.add(f, x2);
        f.release();
        x2.release();
        return out;
    }
}
