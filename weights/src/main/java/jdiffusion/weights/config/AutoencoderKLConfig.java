package jdiffusion.weights.config;

import java.nio.file.Path;
import java.util.List;

/** diffusers {@code AutoencoderKL} config; jdiffusion runs the decoder (latents → image). */
public record AutoencoderKLConfig(
        int inChannels, int outChannels, int latentChannels, List<String> upBlockTypes, int[] blockOutChannels,
        int layersPerBlock, int normNumGroups, double scalingFactor, Double shiftFactor,
        boolean usePostQuantConv, boolean midBlockAddAttention, int sampleSize) {

    public static AutoencoderKLConfig parse(Path file) {
        return parse(ConfigReader.read(file));
    }

    public static AutoencoderKLConfig parse(ConfigReader r) {
        r.className("AutoencoderKL");
        int in = r.integer("in_channels", 3);
        int out = r.integer("out_channels", 3);
        int latent = r.integer("latent_channels", 4);
        List<String> down = r.strings("down_block_types", List.of("DownEncoderBlock2D"));
        for (String b : down) if (!b.equals("DownEncoderBlock2D")) throw r.error("down_block_types", "block type '" + b + "' is not supported (supported: DownEncoderBlock2D)");
        List<String> up = r.strings("up_block_types", List.of("UpDecoderBlock2D"));
        for (String b : up) if (!b.equals("UpDecoderBlock2D")) throw r.error("up_block_types", "block type '" + b + "' is not supported (supported: UpDecoderBlock2D)");
        int[] ch = r.integers("block_out_channels", new int[]{64});
        if (up.size() != ch.length) throw r.error("block_out_channels", ch.length + " levels but " + up.size() + " up block types");
        int lpb = r.integer("layers_per_block", 1);
        r.string("act_fn", "silu", "silu", "swish");
        int groups = r.integer("norm_num_groups", 32);
        int sampleSize = r.has("sample_size") && r.json().get("sample_size").isArray()
                ? r.integers("sample_size", null)[0] : r.integer("sample_size", 32);
        double scaling = r.number("scaling_factor", 0.18215);
        Double shift = r.has("shift_factor") ? r.number("shift_factor", 0) : null;
        r.inert("shift_factor");
        r.onlyDefault("latents_mean", (Object) null);
        r.onlyDefault("latents_std", (Object) null);
        boolean postQuant = r.bool("use_post_quant_conv", true);
        r.bool("use_quant_conv", true); // encoder side only
        boolean midAttn = r.bool("mid_block_add_attention", true);
        // force_upcast: a float16 hint; jdiffusion computes in float32
        r.inert("force_upcast");
        r.finish();
        return new AutoencoderKLConfig(in, out, latent, up, ch, lpb, groups, scaling, shift, postQuant, midAttn, sampleSize);
    }
}
