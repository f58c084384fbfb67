package jdiffusion.text;

import jdiffusion.nn.ClipTextModel;
import jdiffusion.nn.Ctx;
import jdiffusion.nn.WeightPrecision;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.layout.ModelFolder;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pipeline's {@code tokenizer/} and {@code text_encoder/} together: prompts to the encoder_hidden_states a
 * text-conditional UNet attends to, as diffusers' {@code StableDiffusionPipeline.encode_prompt} computes them
 * (diffusers 0.31):
 * <pre>
 *   ids    = tokenizer(prompt, padding="max_length", max_length=77, truncation=True)     [K, 77]
 *   embeds = text_encoder(ids).last_hidden_state                                          clip_skip None (= 0)
 *          = final_layer_norm(text_encoder(ids, output_hidden_states=True).hidden_states[-(clip_skip + 1)])
 * </pre>
 * Each distinct prompt is encoded once (the encoder gives a prompt the same bits alone or in a batch), then the
 * rows are put back in the callers' order. Immutable and thread-safe: the tokenizer and the model hold no
 * per-call state.
 */
public final class PromptEncoder {
    private final ClipTokenizer tokenizer;
    private final ClipTextModel model;

    private PromptEncoder(ClipTokenizer tokenizer, ClipTextModel model) {
        this.tokenizer = tokenizer;
        this.model = model;
    }

    /**
     * The prompts encoded: {@code embeddings} [K, T, H], one row per prompt in the order given, and the
     * tokenizer's view of each prompt (its truncation warning, if any, for the caller to print).
     */
    public record Encoded(Tensor embeddings, List<TokenizedPrompt> tokens) {
    }

    /** Loads {@code tokenizerDir} (a CLIPTokenizer folder) and {@code textEncoderDir} (a CLIPTextModel folder) and checks they fit together. */
    public static PromptEncoder load(Path tokenizerDir, Path textEncoderDir, WeightPrecision precision) {
        ClipTokenizer tok = ClipTokenizer.load(tokenizerDir);
        ClipTextModel model = ClipTextModel.load(ModelFolder.open(textEncoderDir), precision);
        Path cfg = textEncoderDir.resolve("config.json");
        if (tok.idLimit() > model.config().vocabSize())
            throw WeightsException.at(cfg, "vocab_size", model.config().vocabSize() + " token embeddings, but the tokenizer in "
                    + tokenizerDir + " gives ids up to " + (tok.idLimit() - 1) + ": the two folders are not a pair");
        if (tok.modelMaxLength() > model.config().maxPositionEmbeddings())
            throw WeightsException.at(cfg, "max_position_embeddings", model.config().maxPositionEmbeddings()
                    + " positions, but the tokenizer in " + tokenizerDir + " makes sequences of " + tok.modelMaxLength()
                    + " tokens (model_max_length)");
        return new PromptEncoder(tok, model);
    }

    /**
     * The prompts' embeddings with the last {@code clipSkip} layers skipped (0 = last_hidden_state), as
     * diffusers' encode_prompt computes prompt_embeds; the negative prompt there is always encoded with 0.
     *
     * @param clipSkip 0 .. {@link #layers()} − 1
     */
    public Encoded encode(Ctx c, List<String> prompts, int clipSkip) {
        if (prompts.isEmpty()) throw new IllegalArgumentException("no prompts to encode");
        checkClipSkip(clipSkip);
        Map<String, Integer> distinct = new LinkedHashMap<>();
        List<TokenizedPrompt> tokens = new ArrayList<>();
        for (String p : prompts) {
            tokens.add(tokenizer.encode(p));
            distinct.putIfAbsent(p, distinct.size());
        }
        int[][] ids = new int[distinct.size()][];
        for (int i = 0, j = 0; i < prompts.size(); i++)
            if (distinct.get(prompts.get(i)) == j) ids[j++] = tokens.get(i).ids();
        Tensor rows = model.encode(c, ids, clipSkip);                          // [distinct, T, H]
        Tensor[] out = new Tensor[prompts.size()];
        for (int i = 0; i < out.length; i++) out[i] = rows.slice0(distinct.get(prompts.get(i)), 1);
        return new Encoded(Tensor.cat0(out), List.copyOf(tokens));             // [K, T, H]
    }

    /** Refuses a clip skip the encoder cannot apply, naming the range it can. */
    public void checkClipSkip(int clipSkip) {
        if (clipSkip < 0 || clipSkip >= layers())
            throw new IllegalArgumentException("clip skip " + clipSkip + " is out of range: this text encoder has " + layers()
                    + " layers, so clip skip must be 0.." + (layers() - 1) + " (1 = the penultimate layer's output)");
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public ClipTextModel model() {
        return model;
    }

    /** The encoder's hidden size: the width of the embeddings (a UNet's cross_attention_dim must equal it). */
    public int hiddenSize() {
        return model.hiddenSize();
    }

    public int layers() {
        return model.numLayers();
    }
}
