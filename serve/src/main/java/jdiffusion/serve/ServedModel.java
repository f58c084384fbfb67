package jdiffusion.serve;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.nn.WeightPrecision;
import jdiffusion.sample.Pipeline;
import jdiffusion.schedule.Schedulers;
import jdiffusion.text.PromptEncoder;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model the server keeps loaded: its pipeline, what it is conditioned on, and its schedulers resolved
 * once (the same {@link Schedulers#resolve} the CLI's --scheduler calls, so a request's scheduler is the
 * one {@code generate --scheduler NAME} would run). A text-to-image model's prompts go through the
 * pipeline's own text encoder ({@link Pipeline#text}, via {@link jdiffusion.sample.Prompts}), as generate's do.
 *
 * @param defaultScheduler the CLI name of the scheduler a request gets without {@code scheduler} (the folder's own)
 * @param schedulers       every scheduler by its CLI name, with the betas of the folder's scheduler config
 */
public record ServedModel(String name, Pipeline pipeline, Kind kind, String defaultScheduler,
                          Map<String, Schedulers.Resolved> schedulers) {

    /** What a model is conditioned on (the labels are {@link Pipeline#conditioningKind}'s). */
    public enum Kind {
        UNCONDITIONAL("unconditional"), CLASS_CONDITIONAL("class-conditional"), TEXT_TO_IMAGE("text-to-image");
        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    /** Loads a diffusers folder as the CLI does ({@link Pipeline#load}); scheduler notes and folder notes go to stderr. */
    public static ServedModel load(Path dir, WeightPrecision precision) {
        Pipeline p = Pipeline.load(dir, precision);
        Kind kind = !p.unet().conditional() ? Kind.UNCONDITIONAL : p.classes() != null ? Kind.CLASS_CONDITIONAL
                : p.text() != null ? Kind.TEXT_TO_IMAGE : null;
        if (kind == null)
            throw new IllegalArgumentException(dir + ": " + p.name() + " is " + p.conditioningKind() + "; serve takes prompts as text, "
                    + "so a conditional UNet needs text_encoder/ and tokenizer/ (a Stable Diffusion folder) or class_embeddings/");
        p.notes().forEach(n -> System.err.println("note: " + n));
        Map<String, Schedulers.Resolved> s = new LinkedHashMap<>();
        Schedulers.Resolved own = Schedulers.resolve(null, p.schedulerConfig(), 0);
        own.notes().forEach(n -> System.err.println("note: " + p.name() + ": " + n));
        for (String name : Schedulers.NAMES) s.put(name, Schedulers.resolve(name, p.schedulerConfig(), 0));
        return new ServedModel(p.name(), p, kind, Schedulers.name(own.config().kind()), Map.copyOf(s));
    }

    /** The UNet's sample size (latent side for a pipeline with a VAE). */
    public int sampleSize() {
        return pipeline.unet().sampleSize();
    }

    /** The side of the images it makes: the VAE's output, or the UNet's sample without a VAE. */
    public int imageSize() {
        return pipeline.imageShape()[1];
    }

    /** The text encoder (tokenizer + CLIP text model) of a text-to-image model, else null. */
    public PromptEncoder text() {
        return pipeline.text();
    }

    /** The guidance scale a request gets when it gives none: the CLI's defaults (3 for --class, 7.5 for --prompt). */
    public double defaultGuidance() {
        return kind == Kind.CLASS_CONDITIONAL ? 3.0 : kind == Kind.TEXT_TO_IMAGE ? 7.5 : Double.NaN;
    }

    /** The entry of GET /v1/models. */
    public ObjectNode describe(boolean isDefault) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("name", name);
        o.put("default", isDefault);
        o.put("kind", kind.label);
        o.put("unet", pipeline.unet().conditional() ? "UNet2DConditionModel" : "UNet2DModel");
        o.put("parameters", pipeline.unet().parameterCount());
        o.put("sample_size", sampleSize());
        o.put("image_size", imageSize());
        o.put("channels", pipeline.unet().inChannels());
        o.put("vae", pipeline.vae() != null);
        o.put("default_scheduler", defaultScheduler);
        o.putPOJO("schedulers", Schedulers.NAMES);
        PromptEncoder t = text();
        if (t == null) o.putNull("text_encoder");
        else o.putObject("text_encoder")
                .put("class", "CLIPTextModel")
                .put("parameters", t.model().parameterCount())
                .put("hidden_size", t.hiddenSize())
                .put("layers", t.layers())
                .put("max_tokens", t.tokenizer().modelMaxLength())
                .put("max_clip_skip", t.layers() - 1);
        if (kind != Kind.UNCONDITIONAL) o.put("default_guidance", defaultGuidance());
        if (pipeline.classes() != null) o.putPOJO("classes", pipeline.classes().classNames());
        return o;
    }
}
