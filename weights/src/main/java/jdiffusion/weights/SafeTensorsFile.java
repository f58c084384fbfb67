package jdiffusion.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file (format: 8-byte little-endian header length N, N bytes of JSON, then the raw
 * tensor bytes; see huggingface/safetensors' README). Nothing is copied on open: the file is mapped with
 * the FFM API (so files over 2 GiB work) and {@link #bytes} is a slice of the mapping; {@link #floats},
 * what model loading uses, reads with positional file reads instead (see there: mapped pages that were
 * read count in the resident set).
 *
 * <p>The header is validated completely before any tensor is handed out: size bounds, well-formed JSON,
 * known dtypes, offsets inside the data section and not overlapping, and shape × dtype size equal to
 * the byte length. Every failure is a {@link WeightsException} naming the file and the key.
 */
public final class SafeTensorsFile implements AutoCloseable {
    /** The safetensors library refuses headers above 100 MB; so do we (a corrupt length is usually huge). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, TensorEntry> entries;
    private final Map<String, String> metadata;
    /** Offset of the data section in the file (after the 8-byte length and the header). */
    private final long dataStart;

    private SafeTensorsFile(Path file, Arena arena, MemorySegment data, long dataStart, Map<String, TensorEntry> entries,
                            Map<String, String> metadata) {
        this.file = file;
        this.dataStart = dataStart;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    public static SafeTensorsFile open(Path file) {
        if (!Files.isRegularFile(file)) throw WeightsException.at(file, null, "no such safetensors file");
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw WeightsException.at(file, null, "truncated: " + size + " bytes, a safetensors file starts with an 8-byte header length");
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long n = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (n <= 0 || n > MAX_HEADER_BYTES)
                throw WeightsException.at(file, null, "header length " + n + " is outside 1.." + MAX_HEADER_BYTES + " (not a safetensors file, or corrupt)");
            if (8 + n > size)
                throw WeightsException.at(file, null, "header length " + n + " reaches beyond the end of the file (" + size + " bytes): truncated or not a safetensors file");
            byte[] headerBytes = all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment data = all.asSlice(8 + n);
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorEntry> entries = parseHeader(file, new String(headerBytes, StandardCharsets.UTF_8), data.byteSize(), metadata);
            return new SafeTensorsFile(file, arena, data, 8 + n, entries, metadata);
        } catch (IOException e) {
            arena.close();
            throw new WeightsException(file + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    static Map<String, TensorEntry> parseHeader(Path file, String header, long dataBytes, Map<String, String> metadataOut) {
        JsonNode root;
        try {
            root = JSON.readTree(header.trim());
        } catch (JsonProcessingException e) {
            throw WeightsException.at(file, null, "header is not well-formed JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw WeightsException.at(file, null, "header must be a JSON object");
        Map<String, TensorEntry> entries = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            var f = it.next();
            String key = f.getKey();
            JsonNode v = f.getValue();
            if (key.equals("__metadata__")) {
                if (!v.isObject()) throw WeightsException.at(file, key, "__metadata__ must be an object of strings");
                for (var m : v.properties()) {
                    if (!m.getValue().isTextual())
                        throw WeightsException.at(file, key, "__metadata__ must be an object of strings; '" + m.getKey() + "' is " + m.getValue());
                    metadataOut.put(m.getKey(), m.getValue().asText());
                }
                continue;
            }
            entries.put(key, parseEntry(file, key, v, dataBytes));
        }
        checkNoOverlap(file, entries);
        return Collections.unmodifiableMap(entries);
    }

    private static TensorEntry parseEntry(Path file, String key, JsonNode v, long dataBytes) {
        if (!v.isObject()) throw WeightsException.at(file, key, "entry must be an object with dtype, shape, data_offsets");
        JsonNode dt = v.get("dtype"), sh = v.get("shape"), off = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw WeightsException.at(file, key, "missing or non-string 'dtype'");
        DType dtype = DType.parse(dt.asText());
        if (dtype == null)
            throw WeightsException.at(file, key, "unsupported dtype '" + dt.asText() + "' (supported: F32, F16, BF16, I64, I32, U8)");
        if (sh == null || !sh.isArray()) throw WeightsException.at(file, key, "missing or non-array 'shape'");
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0)
                throw WeightsException.at(file, key, "shape " + sh + " must be non-negative integers");
            shape[i] = d.asLong();
        }
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()
                || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong())   // asLong() would wrap 2^64 + 5 to 5
            throw WeightsException.at(file, key, "'data_offsets' must be [begin, end]");
        long begin = off.get(0).asLong(), end = off.get(1).asLong();
        if (begin < 0 || end < begin)
            throw WeightsException.at(file, key, "data_offsets [" + begin + ", " + end + "] are not an increasing range");
        if (end > dataBytes)
            throw WeightsException.at(file, key, "data_offsets [" + begin + ", " + end + "] reach beyond the data section (" + dataBytes + " bytes): truncated file");
        TensorEntry e = new TensorEntry(file, key, dtype, shape, begin, end);
        long expected;
        try {
            expected = Math.multiplyExact(e.elementCount(), (long) dtype.bytes);
        } catch (ArithmeticException ex) {
            throw WeightsException.at(file, key, "shape " + sh + " is too large");
        }
        if (expected != end - begin)
            throw WeightsException.at(file, key, "shape " + sh + " × " + dtype + " (" + dtype.bytes + " bytes) = " + expected
                    + " bytes, but data_offsets give " + (end - begin) + " bytes");
        return e;
    }

    private static void checkNoOverlap(Path file, Map<String, TensorEntry> entries) {
        List<TensorEntry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(TensorEntry::begin).thenComparingLong(TensorEntry::end));
        TensorEntry prev = null;
        for (TensorEntry e : sorted) {
            if (e.begin() == e.end()) continue; // empty tensors occupy no bytes
            if (prev != null && e.begin() < prev.end())
                throw WeightsException.at(file, e.name(), "data_offsets [" + e.begin() + ", " + e.end() + "] overlap those of '"
                        + prev.name() + "' [" + prev.begin() + ", " + prev.end() + "]");
            prev = e;
        }
    }

    public Path file() {
        return file;
    }

    /** Tensor entries in header order. */
    public Map<String, TensorEntry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public TensorEntry entry(String key) {
        TensorEntry e = entries.get(key);
        if (e == null) throw WeightsException.at(file, key, "no such tensor (the file has " + entries.size() + " tensors)");
        return e;
    }

    public boolean contains(String key) {
        return entries.containsKey(key);
    }

    /** The tensor's bytes, a view into the mapping (no copy). Valid until {@link #close()}. */
    public MemorySegment bytes(String key) {
        TensorEntry e = entry(key);
        return data.asSlice(e.begin(), e.end() - e.begin());
    }

    /** Bytes read per file read in {@link #floats}: a multiple of every dtype's size. */
    private static final int READ_CHUNK = 1 << 20;

    /**
     * The tensor converted to float32 (the compute dtype), whatever its file dtype. Read with positional file
     * reads through a 1 MiB buffer, not through the mapping: a mapped page that has been read stays in the
     * process's resident set while the file is open, so loading a model through the mapping peaked at the
     * weights twice (the float32 copies on the heap plus the file's pages, 3.3 + 1.7 GiB for SD 1.5 from
     * float16); pages read with read(2) live in the kernel's page cache, which the resident set does not count.
     */
    public float[] floats(String key) {
        TensorEntry e = entry(key);
        long n = e.elementCount();
        if (n > Integer.MAX_VALUE - 8) throw WeightsException.at(file, key, "tensor has " + n + " elements, more than a Java array holds");
        float[] out = new float[(int) n];
        int size = e.dtype().bytes;
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(READ_CHUNK, Math.max(size, e.end() - e.begin())));
        MemorySegment chunk = MemorySegment.ofBuffer(buf);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long pos = dataStart + e.begin();
            for (int done = 0; done < n; ) {
                int count = (int) Math.min(n - done, buf.capacity() / size);
                buf.clear().limit(count * size);
                while (buf.hasRemaining())
                    if (ch.read(buf, pos + buf.position()) < 0)
                        throw WeightsException.at(file, key, "file ends inside the tensor's bytes (truncated since it was opened?)");
                e.dtype().toFloats(chunk, 0, out, done, count);
                done += count;
                pos += (long) count * size;
            }
        } catch (IOException ex) {
            throw new WeightsException(file + ": cannot read tensor '" + key + "': " + ex.getMessage(), ex);
        }
        return out;
    }

    /**
     * An integer tensor (I64, I32 or U8, e.g. token ids or pixels) read exactly. A floating-point tensor is an error
     * naming the file and key: ids stored as floats are refused rather than rounded.
     */
    public long[] longs(String key) {
        TensorEntry e = entry(key);
        if (!e.dtype().isInteger())
            throw WeightsException.at(file, key, "dtype " + e.dtype() + " is not an integer type (expected I64, I32 or U8)");
        long n = e.elementCount();
        if (n > Integer.MAX_VALUE - 8) throw WeightsException.at(file, key, "tensor has " + n + " elements, more than a Java array holds");
        MemorySegment seg = bytes(key);
        long[] out = new long[(int) n];
        for (int i = 0; i < out.length; i++) out[i] = e.dtype().toLong(seg, i);
        return out;
    }

    @Override
    public void close() {
        arena.close();
    }
}
