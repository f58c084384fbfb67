package jdiffusion.cli;

import jdiffusion.kernels.Backend;
import jdiffusion.sample.ClassEmbeddings;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Pipeline;
import jdiffusion.sample.Prompts;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What a conditional model is conditioned on: --prompt / --prompts-file (text-to-image pipelines), --cond FILE
 * (prompt embeddings), --class NAME (class-conditional pipelines), with --guidance, --negative-prompt, --clip-skip.
 */
public final class ConditioningOptions {
    @Option(names = "--prompt", description = "The prompt, for a pipeline with a text encoder (text_encoder/ and tokenizer/, e.g. Stable Diffusion 1.x/2.x).")
    String prompt;

    @Option(names = "--prompts-file", description = "A text file with one prompt per line (blank lines are skipped): one image per prompt, "
            + "in batches of --batch (prompts are cycled when there are more images).")
    Path promptsFile;

    @Option(names = "--negative-prompt", description = "What the image should not show: encoded in place of the empty prompt for classifier-free guidance (needs --guidance > 1).")
    String negativePrompt;

    @Option(names = "--clip-skip", description = "Skip the text encoder's last K layers for the prompt (diffusers' clip_skip; 1 = penultimate layer; default 0).")
    Integer clipSkip;

    @Option(names = "--cond", description = "safetensors with 'cond' and 'uncond' prompt embeddings [tokens, dim] (e.g. from a text encoder).")
    Path condFile;

    @Option(names = "--class", split = ",", description = "Class name(s) or indices for a class-conditional pipeline (comma-separated; cycled over the images; 'all' = every class).")
    List<String> classes;

    @Option(names = "--guidance", description = "Classifier-free guidance scale g: ε = ε_u + g·(ε_c − ε_u); ≤ 1 runs the conditional branch only. Default 7.5 with --prompt or --cond, 3 with --class.")
    Double guidance;

    private List<String> promptList;

    /** The prompts given (--prompt, or the lines of --prompts-file), or null when neither is given. */
    public List<String> prompts() {
        if (promptList == null && (prompt != null || promptsFile != null)) {
            if (prompt != null && promptsFile != null) throw new IllegalArgumentException("give either --prompt or --prompts-file, not both");
            promptList = prompt != null ? List.of(prompt) : readPrompts(promptsFile);
        }
        return promptList;
    }

    /** One prompt per line; blank lines skipped; a file without any prompt is an error naming it. */
    static List<String> readPrompts(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException("--prompts-file " + file + ": no such file");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new IllegalArgumentException("--prompts-file " + file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new UncheckedIOException("--prompts-file " + file + ": cannot read: " + e.getMessage(), e);
        }
        if (!lines.isEmpty() && lines.getFirst().startsWith("\uFEFF")) lines.set(0, lines.getFirst().substring(1));   // a UTF-8 byte order mark
        List<String> prompts = lines.stream().filter(l -> !l.isBlank()).toList();
        if (prompts.isEmpty()) throw new IllegalArgumentException("--prompts-file " + file + ": no prompts (expected one prompt per line)");
        return prompts;
    }

