package jdiffusion.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reader accepts well-formed files and rejects each kind of damage with a message naming file and key. */
class SafeTensorsFileTest {
    @TempDir
    Path dir;

    /** Writes a file with the given header JSON and data bytes. */
    private Path file(String name, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    private WeightsException rejects(Path p) {
        return assertThrows(WeightsException.class, () -> SafeTensorsFile.open(p).close());
    }

    @Test
    void readsF32F16Bf16AsFloat32() throws IOException {
        ByteBuffer d = ByteBuffer.allocate(16 + 4 + 4).order(ByteOrder.LITTLE_ENDIAN);
        d.putFloat(1f).putFloat(-2f).putFloat(0.5f).putFloat(3f);
        d.putShort(Float.floatToFloat16(1.5f)).putShort(Float.floatToFloat16(-0.25f));
        d.putShort((short) (Float.floatToIntBits(2.5f) >>> 16)).putShort((short) (Float.floatToIntBits(-8f) >>> 16));
        Path p = file("ok.safetensors", """
                {"__metadata__":{"format":"pt"},
                 "a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},
                 "h":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},
                 "b":{"dtype":"BF16","shape":[2],"data_offsets":[20,24]}}""", d.array());
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            assertArrayEquals(new float[]{1, -2, 0.5f, 3}, f.floats("a"));
            assertArrayEquals(new float[]{1.5f, -0.25f}, f.floats("h"));
            assertArrayEquals(new float[]{2.5f, -8f}, f.floats("b"));
            assertEquals(DType.F16, f.entry("h").dtype());
            assertEquals("pt", f.metadata().get("format"));
        }
    }

