package jdiffusion.nn;

import jdiffusion.tensor.Tensor;
import jdiffusion.weights.CheckpointReader;
import jdiffusion.weights.WeightStore;
import jdiffusion.weights.config.AutoencoderKLConfig;
import jdiffusion.weights.layout.ModelFolder;

import java.util.ArrayList;
import java.util.List;

/**
 * The decoder half of diffusers' AutoencoderKL (Rombach et al. 2022, §3): latents → image.
 * <pre>
 *   z [N, latent, h, w] --post_quant_conv (1×1)--> --decoder.conv_in--> [N, C_last, h, w]
 *   decoder.mid_block (resnet, single-head attention, resnet)
 *   decoder.up_blocks.k (UpDecoderBlock2D: layers_per_block+1 resnets, then 2× upsample except last)
 *   conv_norm_out + SiLU + conv_out --> [N, out, h·2^(L−1), w·2^(L−1)]
 * </pre>
 * The encoder's weights (encoder.*, quant_conv) are present in SD folders and deliberately not loaded.
 */
public final class VaeDecoder {
    private final AutoencoderKLConfig config;
    private final Conv2d postQuantConv, convIn, convOut;
    private final MidBlock mid;
    private final List<UpBlock> upBlocks;
    private final GroupNorm convNormOut;
    private final long parameterCount;

    private VaeDecoder(AutoencoderKLConfig config, Conv2d postQuantConv, Conv2d convIn, MidBlock mid, List<UpBlock> up,
                       GroupNorm convNormOut, Conv2d convOut, long parameterCount) {
        this.config = config;
        this.parameterCount = parameterCount;
        this.postQuantConv = postQuantConv;
        this.convIn = convIn;
        this.mid = mid;
        this.upBlocks = up;
        this.convNormOut = convNormOut;
        this.convOut = convOut;
    }

    public static VaeDecoder load(ModelFolder folder) {
        AutoencoderKLConfig cfg = AutoencoderKLConfig.parse(folder.config());
        try (WeightStore store = folder.openWeights()) {
            CheckpointReader r = new CheckpointReader(store);
            r.skipPrefix("encoder.");
            r.skipPrefix("quant_conv.");
            long[] count = {0};
            VaeDecoder d = build(cfg, new Params(counting(ParamSource.of(r), count)), count);
            r.finish("AutoencoderKL decoder");
            return d;
        }
    }

    /** The decoder of {@code configFile} with parameters from {@code source} (e.g. seeded random ones, for benchmarks). */
    public static VaeDecoder fromConfig(java.nio.file.Path configFile, ParamSource source) {
        AutoencoderKLConfig cfg = AutoencoderKLConfig.parse(configFile);
        long[] count = {0};
        return build(cfg, new Params(counting(source, count)), count);
    }

    /** {@code source}, adding the number of values it hands out to {@code count[0]}. */
    private static ParamSource counting(ParamSource source, long[] count) {
        return new ParamSource() {
            @Override
            public float[] take(String key, int... shape) {
                float[] v = source.take(key, shape);
                if (v != null) count[0] += v.length;
                return v;
            }

            @Override
            public boolean has(String key) {
                return source.has(key);
            }

            @Override
            public jdiffusion.weights.DType dtype(String key) {
                return source.dtype(key);
            }
        };
    }

