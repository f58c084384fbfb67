package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/**
 * The "attentions" entries of a UNet block: a spatial self-attention ({@link Attention}) in
 * UNet2DModel, a {@link Transformer2DModel} (self + cross attention) in UNet2DConditionModel.
 */
public interface SpatialMixer {
    /** [N, C, H, W] (+ encoder_hidden_states [N, T, D], ignored by plain self-attention) → [N, C, H, W]. */
    Tensor forward(Ctx c, Tensor x, Tensor encoderHiddenStates);
}
