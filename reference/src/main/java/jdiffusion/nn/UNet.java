package jdiffusion.nn;

import jdiffusion.tensor.Tensor;
import jdiffusion.weights.CheckpointReader;
import jdiffusion.weights.WeightStore;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.config.UNet2DConditionConfig;
import jdiffusion.weights.config.UNet2DConfig;
import jdiffusion.weights.layout.ModelFolder;

import java.util.ArrayList;
import java.util.List;

/**
 * The denoiser of diffusers' UNet2DModel (unconditional, Ho et al. 2020) and UNet2DConditionModel
 * (Stable Diffusion, Rombach et al. 2022). Both share one forward pass; they differ in what sits in the
 * blocks' "attentions" (spatial self-attention vs Transformer2DModel with cross-attention), which the
 * two loaders decide. Module names mirror the checkpoint keys.
 *
 * <p>Forward pass (shapes for a batch N, base width C0, levels L):
 * <pre>
 *   sample [N, in, H, W] --conv_in--> [N, C0, H, W]
 *   timesteps [N] --sinusoid--> [N, C0] --time_embedding--> emb [N, 4·C0]
 *   down_blocks.i: [N, C_{i-1}, H/2^(i-1)] -> [N, C_i, H/2^i] (no downsample at the last level), skips kept
 *   mid_block:     [N, C_{L-1}, h, w] -> same
 *   up_blocks.k:   concat skips, resnets, attentions, upsample -> [N, C_{L-2-k}, 2h, 2w]
 *   conv_norm_out + SiLU + conv_out: [N, C0, H, W] -> [N, out, H, W]
 * </pre>
 */
public final class UNet {
    public enum Kind { UNET_2D, UNET_2D_CONDITION }

    private final Kind kind;
    private final int inChannels, outChannels, sampleSize, crossAttentionDim, timeProjDim, freqShift;
    private final boolean flipSinToCos, centerInputSample;
    private final Conv2d convIn, convOut;
    private final TimestepEmbedding timeEmbedding;
    private final List<DownBlock> downBlocks;
    private final MidBlock midBlock;
    private final List<UpBlock> upBlocks;
    private final GroupNorm convNormOut;
    private final long parameterCount;

    private UNet(Kind kind, int in, int out, int sampleSize, int crossDim, int timeProjDim, int freqShift, boolean flip,
                 boolean center, Conv2d convIn, TimestepEmbedding te, List<DownBlock> down, MidBlock mid, List<UpBlock> up,
                 GroupNorm normOut, Conv2d convOut, long parameterCount) {
        this.kind = kind;
        this.inChannels = in;
        this.outChannels = out;
        this.sampleSize = sampleSize;
        this.crossAttentionDim = crossDim;
        this.timeProjDim = timeProjDim;
        this.freqShift = freqShift;
        this.flipSinToCos = flip;
        this.centerInputSample = center;
        this.convIn = convIn;
        this.timeEmbedding = te;
        this.downBlocks = down;
        this.midBlock = mid;
        this.upBlocks = up;
        this.convNormOut = normOut;
        this.convOut = convOut;
        this.parameterCount = parameterCount;
    }

    /** Loads a UNet2DModel or UNet2DConditionModel folder (config.json + safetensors). */
    public static UNet load(ModelFolder folder) {
        return load(folder, WeightPrecision.F32);
    }

    /** Loads a UNet folder keeping conv/linear weights in {@code precision}. */
    public static UNet load(ModelFolder folder, WeightPrecision precision) {
        try (WeightStore store = folder.openWeights()) {
            CheckpointReader r = new CheckpointReader(store);
            long params = 0;
            for (String k : store.keys()) params += store.entry(k).elementCount();
            Params p = new Params(ParamSource.of(r), precision);
            UNet u = switch (folder.className()) {
                case "UNet2DModel" -> build2D(UNet2DConfig.parse(folder.config()), p, params);
                case "UNet2DConditionModel" -> build2DCondition(UNet2DConditionConfig.parse(folder.config()), p, params);
                default -> throw WeightsException.at(folder.config(), "_class_name",
                        "'" + folder.className() + "' is not a UNet jdiffusion implements (UNet2DModel, UNet2DConditionModel)");
            };
            r.finish(folder.className());
            return u;
        }
    }

