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
        int sampleSize = r.squareSize("sample_size", 32);
        int in = r.positive("in_channels", 3);
        int out = r.positive("out_channels", 3);
        Limits.sample(r, "sample_size", in, sampleSize);
        boolean center = r.bool("center_input_sample", false);
        r.string("time_embedding_type", "positional", "positional");
        boolean flip = r.bool("flip_sin_to_cos", true);
        List<String> down = r.strings("down_block_types", List.of("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"));
        List<String> up = r.strings("up_block_types", List.of("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"));
        for (String b : down) if (!DOWN_BLOCKS.contains(b)) throw r.error("down_block_types", "block type '" + b + "' is not supported (supported: " + DOWN_BLOCKS + ")");
        for (String b : up) if (!UP_BLOCKS.contains(b)) throw r.error("up_block_types", "block type '" + b + "' is not supported (supported: " + UP_BLOCKS + ")");
        int[] ch = r.positives("block_out_channels", new int[]{224, 448, 672, 896});
        r.require(down.size() == ch.length && up.size() == ch.length, "block_out_channels",
                ch.length + " levels, but " + down.size() + " down and " + up.size() + " up block types");
        Limits.levels(r, "block_out_channels", ch.length);
        int freqShift = Limits.freqShift(r, ch[0]);
        Integer ted = r.nullableInteger("time_embedding_dim", 1, ConfigReader.MAX);
        int lpb = r.integer("layers_per_block", 2, 1, Limits.MAX_LAYERS);
        double midScale = r.positiveNumber("mid_block_scale_factor", 1);
        int dpad = r.integer("downsample_padding", 1, 0, 1);
        r.string("downsample_type", "conv", "conv");
        r.string("upsample_type", "conv", "conv");
        r.string("act_fn", "silu", "silu", "swish");
        Integer headDim = r.nullableInteger("attention_head_dim", 1, ConfigReader.MAX);
        int groups = r.positive("norm_num_groups", 32);
        Limits.divisibleByGroups(r, "norm_num_groups", ch, groups);
        boolean addAttention = r.bool("add_attention", true);
        Integer attnGroups = r.nullableInteger("attn_norm_num_groups", 1, ConfigReader.MAX);
        if (attnGroups != null && addAttention)
            r.require(ch[ch.length - 1] % attnGroups == 0, "attn_norm_num_groups",
                    "the mid block's " + ch[ch.length - 1] + " channels are not divisible into " + attnGroups + " groups");
        if (headDim != null) {
            for (int i = 0; i < ch.length; i++)
                if (down.get(i).equals("AttnDownBlock2D") || up.get(ch.length - 1 - i).equals("AttnUpBlock2D") || (addAttention && i == ch.length - 1))
                    r.require(ch[i] % headDim == 0, "attention_head_dim",
                            "level " + i + ": " + ch[i] + " channels are not divisible by attention_head_dim " + headDim);
        }
        double eps = r.positiveNumber("norm_eps", 1e-5);
        r.string("resnet_time_scale_shift", "default", "default");
        r.string("mid_block_type", "UNetMidBlock2D", "UNetMidBlock2D");
        r.onlyDefault("class_embed_type", (Object) null);
        r.onlyDefault("num_class_embeds", (Object) null);
        // dropout is training-only; num_train_timesteps only matters for the "learned" time embedding
        r.inert("dropout", "num_train_timesteps");
        r.finish();
        return new UNet2DConfig(sampleSize, in, out, center, flip, freqShift, ted == null ? Limits.timeEmbeddingDim(r, ch[0]) : ted,
                down, up, ch, lpb, midScale, dpad, headDim, groups, attnGroups, eps, addAttention);
    }
}
