package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * DownBlock2D / AttnDownBlock2D / CrossAttnDownBlock2D (keys down_blocks.i.{resnets,attentions,downsamplers}):
 * per layer a resnet, then (if present) its attention; every layer's output and the downsampler's are
 * kept as skip connections for the up path (they belong to the caller, which releases them once used).
 */
public record DownBlock(String key, int index, List<ResnetBlock2D> resnets, List<SpatialMixer> attentions,
                        Downsample2D downsampler) {

    /** The block's output and its skip connections, in the order diffusers collects them. */
    public record Out(Tensor hidden, List<Tensor> residuals) {
    }

    public Out forward(Ctx c, Tensor x, Tensor tembAct, Tensor context) {
        var hooks = c.hooks();
        List<Tensor> res = new ArrayList<>();
        for (int l = 0; l < resnets.size(); l++) {
            final Tensor in = x;
            final int layer = l;
            x = hooks.module(new ModuleId(key + ".resnets." + l, ModuleId.Path.DOWN, "resnet", index, l),
                    () -> resnets.get(layer).forward(c, in, tembAct));
            if (!attentions.isEmpty()) {
                final Tensor a = x;
                x = hooks.module(new ModuleId(key + ".attentions." + l, ModuleId.Path.DOWN, "attention", index, l),
                        () -> attentions.get(layer).forward(c, a, context));
                if (x != a) a.release();   // the resnet's output: the attention's output is the skip kept instead
            }
            res.add(x);
        }
        if (downsampler != null) {
            final Tensor in = x;
            x = hooks.module(new ModuleId(key + ".downsamplers.0", ModuleId.Path.DOWN, "downsampler", index, resnets.size()),
                    () -> downsampler.forward(c, in));
            res.add(x);
        }
        return new Out(x, List.copyOf(res));
    }
}
