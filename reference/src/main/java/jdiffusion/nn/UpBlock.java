package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

import java.util.List;

/**
 * UpBlock2D / AttnUpBlock2D / CrossAttnUpBlock2D (keys up_blocks.k.{resnets,attentions,upsamplers}):
 * per layer, concatenate the next skip connection (taken from the end), resnet, optional attention;
 * then the upsampler. DeepCache indices are mirrored: block = n_blocks − 1 − k, layer = n_resnets − 1 − l.
 */
public record UpBlock(String key, int mirroredIndex, List<ResnetBlock2D> resnets, List<SpatialMixer> attentions,
                      Upsample2D upsampler) {

    /**
     * @param skips the skip connections for this block in the order they were produced; the last one
     *              is consumed first (diffusers pops res_hidden_states_tuple from the end)
     */
    public Tensor forward(Ctx c, Tensor x, List<Tensor> skips, Tensor tembAct, Tensor context) {
        var hooks = c.hooks();
        int n = resnets.size();
        Tensor h = x;                   // x belongs to the caller; every later h to this block
        for (int l = 0; l < n; l++) {
            Tensor cat = c.backend().concatChannels(h, skips.get(skips.size() - 1 - l));   // [N, C + Cskip, H, W]
            if (h != x) h.release();
            final int pos = l;
            h = hooks.module(new ModuleId(key + ".resnets." + l, ModuleId.Path.UP, "resnet", mirroredIndex, n - 1 - l),
                    () -> resnets.get(pos).forward(c, cat, tembAct));
            cat.release();
            if (!attentions.isEmpty()) {
                final Tensor a = h;
                h = hooks.module(new ModuleId(key + ".attentions." + l, ModuleId.Path.UP, "attention", mirroredIndex, n - 1 - l),
                        () -> attentions.get(pos).forward(c, a, context));
                if (h != a) a.release();
            }
        }
        if (upsampler != null) {
            final Tensor in = h;
            h = hooks.module(new ModuleId(key + ".upsamplers.0", ModuleId.Path.UP, "upsampler", mirroredIndex, 0),
                    () -> upsampler.forward(c, in));
            if (in != x && h != in) in.release();
        }
        return h;
    }
}
