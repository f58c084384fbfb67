package jdiffusion.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import jdiffusion.nn.ClipTextModel;
import jdiffusion.nn.WeightPrecision;
import jdiffusion.text.ClipTokenizer;
import jdiffusion.weights.config.CLIPTextConfig;
import jdiffusion.weights.layout.ModelFolder;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The text-to-image inputs a user's folder brings: a tokenizer folder (vocab.json, merges.txt,
 * tokenizer_config.json, special_tokens_map.json) followed by prompts to tokenize, and a text encoder's
 * config.json followed by the model build against a weights file without tensors.
 */
class TextFuzzTest {
    private static final byte[] EMPTY = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    private static final String[] FILES = {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"};

    /** The input's parts separated by NUL bytes: the four tokenizer files, then prompt text (missing parts are empty). */
    static List<byte[]> parts(byte[] data, int n) {
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < data.length && out.size() < n - 1; i++)
            if (data[i] == 0) {
                out.add(Arrays.copyOfRange(data, start, i));
                start = i + 1;
            }
        out.add(Arrays.copyOfRange(data, Math.min(start, data.length), data.length));
        while (out.size() < n) out.add(new byte[0]);
        return out;
    }

    @FuzzTest(maxDuration = "10m")
    void tokenizer(byte[] data) throws Exception {
        List<byte[]> p = parts(data, FILES.length + 1);
        Path dir = Fuzz.dir("tokenizer");
        for (int i = 0; i < FILES.length; i++) Fuzz.write(dir, FILES[i], p.get(i));
        String prompt = new String(p.get(FILES.length), StandardCharsets.UTF_8);
        Fuzz.holds(() -> {
            ClipTokenizer tok = ClipTokenizer.load(dir);
            tok.encode(prompt);
            tok.encode("");
        });
    }

    @FuzzTest(maxDuration = "10m")
    void clipTextModel(byte[] data) throws Exception {
        Path dir = Fuzz.dir("text_encoder");
        Fuzz.write(dir, "config.json", data);
        Fuzz.write(dir, "model.safetensors", EMPTY);
        Fuzz.holds(() -> {
            CLIPTextConfig.parse(dir.resolve("config.json"));
            ClipTextModel.load(ModelFolder.open(dir), WeightPrecision.F32);
        });
    }
}
