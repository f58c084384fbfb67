package jdiffusion.nn;

/**
 * Identifies a module call inside a UNet forward pass, so that policies (DeepCache, cross-attention
 * caching) and probes can act on it without flags inside the blocks.
 *
 * @param key   the module's checkpoint key, e.g. "up_blocks.1.resnets.2" or "mid_block"
 * @param path  where it sits: DOWN, MID or UP path, or OTHER (conv_in, time embedding, ...)
 * @param kind  "resnet", "attention", "downsampler", "upsampler", "block", "mid_block", "attn2", ...
 * @param block block index in DeepCache's convention (up blocks mirrored: n_blocks − 1 − k)
 * @param layer layer index in DeepCache's convention (up path mirrored: n_resnets − 1 − position;
 *              a downsampler counts as layer n_resnets; upsampler and the whole block as layer 0)
 */
public record ModuleId(String key, Path path, String kind, int block, int layer) {
    public enum Path { DOWN, MID, UP, OTHER }
}
