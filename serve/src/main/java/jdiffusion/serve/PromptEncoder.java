package jdiffusion.serve;

import jdiffusion.tensor.Tensor;

/**
 * The one seam text-to-image plugs into: a prompt to the encoder_hidden_states a text-conditional UNet
 * attends to. No bundled model has one yet (the CLIP text encoder is being built), so every
 * {@link ServedModel} has none and requests with {@code prompt} are answered 400 ("this model has no
 * text encoder"). When one exists, {@link ServedModel#load} attaches it and {@link ImageRequest} builds
 * the conditioning as diffusers' pipelines do: cond = encode(prompt), uncond = encode(negative_prompt or "").
 */
@FunctionalInterface
public interface PromptEncoder {
    /** [tokens, dim] embeddings of one prompt ("" = the unconditional embedding). */
    Tensor encode(String prompt);
}
