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

    static UNet build2D(UNet2DConfig cfg, Params p, long params) {
        int[] ch = cfg.blockOutChannels();
        int levels = ch.length, temb = cfg.timeEmbeddingDim(), groups = cfg.normNumGroups();
        double eps = cfg.normEps();
        Conv2d convIn = Conv2d.load(p.at("conv_in"), cfg.inChannels(), ch[0], 3, 1, 1);
        TimestepEmbedding te = TimestepEmbedding.load(p.at("time_embedding"), ch[0], temb);
        List<DownBlock> down = new ArrayList<>();
        int out = ch[0];
        for (int i = 0; i < levels; i++) {
            int in = out;
            out = ch[i];
            Params bp = p.at("down_blocks", i);
            List<ResnetBlock2D> resnets = new ArrayList<>();
            List<SpatialMixer> attns = new ArrayList<>();
            boolean attn = cfg.downBlockTypes().get(i).equals("AttnDownBlock2D");
            int headDim = cfg.attentionHeadDim() != null ? cfg.attentionHeadDim() : out;
            for (int l = 0; l < cfg.layersPerBlock(); l++) {
                resnets.add(ResnetBlock2D.load(bp.at("resnets", l), l == 0 ? in : out, out, temb, groups, eps, 1.0));
                if (attn) attns.add(Attention.loadSpatial(bp.at("attentions", l), out, headDim, groups, eps, 1.0));
            }
            Downsample2D ds = i < levels - 1 ? Downsample2D.load(bp.at("downsamplers", 0), out, cfg.downsamplePadding()) : null;
            down.add(new DownBlock(bp.path(), i, resnets, attns, ds));
        }
        Params mp = p.at("mid_block");
        int c = ch[levels - 1];
        double midScale = cfg.midBlockScaleFactor();
        int attnGroups = cfg.attnNormNumGroups() != null ? cfg.attnNormNumGroups() : groups;
        int midHeadDim = cfg.attentionHeadDim() != null ? cfg.attentionHeadDim() : c;
        MidBlock mid = new MidBlock(
                List.of(ResnetBlock2D.load(mp.at("resnets", 0), c, c, temb, groups, eps, midScale),
                        ResnetBlock2D.load(mp.at("resnets", 1), c, c, temb, groups, eps, midScale)),
                cfg.addAttention() ? List.of(Attention.loadSpatial(mp.at("attentions", 0), c, midHeadDim, attnGroups, eps, midScale)) : List.of());
        List<UpBlock> up = new ArrayList<>();
        out = ch[levels - 1];
        for (int k = 0; k < levels; k++) {
            int prev = out;
            out = ch[levels - 1 - k];
            int in = ch[Math.max(levels - 2 - k, 0)];
            Params bp = p.at("up_blocks", k);
            boolean attn = cfg.upBlockTypes().get(k).equals("AttnUpBlock2D");
            int headDim = cfg.attentionHeadDim() != null ? cfg.attentionHeadDim() : out;
            List<ResnetBlock2D> resnets = new ArrayList<>();
            List<SpatialMixer> attns = new ArrayList<>();
            int layers = cfg.layersPerBlock() + 1;
            for (int l = 0; l < layers; l++) {
                int skip = l == layers - 1 ? in : out;
                int rin = l == 0 ? prev : out;
                resnets.add(ResnetBlock2D.load(bp.at("resnets", l), rin + skip, out, temb, groups, eps, 1.0));
                if (attn) attns.add(Attention.loadSpatial(bp.at("attentions", l), out, headDim, groups, eps, 1.0));
            }
            Upsample2D us = k < levels - 1 ? Upsample2D.load(bp.at("upsamplers", 0), out) : null;
            up.add(new UpBlock(bp.path(), levels - 1 - k, resnets, attns, us));
        }
        GroupNorm normOut = GroupNorm.load(p.at("conv_norm_out"), groups, ch[0], eps);
        Conv2d convOut = Conv2d.load(p.at("conv_out"), ch[0], cfg.outChannels(), 3, 1, 1);
        return new UNet(Kind.UNET_2D, cfg.inChannels(), cfg.outChannels(), cfg.sampleSize(), -1, ch[0], cfg.freqShift(),
                cfg.flipSinToCos(), cfg.centerInputSample(), convIn, te, down, mid, up, normOut, convOut, params);
    }

    static UNet build2DCondition(UNet2DConditionConfig cfg, Params p, long params) {
        int[] ch = cfg.blockOutChannels();
        int levels = ch.length, temb = cfg.timeEmbeddingDim(), groups = cfg.normNumGroups();
        double eps = cfg.normEps();
        boolean linear = cfg.useLinearProjection();
        int kIn = cfg.convInKernel(), kOut = cfg.convOutKernel();
        Conv2d convIn = Conv2d.load(p.at("conv_in"), cfg.inChannels(), ch[0], kIn, 1, (kIn - 1) / 2);
        TimestepEmbedding te = TimestepEmbedding.load(p.at("time_embedding"), ch[0], temb);
        List<DownBlock> down = new ArrayList<>();
        int out = ch[0];
        for (int i = 0; i < levels; i++) {
            int in = out;
            out = ch[i];
            Params bp = p.at("down_blocks", i);
            boolean cross = cfg.downBlockTypes().get(i).equals("CrossAttnDownBlock2D");
            List<ResnetBlock2D> resnets = new ArrayList<>();
            List<SpatialMixer> attns = new ArrayList<>();
            for (int l = 0; l < cfg.layersPerBlock()[i]; l++) {
                resnets.add(ResnetBlock2D.load(bp.at("resnets", l), l == 0 ? in : out, out, temb, groups, eps, 1.0));
                if (cross) attns.add(Transformer2DModel.load(bp.at("attentions", l), out, cfg.heads()[i],
                        cfg.crossAttentionDim()[i], cfg.transformerLayers()[i], groups, linear));
            }
            Downsample2D ds = i < levels - 1 ? Downsample2D.load(bp.at("downsamplers", 0), out, cfg.downsamplePadding()) : null;
            down.add(new DownBlock(bp.path(), i, resnets, attns, ds));
        }
        Params mp = p.at("mid_block");
        int c = ch[levels - 1];
        double midScale = cfg.midBlockScaleFactor();
        MidBlock mid = new MidBlock(
                List.of(ResnetBlock2D.load(mp.at("resnets", 0), c, c, temb, groups, eps, midScale),
                        ResnetBlock2D.load(mp.at("resnets", 1), c, c, temb, groups, eps, midScale)),
                List.of(Transformer2DModel.load(mp.at("attentions", 0), c, cfg.heads()[levels - 1],
                        cfg.crossAttentionDim()[levels - 1], cfg.transformerLayers()[levels - 1], groups, linear)));
        List<UpBlock> up = new ArrayList<>();
        out = ch[levels - 1];
        for (int k = 0; k < levels; k++) {
            int level = levels - 1 - k;           // the down level this up block mirrors
            int prev = out;
            out = ch[level];
            int in = ch[Math.max(level - 1, 0)];
            Params bp = p.at("up_blocks", k);
            boolean cross = cfg.upBlockTypes().get(k).equals("CrossAttnUpBlock2D");
            List<ResnetBlock2D> resnets = new ArrayList<>();
            List<SpatialMixer> attns = new ArrayList<>();
            int layers = cfg.layersPerBlock()[level] + 1;
            for (int l = 0; l < layers; l++) {
                int skip = l == layers - 1 ? in : out;
                int rin = l == 0 ? prev : out;
                resnets.add(ResnetBlock2D.load(bp.at("resnets", l), rin + skip, out, temb, groups, eps, 1.0));
                if (cross) attns.add(Transformer2DModel.load(bp.at("attentions", l), out, cfg.heads()[level],
                        cfg.crossAttentionDim()[level], cfg.transformerLayers()[level], groups, linear));
            }
            Upsample2D us = k < levels - 1 ? Upsample2D.load(bp.at("upsamplers", 0), out) : null;
            up.add(new UpBlock(bp.path(), level, resnets, attns, us));
        }
        GroupNorm normOut = GroupNorm.load(p.at("conv_norm_out"), groups, ch[0], eps);
        Conv2d convOut = Conv2d.load(p.at("conv_out"), ch[0], cfg.outChannels(), kOut, 1, (kOut - 1) / 2);
        return new UNet(Kind.UNET_2D_CONDITION, cfg.inChannels(), cfg.outChannels(), cfg.sampleSize(),
                cfg.crossAttentionDim()[0], ch[0], cfg.freqShift(), cfg.flipSinToCos(), cfg.centerInputSample(),
                convIn, te, down, mid, up, normOut, convOut, params);
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
        var b = c.backend();
        var hooks = c.hooks();
        if (centerInputSample) sample = b.add(b.scale(sample, 2f), constant(sample, -1f));
        Tensor emb = timeEmbedding.forward(c, Timesteps.embed(timesteps, timeProjDim, flipSinToCos, freqShift)); // [N, 4·C0]
        hooks.intermediate("time_embedding", emb);
        Tensor tembAct = b.silu(emb);    // every resnet applies SiLU to the embedding first: do it once
        Tensor x = convIn.forward(c, sample);                                                          // [N, C0, H, W]
        hooks.intermediate("conv_in", x);
        List<Tensor> skips = new ArrayList<>();
        skips.add(x);
        for (DownBlock blk : downBlocks) {
            final Tensor in = x;
            DownBlock.Out o = hooks.module(new ModuleId(blk.key(), ModuleId.Path.DOWN, "block", blk.index(), 0),
                    () -> blk.forward(c, in, tembAct, context));
            x = o.hidden();
            skips.addAll(o.residuals());
            hooks.intermediate(blk.key(), x);
        }
        final Tensor midIn = x;
        x = hooks.module(new ModuleId("mid_block", ModuleId.Path.MID, "mid_block", 0, 0), () -> midBlock.forward(c, midIn, tembAct, context));
        hooks.intermediate("mid_block", x);
        for (UpBlock blk : upBlocks) {
            int n = blk.resnets().size();
            List<Tensor> mine = List.copyOf(skips.subList(skips.size() - n, skips.size()));
            skips.subList(skips.size() - n, skips.size()).clear();
            final Tensor in = x;
            x = hooks.module(new ModuleId(blk.key(), ModuleId.Path.UP, "block", blk.mirroredIndex(), 0),
                    () -> blk.forward(c, in, mine, tembAct, context));
            hooks.intermediate(blk.key(), x);
        }
        x = convOut.forward(c, convNormOut.forwardSilu(c, x));                                         // [N, out, H, W]
        hooks.intermediate("conv_out", x);
        return x;
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