    /**
     * Builds a UNet from a config file (UNet2DModel or UNet2DConditionModel) with parameters from
     * {@code source}, e.g. {@link ParamSource#random} for benchmarks of published architectures.
     */
    public static UNet fromConfig(java.nio.file.Path configFile, ParamSource source) {
        return fromConfig(configFile, source, WeightPrecision.F32);
    }

    /** As {@link #fromConfig(java.nio.file.Path, ParamSource)}, conv/linear weights kept in {@code precision}. */
    public static UNet fromConfig(java.nio.file.Path configFile, ParamSource source, WeightPrecision precision) {
        var r = jdiffusion.weights.config.ConfigReader.read(configFile);
        String cls = r.json().path("_class_name").asText();
        CountingSource counting = new CountingSource(source);
        UNet u = switch (cls) {
            case "UNet2DModel" -> build2D(UNet2DConfig.parse(r), new Params(counting, precision), 0);
            case "UNet2DConditionModel" -> build2DCondition(UNet2DConditionConfig.parse(r), new Params(counting, precision), 0);
            default -> throw WeightsException.at(configFile, "_class_name", "'" + cls + "' is not a UNet jdiffusion implements");
        };
        return u.withParameterCount(counting.count);
    }

    private UNet withParameterCount(long n) {
        return new UNet(kind, inChannels, outChannels, sampleSize, crossAttentionDim, timeProjDim, freqShift, flipSinToCos,
                centerInputSample, convIn, timeEmbedding, downBlocks, midBlock, upBlocks, convNormOut, convOut, n);
    }

    /** Counts the parameters a model takes. */
    private static final class CountingSource implements ParamSource {
        final ParamSource inner;
        long count;

        CountingSource(ParamSource inner) {
            this.inner = inner;
        }

        @Override
        public float[] take(String key, int... shape) {
            float[] v = inner.take(key, shape);
            if (v != null) count += v.length;
            return v;
        }

        @Override
        public boolean has(String key) {
            return inner.has(key);
        }

        @Override
        public jdiffusion.weights.DType dtype(String key) {
            return inner.dtype(key);
        }
    }

    /**
     * What differs between UNet2DModel and UNet2DConditionModel when the blocks are built — diffusers'
     * {@code get_down_block}/{@code get_up_block} choices: how many resnets a level has and what sits in a
     * block's "attentions" (nothing, spatial self-attention, or a Transformer2DModel with cross-attention).
     */
    private interface BlockFactory {
        /** layers_per_block of down level {@code level}. */
        int layers(int level);

        /** The mixer after resnet l of {@code down_blocks.i} (level i), or null when the block has none. */
        SpatialMixer downAttention(Params at, int i, int channels);

        /** The mixer after resnet l of {@code up_blocks.k} (mirroring down level {@code level}), or null. */
        SpatialMixer upAttention(Params at, int k, int level, int channels);

        /** The mid block's attentions (empty when the config has none). */
        List<SpatialMixer> midAttentions(Params at, int channels);
    }

    /** The numbers every UNet layout shares (the config keys of both classes). */
    private record Layout(Kind kind, int[] channels, int inChannels, int outChannels, int sampleSize, int crossAttentionDim,
                          int timeEmbeddingDim, int groups, double eps, int convInKernel, int convOutKernel,
                          int downsamplePadding, double midScale, int freqShift, boolean flipSinToCos, boolean centerInputSample) {
    }

