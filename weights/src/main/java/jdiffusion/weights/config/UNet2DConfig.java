package jdiffusion.weights.config;

import java.nio.file.Path;
import java.util.List;

/**
 * diffusers {@code UNet2DModel} config (the unconditional DDPM UNet), restricted to what jdiffusion
 * implements; every other option is rejected by {@link #parse} with a message naming it.
 *
 * @param attentionHeadDim the per-head dimension in this class (null = one head over all channels)
 * @param attnNormNumGroups group count of the mid-block attention norm (null = normNumGroups)
 */
public record UNet2DConfig(
        int sampleSize, int inChannels, int outChannels, boolean centerInputSample,
        boolean flipSinToCos, int freqShift, int timeEmbeddingDim,
        List<String> downBlockTypes, List<String> upBlockTypes, int[] blockOutChannels,
        int layersPerBlock, double midBlockScaleFactor, int downsamplePadding,
        Integer attentionHeadDim, int normNumGroups, Integer attnNormNumGroups, double normEps,
        boolean addAttention) {

    public static final List<String> DOWN_BLOCKS = List.of("DownBlock2D", "AttnDownBlock2D");
    public static final List<String> UP_BLOCKS = List.of("UpBlock2D", "AttnUpBlock2D");

    public static UNet2DConfig parse(Path file) {
        return parse(ConfigReader.read(file));
    }

    public static UNet2DConfig parse(ConfigReader r) {
        r.className("UNet2DModel");
        int sampleSize = r.has("sample_size") && r.json().get("sample_size").isArray()
                ? r.integers("sample_size", null)[0] : r.integer("sample_size", 32);
        int in = r.integer("in_channels", 3);
        int out = r.integer("out_channels", 3);
        boolean center = r.bool("center_input_sample", false);
        r.string("time_embedding_type", "positional", "positional");
        boolean flip = r.bool("flip_sin_to_cos", true);
        int freqShift = r.integer("freq_shift", 0);
        List<String> down = r.strings("down_block_types", List.of("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"));
        List<String> up = r.strings("up_block_types", List.of("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"));
        for (String b : down) if (!DOWN_BLOCKS.contains(b)) throw r.error("down_block_types", "block type '" + b + "' is not supported (supported: " + DOWN_BLOCKS + ")");
        for (String b : up) if (!UP_BLOCKS.contains(b)) throw r.error("up_block_types", "block type '" + b + "' is not supported (supported: " + UP_BLOCKS + ")");
        int[] ch = r.integers("block_out_channels", new int[]{224, 448, 672, 896});
        if (down.size() != ch.length || up.size() != ch.length)
            throw r.error("block_out_channels", ch.length + " levels, but " + down.size() + " down and " + up.size() + " up block types");
        Integer ted = r.nullableInteger("time_embedding_dim");
        int lpb = r.integer("layers_per_block", 2);
        double midScale = r.number("mid_block_scale_factor", 1);
        int dpad = r.integer("downsample_padding", 1);
        if (dpad != 0 && dpad != 1) throw r.error("downsample_padding", "must be 0 or 1, found " + dpad);
        r.string("downsample_type", "conv", "conv");
        r.string("upsample_type", "conv", "conv");
        r.string("act_fn", "silu", "silu", "swish");
        Integer headDim = r.nullableInteger("attention_head_dim");
        int groups = r.integer("norm_num_groups", 32);
        Integer attnGroups = r.nullableInteger("attn_norm_num_groups");
        double eps = r.number("norm_eps", 1e-5);
        r.string("resnet_time_scale_shift", "default", "default");
        boolean addAttention = r.bool("add_attention", true);
        r.string("mid_block_type", "UNetMidBlock2D", "UNetMidBlock2D");
        r.onlyDefault("class_embed_type", (Object) null);
        r.onlyDefault("num_class_embeds", (Object) null);
        // dropout is training-only; num_train_timesteps only matters for the "learned" time embedding
        r.inert("dropout", "num_train_timesteps");
        r.finish();
        return new UNet2DConfig(sampleSize, in, out, center, flip, freqShift, ted == null ? ch[0] * 4 : ted,
                down, up, ch, lpb, midScale, dpad, headDim, groups, attnGroups, eps, addAttention);
    }
}
