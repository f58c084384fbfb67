package jdiffusion.weights.config;

import java.nio.file.Path;
import java.util.List;

/**
 * diffusers {@code UNet2DConditionModel} config for the Stable Diffusion 1.x/2.x layouts. Beware the
 * naming: here {@code attention_head_dim} is the NUMBER of heads (per level), as in diffusers.
 *
 * @param heads            attention heads per level (from {@code attention_head_dim})
 * @param crossAttentionDim width of encoder_hidden_states, per level
 * @param transformerLayers transformer blocks per Transformer2DModel, per level
 */
public record UNet2DConditionConfig(
        int sampleSize, int inChannels, int outChannels, boolean centerInputSample,
        boolean flipSinToCos, int freqShift, int timeEmbeddingDim,
        List<String> downBlockTypes, String midBlockType, List<String> upBlockTypes, int[] blockOutChannels,
        int[] layersPerBlock, double midBlockScaleFactor, int downsamplePadding,
        int[] heads, int[] crossAttentionDim, int[] transformerLayers,
        int normNumGroups, double normEps, boolean useLinearProjection, boolean upcastAttention,
        int convInKernel, int convOutKernel) {

    public static final List<String> DOWN_BLOCKS = List.of("DownBlock2D", "CrossAttnDownBlock2D");
    public static final List<String> UP_BLOCKS = List.of("UpBlock2D", "CrossAttnUpBlock2D");

    public static UNet2DConditionConfig parse(Path file) {
        return parse(ConfigReader.read(file));
    }

    public static UNet2DConditionConfig parse(ConfigReader r) {
        r.className("UNet2DConditionModel");
        int sampleSize = r.squareSize("sample_size", 64);
        int in = r.positive("in_channels", 4);
        int out = r.positive("out_channels", 4);
        Limits.sample(r, "sample_size", in, sampleSize);
        boolean center = r.bool("center_input_sample", false);
        boolean flip = r.bool("flip_sin_to_cos", true);
        List<String> down = r.strings("down_block_types", List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"));
        String mid = r.string("mid_block_type", "UNetMidBlock2DCrossAttn", "UNetMidBlock2DCrossAttn");
        List<String> up = r.strings("up_block_types", List.of("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"));
        for (String b : down) if (!DOWN_BLOCKS.contains(b)) throw r.error("down_block_types", "block type '" + b + "' is not supported (supported: " + DOWN_BLOCKS + ")");
        for (String b : up) if (!UP_BLOCKS.contains(b)) throw r.error("up_block_types", "block type '" + b + "' is not supported (supported: " + UP_BLOCKS + ")");
        int[] ch = r.positives("block_out_channels", new int[]{320, 640, 1280, 1280});
        int levels = ch.length;
        r.require(down.size() == levels && up.size() == levels, "block_out_channels",
                levels + " levels, but " + down.size() + " down and " + up.size() + " up block types");
        Limits.levels(r, "block_out_channels", levels);
        int freqShift = Limits.freqShift(r, ch[0]);
        int[] lpb = r.perLevel("layers_per_block", levels, 1, Limits.MAX_LAYERS);
        if (lpb == null) lpb = filled(levels, 2);
        double midScale = r.positiveNumber("mid_block_scale_factor", 1);
        int dpad = r.integer("downsample_padding", 1, 0, 1);
        r.string("act_fn", "silu", "silu", "swish");
        int groups = r.positive("norm_num_groups", 32);
        Limits.divisibleByGroups(r, "norm_num_groups", ch, groups);
        double eps = r.positiveNumber("norm_eps", 1e-5);
        int[] cross = r.perLevel("cross_attention_dim", levels, 1, ConfigReader.MAX);
        if (cross == null) cross = filled(levels, 1280);
        int[] tl = r.perLevel("transformer_layers_per_block", levels, 1, Limits.MAX_LAYERS);
        if (tl == null) tl = filled(levels, 1);
        r.onlyDefault("reverse_transformer_layers_per_block", (Object) null);
        if (r.has("num_attention_heads"))
            throw r.error("num_attention_heads", "diffusers itself rejects num_attention_heads for UNet2DConditionModel; use attention_head_dim");
        r.inert("num_attention_heads");
        int[] heads = r.perLevel("attention_head_dim", levels, 1, ConfigReader.MAX);
        if (heads == null) heads = filled(levels, 8);
        for (int i = 0; i < levels; i++)
            r.require(ch[i] % heads[i] == 0, "attention_head_dim", "level " + i + ": " + ch[i] + " channels are not divisible by " + heads[i] + " heads");
        boolean linearProj = r.bool("use_linear_projection", false);
        boolean upcast = r.bool("upcast_attention", false); // float32 compute: upcasting is a no-op
        r.string("resnet_time_scale_shift", "default", "default");
        r.string("time_embedding_type", "positional", "positional");
        Integer ted = r.nullableInteger("time_embedding_dim", 1, ConfigReader.MAX);
        // odd kernels keep the size with padding (k−1)/2; the bound keeps k² × channels² within reason
        int convIn = r.integer("conv_in_kernel", 3, 1, 31);
        int convOut = r.integer("conv_out_kernel", 3, 1, 31);
        r.require(convIn % 2 == 1, "conv_in_kernel", "kernel size " + convIn + " must be odd (diffusers pads by (k−1)/2)");
        r.require(convOut % 2 == 1, "conv_out_kernel", "kernel size " + convOut + " must be odd (diffusers pads by (k−1)/2)");
        r.onlyDefault("only_cross_attention", false);
        r.onlyDefault("dual_cross_attention", false);
        r.onlyDefault("class_embed_type", (Object) null);
        r.onlyDefault("num_class_embeds", (Object) null);
        r.onlyDefault("class_embeddings_concat", false);
        r.onlyDefault("addition_embed_type", (Object) null);
        r.onlyDefault("addition_time_embed_dim", (Object) null);
        r.onlyDefault("encoder_hid_dim", (Object) null);
        r.onlyDefault("encoder_hid_dim_type", (Object) null);
        r.onlyDefault("projection_class_embeddings_input_dim", (Object) null);
        r.onlyDefault("time_cond_proj_dim", (Object) null);
        r.onlyDefault("time_embedding_act_fn", (Object) null);
        r.onlyDefault("timestep_post_act", (Object) null);
        r.onlyDefault("cross_attention_norm", (Object) null);
        r.onlyDefault("mid_block_only_cross_attention", (Object) null, false);
        r.onlyDefault("resnet_skip_time_act", false);
        r.onlyDefault("resnet_out_scale_factor", 1.0);
        r.onlyDefault("attention_type", "default");
        // inert at inference: dropout; the head count of an addition embedding that is not configured
        r.inert("dropout", "addition_embed_type_num_heads");
        r.finish();
        return new UNet2DConditionConfig(sampleSize, in, out, center, flip, freqShift, ted == null ? Limits.timeEmbeddingDim(r, ch[0]) : ted,
                down, mid, up, ch, lpb, midScale, dpad, heads, cross, tl, groups, eps, linearProj, upcast, convIn, convOut);
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
