package jdiffusion.cli;

import jdiffusion.sample.ClassEmbeddings;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Pipeline;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** --cond FILE / --class NAME and --guidance: what a conditional model is conditioned on. */
public final class ConditioningOptions {
    @Option(names = "--cond", description = "safetensors with 'cond' and 'uncond' prompt embeddings [tokens, dim] (e.g. from a text encoder).")
    Path condFile;

    @Option(names = "--class", split = ",", description = "Class name(s) or indices for a class-conditional pipeline (comma-separated; cycled over the images; 'all' = every class).")
    List<String> classes;

    @Option(names = "--guidance", description = "Classifier-free guidance scale g: ε = ε_u + g·(ε_c − ε_u); ≤ 1 runs the conditional branch only. Default 7.5 with --cond, 3 with --class.")
    Double guidance;

    /** The conditioning for {@code images} images, or null for an unconditional model. */
    public Conditioning resolve(Pipeline p, int images) {
        boolean conditional = p.unet().conditional();
        if (!conditional) {
            if (condFile != null || classes != null || guidance != null)
                throw new IllegalArgumentException(p.name() + " is an unconditional model: --cond, --class and --guidance do not apply");
            return null;
        }
        if (condFile != null && classes != null) throw new IllegalArgumentException("give either --cond or --class, not both");
        if (guidance != null && (guidance.isNaN() || guidance < 0)) throw new IllegalArgumentException("--guidance must be ≥ 0, got " + guidance);
        if (condFile != null) {
            double g = guidance == null ? 7.5 : guidance;
            try (SafeTensorsFile f = SafeTensorsFile.open(condFile)) {
                Tensor c = Tensors.require(f, "cond");
                Tensor u = g > 1 ? Tensors.require(f, "uncond") : Tensors.optional(f, "uncond");
                return Conditioning.repeat(c, u, g, images);
            }
        }
        ClassEmbeddings ce = p.classes();
        if (ce == null)
            throw new IllegalArgumentException(p.name() + " is conditional (UNet2DConditionModel) but has no class_embeddings/: give prompt embeddings with --cond FILE");
        double g = guidance == null ? 3.0 : guidance;
        int[] idx = new int[images];
        for (int k = 0; k < images; k++) idx[k] = classIndex(ce, k);
        return ce.condition(idx, g);
    }

    /** The class image k is generated for: --class cycled over the images, every class in turn by default. */
    private int classIndex(ClassEmbeddings ce, int k) {
        List<String> names = classes == null ? List.of("all") : classes;
        if (names.size() == 1 && names.getFirst().equalsIgnoreCase("all")) return k % ce.classNames().size();
        return ce.indexOf(names.get(k % names.size()));
    }

    /**
     * What image k is conditioned on, for a manifest: {"class", name} or {"prompt", file}; null for an
     * unconditional model. Call after {@link #resolve}, which validates the options.
     */
    public String[] label(Pipeline p, int k) {
        if (!p.unet().conditional()) return null;
        if (condFile != null) return new String[]{"prompt", condFile.toString()};
        return new String[]{"class", p.classes().classNames().get(classIndex(p.classes(), k))};
    }
}
