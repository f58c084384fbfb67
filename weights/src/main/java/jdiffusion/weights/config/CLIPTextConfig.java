package jdiffusion.weights.config;

import java.nio.file.Path;
import java.util.List;

/**
 * transformers' {@code CLIPTextConfig}, as a Stable Diffusion pipeline's {@code text_encoder/config.json} holds it
 * for a {@code CLIPTextModel} (SD 1.x: OpenAI CLIP ViT-L/14's text tower, quick_gelu; SD 2.x: OpenCLIP ViT-H/14's,
 * gelu). Defaults are transformers' own.
 *
 * @param hiddenAct  the MLP activation: "quick_gelu" (x·sigmoid(1.702x)) or "gelu" (exact, erf)
 * @param eosTokenId where the pooled output is taken: 2 is transformers' legacy marker meaning "the position of the
 *                   largest id" (old configs, e.g. SD 1.5's and 2.x's); any other value, the first position holding it
 */
public record CLIPTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
                             int maxPositionEmbeddings, String hiddenAct, double layerNormEps, int bosTokenId, int eosTokenId,
                             int padTokenId) {

    public static final List<String> ACTIVATIONS = List.of("quick_gelu", "gelu");

    public static CLIPTextConfig parse(Path file) {
        return parse(ConfigReader.read(file));
    }

    public static CLIPTextConfig parse(ConfigReader r) {
        List<String> arch = r.strings("architectures", List.of("CLIPTextModel"));
        if (!arch.equals(List.of("CLIPTextModel")))
            throw r.error("architectures", arch + " is not supported (supported: [CLIPTextModel], the text encoder of SD 1.x/2.x)");
        r.string("model_type", "clip_text_model", "clip_text_model");
        int vocab = r.positive("vocab_size", 49408);
        int hidden = r.positive("hidden_size", 512);
        int inter = r.positive("intermediate_size", 2048);
        int layers = r.integer("num_hidden_layers", 12, 1, 256);
        int heads = r.positive("num_attention_heads", 8);
        if (hidden % heads != 0)
            throw r.error("num_attention_heads", hidden + " (hidden_size) is not divisible by " + heads + " heads");
        int maxPos = r.positive("max_position_embeddings", 77);
        String act = r.string("hidden_act", "quick_gelu");
        if (!ACTIVATIONS.contains(act))
            throw r.error("hidden_act", "value '" + act + "' is not supported (supported: " + String.join(", ", ACTIVATIONS)
                    + "; SD 1.x uses quick_gelu, SD 2.x gelu)");
        double eps = r.positiveNumber("layer_norm_eps", 1e-5);
        int bos = r.integer("bos_token_id", 49406, 0, ConfigReader.MAX);
        int eos = r.integer("eos_token_id", 49407, 0, ConfigReader.MAX);
        int pad = r.integer("pad_token_id", 1, 0, ConfigReader.MAX);
        if (eos < 0 || eos >= vocab) throw r.error("eos_token_id", eos + " is not an id of the vocabulary (0.." + (vocab - 1) + ")");
        // inert at inference: dropout; projection_dim belongs to CLIPTextModelWithProjection; the initialisers and
        // bos/pad ids act in training only; torch_dtype is the file's dtype, which the weights say themselves
        r.inert("attention_dropout", "dropout", "projection_dim", "initializer_range", "initializer_factor", "torch_dtype",
                "transformers_version");
        r.finish();
        return new CLIPTextConfig(vocab, hidden, inter, layers, heads, maxPos, act, eps, bos, eos, pad);
    }

    /** Whether the pooled output uses transformers' legacy rule (eos_token_id == 2: the position of the largest id). */
    public boolean legacyPooling() {
        return eosTokenId == 2;
    }
}
