package jdiffusion.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jdiffusion.text.ClipTokenizer;
import jdiffusion.text.TokenizedPrompt;
import jdiffusion.weights.layout.PipelineFolder;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/** Prompts to CLIP token ids, as a Stable Diffusion pipeline's tokenizer gives them to its text encoder. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Tokenize prompts with a CLIPTokenizer folder (a pipeline's tokenizer/, or the pipeline folder itself).",
                "Prints one JSON array of model_max_length (77) ids per prompt: BOS, the tokens, EOS, the pad id.",
                "A prompt longer than that is truncated, with a warning on stderr naming what was dropped."})
public final class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--tokenizer", required = true, description = "A CLIPTokenizer folder (vocab.json, merges.txt, tokenizer_config.json, ...).")
    Path tokenizer;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--prompt", description = "One prompt.")
        String prompt;

        @Option(names = "--input", description = "A file with one prompt per line, each a JSON string (so tabs and newlines survive).")
        Path input;
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Path dir = PipelineFolder.looksLikePipeline(tokenizer) ? PipelineFolder.open(tokenizer).component("tokenizer") : tokenizer;
        List<String> prompts = source.prompt != null ? List.of(source.prompt) : readPrompts(source.input);
        ClipTokenizer tok = ClipTokenizer.load(dir);
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        for (int i = 0; i < prompts.size(); i++) {
            TokenizedPrompt t = tok.encode(prompts.get(i));
            if (t.warning() != null) err.println("warning: " + (prompts.size() > 1 ? "prompt " + (i + 1) + ": " : "") + t.warning());
            out.println(Arrays.toString(t.ids()).replace(" ", ""));
        }
        out.flush();
        err.flush();
        return 0;
    }

    /** One JSON string per line; a line that is not one is an error naming the file and line. */
    static List<String> readPrompts(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException("--input " + file + ": no such file");
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
        ObjectMapper json = com.fasterxml.jackson.databind.json.JsonMapper.builder()
                .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            JsonNode n;
            try {
                n = json.readTree(lines.get(i));
            } catch (JsonProcessingException e) {
                n = null;
            }
            if (n == null || !n.isTextual()) {
                String line = lines.get(i).length() > 60 ? lines.get(i).substring(0, 60) + "..." : lines.get(i);
                throw new IllegalArgumentException(file + " line " + (i + 1)
                        + ": expected one JSON string per line (e.g. \"a photo of a cat\"), found: " + line);
            }
            prompts.add(n.asText());
        }
        if (prompts.isEmpty()) throw new IllegalArgumentException(file + ": no prompts (expected one JSON string per line)");
        return prompts;
    }
}
