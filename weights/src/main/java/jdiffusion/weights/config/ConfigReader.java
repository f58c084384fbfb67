package jdiffusion.weights.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.weights.WeightsException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Reads a diffusers config JSON key by key and keeps the books: every key of the file must be read by
 * the record that parses it, or declared inert (no effect at inference), or {@link #finish()} rejects
 * it. Unsupported values are rejected where they are read. Nothing is silently ignored. Keys starting
 * with '_' are diffusers metadata ({@code _class_name}, {@code _diffusers_version}, {@code _name_or_path}).
 *
 * <p>This is the one place config values are validated: every config record reads its keys through
 * the typed getters ({@link #integer}, {@link #positive}, {@link #number}, {@link #numberBetween},
 * {@link #positiveNumber}, {@link #positives}, {@link #numbersBetween}, {@link #perLevel}, {@link #squareSize}, {@link #string},
 * {@link #strings}, {@link #bool}) and states its cross-field rules (channels divisible by the group
 * count, list lengths matching the number of blocks, ...) with {@link #require}. A value that does not
 * fit is never coerced: each getter throws a {@link WeightsException} whose message names the file,
 * the key, the value found and what is allowed, e.g.
 * {@code unet/config.json: key 'in_channels': expected an integer in 1..2147483647, found 4294967299}.
 * A new config record (a tokenizer or text-encoder config, say) needs nothing else:
 * <pre>
 *   ConfigReader r = ConfigReader.read(file);
 *   int layers = r.positive("num_hidden_layers", 12);
 *   double eps = r.positiveNumber("layer_norm_eps", 1e-5);
 *   r.require(hidden % heads == 0, "num_attention_heads", hidden + " is not divisible by " + heads + " heads");
 *   r.finish();
 * </pre>
 */
public final class ConfigReader {
    /** diffusers writes configs with Python's json, which emits -Infinity/NaN (e.g. lambda_min_clipped). */
    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    private final Path file;
    private final ObjectNode root;
    /** "" for a file's root; "layers[3]." for a nested object, so its errors name the whole path. */
    private final String prefix;
    private final Set<String> consumed = new LinkedHashSet<>();

    public ConfigReader(Path file, ObjectNode root) {
        this(file, root, "");
    }

    private ConfigReader(Path file, ObjectNode root, String prefix) {
        this.file = file;
        this.root = root;
        this.prefix = prefix;
    }

    public static ConfigReader read(Path file) {
        if (!Files.isRegularFile(file)) throw WeightsException.at(file, null, "config file does not exist");
        try {
            JsonNode n = JSON.readTree(Files.readString(file));
            if (n == null || !n.isObject()) throw WeightsException.at(file, null, "config must be a JSON object");
            return new ConfigReader(file, (ObjectNode) n);
        } catch (JsonProcessingException e) {
            throw WeightsException.at(file, null, "not well-formed JSON: " + e.getOriginalMessage());
        } catch (java.nio.charset.CharacterCodingException e) {
            throw WeightsException.at(file, null, "not UTF-8 text (a config is a UTF-8 JSON file)");
        } catch (IOException e) {
            throw WeightsException.at(file, null, "cannot read: " + e.getMessage());
        }
    }

    public Path file() {
        return file;
    }

    public ObjectNode json() {
        return root;
    }

    public WeightsException error(String key, String problem) {
        return WeightsException.at(file, prefix + key, problem);
    }

    /**
     * A required non-empty list of objects (e.g. a network's layers), one reader per entry; each reads
     * and finishes its own keys, and its errors name them as {@code key[i].name}.
     */
    public List<ConfigReader> objects(String key) {
        JsonNode n = node(key);
        if (n == null || !n.isArray() || n.isEmpty())
            throw error(key, "expected a non-empty list of objects, found " + (n == null ? "nothing" : show(n)));
        List<ConfigReader> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            if (!n.get(i).isObject()) throw error(key, "entry " + i + " is " + show(n.get(i)) + ", expected an object");
            out.add(new ConfigReader(file, (ObjectNode) n.get(i), prefix + key + "[" + i + "]."));
        }
        return out;
    }

    private JsonNode node(String key) {
        consumed.add(key);
        JsonNode n = root.get(key);
        return n == null ? null : n;
    }

    /** The value of {@code key} as JSON, marked as read (null when absent), for values of more than one shape. */
    public JsonNode raw(String key) {
        return node(key);
    }

    public boolean has(String key) {
        return root.has(key) && !root.get(key).isNull();
    }

    /** {@code _class_name}, checked against the accepted classes. */
    public String className(String... accepted) {
        JsonNode n = node("_class_name");
        if (n == null || !n.isTextual()) throw error("_class_name", "missing: cannot tell which model class this config is for");
        if (accepted.length > 0 && !Arrays.asList(accepted).contains(n.asText()))
            throw error("_class_name", "'" + n.asText() + "' is not supported here (expected " + String.join(" or ", accepted) + ")");
        return n.asText();
    }

    // ---------------------------------------------------------------------------------------------
    // Typed getters. Each reads one key and either returns a value of the stated type and range or
    // throws a WeightsException naming the file, the key, the value found and what is allowed. No
    // value is ever coerced: 4294967299 is not read as the int 3, 2.5 not as 2, "4" not as 4, null
    // inside a list not as 0. A record's cross-field rules use require(); every config record
    // (UNet, VAE, scheduler, pipeline index, class embeddings, text encoder ...) reads through these.
    // ---------------------------------------------------------------------------------------------

    /** The largest int; {@code integer(key, def, 1, MAX)} reads a positive int. */
    public static final int MAX = Integer.MAX_VALUE;

    /**
     * An integer in {@code min..max} (inclusive); {@code def} when the key is absent or null, or an
     * error when {@code def} is null (the key is required).
     */
    public int integer(String key, Integer def, int min, int max) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) {
            if (def == null) throw error(key, "required, expected an integer in " + range(min, max));
            return def;
        }
        return intValue(key, n, min, max, null);
    }

    /** A positive integer (1..2147483647): channel counts, group counts, layer counts, sizes. */
    public int positive(String key, Integer def) {
        return integer(key, def, 1, MAX);
    }

    /** An integer in {@code min..max}, or null when absent or null. */
    public Integer nullableInteger(String key, int min, int max) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) return null;
        return intValue(key, n, min, max, null);
    }

    /** A finite number in [min, max] (inclusive); {@code def} when absent or null. */
    public double number(String key, double def, double min, double max) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) return def;
        return doubleValue(key, n, min, max, false, false, null);
    }

    /** A finite number in the open interval (low, high), e.g. a variance β in (0, 1). */
    public double numberBetween(String key, double def, double low, double high) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) return def;
        return doubleValue(key, n, low, high, true, true, null);
    }

    /** A finite number &gt; 0 (scales, epsilons, ranges). */
    public double positiveNumber(String key, double def) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) return def;
        return doubleValue(key, n, 0, Double.POSITIVE_INFINITY, true, true, null);
    }

    /** A finite number, or null when absent or null. */
    public Double nullableNumber(String key) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) return null;
        return doubleValue(key, n, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, true, true, null);
    }

    public boolean bool(String key, boolean def) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) return def;
        if (!n.isBoolean()) throw error(key, "expected true or false, found " + show(n));
        return n.asBoolean();
    }

    /** A string option; when {@code allowed} is non-empty the value must be one of them. */
    public String string(String key, String def, String... allowed) {
        JsonNode n = node(key);
        String v;
        if (n == null || n.isNull()) v = def;
        else if (!n.isTextual()) throw error(key, "expected a string" + oneOf(allowed) + ", found " + show(n));
        else v = n.asText();
        if (v != null && allowed.length > 0 && !Arrays.asList(allowed).contains(v))
            throw error(key, "value '" + v + "' is not supported (supported: " + String.join(", ", allowed) + ")");
        return v;
    }

    /** A non-empty list of strings; {@code def} when absent or null (required when {@code def} is null). */
    public List<String> strings(String key, List<String> def) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) {
            if (def == null) throw error(key, "required, expected a non-empty list of strings");
            return def;
        }
        if (!n.isArray() || n.isEmpty()) throw error(key, "expected a non-empty list of strings, found " + show(n));
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode e = n.get(i);
            if (!e.isTextual()) throw error(key, "entry " + i + " is " + show(e) + ", expected a string");
            out.add(e.asText());
        }
        return List.copyOf(out);
    }

    /** A non-empty list of integers in {@code min..max}; {@code def} when absent or null (required when null). */
    public int[] integers(String key, int[] def, int min, int max) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) {
            if (def == null) throw error(key, "required, expected a non-empty list of integers in " + range(min, max));
            return def.clone();
        }
        if (!n.isArray() || n.isEmpty()) throw error(key, "expected a non-empty list of integers in " + range(min, max) + ", found " + show(n));
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) out[i] = intValue(key, n.get(i), min, max, i);
        return out;
    }

    /** A non-empty list of positive integers (e.g. block_out_channels). */
    public int[] positives(String key, int[] def) {
        return integers(key, def, 1, MAX);
    }

    /** A list of finite numbers in the open interval (low, high), or null when absent or null. */
    public double[] numbersBetween(String key, double low, double high) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) return null;
        if (!n.isArray()) throw error(key, "expected a list of finite numbers in " + interval(low, high, true, true) + ", found " + show(n));
        double[] out = new double[n.size()];
        for (int i = 0; i < out.length; i++) out[i] = doubleValue(key, n.get(i), low, high, true, true, i);
        return out;
    }

    /**
     * A positive integer, or a list of them that are all equal (diffusers' sample_size may be
     * [h, w]; jdiffusion runs square samples only, and says so rather than take the first).
     */
    public int squareSize(String key, int def) {
        JsonNode n = root.get(key);
        if (n == null || !n.isArray()) return positive(key, def);
        int[] hw = positives(key, null);
        for (int v : hw)
            if (v != hw[0]) throw error(key, "non-square size " + show(n) + " is not supported (give one integer or equal entries)");
        return hw[0];
    }

    /**
     * An option that takes a single integer or one integer per level (diffusers allows both), each
     * in {@code min..max}, or null. Returns null when absent/null, otherwise an array of length {@code levels}.
     */
    public int[] perLevel(String key, int levels, int min, int max) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) return null;
        if (n.isArray()) {
            int[] out = integers(key, null, min, max);
            if (out.length != levels) throw error(key, "has " + out.length + " entries, but the model has " + levels + " levels");
            return out;
        }
        if (!n.isNumber())
            throw error(key, "expected an integer in " + range(min, max) + " or a list of " + levels + " of them, found " + show(n));
        int v = intValue(key, n, min, max, null);
        int[] out = new int[levels];
        Arrays.fill(out, v);
        return out;
    }

    /** A cross-field rule: throws an error naming {@code key} with {@code problem} unless {@code ok}. */
    public void require(boolean ok, String key, String problem) {
        if (!ok) throw error(key, problem);
    }

    private int intValue(String key, JsonNode n, int min, int max, Integer index) {
        String where = index == null ? "" : "entry " + index + ": ";
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < min || n.asInt() > max)
            throw error(key, where + "expected an integer in " + range(min, max) + ", found " + show(n));
        return n.intValue();
    }

    private double doubleValue(String key, JsonNode n, double low, double high, boolean lowOpen, boolean highOpen, Integer index) {
        String where = index == null ? "" : "entry " + index + ": ";
        double v = n.isNumber() ? n.doubleValue() : Double.NaN;
        boolean ok = Double.isFinite(v) && (lowOpen ? v > low : v >= low) && (highOpen ? v < high : v <= high);
        if (!ok) throw error(key, where + "expected a finite number in " + interval(low, high, lowOpen, highOpen) + ", found " + show(n));
        return v;
    }

    /** Interval notation: [0, 1], (0, inf). */
    private static String interval(double low, double high, boolean lowOpen, boolean highOpen) {
        return (lowOpen ? "(" : "[") + fmt(low) + ", " + fmt(high) + (highOpen ? ")" : "]");
    }

    private static String range(int min, int max) {
        return min + ".." + max;
    }

    private static String fmt(double d) {
        if (Double.isInfinite(d)) return d > 0 ? "inf" : "-inf";
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }

    private static String oneOf(String[] allowed) {
        return allowed.length == 0 ? "" : " (one of " + String.join(", ", allowed) + ")";
    }

    /** A JSON value for an error message, shortened so that a huge value does not flood the terminal. */
    static String show(JsonNode n) {
        if (n.isNumber() && !Double.isFinite(n.doubleValue())) return Double.toString(n.doubleValue());   // Jackson quotes NaN
        String s = n.toString();
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }

    /**
     * An option jdiffusion implements only at its default (no-op) value: any other value is rejected
     * with a message saying so, rather than ignored.
     */
    public void onlyDefault(String key, Object... acceptedValues) {
        JsonNode n = node(key);
        if (n == null) return; // absent: diffusers' default, which is what jdiffusion implements
        Object v = n instanceof NullNode ? null : JSON.convertValue(n, Object.class);
        for (Object a : acceptedValues) {
            if (Objects.equals(a, v)) return;
            if (a instanceof Number an && v instanceof Number vn && an.doubleValue() == vn.doubleValue()) return;
        }
        throw error(key, "value " + n + " is not supported by jdiffusion (supported: "
                + Arrays.toString(acceptedValues) + ")");
    }

    /** Keys that have no effect on inference (e.g. {@code dropout}); read and documented, not ignored. */
    public void inert(String... keys) {
        consumed.addAll(Arrays.asList(keys));
    }

    /** Rejects every key of the file that no parser read. */
    public void finish() {
        List<String> unknown = new ArrayList<>();
        root.fieldNames().forEachRemaining(k -> {
            if (!k.startsWith("_") && !consumed.contains(k)) unknown.add(k);
        });
        if (!unknown.isEmpty())
            throw WeightsException.at(file, prefix + unknown.getFirst(), "unknown config option" + (unknown.size() > 1 ? "s " + unknown : "")
                    + ": jdiffusion does not implement " + (unknown.size() > 1 ? "them" : "it") + " and will not ignore it");
    }
}