    static UNet build2D(UNet2DConfig cfg, Params p, long params) {
        int groups = cfg.normNumGroups();
        int attnGroups = cfg.attnNormNumGroups() != null ? cfg.attnNormNumGroups() : groups;
        double eps = cfg.normEps(), midScale = cfg.midBlockScaleFactor();
        Layout layout = new Layout(Kind.UNET_2D, cfg.blockOutChannels(), cfg.inChannels(), cfg.outChannels(), cfg.sampleSize(), -1,
                cfg.timeEmbeddingDim(), groups, eps, 3, 3, cfg.downsamplePadding(), midScale,
                cfg.freqShift(), cfg.flipSinToCos(), cfg.centerInputSample());
        // attention_head_dim null = one head over all channels
        java.util.function.IntUnaryOperator headDim = ch -> cfg.attentionHeadDim() != null ? cfg.attentionHeadDim() : ch;
        return build(layout, p, params, new BlockFactory() {
            public int layers(int level) {
                return cfg.layersPerBlock();
            }

            public SpatialMixer downAttention(Params at, int i, int ch) {
                return cfg.downBlockTypes().get(i).equals("AttnDownBlock2D") ? Attention.loadSpatial(at, ch, headDim.applyAsInt(ch), groups, eps, 1.0) : null;
            }

            public SpatialMixer upAttention(Params at, int k, int level, int ch) {
                return cfg.upBlockTypes().get(k).equals("AttnUpBlock2D") ? Attention.loadSpatial(at, ch, headDim.applyAsInt(ch), groups, eps, 1.0) : null;
            }

            public List<SpatialMixer> midAttentions(Params at, int ch) {
                return cfg.addAttention() ? List.of(Attention.loadSpatial(at.at("attentions", 0), ch, headDim.applyAsInt(ch), attnGroups, eps, midScale)) : List.of();
            }
        });
    }

    static UNet build2DCondition(UNet2DConditionConfig cfg, Params p, long params) {
        int groups = cfg.normNumGroups();
        boolean linear = cfg.useLinearProjection();
        Layout layout = new Layout(Kind.UNET_2D_CONDITION, cfg.blockOutChannels(), cfg.inChannels(), cfg.outChannels(), cfg.sampleSize(),
                cfg.crossAttentionDim()[0], cfg.timeEmbeddingDim(), groups, cfg.normEps(), cfg.convInKernel(), cfg.convOutKernel(),
                cfg.downsamplePadding(), cfg.midBlockScaleFactor(), cfg.freqShift(), cfg.flipSinToCos(), cfg.centerInputSample());
        return build(layout, p, params, new BlockFactory() {
            public int layers(int level) {
                return cfg.layersPerBlock()[level];
            }

            private SpatialMixer transformer(Params at, int level, int ch) {
                return Transformer2DModel.load(at, ch, cfg.heads()[level], cfg.crossAttentionDim()[level], cfg.transformerLayers()[level], groups, linear);
            }

            public SpatialMixer downAttention(Params at, int i, int ch) {
                return cfg.downBlockTypes().get(i).equals("CrossAttnDownBlock2D") ? transformer(at, i, ch) : null;
            }

            public SpatialMixer upAttention(Params at, int k, int level, int ch) {
                return cfg.upBlockTypes().get(k).equals("CrossAttnUpBlock2D") ? transformer(at, level, ch) : null;
            }

            public List<SpatialMixer> midAttentions(Params at, int ch) {
                return List.of(transformer(at.at("attentions", 0), cfg.blockOutChannels().length - 1, ch));
            }
        });
    }

