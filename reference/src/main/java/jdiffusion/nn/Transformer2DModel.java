package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers Transformer2DModel for continuous (image) input, as used by Stable Diffusion:
 * GroupNorm (eps 1e-6) → proj_in (1×1 conv, or linear when use_linear_projection) → transformer
 * blocks over the H·W tokens → proj_out → + residual.
 */
public record Transformer2DModel(GroupNorm norm, Conv2d projInConv, Linear projInLinear, List<BasicTransformerBlock> blocks,
                                 Conv2d projOutConv, Linear projOutLinear) implements SpatialMixer {

    public static Transformer2DModel load(Params p, int channels, int heads, int crossDim, int layers, int groups,
                                          boolean linearProjection) {
        List<BasicTransformerBlock> blocks = new ArrayList<>();
        for (int i = 0; i < layers; i++) blocks.add(BasicTransformerBlock.load(p.at("transformer_blocks", i), channels, heads, crossDim));
        GroupNorm norm = GroupNorm.load(p.at("norm"), groups, channels, 1e-6);
        if (linearProjection)
            return new Transformer2DModel(norm, null, Linear.load(p.at("proj_in"), channels, channels, true), blocks,
                    null, Linear.load(p.at("proj_out"), channels, channels, true));
        return new Transformer2DModel(norm, Conv2d.load(p.at("proj_in"), channels, channels, 1, 1, 0), null, blocks,
                Conv2d.load(p.at("proj_out"), channels, channels, 1, 1, 0), null);
    }

    /** [N, C, H, W] with encoder_hidden_states [N, T, D] → [N, C, H, W] */
    @Override
    public Tensor forward(Ctx c, Tensor x, Tensor encoderHiddenStates) {
        var b = c.backend();
        int h = x.dim(2), w = x.dim(3);
        Tensor n = norm.forward(c, x);                                     // [N, C, H, W]
        Tensor t;
        if (projInConv != null) {
            Tensor p = projInConv.forward(c, n);
            t = b.toTokens(p);                                             // [N, HW, C]
            p.release();
        } else {
            Tensor tokens = b.toTokens(n);
            t = projInLinear.forward(c, tokens);                           // [N, HW, C]
            tokens.release();
        }
        n.release();
        for (BasicTransformerBlock blk : blocks) {
            Tensor next = blk.forward(c, t, encoderHiddenStates);
            t.release();
            t = next;
        }
        Tensor out;
        if (projOutConv != null) {
            Tensor img = b.fromTokens(t, h, w);
            out = projOutConv.forward(c, img);                             // [N, C, H, W]
            img.release();
        } else {
            Tensor p = projOutLinear.forward(c, t);
            out = b.fromTokens(p, h, w);                                   // [N, C, H, W]
            p.release();
        }
        t.release();
        Tensor r = b.add(out, x);
        out.release();
        return r;
    }
}
