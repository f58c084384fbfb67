package jdiffusion.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jdiffusion.Golden;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `tokenize` and `forward` on a text encoder, as a user runs them: transformers' ids and tensors, named errors. */
class TextCliTest {
    @TempDir
    Path tmp;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Golden cases 0, 10 (tabs/newlines), 24 (longer than 77 tokens) and 40 ('!'): one --input file, one array per line. */
    @ParameterizedTest(name = "tokenize --input with the {0} folder")
    @ValueSource(strings = {"clip-tokenizer", "clip-tokenizer-sd2"})
    void tokenizeInputFileGivesTransformersIdsOneLinePerPrompt(String folder) throws IOException {
        JsonNode cases = JSON.readTree(Files.readString(Golden.path("clip-tokenizer", "cases.json")));
        int[] picked = {0, 10, 24, 40};
        StringBuilder input = new StringBuilder();
        for (int i : picked) input.append(JSON.writeValueAsString(cases.get(i).get("prompt"))).append('\n');
        Path file = tmp.resolve("prompts.jsonl");
        Files.writeString(file, input);
        CliRun r = CliRun.run("tokenize", "--tokenizer", Golden.path(folder).toString(), "--input", file.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(picked.length, lines.size(), r.out());
        String key = folder.endsWith("sd2") ? "ids_sd2" : "ids";
        for (int j = 0; j < picked.length; j++)
            assertEquals(cases.get(picked[j]).get(key).toString(), lines.get(j), "case " + picked[j]);
        assertTrue(r.err().contains("warning: prompt 3: ") && r.err().contains("13 tokens dropped"), r.err());
    }

    @Test
    void tokenizeOnePromptOfAPipelineFolder() {
        CliRun r = CliRun.run("tokenize", "--tokenizer", Golden.path("sd-text2img-tiny").toString(), "--prompt", "a cat");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("[49406,320,2368,49407,49407,"), r.out());
        assertEquals(77, r.out().strip().split(",").length);
        assertEquals("", r.err());
    }

    @Test
    void tokenizeRefusesBadInputNamingIt() throws IOException {
        Path file = tmp.resolve("bad.jsonl");
        Files.writeString(file, "\"fine\"\nnot json\n");
        CliRun r = CliRun.run("tokenize", "--tokenizer", Golden.path("clip-tokenizer").toString(), "--input", file.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("bad.jsonl line 2: expected one JSON string per line"), r.err());
        Files.writeString(file, "\"a\" \"b\"\n");
        r = CliRun.run("tokenize", "--tokenizer", Golden.path("clip-tokenizer").toString(), "--input", file.toString());
        assertTrue(r.err().contains("line 1"), r.err());
        r = CliRun.run("tokenize", "--tokenizer", tmp.toString(), "--prompt", "x");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: ") && r.err().contains("vocab.json is missing"), r.err());
        r = CliRun.run("tokenize", "--tokenizer", Golden.path("clip-tokenizer").toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("--prompt") && r.err().contains("--input"), r.err());
    }

    @ParameterizedTest(name = "forward {0}")
    @ValueSource(strings = {"clip-text-sd1-layout", "clip-text-sd2-layout"})
    void forwardWritesEveryHiddenStateLikeTransformers(String model) {
        Path out = tmp.resolve("te.safetensors");
        CliRun r = CliRun.run("forward", "--model", Golden.path(model).toString(), "--input", Golden.path(model, "io.safetensors").toString(),
                "--output", out.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        try (SafeTensorsFile got = SafeTensorsFile.open(out); SafeTensorsFile want = SafeTensorsFile.open(Golden.path(model, "io.safetensors"))) {
            int checked = 0;
            for (String key : got.entries().keySet()) {
                double e = Golden.relL2(got.floats(key), want.floats(key));
                assertTrue(e <= 1e-4, model + " " + key + ": relative L2 " + e);
                checked++;
            }
            assertEquals(6, checked, "last_hidden_state, pooled, hidden_states.0..3: " + got.entries().keySet());
        }
    }

    @Test
    void forwardTakesI32IdsAndRefusesFloatIds() throws IOException {
        Path ids = tmp.resolve("ids.safetensors");
        // a float32 input_ids tensor, as a careless export would write it
        new SafeTensorsWriter().put("input_ids", new int[]{1, 3}, new float[]{49406, 320, 49407}).write(ids);
        CliRun r = CliRun.run("forward", "--model", Golden.path("clip-text-sd1-layout").toString(), "--input", ids.toString(),
                "--output", tmp.resolve("o.safetensors").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("'input_ids'") && r.err().contains("not an integer type (expected I64, I32 or U8)"), r.err());
        assertFalse(Files.exists(tmp.resolve("o.safetensors")));
        // I32, hand-written: 8-byte header length, header, data
        byte[] header = "{\"input_ids\":{\"dtype\":\"I32\",\"shape\":[1,3],\"data_offsets\":[0,12]}}".getBytes();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + header.length + 12).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).putInt(49406).putInt(320).putInt(49407);
        Files.write(ids, b.array());
        r = CliRun.run("forward", "--model", Golden.path("clip-text-sd1-layout").toString(), "--input", ids.toString(),
                "--output", tmp.resolve("o.safetensors").toString(), "--backend", "scalar");
        assertEquals(0, r.code(), r.err());
        try (SafeTensorsFile f = SafeTensorsFile.open(tmp.resolve("o.safetensors"))) {
            assertEquals("[1, 3, 48]", f.entry("last_hidden_state").shapeString());
            assertEquals("[1, 48]", f.entry("pooled").shapeString());
        }
    }

    /** bench --arch clip-l: SD 1.5's text encoder size (123.06 M parameters), time per prompt, median_ms last. */
    @Test
    void benchTimesTheClipLTextEncoder() {
        CliRun r = CliRun.runCapturingSystemStreams("bench", "--arch", "clip-l", "--batch", "2", "--tokens", "8", "--runs", "1", "--warmup", "0",
                "--warmup-seconds", "0", "--warmup-max-seconds", "0", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.getFirst().contains("clip-l (CLIPTextModel, 123.06 M parameters, 12 layers, hidden 768, quick_gelu"), lines.getFirst());
        assertTrue(lines.getFirst().contains("input_ids [2, 8]"), lines.getFirst());
        assertTrue(lines.stream().anyMatch(l -> l.matches("median_ms=[\\d.]+  min_ms=[\\d.]+  ms_per_prompt=[\\d.]+  GMAC/s=[\\d.]+")), r.out());
        // 2 prompts × 8 tokens × 12 layers × (4·768² + 2·768·3072) linear MACs + 2·2·12·(8·9/2)·768 causal attention MACs
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("macs_per_forward=1.360 G")), r.out());
        assertTrue(lines.getLast().matches("median_ms=\\d+\\.\\d"), lines.getLast());
        CliRun bad = CliRun.run("bench", "--arch", "clip-l", "--tokens", "78");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--tokens must be at most 77"), bad.err());
    }
}
