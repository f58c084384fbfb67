package jdiffusion.sample;

import jdiffusion.tensor.Tensor;
import jdiffusion.weights.CheckpointReader;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.config.ConfigReader;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The "text encoder" of a class-conditional pipeline: a learned table [classes + 1, tokens, dim] whose
 * row {@code null_index} is the unconditional embedding used for classifier-free guidance. Stored as
 * {@code class_embeddings/class_embeddings.safetensors} (key {@code embeddings}) with a
 * {@code config.json} naming the classes.
 */
public record ClassEmbeddings(List<String> classNames, int nullIndex, Tensor table) {

    public static ClassEmbeddings load(Path dir) {
        Path cfgFile = dir.resolve("config.json");
        ConfigReader r = ConfigReader.read(cfgFile);
        List<String> names = r.strings("class_names", null);
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String n : names) {
            r.require(!n.isBlank(), "class_names", "a class name is empty");
            r.require(seen.add(n.toLowerCase(java.util.Locale.ROOT)), "class_names", "'" + n + "' appears twice (names are matched case-insensitively)");
        }
        int nullIndex = r.integer("null_index", names.size(), 0, names.size());      // one past the classes, usually
        int tokens = r.positive("tokens", 1);
        Integer dim = r.nullableInteger("cross_attention_dim", 1, ConfigReader.MAX);   // written by weights/train/train.py; checked below
        r.inert("usage");                                          // a human-readable note in the exported config
        r.finish();
        Path st = dir.resolve("class_embeddings.safetensors");
        try (SafeTensorsFile f = SafeTensorsFile.open(st)) {
            var e = f.entry("embeddings");
            long[] s = e.shape();
            if (s.length != 3 || s[0] != names.size() + 1 || s[1] != tokens || s[2] < 1)
                throw WeightsException.at(st, "embeddings", "shape " + e.shapeString() + " does not fit " + names.size()
                        + " classes + 1 null class with " + tokens + " tokens ([" + (names.size() + 1) + ", " + tokens + ", dim])");
            if (dim != null && dim != s[2])
                throw WeightsException.at(cfgFile, "cross_attention_dim", dim + " does not match the embeddings' width " + s[2]);
            float[] table = f.floats("embeddings");
            CheckpointReader.requireFinite(st, "embeddings", table);
            return new ClassEmbeddings(List.copyOf(names), nullIndex, Tensor.of(table, e.intShape()));
        }
    }

    /** The class index for a name (case-insensitive) or a number. */
    public int indexOf(String nameOrIndex) {
        for (int i = 0; i < classNames.size(); i++) if (classNames.get(i).equalsIgnoreCase(nameOrIndex)) return i;
        try {
            int i = Integer.parseInt(nameOrIndex);
            if (i >= 0 && i < classNames.size()) return i;
        } catch (NumberFormatException ignored) {
            // not a number either: fall through to the error
        }
        throw new IllegalArgumentException("unknown class '" + nameOrIndex + "'; classes are " + classNames + " (or 0.." + (classNames.size() - 1) + ")");
    }

    /** [tokens, dim] embedding of class i (i = nullIndex for the unconditional one). */
    public Tensor embedding(int i) {
        int t = table.dim(1), d = table.dim(2);
        return table.slice0(i, 1).reshape(t, d);
    }

    /** Conditioning for one class per image. */
    public Conditioning condition(int[] classes, double guidance) {
        List<Tensor> c = new ArrayList<>(), u = new ArrayList<>();
        int t = table.dim(1), d = table.dim(2);
        for (int k : classes) {
            c.add(embedding(k).reshape(1, t, d));
            u.add(embedding(nullIndex).reshape(1, t, d));
        }
        return new Conditioning(Tensor.cat0(c.toArray(Tensor[]::new)), Tensor.cat0(u.toArray(Tensor[]::new)), guidance);
    }
}
