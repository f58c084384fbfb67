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
        x = resnets.getFirst().forward(c, x, tembAct);
        for (int i = 1; i < resnets.size(); i++) {
            if (!attentions.isEmpty()) x = attentions.get(i - 1).forward(c, x, context);
            x = resnets.get(i).forward(c, x, tembAct);
        }
        return x;
    }
}