    /** The one UNet builder: conv_in, time embedding, down/mid/up blocks and the output head, blocks from {@code f}. */
    private static UNet build(Layout g, Params p, long params, BlockFactory f) {
        int[] ch = g.channels();
        int levels = ch.length, temb = g.timeEmbeddingDim(), groups = g.groups();
        double eps = g.eps();
        Conv2d convIn = Conv2d.load(p.at("conv_in"), g.inChannels(), ch[0], g.convInKernel(), 1, (g.convInKernel() - 1) / 2);
        TimestepEmbedding te = TimestepEmbedding.load(p.at("time_embedding"), ch[0], temb);
        List<DownBlock> down = new ArrayList<>();
        int out = ch[0];
        for (int i = 0; i < levels; i++) {
            int in = out;
            out = ch[i];
            Params bp = p.at("down_blocks", i);
            List<ResnetBlock2D> resnets = new ArrayList<>();
            List<SpatialMixer> attns = new ArrayList<>();
            for (int l = 0; l < f.layers(i); l++) {
                resnets.add(ResnetBlock2D.load(bp.at("resnets", l), l == 0 ? in : out, out, temb, groups, eps, 1.0));
                SpatialMixer a = f.downAttention(bp.at("attentions", l), i, out);
                if (a != null) attns.add(a);
            }
            Downsample2D ds = i < levels - 1 ? Downsample2D.load(bp.at("downsamplers", 0), out, g.downsamplePadding()) : null;
            down.add(new DownBlock(bp.path(), i, resnets, attns, ds));
        }
        Params mp = p.at("mid_block");
        int c = ch[levels - 1];
        MidBlock mid = new MidBlock(
                List.of(ResnetBlock2D.load(mp.at("resnets", 0), c, c, temb, groups, eps, g.midScale()),
                        ResnetBlock2D.load(mp.at("resnets", 1), c, c, temb, groups, eps, g.midScale())),
                f.midAttentions(mp, c));
        List<UpBlock> up = new ArrayList<>();
        out = ch[levels - 1];
        for (int k = 0; k < levels; k++) {
            int level = levels - 1 - k;           // the down level this up block mirrors
            int prev = out;
            out = ch[level];
            int in = ch[Math.max(level - 1, 0)];
            Params bp = p.at("up_blocks", k);
            List<ResnetBlock2D> resnets = new ArrayList<>();
            List<SpatialMixer> attns = new ArrayList<>();
            int layers = f.layers(level) + 1;
            for (int l = 0; l < layers; l++) {
                int skip = l == layers - 1 ? in : out;
                int rin = l == 0 ? prev : out;
                resnets.add(ResnetBlock2D.load(bp.at("resnets", l), rin + skip, out, temb, groups, eps, 1.0));
                SpatialMixer a = f.upAttention(bp.at("attentions", l), k, level, out);
                if (a != null) attns.add(a);
            }
            Upsample2D us = k < levels - 1 ? Upsample2D.load(bp.at("upsamplers", 0), out) : null;
            up.add(new UpBlock(bp.path(), level, resnets, attns, us));
        }
        GroupNorm normOut = GroupNorm.load(p.at("conv_norm_out"), groups, ch[0], eps);
        Conv2d convOut = Conv2d.load(p.at("conv_out"), ch[0], g.outChannels(), g.convOutKernel(), 1, (g.convOutKernel() - 1) / 2);
        return new UNet(g.kind(), g.inChannels(), g.outChannels(), g.sampleSize(), g.crossAttentionDim(), ch[0], g.freqShift(),
                g.flipSinToCos(), g.centerInputSample(), convIn, te, down, mid, up, normOut, convOut, params);
    }

    /**
     * One denoiser evaluation.
     *
     * @param sample    [N, in, H, W]; H and W divisible by 2^(levels−1)
     * @param timesteps one timestep per batch element
     * @param context   encoder_hidden_states [N, T, cross_attention_dim] for the conditional model, else null
     * @return the model output [N, out, H, W] (ε, v or x0, as the model was trained)
     */
    public Tensor forward(Ctx c, Tensor sample, float[] timesteps, Tensor context) {
        checkInputs(sample, timesteps, context);
        return c.pass(() -> run(c, sample, timesteps, context));
    }

