package jdiffusion.sample;

import jdiffusion.nn.UNet;
import jdiffusion.nn.VaeDecoder;
import jdiffusion.nn.WeightPrecision;
import jdiffusion.text.PromptEncoder;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.layout.ModelFolder;
import jdiffusion.weights.layout.PipelineFolder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Everything a sampling run loads from a folder the user points at: a diffusers pipeline folder
 * ({@code model_index.json} with {@code unet/}, optional {@code vae/}, {@code scheduler/},
 * {@code class_embeddings/}, or {@code text_encoder/} + {@code tokenizer/} as a StableDiffusionPipeline has them)
 * or a single UNet folder (then a {@code scheduler_config.json} beside {@code config.json} is used if present).
 *
 * <p>Every component model_index.json names must be there; the components a Stable Diffusion folder may carry
 * for other purposes (safety_checker, feature_extractor, image_encoder) are not run, and {@link #notes} says so.
 * Any other component is an error rather than silently ignored.
 *
 * @param schedulerConfig the folder's scheduler config, or null when it has none
 * @param classes         the class table of a class-conditional pipeline, or null
 * @param text            the tokenizer and text encoder of a text-to-image pipeline, or null
 * @param notes           what the user should know about the folder (components not run), for the caller to print
 */
public record Pipeline(Path dir, String name, UNet unet, VaeDecoder vae, Path schedulerConfig, ClassEmbeddings classes,
                       PromptEncoder text, List<String> notes) {

    /** Components jdiffusion loads, with the classes it loads them as. */
    private static final Map<String, List<String>> LOADED = Map.of(
            "unet", List.of("UNet2DConditionModel", "UNet2DModel"), "vae", List.of("AutoencoderKL"),
            "text_encoder", List.of("CLIPTextModel"), "tokenizer", List.of("CLIPTokenizer"),
            "class_embeddings", List.of("ClassEmbeddings"));
    /** Components of a Stable Diffusion folder that do not take part in denoising and decoding. */
    private static final List<String> NOT_RUN = List.of("safety_checker", "feature_extractor", "image_encoder");

    public static Pipeline load(Path dir) {
        return load(dir, WeightPrecision.F32);
    }

    /** As {@link #load(Path)}, the UNet's (and text encoder's) weights kept in {@code precision}. */
    public static Pipeline load(Path dir, WeightPrecision precision) {
        String name = dir.toAbsolutePath().normalize().getFileName().toString();
        if (PipelineFolder.looksLikePipeline(dir)) return loadPipeline(PipelineFolder.open(dir), name, precision);
        ModelFolder mf = ModelFolder.open(dir);
        if (mf.className().equals("AutoencoderKL"))
            throw WeightsException.at(dir, null, "this is a VAE folder; sampling needs a UNet (or a pipeline folder with unet/ and vae/)");
        UNet unet = UNet.load(mf, precision);
        Path sched = dir.resolve("scheduler_config.json");
        return new Pipeline(dir, name, unet, null, Files.isRegularFile(sched) ? sched : null, null, null, List.of());
    }

    private static Pipeline loadPipeline(PipelineFolder pf, String name, WeightPrecision precision) {
        Path dir = pf.dir(), index = dir.resolve("model_index.json");
        List<String> notes = new ArrayList<>();
        for (var e : pf.components().entrySet()) {
            String comp = e.getKey(), cls = e.getValue();
            if (NOT_RUN.contains(comp)) {
                notes.add(dir + ": " + comp + " (" + cls + ") is not run: images are the pipeline's output without it");
                continue;
            }
            List<String> allowed = comp.equals("scheduler") ? List.of(cls) : LOADED.get(comp);   // scheduler_config.json names its class
            if (allowed == null)
                throw WeightsException.at(index, comp, "component '" + comp + "' (" + cls + ") is not one jdiffusion loads; it loads "
                        + "unet, vae, scheduler, text_encoder + tokenizer (transformers CLIPTextModel, CLIPTokenizer) and class_embeddings, "
                        + "and does not run " + String.join(", ", NOT_RUN));
            if (!allowed.contains(cls))
                throw WeightsException.at(index, comp, "class '" + cls + "' is not supported for " + comp + " (supported: " + allowed + ")");
            if (!Files.isDirectory(dir.resolve(comp)))
                throw WeightsException.at(index, comp, "model_index.json names the component '" + comp + "' (" + cls + "), but the folder "
                        + dir.resolve(comp) + " is missing");
        }
        if (!pf.has("unet")) throw WeightsException.at(index, "unet", "the pipeline has no unet/ folder");
        if (pf.has("text_encoder") != pf.has("tokenizer"))
            throw WeightsException.at(index, pf.has("text_encoder") ? "tokenizer" : "text_encoder",
                    "a text-to-image pipeline needs both text_encoder/ and tokenizer/; this one has only "
                            + (pf.has("text_encoder") ? "text_encoder/" : "tokenizer/"));
        if (pf.has("text_encoder") && pf.has("class_embeddings"))
            throw WeightsException.at(index, "class_embeddings", "a pipeline is conditioned on text (text_encoder/) or on classes "
                    + "(class_embeddings/), not both");
        UNet unet = UNet.load(ModelFolder.open(pf.component("unet")), precision);
        VaeDecoder vae = pf.has("vae") ? VaeDecoder.load(ModelFolder.open(pf.component("vae"))) : null;
        Path sched = pf.has("scheduler") ? pf.schedulerConfig() : null;
        ClassEmbeddings ce = pf.has("class_embeddings") ? ClassEmbeddings.load(pf.component("class_embeddings")) : null;
        PromptEncoder text = null;
        if (pf.has("text_encoder")) {
            text = PromptEncoder.load(pf.component("tokenizer"), pf.component("text_encoder"), precision);
            if (!unet.conditional())
                throw WeightsException.at(index, "text_encoder", "the unet is a UNet2DModel, which takes no text conditioning");
            if (text.hiddenSize() != unet.crossAttentionDim())
                throw WeightsException.at(dir.resolve("text_encoder").resolve("config.json"), "hidden_size", "the text encoder's hidden size "
                        + text.hiddenSize() + " differs from the UNet's cross_attention_dim " + unet.crossAttentionDim() + " ("
                        + dir.resolve("unet").resolve("config.json") + "): the UNet cannot attend to these embeddings");
        }
        return new Pipeline(dir, name, unet, vae, sched, ce, text, List.copyOf(notes));
    }

    /** Channels × size of the latent the UNet denoises, for a batch of k. */
    public int[] latentShape(int k) {
        return new int[]{k, unet.inChannels(), unet.sampleSize(), unet.sampleSize()};
    }

    /** [C, H, W] of the images the pipeline produces: the VAE's output (its decoder upsamples once per level but the last), or the UNet's sample without one. */
    public int[] imageShape() {
        if (vae == null) return new int[]{unet.outChannels(), unet.sampleSize(), unet.sampleSize()};
        var vc = vae.config();
        int s = unet.sampleSize() << (vc.blockOutChannels().length - 1);
        return new int[]{vc.outChannels(), s, s};
    }

    /** What the model is conditioned on, for messages: "unconditional", "class-conditional" or "text-to-image". */
    public String conditioningKind() {
        if (!unet.conditional()) return "unconditional";
        if (classes != null) return "class-conditional";
        return text != null ? "text-to-image" : "conditioned on prompt embeddings (no text encoder)";
    }
}
