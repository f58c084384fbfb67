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
        int sampleSize = r.has("sample_size") && r.json().get("sample_size").isArray()
                ? r.integers("sample_size", null)[0] : r.integer("sample_size", 64);
        int in = r.integer("in_channels", 4);
        int out = r.integer("out_channels", 4);
        boolean center = r.bool("center_input_sample", false);
        boolean flip = r.bool("flip_sin_to_cos", true);
        int freqShift = r.integer("freq_shift", 0);
        List<String> down = r.strings("down_block_types", List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"));
        String mid = r.string("mid_block_type", "UNetMidBlock2DCrossAttn", "UNetMidBlock2DCrossAttn");
        List<String> up = r.strings("up_block_types", List.of("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"));
        for (String b : down) if (!DOWN_BLOCKS.contains(b)) throw r.error("down_block_types", "block type '" + b + "' is not supported (supported: " + DOWN_BLOCKS + ")");
        for (String b : up) if (!UP_BLOCKS.contains(b)) throw r.error("up_block_types", "block type '" + b + "' is not supported (supported: " + UP_BLOCKS + ")");
        int[] ch = r.integers("block_out_channels", new int[]{320, 640, 1280, 1280});
        int levels = ch.length;
        if (down.size() != levels || up.size() != levels)
            throw r.error("block_out_channels", levels + " levels, but " + down.size() + " down and " + up.size() + " up block types");
        int[] lpb = r.perLevel("layers_per_block", levels);
        if (lpb == null) lpb = filled(levels, 2);
        double midScale = r.number("mid_block_scale_factor", 1);
        int dpad = r.integer("downsample_padding", 1);
        if (dpad != 0 && dpad != 1) throw r.error("downsample_padding", "must be 0 or 1, found " + dpad);
        r.string("act_fn", "silu", "silu", "swish");
        int groups = r.integer("norm_num_groups", 32);
        double eps = r.number("norm_eps", 1e-5);
        int[] cross = r.perLevel("cross_attention_dim", levels);
        if (cross == null) cross = filled(levels, 1280);
        int[] tl = r.perLevel("transformer_layers_per_block", levels);
        if (tl == null) tl = filled(levels, 1);
        r.onlyDefault("reverse_transformer_layers_per_block", (Object) null);
        if (r.has("num_attention_heads"))
            throw r.error("num_attention_heads", "diffusers itself rejects num_attention_heads for UNet2DConditionModel; use attention_head_dim");
        r.inert("num_attention_heads");
        int[] heads = r.perLevel("attention_head_dim", levels);
        if (heads == null) heads = filled(levels, 8);
        for (int i = 0; i < levels; i++)
            if (ch[i] % heads[i] != 0) throw r.error("attention_head_dim", "level " + i + ": " + ch[i] + " channels are not divisible by " + heads[i] + " heads");
        boolean linearProj = r.bool("use_linear_projection", false);
        boolean upcast = r.bool("upcast_attention", false); // float32 compute: upcasting is a no-op
        r.string("resnet_time_scale_shift", "default", "default");
        r.string("time_embedding_type", "positional", "positional");
        Integer ted = r.nullableInteger("time_embedding_dim");
        int convIn = r.integer("conv_in_kernel", 3);
        int convOut = r.integer("conv_out_kernel", 3);
        if (convIn % 2 == 0 || convOut % 2 == 0) throw r.error("conv_in_kernel", "kernel sizes must be odd");
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
        return new UNet2DConditionConfig(sampleSize, in, out, center, flip, freqShift, ted == null ? ch[0] * 4 : ted,
                down, mid, up, ch, lpb, midScale, dpad, heads, cross, tl, groups, eps, linearProj, upcast, convIn, convOut);
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
