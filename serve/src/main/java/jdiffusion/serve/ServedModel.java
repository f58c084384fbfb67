package jdiffusion.serve;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.nn.WeightPrecision;
import jdiffusion.sample.Pipeline;
import jdiffusion.schedule.Schedulers;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model the server keeps loaded: its pipeline, what it is conditioned on, and its schedulers resolved
 * once (the same {@link Schedulers#resolve} the CLI's --scheduler calls, so a request's scheduler is the
 * one {@code generate --scheduler NAME} would run).
 *
 * @param defaultScheduler the CLI name of the scheduler a request gets without {@code scheduler} (the folder's own)
 * @param schedulers       every scheduler by its CLI name, with the betas of the folder's scheduler config
 * @param prompts    the text encoder, or null when the model has none
 */
public record ServedModel(String name, Pipeline pipeline, Kind kind, String defaultScheduler,
                          Map<String, Schedulers.Resolved> schedulers, PromptEncoder prompts) {

    /** What a model is conditioned on. */
    public enum Kind {
        UNCONDITIONAL("unconditional"), CLASS_CONDITIONAL("class-conditional"), TEXT_CONDITIONAL("text-conditional");
        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    /** Loads a diffusers folder as the CLI does ({@link Pipeline#load}); scheduler notes go to stderr. */
    public static ServedModel load(Path dir, WeightPrecision precision) {
        Pipeline p = Pipeline.load(dir, precision);
        Kind kind = !p.unet().conditional() ? Kind.UNCONDITIONAL : p.classes() != null ? Kind.CLASS_CONDITIONAL : Kind.TEXT_CONDITIONAL;
        Map<String, Schedulers.Resolved> s = new LinkedHashMap<>();
        Schedulers.Resolved own = Schedulers.resolve(null, p.schedulerConfig(), 0);
        own.notes().forEach(n -> System.err.println("note: " + p.name() + ": " + n));
        for (String name : Schedulers.NAMES) s.put(name, Schedulers.resolve(name, p.schedulerConfig(), 0));
        return new ServedModel(p.name(), p, kind, Schedulers.name(own.config().kind()), Map.copyOf(s), null);
    }

    public int sampleSize() {
        return pipeline.unet().sampleSize();
    }

    /** The guidance scale a request gets when it gives none: the CLI's default for --class (3). */
    public double defaultGuidance() {
        return kind == Kind.CLASS_CONDITIONAL ? 3.0 : kind == Kind.TEXT_CONDITIONAL ? 7.5 : Double.NaN;
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
        o.put("channels", pipeline.unet().inChannels());
        o.put("vae", pipeline.vae() != null);
        o.put("default_scheduler", defaultScheduler);
        o.putPOJO("schedulers", Schedulers.NAMES);
        o.put("text_encoder", prompts != null);
        if (kind != Kind.UNCONDITIONAL) o.put("default_guidance", defaultGuidance());
        if (pipeline.classes() != null) o.putPOJO("classes", pipeline.classes().classNames());
        return o;
    }
}
