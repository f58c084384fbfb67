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
        String cls = r.string("_class_name", null);
        Map<String, String> comps = new LinkedHashMap<>();
        for (var it = r.json().properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            String name = e.getKey();
            if (name.startsWith("_")) continue;
            JsonNode v = e.getValue();
            if (!v.isArray()) {
                // a pipeline option (e.g. requires_safety_checker: false); it does not affect the denoiser
                r.require(v.isValueNode(), name, "expected a component [library, class] or a pipeline option value, found " + v);
                continue;
            }
            r.require(v.size() == 2 && (v.get(0).isTextual() || v.get(0).isNull()) && (v.get(1).isTextual() || v.get(1).isNull()), name,
                    "a component entry is [library, class] (two strings, or [null, null] for a left-out component), found " + v);
            if (v.get(1).isNull()) continue; // a component deliberately left out, e.g. safety_checker: [null, null]
            r.require(FOLDER_NAME.matcher(name).matches(), name, "a component name is the name of its sub-folder (letters, digits, '_', '-', '.'; not '.' or '..')");
            comps.put(name, v.get(1).asText());
        }
        return new PipelineFolder(dir, cls, Collections.unmodifiableMap(comps));
    }

    /** A plain folder name: no separators, not "." or "..". */
    private static final java.util.regex.Pattern FOLDER_NAME = java.util.regex.Pattern.compile("(?!\\.{1,2}$)[A-Za-z0-9_.-]+");

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
