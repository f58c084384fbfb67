package jdiffusion.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jdiffusion.Golden;
import jdiffusion.weights.WeightsException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLIP tokenizer against transformers' CLIPTokenizer on the golden prompts (ids exact, both folders), and
 * bad tokenizer folders rejected with errors that name the file and the problem.
 */
class ClipTokenizerTest {
    @TempDir
    Path tmp;

    static List<JsonNode> cases() throws IOException {
        JsonNode root = new ObjectMapper().readTree(Files.readString(Golden.path("clip-tokenizer", "cases.json")));
        List<JsonNode> out = new ArrayList<>();
        root.forEach(out::add);
        return out;
    }

    static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).asInt();
        return v;
    }

    /** Every case of one folder: ids, untruncated length, the BPE strings (SD 1.x) and the truncation warning. */
    private void checkFolder(String folder, String idsKey, String lengthKey, boolean checkBpe) throws IOException {
        ClipTokenizer tok = ClipTokenizer.load(Golden.path(folder));
        List<String> failures = new ArrayList<>();
        List<JsonNode> cases = cases();
        for (int i = 0; i < cases.size(); i++) {
            JsonNode c = cases.get(i);
            String prompt = c.get("prompt").asText();
            TokenizedPrompt t = tok.encode(prompt);
            int[] want = ints(c.get(idsKey));
            int length = c.get(lengthKey).asInt();
            if (!Arrays.equals(want, t.ids()))
                failures.add("case " + i + " " + quote(prompt) + ":\n  want " + Arrays.toString(want) + "\n  got  " + Arrays.toString(t.ids()));
            else if (t.untruncatedLength() != length)
                failures.add("case " + i + ": untruncated length " + t.untruncatedLength() + ", want " + length);
            else if (checkBpe && !tok.tokens(prompt).equals(strings(c.get("bpe"))))
                failures.add("case " + i + ": BPE " + tok.tokens(prompt) + ", want " + c.get("bpe"));
            int dropped = Math.max(0, length - tok.modelMaxLength());
            if (t.droppedTokens() != dropped || (dropped == 0) != (t.warning() == null)
                    || (dropped > 0 && !t.warning().contains(dropped + " token")))
                failures.add("case " + i + ": dropped " + t.droppedTokens() + " (want " + dropped + "), warning " + t.warning());
        }
        System.out.printf("%s: %d cases, %d failures%n", folder, cases.size(), failures.size());
        assertTrue(failures.isEmpty(), failures.size() + " of " + cases.size() + " cases differ:\n" + String.join("\n", failures));
    }

    private static List<String> strings(JsonNode a) {
        List<String> out = new ArrayList<>();
        a.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(cp -> b.append(cp < 32 || cp == 0xa0 ? String.format("\\u%04x", cp) : Character.toString(cp)));
        return b.append('"').toString();
    }

    @Test
    void sd1FolderGivesTransformersIdsForEveryCase() throws IOException {
        checkFolder("clip-tokenizer", "ids", "untruncated_length", true);
    }

    @Test
    void sd2FolderPadsWithBangAndCutsEveryBangOutAsASpecialToken() throws IOException {
        checkFolder("clip-tokenizer-sd2", "ids_sd2", "untruncated_length_sd2", false);
    }

    /**
     * diffusers' warning for a long prompt names the number of dropped tokens and the text they held (words of the
     * golden prompts only, so that golden-mini's reduced vocabulary has them too).
     */
    @Test
    void truncationWarningNamesWhatWasDropped() throws IOException {
        ClipTokenizer tok = ClipTokenizer.load(Golden.path("clip-tokenizer"));
        TokenizedPrompt t = tok.encode("cat ".repeat(75) + "a dog");
        assertEquals(79, t.untruncatedLength());
        assertEquals(2, t.droppedTokens());
        assertTrue(t.warning().contains("up to 77 tokens") && t.warning().contains("2 tokens dropped") && t.warning().endsWith(": a dog"),
                t.warning());
        assertEquals(tok.eosId(), t.ids()[76]);
        assertNull(tok.encode("cat ".repeat(75)).warning());
        assertEquals("a photo of an astronaut", tok.decode(tok.tokenIds("A photo   of an astronaut")));
    }

    @Test
    void unpairedSurrogateIsRejected() throws IOException {
        ClipTokenizer tok = ClipTokenizer.load(Golden.path("clip-tokenizer"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tok.encode("cat \ud83d dog"));
        assertTrue(e.getMessage().contains("unpaired UTF-16 surrogate at index 4"), e.getMessage());
    }

    // ---- bad folders, on a small synthetic vocabulary ----

    /** A tiny CLIPTokenizer folder: byte symbols for "a", "b", "!" and space-free merges a+b. */
    private Path folder(String vocab, String merges, String config, String specialMap) throws IOException {
        Path d = Files.createDirectories(tmp.resolve("tok" + System.nanoTime()));
        if (vocab != null) Files.writeString(d.resolve("vocab.json"), vocab);
        if (merges != null) Files.writeString(d.resolve("merges.txt"), merges);
        if (config != null) Files.writeString(d.resolve("tokenizer_config.json"), config);
        if (specialMap != null) Files.writeString(d.resolve("special_tokens_map.json"), specialMap);
        return d;
    }

    private static final String VOCAB = """
            {"!": 0, "a": 1, "b": 2, "a</w>": 3, "b</w>": 4, "ab</w>": 5, "!</w>": 6, "<|startoftext|>": 7, "<|endoftext|>": 8}""";
    private static final String MERGES = "#version: 0.2\na b</w>\n";
    private static final String CONFIG = "{\"model_max_length\": 6, \"tokenizer_class\": \"CLIPTokenizer\", \"do_lower_case\": true}";

    private static String message(Path dir) {
        return assertThrows(WeightsException.class, () -> ClipTokenizer.load(dir)).getMessage();
    }

    @Test
    void syntheticFolderWorksAndPadsWithTheConfiguredToken() throws IOException {
        ClipTokenizer tok = ClipTokenizer.load(folder(VOCAB, MERGES, CONFIG, "{\"pad_token\": \"!\"}"));
        assertArrayEquals(new int[]{7, 5, 0, 3, 8, 0}, tok.encode("AB!a").ids());
        TokenizedPrompt t = tok.encode("ab ab ab ab ab");
        assertArrayEquals(new int[]{7, 5, 5, 5, 5, 8}, t.ids());
        assertEquals(1, t.droppedTokens());
        ClipTokenizer sd1 = ClipTokenizer.load(folder(VOCAB, MERGES, CONFIG, null));
        assertArrayEquals(new int[]{7, 5, 6, 8, 8, 8}, sd1.encode("ab!").ids());
    }

    @Test
    void addedTokenWithRstripSwallowsTheSpaceAfterIt() throws IOException {
        String cfg = CONFIG.replace("}", ", \"additional_special_tokens\": [{\"content\": \"b\", \"rstrip\": true, \"lstrip\": true}]}");
        ClipTokenizer tok = ClipTokenizer.load(folder(VOCAB, MERGES, cfg, null));
        assertEquals(List.of("a</w>", "b", "a</w>"), tok.tokens("a  b  a"));
    }

    @Test
    void folderWithoutMergesIsNamed() throws IOException {
        String m = message(folder(VOCAB, null, CONFIG, null));
        assertTrue(m.contains("merges.txt is missing"), m);
    }

    @Test
    void folderWithoutTokenizerConfigIsNamed() throws IOException {
        String m = message(folder(VOCAB, MERGES, null, null));
        assertTrue(m.contains("tokenizer_config.json is missing"), m);
    }

    @Test
    void vocabWithoutTheSpecialTokensIsNamed() throws IOException {
        String m = message(folder("{\"a\": 0, \"a</w>\": 1}", MERGES, CONFIG, null));
        assertTrue(m.contains("vocab.json") && m.contains("'<|startoftext|>'") && m.contains("bos_token") && m.contains("not in the vocabulary"), m);
        String m2 = message(folder(VOCAB, MERGES, CONFIG, "{\"pad_token\": \"<pad>\"}"));
        assertTrue(m2.contains("'<pad>'") && m2.contains("pad_token"), m2);
    }

    @Test
    void malformedMergesAreNamedByLine() throws IOException {
        String m = message(folder(VOCAB, "#version: 0.2\na b</w>\nab\n", CONFIG, null));
        assertTrue(m.contains("merges.txt") && m.contains("line 3") && m.contains("'ab'"), m);
        String m2 = message(folder(VOCAB, "a b</w>\n", CONFIG, null));
        assertTrue(m2.contains("'#version: 0.2' header"), m2);
        String m3 = message(folder(VOCAB, "#version: 0.2\na b</w>\na b</w>\n", CONFIG, null));
        assertTrue(m3.contains("line 3 repeats the merge 'a b</w>' of line 2"), m3);
    }

    @Test
    void badVocabAndConfigValuesAreNamed() throws IOException {
        String m = message(folder("{\"a\": -1}", MERGES, CONFIG, null));
        assertTrue(m.contains("vocab.json") && m.contains("'a'") && m.contains("non-negative integer"), m);
        String m2 = message(folder("{\"a\": 1, \"b\": 1}", MERGES, CONFIG, null));
        assertTrue(m2.contains("id 1 is also the id of 'a'"), m2);
        String m3 = message(folder(VOCAB, MERGES, "{\"tokenizer_class\": \"CLIPTokenizer\"}", null));
        assertTrue(m3.contains("'model_max_length'") && m3.contains("required"), m3);
        String m4 = message(folder(VOCAB, MERGES, CONFIG.replace("}", ", \"padding_side\": \"left\"}"), null));
        assertTrue(m4.contains("'padding_side'") && m4.contains("left"), m4);
        String m5 = message(folder(VOCAB, MERGES, CONFIG.replace("}", ", \"fancy\": 1}"), null));
        assertTrue(m5.contains("'fancy'") && m5.contains("unknown config option"), m5);
        String m6 = message(folder(VOCAB, MERGES, CONFIG, "{\"bos_token\": {\"content\": \"<|startoftext|>\", \"single_word\": true}}"));
        assertTrue(m6.contains("special_tokens_map.json") && m6.contains("single_word"), m6);
        String m7 = message(folder(VOCAB, MERGES, CONFIG.replace("6", "1"), null));
        assertTrue(m7.contains("'model_max_length'") && m7.contains("2..1000000"), m7);
    }
}