    /** Builds the decoder; {@code count[0]} holds the parameter count once every parameter has been taken. */
    static VaeDecoder build(AutoencoderKLConfig cfg, Params p, long[] count) {
        int[] ch = cfg.blockOutChannels();
        int levels = ch.length, groups = cfg.normNumGroups(), latent = cfg.latentChannels();
        double eps = 1e-6;
        Conv2d pq = cfg.usePostQuantConv() ? Conv2d.load(p.at("post_quant_conv"), latent, latent, 1, 1, 0) : null;
        Params d = p.at("decoder");
        int top = ch[levels - 1];
        Conv2d convIn = Conv2d.load(d.at("conv_in"), latent, top, 3, 1, 1);
        Params mp = d.at("mid_block");
        MidBlock mid = new MidBlock(
                List.of(ResnetBlock2D.load(mp.at("resnets", 0), top, top, 0, groups, eps, 1.0),
                        ResnetBlock2D.load(mp.at("resnets", 1), top, top, 0, groups, eps, 1.0)),
                cfg.midBlockAddAttention() ? List.of(Attention.loadSpatial(mp.at("attentions", 0), top, top, groups, eps, 1.0)) : List.of());
        List<UpBlock> up = new ArrayList<>();
        int out = top;
        for (int k = 0; k < levels; k++) {
            int prev = out;
            out = ch[levels - 1 - k];
            Params bp = d.at("up_blocks", k);
            List<ResnetBlock2D> resnets = new ArrayList<>();
            for (int l = 0; l < cfg.layersPerBlock() + 1; l++)
                resnets.add(ResnetBlock2D.load(bp.at("resnets", l), l == 0 ? prev : out, out, 0, groups, eps, 1.0));
            Upsample2D us = k < levels - 1 ? Upsample2D.load(bp.at("upsamplers", 0), out) : null;
            up.add(new UpBlock(bp.path(), levels - 1 - k, resnets, List.of(), us));
        }
        GroupNorm normOut = GroupNorm.load(d.at("conv_norm_out"), groups, ch[0], eps);
        Conv2d convOut = Conv2d.load(d.at("conv_out"), ch[0], cfg.outChannels(), 3, 1, 1);
        return new VaeDecoder(cfg, pq, convIn, mid, up, normOut, convOut, count[0]);
    }

    public AutoencoderKLConfig config() {
        return config;
    }

    /** Parameters of the decoder (post_quant_conv and decoder.*; the encoder is not loaded). */
    public long parameterCount() {
        return parameterCount;
    }

    /** The image is this many times the latent's height and width (2^(levels − 1)). */
    public int scaleFactor() {
        return 1 << (config.blockOutChannels().length - 1);
    }

    /** vae.decode(z).sample: latents [N, latent, h, w] (already divided by the scaling factor) → image in [-1, 1]. */
    public Tensor decode(Ctx c, Tensor z) {
        if (z.rank() != 4 || z.dim(1) != config.latentChannels())
            throw new IllegalArgumentException("latents must be [N, " + config.latentChannels() + ", h, w], got " + z.shapeString());
        return c.pass(() -> {
            Tensor q = postQuantConv == null ? z : postQuantConv.forward(c, z);                 // [N, latent, h, w]
            Tensor x = convIn.forward(c, q);                                                     // [N, C_last, h, w]
            if (q != z) q.release();
            x = replace(x, mid.forward(c, x, null, null));
            for (UpBlock blk : upBlocks) x = replace(x, decoderBlock(c, blk, x));
            Tensor normed = convNormOut.forwardSilu(c, x);
            x.release();
            Tensor out = convOut.forward(c, normed);                                             // [N, out, H, W]
            normed.release();
            return out;
        });
    }

    /** {@code next}, the output computed from {@code prev}, after releasing {@code prev}. */
    private static Tensor replace(Tensor prev, Tensor next) {
        if (next != prev) prev.release();
        return next;
    }

    /** UpDecoderBlock2D: resnets without skip connections or time embedding, then the upsampler. */
    private static Tensor decoderBlock(Ctx c, UpBlock blk, Tensor in) {
        Tensor x = in;
        for (ResnetBlock2D r : blk.resnets()) {
            Tensor next = r.forward(c, x, null);
            if (x != in) x.release();
            x = next;
        }
        if (blk.upsampler() == null) return x;
        Tensor up = blk.upsampler().forward(c, x);
        if (x != in) x.release();
        return up;
    }

    /** The SD pipeline's latent → decoder input: z / scaling_factor (+ shift_factor when configured). */
    public Tensor unscale(Ctx c, Tensor latents) {
        Tensor z = c.backend().scale(latents, (float) (1.0 / config.scalingFactor()));
        if (config.shiftFactor() != null) {
            if (z.isShapeOnly()) return z;
            Tensor shift = Tensor.zeros(z.shape());
            java.util.Arrays.fill(shift.data(), config.shiftFactor().floatValue());
            z = c.backend().add(z, shift);
        }
        return z;
    }
}