    /**
     * Tensors larger than the reader's 1 MiB read buffer, after an odd-sized one (unaligned start): every element
     * as the mapping's bytes give it, across the chunk boundaries.
     */
    @Test
    void readsTensorsLargerThanTheReadBuffer() throws IOException {
        int nf = 300_001, nh = 700_003;
        ByteBuffer d = ByteBuffer.allocate(2 + 4 * nf + 2 * nh).order(ByteOrder.LITTLE_ENDIAN);
        java.util.Random r = new java.util.Random(1);
        float[] wantF = new float[nf], wantH = new float[nh];
        d.putShort(Float.floatToFloat16(7f));
        for (int i = 0; i < nf; i++) d.putFloat(wantF[i] = (float) r.nextGaussian());
        for (int i = 0; i < nh; i++) {
            short bits = Float.floatToFloat16((float) r.nextGaussian());
            d.putShort(bits);
            wantH[i] = Float.float16ToFloat(bits);
        }
        Path p = file("big.safetensors", "{\"s\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},"
                + "\"f\":{\"dtype\":\"F32\",\"shape\":[" + nf + "],\"data_offsets\":[2," + (2 + 4 * nf) + "]},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[" + nh + "],\"data_offsets\":[" + (2 + 4 * nf) + "," + (2 + 4 * nf + 2 * nh) + "]}}", d.array());
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            assertArrayEquals(new float[]{7f}, f.floats("s"));
            assertArrayEquals(wantF, f.floats("f"));
            assertArrayEquals(wantH, f.floats("h"));
        }
    }

    /** 8-bit pixels (U8, e.g. diffusers' image_u8) read unsigned, as longs and as floats; never taken as model parameters. */
    @Test
    void readsU8Unsigned() throws IOException {
        Path p = file("pixels.safetensors", """
                {"px":{"dtype":"U8","shape":[1,2,2],"data_offsets":[0,4]}}""", new byte[]{0, 1, (byte) 128, (byte) 255});
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            assertArrayEquals(new long[]{0, 1, 128, 255}, f.longs("px"));
            assertArrayEquals(new float[]{0, 1, 128, 255}, f.floats("px"));
            assertTrue(f.entry("px").dtype().isInteger());
        }
        try (WeightStore s = WeightStore.open(p)) {
            CheckpointReader r = new CheckpointReader(s);
            r.take("px", 1, 2, 2);
            WeightsException e = assertThrows(WeightsException.class, () -> r.finish("TestModel"));
            assertTrue(e.getMessage().contains("px: file has dtype U8, model expects a floating-point tensor"), e.getMessage());
        }
    }

    /** Token ids come as I64 (PyTorch's default) or I32: read exactly as longs, as floats on request; floats are not ids. */
    @Test
    void readsI64AndI32ExactlyAndRefusesFloatsAsIds() throws IOException {
        ByteBuffer d = ByteBuffer.allocate(24 + 8 + 4).order(ByteOrder.LITTLE_ENDIAN);
        d.putLong(49406).putLong(-3).putLong((1L << 40) + 1).putInt(7).putInt(-1).putFloat(2f);
        Path p = file("ids.safetensors", """
                {"l":{"dtype":"I64","shape":[1,3],"data_offsets":[0,24]},
                 "i":{"dtype":"I32","shape":[2],"data_offsets":[24,32]},
                 "f":{"dtype":"F32","shape":[1],"data_offsets":[32,36]}}""", d.array());
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            assertArrayEquals(new long[]{49406, -3, (1L << 40) + 1}, f.longs("l"));
            assertArrayEquals(new long[]{7, -1}, f.longs("i"));
            assertArrayEquals(new float[]{7, -1}, f.floats("i"));
            assertEquals(49406f, f.floats("l")[0]);
            assertTrue(f.entry("l").dtype().isInteger() && !f.entry("f").dtype().isInteger());
            WeightsException e = assertThrows(WeightsException.class, () -> f.longs("f"));
            assertTrue(e.getMessage().contains("'f'") && e.getMessage().contains("not an integer type"), e.getMessage());
        }
        try (WeightStore s = WeightStore.open(p)) {
            CheckpointReader r = new CheckpointReader(s);
            r.take("l", 1, 3);
            r.skipPrefix("i");
            r.skipPrefix("f");
            WeightsException e = assertThrows(WeightsException.class, () -> r.finish("TestModel"));
            assertTrue(e.getMessage().contains("l: file has dtype I64, model expects a floating-point tensor"), e.getMessage());
        }
    }

    @Test
    void writerRoundTrips() {
        Path p = dir.resolve("w.safetensors");
        new SafeTensorsWriter().put("x", new int[]{2, 3}, new float[]{1, 2, 3, 4, 5, 6}).put("y", new int[]{1}, new float[]{7}).write(p);
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            assertArrayEquals(new long[]{2, 3}, f.entry("x").shape());
            assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, f.floats("x"));
            assertArrayEquals(new float[]{7}, f.floats("y"));
        }
    }

    @Test
    void truncatedFile() throws IOException {
        Path p = dir.resolve("t.safetensors");
        Files.write(p, new byte[]{1, 2, 3});
        WeightsException e = rejects(p);
        assertTrue(e.getMessage().contains("t.safetensors") && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void truncatedData() throws IOException {
        Path p = file("short.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", floats(1, 2));
        WeightsException e = rejects(p);
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("beyond the data section"), e.getMessage());
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putLong(0);
        Path p = dir.resolve("h.safetensors");
        Files.write(p, b.array());
        WeightsException e = rejects(p);
        assertTrue(e.getMessage().contains("header length 1000") && e.getMessage().contains("beyond the end"), e.getMessage());
    }

    @Test
    void absurdHeaderLength() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5).putLong(0);
        Path p = dir.resolve("neg.safetensors");
        Files.write(p, b.array());
        assertTrue(rejects(p).getMessage().contains("outside"));
    }

    @Test
    void malformedJson() throws IOException {
        Path p = file("j.safetensors", "{\"w\": {\"dtype\": ", new byte[0]);
        WeightsException e = rejects(p);
        assertTrue(e.getMessage().contains("j.safetensors") && e.getMessage().contains("JSON"), e.getMessage());
    }

    @Test
    void overlappingOffsets() throws IOException {
        Path p = file("o.safetensors", """
                {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                 "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", floats(1, 2, 3));
        WeightsException e = rejects(p);
        assertTrue(e.getMessage().contains("overlap") && e.getMessage().contains("'b'") && e.getMessage().contains("'a'"), e.getMessage());
    }

    @Test
    void shapeDisagreesWithByteLength() throws IOException {
        Path p = file("s.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", floats(1, 2));
        WeightsException e = rejects(p);
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("12 bytes") && e.getMessage().contains("8 bytes"), e.getMessage());
    }

    @Test
    void unknownDtype() throws IOException {
        Path p = file("d.safetensors", "{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", floats(1, 2));
        WeightsException e = rejects(p);
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("unsupported dtype 'Q4'"), e.getMessage());
    }

    @Test
    void offsetsBeyondLongAreNotWrapped() throws IOException {
        // 18446744073709551616 = 2^64: asLong() wrapped it to 0 and the tensor was read from offset 0
        Path p = file("o.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[18446744073709551616,18446744073709551624]}}", floats(1, 2));
        WeightsException e = rejects(p);
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("'data_offsets' must be [begin, end]"), e.getMessage());
    }

    @Test
    void metadataValuesMustBeStrings() throws IOException {
        Path p = file("md.safetensors", "{\"__metadata__\":{\"format\":5},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", floats(1, 2));
        WeightsException e = rejects(p);   // 5 was read as the string "5"
        assertTrue(e.getMessage().contains("__metadata__ must be an object of strings; 'format' is 5"), e.getMessage());
    }

    @Test
    void missingKeyNamesFileAndKey() throws IOException {
        Path p = file("m.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", floats(1, 2));
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            WeightsException e = assertThrows(WeightsException.class, () -> f.floats("bias"));
            assertTrue(e.getMessage().contains("m.safetensors") && e.getMessage().contains("'bias'"), e.getMessage());
        }
    }

    @Test
    void checkpointReaderListsMissingMisShapedAndUnexpectedKeys() throws IOException {
        Path p = file("c.safetensors", """
                {"conv.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                 "extra":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", floats(1, 2, 3));
        try (WeightStore s = WeightStore.open(p)) {
            CheckpointReader r = new CheckpointReader(s);
            r.take("conv.weight", 3);
            r.take("conv.bias", 2);
            WeightsException e = assertThrows(WeightsException.class, () -> r.finish("TestModel"));
            String m = e.getMessage();
            assertTrue(m.contains("missing keys") && m.contains("conv.bias"), m);
            assertTrue(m.contains("mis-shaped") && m.contains("conv.weight: file has [2], model expects [3]"), m);
            assertTrue(m.contains("unexpected keys") && m.contains("extra"), m);
        }
    }

    @Test
    void legacyAttentionNamesAreRenamed() throws IOException {
        Path p = file("l.safetensors", "{\"mid_block.attentions.0.proj_attn.weight\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]}}", floats(5));
        try (WeightStore s = WeightStore.open(p)) {
            CheckpointReader r = new CheckpointReader(s);
            assertArrayEquals(new float[]{5}, r.take("mid_block.attentions.0.to_out.0.weight", 1, 1));
            r.finish("TestModel");
        }
    }

    @Test
    void shardedCheckpoint() throws IOException {
        new SafeTensorsWriter().put("a", new int[]{1}, new float[]{1}).write(dir.resolve("m-00001.safetensors"));
        new SafeTensorsWriter().put("b", new int[]{1}, new float[]{2}).write(dir.resolve("m-00002.safetensors"));
        Path index = dir.resolve("m.safetensors.index.json");
        Files.writeString(index, "{\"metadata\":{},\"weight_map\":{\"a\":\"m-00001.safetensors\",\"b\":\"m-00002.safetensors\"}}");
        try (WeightStore s = WeightStore.open(index)) {
            assertArrayEquals(new float[]{2}, s.floats("b"));
            assertEquals(2, s.keys().size());
        }
        Files.writeString(index, "{\"weight_map\":{\"a\":\"m-00001.safetensors\",\"c\":\"m-00002.safetensors\"}}");
        WeightsException e = assertThrows(WeightsException.class, () -> WeightStore.open(index).close());
        assertTrue(e.getMessage().contains("'c'") && e.getMessage().contains("absent from the shard"), e.getMessage());
    }
}
