package jdiffusion.weights.layout;

import com.fasterxml.jackson.databind.JsonNode;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.config.ConfigReader;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A diffusers pipeline folder: {@code model_index.json} naming the components (each a sub-folder:
 * {@code unet/}, {@code vae/}, {@code scheduler/}, ...), as {@code DiffusionPipeline.save_pretrained}
 * writes it.
 *
 * @param components component name → [library, class] as given in model_index.json (class may be null)
 */
public record PipelineFolder(Path dir, String className, Map<String, String> components) {

    public static boolean looksLikePipeline(Path dir) {
        return Files.isRegularFile(dir.resolve("model_index.json"));
    }

    public static PipelineFolder open(Path dir) {
        Path index = dir.resolve("model_index.json");
        if (!Files.isRegularFile(index)) throw WeightsException.at(dir, null, "not a pipeline folder: model_index.json is missing");
        ConfigReader r = ConfigReader.read(index);
        String cls = r.json().path("_class_name").asText(null);
        Map<String, String> comps = new LinkedHashMap<>();
        for (var it = r.json().fields(); it.hasNext(); ) {
            var e = it.next();
            if (e.getKey().startsWith("_")) continue;
            JsonNode v = e.getValue();
            if (v.isArray() && v.size() == 2) {
                if (v.get(1).isNull()) continue; // a component deliberately left out, e.g. safety_checker: [null, null]
                comps.put(e.getKey(), v.get(1).asText());
            }
            // other entries are pipeline options (e.g. requires_safety_checker); they do not affect the denoiser
        }
        return new PipelineFolder(dir, cls, Collections.unmodifiableMap(comps));
    }

    public boolean has(String component) {
        return components.containsKey(component) && Files.isDirectory(dir.resolve(component));
    }

    /** The sub-folder of a component; an error naming the folder when it is not there. */
    public Path component(String name) {
        Path p = dir.resolve(name);
        if (!Files.isDirectory(p))
            throw WeightsException.at(dir, name, "component folder '" + name + "/' is missing" +
                    (components.containsKey(name) ? " (model_index.json lists it)" : ""));
        return p;
    }

    public Path schedulerConfig() {
        Path p = component("scheduler").resolve("scheduler_config.json");
        if (!Files.isRegularFile(p)) throw WeightsException.at(p, null, "scheduler config is missing");
        return p;
    }
}
