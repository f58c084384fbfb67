package jdiffusion.nn;

import jdiffusion.kernels.HalfFloats;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.CheckpointReader;
import jdiffusion.weights.WeightStore;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.config.CLIPTextConfig;
import jdiffusion.weights.config.ConfigReader;
import jdiffusion.weights.layout.ModelFolder;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * transformers' CLIPTextModel (Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
 * Supervision", the text tower), the text encoder of Stable Diffusion 1.x and 2.x. Module names are the
 * checkpoint keys under {@code text_model.}:
 * <pre>
 *   input_ids [B, T] --embeddings.token_embedding + embeddings.position_embedding[0..T)--> hidden_states.0 [B, T, H]
 *   encoder.layers.i (pre-LN, causal self-attention, MLP; {@link ClipEncoderLayer}) --> hidden_states.(i+1)
 *   final_layer_norm(hidden_states.L) --> last_hidden_state [B, T, H]; pooled [B, H] = last_hidden_state at the EOS
 * </pre>
 * Weights may be stored F32, F16 or BF16; arithmetic is float32. The file's {@code text_model.embeddings.position_ids}
 * buffer is tolerated and not read (transformers ≥ 4.31 ignores it too and uses 0..T−1).
 */
public final class ClipTextModel {
    private static final String POSITION_IDS = "text_model.embeddings.position_ids";

    private final CLIPTextConfig config;
    private final Tensor tokenEmbedding, positionEmbedding;
    private final List<ClipEncoderLayer> layers;
    private final LayerNorm finalLayerNorm;
    private final long parameterCount;

    private ClipTextModel(CLIPTextConfig config, Tensor tokenEmbedding, Tensor positionEmbedding, List<ClipEncoderLayer> layers,
                          LayerNorm finalLayerNorm, long parameterCount) {
        this.config = config;
        this.tokenEmbedding = tokenEmbedding;
        this.positionEmbedding = positionEmbedding;
        this.layers = layers;
        this.finalLayerNorm = finalLayerNorm;
        this.parameterCount = parameterCount;
    }

    /** The outputs of {@link #forward}: what transformers returns with {@code output_hidden_states=True}. */
    public record Output(Tensor lastHiddenState, Tensor pooled, List<Tensor> hiddenStates) {
    }

    /** Loads a CLIPTextModel folder (config.json + model.safetensors); weights kept in {@code precision}. */
    public static ClipTextModel load(ModelFolder folder, WeightPrecision precision) {
        if (!folder.className().equals("CLIPTextModel"))
            throw WeightsException.at(folder.config(), "architectures", "'" + folder.className() + "' is not a CLIPTextModel");
        CLIPTextConfig cfg = CLIPTextConfig.parse(folder.config());
        try (WeightStore store = folder.openWeights()) {
            CheckpointReader r = new CheckpointReader(store);
            r.skipPrefix(POSITION_IDS);
            long params = 0;
            for (String k : store.keys()) if (!k.equals(POSITION_IDS)) params += store.entry(k).elementCount();
            ClipTextModel m = build(cfg, new Params(ParamSource.of(r), precision), params);
            r.finish("CLIPTextModel");
            return m;
        }
    }

    /** The model of {@code configFile} with parameters from {@code source} (e.g. seeded random ones, for benchmarks). */
    public static ClipTextModel fromConfig(Path configFile, ParamSource source, WeightPrecision precision) {
        CLIPTextConfig cfg = CLIPTextConfig.parse(ConfigReader.read(configFile));
        long[] count = {0};
        ParamSource counting = new ParamSource() {
            @Override
            public float[] take(String key, int... shape) {
                float[] v = source.take(key, shape);
                count[0] += v.length;
                return v;
            }

            @Override
            public boolean has(String key) {
                return source.has(key);
            }
        };
        ClipTextModel m = build(cfg, new Params(counting, precision), 0);
        return new ClipTextModel(cfg, m.tokenEmbedding, m.positionEmbedding, m.layers, m.finalLayerNorm, count[0]);
    }

    static ClipTextModel build(CLIPTextConfig cfg, Params p, long params) {
        int h = cfg.hiddenSize();
        Params tm = p.at("text_model"), emb = tm.at("embeddings");
        Tensor tok = emb.at("token_embedding").take("weight", cfg.vocabSize(), h);
        Tensor pos = emb.at("position_embedding").take("weight", cfg.maxPositionEmbeddings(), h);
        List<ClipEncoderLayer> layers = new ArrayList<>();
        boolean quick = cfg.hiddenAct().equals("quick_gelu");
        for (int i = 0; i < cfg.numHiddenLayers(); i++)
            layers.add(ClipEncoderLayer.load(tm.at("encoder").at("layers", i), h, cfg.intermediateSize(), cfg.numAttentionHeads(),
                    cfg.layerNormEps(), quick));
        LayerNorm fin = LayerNorm.load(tm.at("final_layer_norm"), h, cfg.layerNormEps());
        return new ClipTextModel(cfg, tok, pos, List.copyOf(layers), fin, params);
    }

    /** Every output: embeddings and each layer's output (L + 1 hidden states), last_hidden_state and pooled. */
    public Output forward(Ctx c, int[][] inputIds) {
        return c.pass(() -> allHidden(c, inputIds));
    }

