package jdiffusion.sample;

import jdiffusion.kernels.Backend;
import jdiffusion.nn.Ctx;
import jdiffusion.tensor.Tensor;
import jdiffusion.text.PromptEncoder;
import jdiffusion.text.TokenizedPrompt;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a text-to-image run is asked for, one prompt per image, and its {@link Conditioning} as diffusers 0.31's
 * {@code StableDiffusionPipeline.__call__} builds it ({@code encode_prompt}):
 * <ul>
 *   <li>cond = the prompt's embeddings, with {@code clip_skip} applied ({@link PromptEncoder#encode});</li>
 *   <li>with guidance g &gt; 1 (classifier-free guidance, Ho &amp; Salimans 2022): uncond = the negative prompt's
 *       embeddings, {@code ""} for an image that has none, always the last hidden state (diffusers applies
 *       clip_skip to the prompt only); the UNet then runs on [uncond, cond];</li>
 *   <li>with g ≤ 1: no unconditional branch, no negative prompt encoded.</li>
 * </ul>
 *
 * @param prompts  the prompt of each image
 * @param negative the negative prompt of each image, or null when none is given
 * @param clipSkip layers of the text encoder to skip for the prompt (0 = last_hidden_state; diffusers' clip_skip)
 */
public record Prompts(List<String> prompts, List<String> negative, int clipSkip) {

    public Prompts {
        if (prompts == null || prompts.isEmpty()) throw new IllegalArgumentException("no prompts: give at least one");
        prompts = List.copyOf(prompts);
        if (negative != null) {
            if (negative.size() != prompts.size())
                throw new IllegalArgumentException(negative.size() + " negative prompts for " + prompts.size() + " prompts: give one per prompt");
            negative = List.copyOf(negative);
        }
        if (clipSkip < 0) throw new IllegalArgumentException("clip skip must be ≥ 0, got " + clipSkip);
    }

    /**
     * {@code prompts} cycled over {@code images} images (image k gets prompt k mod P), each with the same
     * {@code negative} prompt (null: none).
     */
    public static Prompts cycle(List<String> prompts, String negative, int clipSkip, int images) {
        if (prompts.isEmpty()) throw new IllegalArgumentException("no prompts: give at least one");
        if (images < 1) throw new IllegalArgumentException("number of images must be ≥ 1, got " + images);
        List<String> p = new ArrayList<>(images);
        for (int k = 0; k < images; k++) p.add(prompts.get(k % prompts.size()));
        return new Prompts(p, negative == null ? null : Collections.nCopies(images, negative), clipSkip);
    }

    public int images() {
        return prompts.size();
    }

    /**
     * The conditioning and the tokenizer's truncation warnings (one per distinct prompt that was cut, naming
     * what was dropped; diffusers logs them, the caller prints them).
     */
    public record Encoded(Conditioning conditioning, List<String> warnings) {
    }

    /** Encodes the prompts with {@code p}'s text encoder on {@code backend}, for guidance scale {@code guidance}. */
    public Encoded encode(Pipeline p, Backend backend, double guidance) {
        PromptEncoder text = p.text();
        if (text == null)
            throw new IllegalArgumentException(p.name() + " has no text encoder (its folder has no text_encoder/ and tokenizer/; it is "
                    + p.conditioningKind() + "), so it cannot take a prompt");
        if (!Double.isFinite(guidance) || guidance < 0)
            throw new IllegalArgumentException("guidance must be a finite number ≥ 0, got " + guidance);
        if (negative != null && guidance <= 1)
            throw new IllegalArgumentException("a negative prompt needs guidance > 1: at guidance " + guidance
                    + " there is no unconditional branch for it to replace (diffusers ignores it there)");
        text.checkClipSkip(clipSkip);
        Ctx c = new Ctx(backend);
        List<String> warnings = new ArrayList<>();
        PromptEncoder.Encoded cond = text.encode(c, prompts, clipSkip);                     // [K, T, D]
        warn(warnings, "prompt", prompts, cond.tokens());
        Tensor uncond = null;
        if (guidance > 1) {
            List<String> neg = negative != null ? negative : Collections.nCopies(prompts.size(), "");
            PromptEncoder.Encoded u = text.encode(c, neg, 0);                               // [K, T, D]
            warn(warnings, "negative prompt", neg, u.tokens());
            uncond = u.embeddings();
        }
        return new Encoded(new Conditioning(cond.embeddings(), uncond, guidance), List.copyOf(warnings));
    }

    private static void warn(List<String> out, String what, List<String> texts, List<TokenizedPrompt> tokens) {
        Set<String> seen = new LinkedHashSet<>();
        boolean several = new LinkedHashSet<>(texts).size() > 1;
        for (int i = 0; i < texts.size(); i++)
            if (tokens.get(i).warning() != null && seen.add(texts.get(i)))
                out.add(what + (several ? " of image " + (i + 1) : "") + ": " + tokens.get(i).warning());
    }
}