    /**
     * The conditioning for {@code images} images, or null for an unconditional model. Prompts are encoded on
     * {@code backend}; the tokenizer's truncation warnings are printed to stderr.
     */
    public Conditioning resolve(Pipeline p, int images, Backend backend) {
        boolean text = prompt != null || promptsFile != null;
        if (!text && (negativePrompt != null || clipSkip != null))
            throw new IllegalArgumentException((negativePrompt != null ? "--negative-prompt" : "--clip-skip") + " applies to a --prompt (or --prompts-file); give one");
        boolean conditional = p.unet().conditional();
        if (!conditional) {
            if (text || condFile != null || classes != null || guidance != null)
                throw new IllegalArgumentException(p.name() + " is an unconditional model: --prompt, --cond, --class and --guidance do not apply");
            return null;
        }
        if (text && condFile != null) throw new IllegalArgumentException("give either --prompt or --cond, not both");
        if (text && classes != null) throw new IllegalArgumentException("give either --prompt (text-to-image pipelines) or --class (class-conditional ones), not both");
        if (condFile != null && classes != null) throw new IllegalArgumentException("give either --cond or --class, not both");
        if (guidance != null && (guidance.isNaN() || guidance < 0 || guidance.isInfinite()))
            throw new IllegalArgumentException("--guidance must be a finite number ≥ 0, got " + guidance);
        if (text) return encodePrompts(p, images, backend);
        if (condFile != null) {
            double g = guidance == null ? 7.5 : guidance;
            try (SafeTensorsFile f = SafeTensorsFile.open(condFile)) {
                Tensor c = Tensors.require(f, "cond");
                Tensor u = g > 1 ? Tensors.require(f, "uncond") : Tensors.optional(f, "uncond");
                return Conditioning.repeat(c, u, g, images);
            }
        }
        ClassEmbeddings ce = p.classes();
        if (ce == null) {
            if (classes != null) throw new IllegalArgumentException("--class: " + p.name() + " is not a class-conditional pipeline (it has no class_embeddings/)"
                    + (p.text() != null ? "; it has a text encoder: give --prompt TEXT" : "; give prompt embeddings with --cond FILE"));
            throw new IllegalArgumentException(p.name() + " is conditional (UNet2DConditionModel) but has no class_embeddings/: "
                    + (p.text() != null ? "give --prompt TEXT (or prompt embeddings with --cond FILE)" : "give prompt embeddings with --cond FILE"));
        }
        double g = guidance == null ? 3.0 : guidance;
        int[] idx = new int[images];
        for (int k = 0; k < images; k++) idx[k] = classIndex(ce, k);
        return ce.condition(idx, g);
    }

    private Conditioning encodePrompts(Pipeline p, int images, Backend backend) {
        if (p.text() == null)
            throw new IllegalArgumentException("--prompt: " + p.name() + " has no text encoder (no text_encoder/ and tokenizer/ in its folder; it is "
                    + p.conditioningKind() + "): " + (p.classes() != null ? "give --class NAME" : "give prompt embeddings with --cond FILE"));
        double g = guidance == null ? 7.5 : guidance;
        int layers = p.text().layers();
        if (clipSkip != null && (clipSkip < 0 || clipSkip >= layers))
            throw new IllegalArgumentException("--clip-skip " + clipSkip + ": the text encoder of " + p.name() + " has " + layers
                    + " layers, so --clip-skip must be 0.." + (layers - 1));
        if (negativePrompt != null && g <= 1)
            throw new IllegalArgumentException("--negative-prompt needs --guidance > 1: at guidance " + g
                    + " no unconditional branch runs, so the negative prompt would have no effect");
        Prompts.Encoded e = Prompts.cycle(prompts(), negativePrompt, clipSkip == null ? 0 : clipSkip, images).encode(p, backend, g);
        e.warnings().forEach(w -> System.err.println("warning: " + w));
        return e.conditioning();
    }

    /** The class image k is generated for: --class cycled over the images, every class in turn by default. */
    private int classIndex(ClassEmbeddings ce, int k) {
        List<String> names = classes == null ? List.of("all") : classes;
        if (names.size() == 1 && names.getFirst().equalsIgnoreCase("all")) return k % ce.classNames().size();
        return ce.indexOf(names.get(k % names.size()));
    }

    /**
     * What image k is conditioned on, for a manifest: {"class", name}, {"prompt", text} or {"prompt", embeddings file}; null for an
     * unconditional model. Call after {@link #resolve}, which validates the options.
     */
    public String[] label(Pipeline p, int k) {
        if (!p.unet().conditional()) return null;
        if (condFile != null) return new String[]{"prompt", condFile.toString()};
        List<String> ps = prompts();
        if (ps != null) return new String[]{"prompt", ps.get(k % ps.size())};
        return new String[]{"class", p.classes().classNames().get(classIndex(p.classes(), k))};
    }
}
