package jdiffusion.sweep;

import jdiffusion.sample.ClassEmbeddings;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.MemoryBudget;
import jdiffusion.sample.Pipeline;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The images every configuration of a sweep generates, from the same seeds: groups (classes or prompts;
 * one group "all" for an unconditional model) × {@code perGroup} seeds, image j = group j / perGroup.
 * Image j's initial noise depends only on (seed, j) ({@link jdiffusion.sample.Generation}), so every
 * configuration and batching starts from the same x_T.
 *
 * @param all     conditioning for all images in order (null for an unconditional model)
 * @param classes the class index each image was generated for (null unless class-conditional)
 */
public record ImageSet(List<String> groups, int perGroup, Conditioning all, int[] classes) {

    public int images() {
        return groups.size() * perGroup;
    }

    public String groupOf(int image) {
        return groups.get(image / perGroup);
    }

    /** The images a comparison grid shows: the first 8 seeds, or the first seed of each group (up to 10). */
    public int[] sampleIndices() {
        if (groups.size() == 1) {
            int n = Math.min(8, perGroup);
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) idx[i] = i;
            return idx;
        }
        int n = Math.min(10, groups.size());
        int[] idx = new int[n];
        for (int g = 0; g < n; g++) idx[g] = g * perGroup;
        return idx;
    }

    /**
     * @param classNames class names or indices for a class-conditional pipeline (null / "all" = every class)
     * @param condFile   prompt embeddings for a conditional UNet without class embeddings: keys cond and
     *                   uncond, [tokens, dim] (one prompt) or [prompts, tokens, dim]
     * @param guidance   null = 3 for classes, 7.5 for prompt embeddings
     */
    public static ImageSet of(Pipeline p, int perGroup, List<String> classNames, Path condFile, Double guidance) {
        if (perGroup < 1) throw new IllegalArgumentException("--seeds must be at least 1, got " + perGroup);
        if (!p.unet().conditional()) {
            if (classNames != null || condFile != null || guidance != null)
                throw new IllegalArgumentException(p.name() + " is an unconditional model: --classes, --cond and --guidance do not apply");
            return new ImageSet(List.of("all"), perGroup, null, null);
        }
        if (guidance != null && (guidance.isNaN() || guidance < 0)) throw new IllegalArgumentException("--guidance must be ≥ 0, got " + guidance);
        if (condFile != null) {
            if (classNames != null) throw new IllegalArgumentException("give either --classes or --cond, not both");
            double g = guidance == null ? 7.5 : guidance;
            try (SafeTensorsFile f = SafeTensorsFile.open(condFile)) {
                Tensor c = rank3(f, "cond", condFile);
                Tensor u = f.contains("uncond") ? rank3(f, "uncond", condFile) : null;
                if (g > 1 && u == null) throw new IllegalArgumentException(condFile + " has no 'uncond' embeddings, needed for guidance " + g);
                requireFits(c.dim(0), perGroup, c.dim(1), c.dim(2));
                if (u != null && u.dim(0) == 1 && c.dim(0) > 1) u = Tensor.cat0(java.util.Collections.nCopies(c.dim(0), u).toArray(Tensor[]::new));
                List<String> groups = new ArrayList<>();
                List<Tensor> cs = new ArrayList<>(), us = new ArrayList<>();
                for (int k = 0; k < c.dim(0); k++) {
                    groups.add(c.dim(0) == 1 ? "prompt" : "prompt-" + k);
                    for (int s = 0; s < perGroup; s++) {
                        cs.add(c.slice0(k, 1));
                        if (u != null) us.add(u.slice0(k, 1));
                    }
                }
                return new ImageSet(List.copyOf(groups), perGroup, new Conditioning(Tensor.cat0(cs.toArray(Tensor[]::new)),
                        u == null ? null : Tensor.cat0(us.toArray(Tensor[]::new)), g), null);
            }
        }
        ClassEmbeddings ce = p.classes();
        if (ce == null)
            throw new IllegalArgumentException(p.name() + " is conditional (UNet2DConditionModel) but has no class_embeddings/: give prompt embeddings with --cond FILE");
        List<Integer> idx = new ArrayList<>();
        if (classNames == null || (classNames.size() == 1 && classNames.getFirst().equalsIgnoreCase("all"))) {
            for (int k = 0; k < ce.classNames().size(); k++) idx.add(k);
        } else {
            for (String n : classNames) idx.add(ce.indexOf(n.trim()));
        }
        requireFits(idx.size(), perGroup, ce.table().dim(1), ce.table().dim(2));
        int[] perImage = new int[idx.size() * perGroup];
        List<String> groups = new ArrayList<>();
        for (int g = 0; g < idx.size(); g++) {
            groups.add(ce.classNames().get(idx.get(g)));
            for (int s = 0; s < perGroup; s++) perImage[g * perGroup + s] = idx.get(g);
        }
        return new ImageSet(List.copyOf(groups), perGroup, ce.condition(perImage, guidance == null ? 3.0 : guidance), perImage);
    }

    /**
     * The whole set's conditioning is built up front: refuses a set whose image count does not fit an int,
     * or whose conditioning (cond and uncond, [tokens, dim] per image) alone would not fit the heap.
     */
    private static void requireFits(int groups, int perGroup, int tokens, int dim) {
        long images = (long) groups * perGroup;
        if (images > Integer.MAX_VALUE)
            throw new IllegalArgumentException("--seeds " + perGroup + " × " + groups + " groups = " + images + " images: too many for one sweep");
        long bytes = MemoryBudget.bytes(2.0 * 4 * images * tokens * dim);
        if (bytes > MemoryBudget.heapLimit())
            throw new MemoryBudget.Exceeded("the conditioning of " + images + " images (" + groups + " groups × --seeds " + perGroup + ") takes "
                    + MemoryBudget.mib(bytes) + ", more than the heap limit of " + MemoryBudget.mib(MemoryBudget.heapLimit()) + ": use fewer --seeds or raise JDIFFUSION_HEAP");
    }

    private static Tensor rank3(SafeTensorsFile f, String key, Path file) {
        if (!f.contains(key)) throw new IllegalArgumentException(file + " has no '" + key + "' tensor");
        Tensor t = Tensor.of(f.floats(key), f.entry(key).intShape());
        if (t.rank() == 2) return t.reshape(1, t.dim(0), t.dim(1));
        if (t.rank() != 3) throw new IllegalArgumentException(file + ": '" + key + "' must be [tokens, dim] or [prompts, tokens, dim], got " + t.shapeString());
        return t;
    }

    /** The conditioning of images [first, first + k). */
    public Conditioning slice(int first, int k) {
        if (all == null) return null;
        return all.slice(first, k);
    }
}
