package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

import java.util.List;

/**
 * UNetMidBlock2D / UNetMidBlock2DCrossAttn (keys mid_block.{resnets,attentions}):
 * resnets.0, then (attentions.i, resnets.i+1) for each attention. Without attention
 * (add_attention=false) the resnets simply follow each other.
 */
public record MidBlock(List<ResnetBlock2D> resnets, List<SpatialMixer> attentions) {

    public Tensor forward(Ctx c, Tensor x, Tensor tembAct, Tensor context) {
        Tensor h = resnets.getFirst().forward(c, x, tembAct);
        for (int i = 1; i < resnets.size(); i++) {
            if (!attentions.isEmpty()) {
                Tensor a = attentions.get(i - 1).forward(c, h, context);
                h.release();
                h = a;
            }
            Tensor r = resnets.get(i).forward(c, h, tembAct);
            h.release();
            h = r;
        }
        return h;
    }
}
