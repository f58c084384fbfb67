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
        int in = r.positive("in_channels", 3);
        int out = r.positive("out_channels", 3);
        int latent = r.positive("latent_channels", 4);
        List<String> down = r.strings("down_block_types", List.of("DownEncoderBlock2D"));
        for (String b : down) if (!b.equals("DownEncoderBlock2D")) throw r.error("down_block_types", "block type '" + b + "' is not supported (supported: DownEncoderBlock2D)");
        List<String> up = r.strings("up_block_types", List.of("UpDecoderBlock2D"));
        for (String b : up) if (!b.equals("UpDecoderBlock2D")) throw r.error("up_block_types", "block type '" + b + "' is not supported (supported: UpDecoderBlock2D)");
        int[] ch = r.positives("block_out_channels", new int[]{64});
        r.require(up.size() == ch.length, "block_out_channels", ch.length + " levels but " + up.size() + " up block types");
        r.require(down.size() == ch.length, "block_out_channels", ch.length + " levels but " + down.size() + " down block types");
        Limits.levels(r, "block_out_channels", ch.length);
        // the decoder runs layers_per_block + 1 resnets per up block, so 0 is a working value
        int lpb = r.integer("layers_per_block", 1, 0, Limits.MAX_LAYERS);
        r.string("act_fn", "silu", "silu", "swish");
        int groups = r.positive("norm_num_groups", 32);
        Limits.divisibleByGroups(r, "norm_num_groups", ch, groups);
        int sampleSize = r.squareSize("sample_size", 32);
        Limits.sample(r, "sample_size", out, sampleSize);
        double scaling = r.positiveNumber("scaling_factor", 0.18215);   // the pipeline divides latents by it
        Double shift = r.nullableNumber("shift_factor");
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
