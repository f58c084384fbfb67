package jdiffusion.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * All tensors of one model, from a single safetensors file or from the shards listed in a
 * {@code *.safetensors.index.json} ({@code weight_map}: key → shard file). Files stay memory-mapped.
 */
public final class WeightStore implements AutoCloseable {
    private final Path source;
    private final List<SafeTensorsFile> files;
    private final Map<String, SafeTensorsFile> byKey;

    private WeightStore(Path source, List<SafeTensorsFile> files, Map<String, SafeTensorsFile> byKey) {
        this.source = source;
        this.files = files;
        this.byKey = byKey;
    }

    public static WeightStore open(Path file) {
        if (file.getFileName().toString().endsWith(".index.json")) return openSharded(file);
        SafeTensorsFile f = SafeTensorsFile.open(file);
        Map<String, SafeTensorsFile> byKey = new LinkedHashMap<>();
        for (String k : f.entries().keySet()) byKey.put(k, f);
        return new WeightStore(file, List.of(f), byKey);
    }

    /** A sharded checkpoint: every key of the weight_map must be in its shard, and every shard key in the map. */
    public static WeightStore openSharded(Path index) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(index));
        } catch (IOException e) {
            throw WeightsException.at(index, null, "cannot read shard index: " + e.getMessage());
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) throw WeightsException.at(index, "weight_map", "missing or not an object");
        Map<String, SafeTensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafeTensorsFile> byKey = new LinkedHashMap<>();
        List<SafeTensorsFile> opened = new ArrayList<>();
        try {
            for (var it = map.fields(); it.hasNext(); ) {
                var e = it.next();
                String shardName = e.getValue().asText();
                SafeTensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    Path p = index.resolveSibling(shardName);
                    if (!Files.isRegularFile(p)) throw WeightsException.at(index, e.getKey(), "shard file '" + shardName + "' does not exist");
                    shard = SafeTensorsFile.open(p);
                    shards.put(shardName, shard);
                    opened.add(shard);
                }
                if (!shard.contains(e.getKey()))
                    throw WeightsException.at(shard.file(), e.getKey(), "listed in " + index.getFileName() + " but absent from the shard");
                byKey.put(e.getKey(), shard);
            }
            for (SafeTensorsFile s : opened)
                for (String k : s.entries().keySet())
                    if (byKey.get(k) != s)
                        throw WeightsException.at(s.file(), k, "present in the shard but not mapped to it by " + index.getFileName());
        } catch (RuntimeException ex) {
            opened.forEach(SafeTensorsFile::close);
            throw ex;
        }
        return new WeightStore(index, opened, byKey);
    }

    public Path source() {
        return source;
    }

    public Set<String> keys() {
        return Collections.unmodifiableSet(byKey.keySet());
    }

    public boolean contains(String key) {
        return byKey.containsKey(key);
    }

    public TensorEntry entry(String key) {
        SafeTensorsFile f = byKey.get(key);
        if (f == null) throw WeightsException.at(source, key, "no such tensor");
        return f.entry(key);
    }

    public float[] floats(String key) {
        SafeTensorsFile f = byKey.get(key);
        if (f == null) throw WeightsException.at(source, key, "no such tensor");
        return f.floats(key);
    }

    public java.lang.foreign.MemorySegment bytes(String key) {
        SafeTensorsFile f = byKey.get(key);
        if (f == null) throw WeightsException.at(source, key, "no such tensor");
        return f.bytes(key);
    }

    @Override
    public void close() {
        files.forEach(SafeTensorsFile::close);
    }
}