    /**
     * The forward pass proper, inside the backend's arena pass: every tensor made here is released after
     * its last use (skip connections once their up block has consumed them), except the output.
     */
    private Tensor run(Ctx c, Tensor input, float[] timesteps, Tensor context) {
        var b = c.backend();
        var hooks = c.hooks();
        Tensor sample = input;
        if (centerInputSample) {
            Tensor twice = b.scale(input, 2f), minusOne = constant(input, -1f);
            sample = b.add(twice, minusOne);                                                           // 2·x − 1
            twice.release();
        }
        Tensor emb = timeEmbedding.forward(c, Timesteps.embed(timesteps, timeProjDim, flipSinToCos, freqShift)); // [N, 4·C0]
        c.intermediate("time_embedding", emb);
        Tensor tembAct = b.silu(emb);    // every resnet applies SiLU to the embedding first: do it once
        emb.release();
        Tensor x = convIn.forward(c, sample);                                                          // [N, C0, H, W]
        if (sample != input) sample.release();
        c.intermediate("conv_in", x);
        List<Tensor> skips = new ArrayList<>();
        skips.add(x);
        for (DownBlock blk : downBlocks) {
            final Tensor in = x;
            DownBlock.Out o = hooks.module(new ModuleId(blk.key(), ModuleId.Path.DOWN, "block", blk.index(), 0),
                    () -> blk.forward(c, in, tembAct, context));
            x = o.hidden();                                  // the last of its residuals: released as a skip
            skips.addAll(o.residuals());
            c.intermediate(blk.key(), x);
        }
        final Tensor midIn = x;
        x = hooks.module(new ModuleId("mid_block", ModuleId.Path.MID, "mid_block", 0, 0), () -> midBlock.forward(c, midIn, tembAct, context));
        c.intermediate("mid_block", x);
        for (UpBlock blk : upBlocks) {
            int n = blk.resnets().size();
            List<Tensor> mine = List.copyOf(skips.subList(skips.size() - n, skips.size()));
            skips.subList(skips.size() - n, skips.size()).clear();
            final Tensor in = x;
            x = hooks.module(new ModuleId(blk.key(), ModuleId.Path.UP, "block", blk.mirroredIndex(), 0),
                    () -> blk.forward(c, in, mine, tembAct, context));
            if (x != in && !mine.contains(in)) in.release();   // the mid block's or the previous up block's output
            for (Tensor s : mine) if (s != x) s.release();
            c.intermediate(blk.key(), x);
        }
        for (Tensor s : skips) if (s != x) s.release();          // none are left in a diffusers layout
        Tensor normed = convNormOut.forwardSilu(c, x);                                                 // [N, C0, H, W]
        x.release();
        Tensor out = convOut.forward(c, normed);                                                       // [N, out, H, W]
        normed.release();
        tembAct.release();
        c.intermediate("conv_out", out);
        return out;
    }

    private static Tensor constant(Tensor like, float v) {
        if (like.isShapeOnly()) return Tensor.shapeOnly(like.shape());   // a MAC-counting dry run
        Tensor t = Tensor.zeros(like.shape());
        java.util.Arrays.fill(t.data(), v);
        return t;
    }

    private void checkInputs(Tensor sample, float[] timesteps, Tensor context) {
        if (sample.rank() != 4 || sample.dim(1) != inChannels)
            throw new IllegalArgumentException("sample must be [N, " + inChannels + ", H, W], got " + sample.shapeString());
        int f = 1 << (downBlocks.size() - 1);
        if (sample.dim(2) % f != 0 || sample.dim(3) % f != 0)
            throw new IllegalArgumentException("sample height and width must be multiples of " + f + " for this UNet, got " + sample.shapeString());
        if (timesteps.length != sample.dim(0))
            throw new IllegalArgumentException("need one timestep per batch element: " + timesteps.length + " for batch " + sample.dim(0));
        if (kind == Kind.UNET_2D_CONDITION) {
            if (context == null) throw new IllegalArgumentException("UNet2DConditionModel needs encoder_hidden_states");
            if (context.rank() != 3 || context.dim(0) != sample.dim(0) || context.dim(2) != crossAttentionDim)
                throw new IllegalArgumentException("encoder_hidden_states must be [" + sample.dim(0) + ", T, " + crossAttentionDim + "], got " + context.shapeString());
        }
    }

    public Kind kind() {
        return kind;
    }

    public boolean conditional() {
        return kind == Kind.UNET_2D_CONDITION;
    }

    public int inChannels() {
        return inChannels;
    }

    public int outChannels() {
        return outChannels;
    }

    public int sampleSize() {
        return sampleSize;
    }

    public int crossAttentionDim() {
        return crossAttentionDim;
    }

    public long parameterCount() {
        return parameterCount;
    }

    public List<DownBlock> downBlocks() {
        return downBlocks;
    }

    public List<UpBlock> upBlocks() {
        return upBlocks;
    }

    public MidBlock midBlock() {
        return midBlock;
    }

    /** The factor by which H and W must be divisible. */
    public int sizeMultiple() {
        return 1 << (downBlocks.size() - 1);
    }
}