    private Output allHidden(Ctx c, int[][] inputIds) {
        List<Tensor> hidden = new ArrayList<>();
        Tensor x = embed(inputIds);                                            // [B, T, H]
        hidden.add(x);
        for (ClipEncoderLayer layer : layers) {
            x = layer.forward(c, x);                                           // [B, T, H]
            hidden.add(x);
        }
        Tensor last = finalLayerNorm.forward(c, x);                            // [B, T, H]
        return new Output(last, pool(last, inputIds), List.copyOf(hidden));    // pooled [B, H]
    }

    /**
     * What Stable Diffusion feeds its UNet, as diffusers' {@code encode_prompt} computes it:
     * {@code final_layer_norm(hidden_states[-(clipSkip + 1)])}, i.e. last_hidden_state for clipSkip 0. Only the layers
     * needed are run.
     *
     * @param clipSkip 0..num_hidden_layers − 1: how many of the last layers to skip
     */
    public Tensor encode(Ctx c, int[][] inputIds, int clipSkip) {
        if (clipSkip < 0 || clipSkip >= layers.size())
            throw new IllegalArgumentException("clip skip " + clipSkip + " is out of range: this text encoder has " + layers.size()
                    + " layers, so clip skip must be 0.." + (layers.size() - 1));
        return c.pass(() -> {
            Tensor x = embed(inputIds);                                        // [B, T, H]
            for (int i = 0; i < layers.size() - clipSkip; i++) {
                Tensor next = layers.get(i).forward(c, x);
                x.release();
                x = next;
            }
            Tensor out = finalLayerNorm.forward(c, x);                         // [B, T, H]
            x.release();
            return out;
        });
    }

    /** The final layer norm alone (diffusers applies it to an earlier hidden state for clip_skip). */
    public Tensor finalLayerNorm(Ctx c, Tensor hiddenState) {
        return finalLayerNorm.forward(c, hiddenState);
    }

    /** token_embedding[ids] + position_embedding[0..T), summed in float32 as PyTorch does. */
    private Tensor embed(int[][] ids) {
        int b = ids.length, t = checkIds(ids), h = config.hiddenSize();
        Tensor out = Tensor.zeros(b, t, h);
        float[] o = out.data(), pos = positionEmbedding.data();
        float[] tok = tokenEmbedding.isHalf() ? null : tokenEmbedding.data();
        short[] half = tokenEmbedding.halfBits();
        boolean bf16 = tokenEmbedding.isBf16();
        for (int bi = 0; bi < b; bi++)
            for (int ti = 0; ti < t; ti++) {
                int row = ids[bi][ti] * h, dst = (bi * t + ti) * h;
                for (int e = 0; e < h; e++) {
                    float te = tok != null ? tok[row + e] : HalfFloats.toFloat(half[row + e], bf16);
                    o[dst + e] = te + pos[ti * h + e];
                }
            }
        return out;
    }

    /** Checks the ids (a non-empty rectangle of vocabulary ids, at most max_position_embeddings long); returns T. */
    private int checkIds(int[][] ids) {
        if (ids.length == 0 || ids[0].length == 0) throw new IllegalArgumentException("input_ids must be a non-empty [batch, tokens] array");
        int t = ids[0].length;
        if (t > config.maxPositionEmbeddings())
            throw new IllegalArgumentException("input_ids have " + t + " tokens, more than this text encoder's "
                    + config.maxPositionEmbeddings() + " positions (max_position_embeddings)");
        for (int bi = 0; bi < ids.length; bi++) {
            if (ids[bi].length != t)
                throw new IllegalArgumentException("input_ids row " + bi + " has " + ids[bi].length + " tokens, row 0 has " + t);
            for (int ti = 0; ti < t; ti++)
                if (ids[bi][ti] < 0 || ids[bi][ti] >= config.vocabSize())
                    throw new IllegalArgumentException("input_ids[" + bi + "][" + ti + "] = " + ids[bi][ti]
                            + " is not an id of this text encoder's vocabulary (0.." + (config.vocabSize() - 1) + ")");
        }
        return t;
    }

    /**
     * The pooled output, as transformers picks its position: with the legacy eos_token_id 2, the position of the
     * largest id (the first, if several); otherwise the first position holding eos_token_id (0 if none does).
     */
    private Tensor pool(Tensor last, int[][] ids) {
        int b = ids.length, t = ids[0].length, h = config.hiddenSize();
        Tensor out = Tensor.zeros(b, h);
        for (int bi = 0; bi < b; bi++) {
            int at = 0;
            for (int ti = 0; ti < t; ti++) {
                if (config.legacyPooling() ? ids[bi][ti] > ids[bi][at] : ids[bi][ti] == config.eosTokenId()) {
                    at = ti;
                    if (!config.legacyPooling()) break;
                }
            }
            System.arraycopy(last.data(), (bi * t + at) * h, out.data(), bi * h, h);
        }
        return out;
    }

    public CLIPTextConfig config() {
        return config;
    }

    public int numLayers() {
        return layers.size();
    }

    public int hiddenSize() {
        return config.hiddenSize();
    }

    public long parameterCount() {
        return parameterCount;
    }
}
