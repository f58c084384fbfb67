package jdiffusion.weights.layout;

import jdiffusion.weights.WeightStore;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.config.ConfigReader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A diffusers single-model folder, as {@code save_pretrained} writes it: {@code config.json} plus
 * {@code diffusion_pytorch_model.safetensors}, or the shards named by
 * {@code diffusion_pytorch_model.safetensors.index.json}, or a variant such as {@code .fp16.safetensors}.
 * A transformers model folder (a pipeline's {@code text_encoder/}: {@code config.json} naming its class in
 * {@code architectures}, plus {@code model.safetensors}) is read the same way.
 */
public record ModelFolder(Path dir, Path config, Path weights, String className) {

    private static final List<String> WEIGHT_NAMES = List.of(
            "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.safetensors.index.json",
            "model.safetensors", "model.safetensors.index.json");

    public static ModelFolder open(Path dir) {
        return open(dir, null);
    }

    /** @param variant a diffusers weight variant (e.g. "fp16"), or null for the plain files */
    public static ModelFolder open(Path dir, String variant) {
        if (!Files.isDirectory(dir)) throw WeightsException.at(dir, null, "model folder does not exist");
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            if (Files.isRegularFile(dir.resolve("model_index.json")))
                throw WeightsException.at(dir, null, "this is a pipeline folder (model_index.json); open it as a pipeline");
            throw WeightsException.at(dir, null, "not a diffusers model folder: config.json is missing");
        }
        var json = ConfigReader.read(config).json();
        var clsNode = json.path("_class_name");
        if (!clsNode.isMissingNode() && !clsNode.isTextual())
            throw WeightsException.at(config, "_class_name", "not a string: cannot tell which model this folder holds");
        String cls = clsNode.isTextual() ? clsNode.asText() : null;
        var arch = json.path("architectures");   // transformers names the class there
        if (cls == null && arch.isArray() && arch.size() == 1 && arch.get(0).isTextual()) cls = arch.get(0).asText();
        if (cls == null)
            throw WeightsException.at(config, "_class_name", "missing: cannot tell which model this folder holds "
                    + "(diffusers configs name it in _class_name, transformers configs in a one-entry architectures list)");
        return new ModelFolder(dir, config, findWeights(dir, variant), cls);
    }

    private static Path findWeights(Path dir, String variant) {
        for (String name : WEIGHT_NAMES) {
            if (variant != null) name = name.replace(".safetensors", "." + variant + ".safetensors");
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) return p;
        }
        List<String> present;
        try (Stream<Path> s = Files.list(dir)) {
            present = s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            present = List.of();
        }
        if (variant == null) {
            List<Path> variants = present.stream().filter(n -> n.startsWith("diffusion_pytorch_model.") && n.endsWith(".safetensors"))
                    .map(dir::resolve).toList();
            if (variants.size() == 1) return variants.getFirst();
        }
        boolean bin = present.stream().anyMatch(n -> n.endsWith(".bin") || n.endsWith(".ckpt") || n.endsWith(".pt"));
        throw WeightsException.at(dir, null, "no safetensors weights found (looked for " + WEIGHT_NAMES
                + (variant != null ? " with variant " + variant : "") + "; folder has " + present + ")"
                + (bin ? ". Pickle checkpoints (.bin/.ckpt/.pt) are not read: convert them to safetensors" : ""));
    }

    public WeightStore openWeights() {
        return WeightStore.open(weights);
    }
}
