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
 */
public final class ConfigReader {
    /** diffusers writes configs with Python's json, which emits -Infinity/NaN (e.g. lambda_min_clipped). */
    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    private final Path file;
    private final ObjectNode root;
    private final Set<String> consumed = new LinkedHashSet<>();

    public ConfigReader(Path file, ObjectNode root) {
        this.file = file;
        this.root = root;
    }

    public static ConfigReader read(Path file) {
        if (!Files.isRegularFile(file)) throw WeightsException.at(file, null, "config file does not exist");
        try {
            JsonNode n = JSON.readTree(Files.readString(file));
            if (n == null || !n.isObject()) throw WeightsException.at(file, null, "config must be a JSON object");
            return new ConfigReader(file, (ObjectNode) n);
        } catch (JsonProcessingException e) {
            throw WeightsException.at(file, null, "not well-formed JSON: " + e.getOriginalMessage());
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
        return WeightsException.at(file, key, problem);
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

    public int integer(String key, Integer def) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) {
            if (def == null) throw error(key, "required integer is missing");
            return def;
        }
        if (!n.isIntegralNumber()) throw error(key, "expected an integer, found " + n);
        return n.asInt();
    }

    /** An integer that may be null (returns null when absent or null). */
    public Integer nullableInteger(String key) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) return null;
        if (!n.isIntegralNumber()) throw error(key, "expected an integer or null, found " + n);
        return n.asInt();
    }

    public double number(String key, double def) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) return def;
        if (!n.isNumber()) throw error(key, "expected a number, found " + n);
        return n.asDouble();
    }

    public boolean bool(String key, boolean def) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) return def;
        if (!n.isBoolean()) throw error(key, "expected true or false, found " + n);
        return n.asBoolean();
    }

    /** A string option; when {@code allowed} is non-empty the value must be one of them. */
    public String string(String key, String def, String... allowed) {
        JsonNode n = node(key);
        String v;
        if (n == null || n.isNull()) v = def;
        else if (!n.isTextual()) throw error(key, "expected a string, found " + n);
        else v = n.asText();
        if (v != null && allowed.length > 0 && !Arrays.asList(allowed).contains(v))
            throw error(key, "value '" + v + "' is not supported (supported: " + String.join(", ", allowed) + ")");
        return v;
    }

    public List<String> strings(String key, List<String> def) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) {
            if (def == null) throw error(key, "required list of strings is missing");
            return def;
        }
        if (!n.isArray()) throw error(key, "expected a list of strings, found " + n);
        List<String> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) throw error(key, "expected a list of strings, found " + n);
            out.add(e.asText());
        }
        return List.copyOf(out);
    }

    public int[] integers(String key, int[] def) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) {
            if (def == null) throw error(key, "required list of integers is missing");
            return def.clone();
        }
        if (!n.isArray()) throw error(key, "expected a list of integers, found " + n);
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).isIntegralNumber()) throw error(key, "expected a list of integers, found " + n);
            out[i] = n.get(i).asInt();
        }
        return out;
    }

    /**
     * An option that takes a single integer or one integer per level (diffusers allows both), or null.
     * Returns null when absent/null, otherwise an array of length {@code levels}.
     */
    public int[] perLevel(String key, int levels) {
        JsonNode n = node(key);
        if (n == null || n.isNull()) return null;
        if (n.isIntegralNumber()) {
            int[] out = new int[levels];
            Arrays.fill(out, n.asInt());
            return out;
        }
        if (n.isArray()) {
            int[] out = integers(key, null);
            if (out.length != levels) throw error(key, "has " + out.length + " entries, but the model has " + levels + " levels");
            return out;
        }
        throw error(key, "expected an integer, a list of integers or null, found " + n);
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
            throw WeightsException.at(file, unknown.getFirst(), "unknown config option" + (unknown.size() > 1 ? "s " + unknown : "")
                    + ": jdiffusion does not implement " + (unknown.size() > 1 ? "them" : "it") + " and will not ignore it");
    }
}
