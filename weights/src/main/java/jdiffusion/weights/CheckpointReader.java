package jdiffusion.weights;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Hands a model its parameters by checkpoint key and keeps the books: which keys were asked for but
 * missing, which had the wrong shape, and (at {@link #finish()}) which keys of the file nobody asked
 * for. All three are reported together in one error that lists the keys, as a user fixing a
 * checkpoint wants to see them all at once.
 *
 * <p>Old diffusers checkpoints (e.g. google/ddpm-cifar10-32) name attention projections
 * {@code query/key/value/proj_attn}; diffusers renames them to {@code to_q/to_k/to_v/to_out.0} on load,
 * and so does this reader.
 */
public final class CheckpointReader {
    private final WeightStore store;
    private final Map<String, String> canonicalToFile = new LinkedHashMap<>();
    private final TreeSet<String> used = new TreeSet<>();
    private final List<String> missing = new ArrayList<>();
    private final List<String> misShaped = new ArrayList<>();
    private final List<String> nonFinite = new ArrayList<>();

    public CheckpointReader(WeightStore store) {
        this.store = store;
        for (String k : store.keys()) {
            String c = canonicalName(k);
            if (canonicalToFile.put(c, k) != null)
                throw WeightsException.at(store.source(), k, "appears twice (once under its legacy attention name)");
        }
    }

    /** Maps legacy attention key names to the current diffusers names. */
    static String canonicalName(String key) {
        return key.replace(".query.", ".to_q.").replace(".key.", ".to_k.").replace(".value.", ".to_v.")
                .replace(".proj_attn.", ".to_out.0.");
    }

    public Path source() {
        return store.source();
    }

    public boolean has(String key) {
        return canonicalToFile.containsKey(key);
    }

    /**
     * The parameter {@code key} as float32, checked against {@code shape}. A missing or mis-shaped key is
     * recorded and null returned, so loading can go on and report every problem at once; nothing of the
     * configured size is allocated before the file has been found to hold exactly that shape (a config
     * far larger than its weights ends in a list of mis-shaped keys, not in OutOfMemoryError).
     * A [out, in, 1, 1] tensor is accepted where [out, in] is expected (1x1 conv stored for a linear).
     * Non-finite values (NaN, ±Infinity) are counted and reported by {@link #finish}.
     */
    public float[] take(String key, int... shape) {
        String fileKey = canonicalToFile.get(key);
        if (fileKey == null) {
            missing.add(key + " " + Arrays.toString(shape));
            return null;
        }
        used.add(key);
        TensorEntry e = store.entry(fileKey);
        if (e.dtype().isInteger()) {
            misShaped.add(key + ": file has dtype " + e.dtype() + ", model expects a floating-point tensor (F32, F16 or BF16)");
            return null;
        }
        if (!shapeMatches(e.shape(), shape)) {
            misShaped.add(key + ": file has " + e.shapeString() + ", model expects " + Arrays.toString(shape));
            return null;
        }
        float[] v = store.floats(fileKey);
        long bad = countNonFinite(v);
        if (bad > 0) nonFinite.add(key + ": " + bad + " of " + v.length + " values" + firstNonFinite(v));
        return v;
    }

    /** How many of {@code v} are NaN or ±Infinity (exponent bits all ones). */
    public static long countNonFinite(float[] v) {
        long bad = 0;
        for (float f : v) if ((Float.floatToRawIntBits(f) & 0x7f800000) == 0x7f800000) bad++;
        return bad;
    }

    private static String firstNonFinite(float[] v) {
        for (int i = 0; i < v.length; i++) if (!Float.isFinite(v[i])) return " (the first at index " + i + " is " + v[i] + ")";
        return "";
    }

    /** For tensors read outside a checkpoint (e.g. a class-embedding table): an error naming them if any value is not finite. */
    public static void requireFinite(Path file, String key, float[] v) {
        long bad = countNonFinite(v);
        if (bad > 0) throw WeightsException.at(file, key, bad + " of " + v.length + " values are not finite (NaN or Infinity)"
                + firstNonFinite(v) + ": every output computed from them would be NaN");
    }

    /** The dtype {@code key} is stored in (F32 for a key the file does not have). */
    public DType dtype(String key) {
        String fileKey = canonicalToFile.get(key);
        return fileKey == null ? DType.F32 : store.entry(fileKey).dtype();
    }

    /** Like {@link #take} but for optional parameters (e.g. a bias the config may or may not have). */
    public float[] takeOptional(String key, int... shape) {
        return has(key) ? take(key, shape) : null;
    }

    private static boolean shapeMatches(long[] actual, int[] expected) {
        if (actual.length == expected.length) {
            for (int i = 0; i < actual.length; i++) if (actual[i] != expected[i]) return false;
            return true;
        }
        return expected.length == 2 && actual.length == 4 && actual[2] == 1 && actual[3] == 1
                && actual[0] == expected[0] && actual[1] == expected[1];
    }

    /**
     * Declares every key under {@code prefix} deliberately unused (e.g. the VAE encoder when only the
     * decoder runs), so they are not reported as unexpected.
     */
    public void skipPrefix(String prefix) {
        for (String c : canonicalToFile.keySet()) if (c.startsWith(prefix)) used.add(c);
    }

    /**
     * Throws one error listing every missing, mis-shaped and unexpected key and every tensor holding
     * non-finite values (how many, and the first), if there are any.
     */
    public void finish(String modelName) {
        List<String> unexpected = new ArrayList<>();
        for (String c : canonicalToFile.keySet()) if (!used.contains(c)) unexpected.add(canonicalToFile.get(c));
        if (missing.isEmpty() && misShaped.isEmpty() && unexpected.isEmpty()) {
            if (nonFinite.isEmpty()) return;
            StringBuilder sb = new StringBuilder(store.source() + ": " + nonFinite.size()
                    + " tensors hold non-finite values (NaN or Infinity); every output computed from them would be NaN");
            appendList(sb, "tensors with non-finite values", nonFinite);
            throw new WeightsException(sb.toString());
        }
        StringBuilder sb = new StringBuilder(store.source() + ": the weights do not fit " + modelName + " as configured");
        appendList(sb, "missing keys", missing);
        appendList(sb, "mis-shaped keys", misShaped);
        appendList(sb, "unexpected keys", unexpected);
        appendList(sb, "tensors with non-finite values", nonFinite);
        throw new WeightsException(sb.toString());
    }

    private static void appendList(StringBuilder sb, String title, List<String> items) {
        if (items.isEmpty()) return;
        sb.append("\n  ").append(items.size()).append(' ').append(title).append(':');
        int shown = 0;
        for (String s : items) {
            if (shown++ == 40) {
                sb.append("\n    ... and ").append(items.size() - 40).append(" more");
                break;
            }
            sb.append("\n    ").append(s);
        }
    }
}
