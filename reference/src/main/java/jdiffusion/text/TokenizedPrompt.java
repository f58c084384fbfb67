package jdiffusion.text;

/**
 * A prompt as the text encoder takes it: {@code model_max_length} ids (BOS, at most max − 2 tokens, EOS, then
 * the pad id), as {@code tokenizer(prompt, padding="max_length", max_length=77, truncation=True)} gives them.
 *
 * @param ids                the padded ids, length {@code model_max_length}
 * @param untruncatedLength  BOS + every token of the prompt + EOS, before truncation ({@code padding="longest"})
 * @param droppedTokens      how many tokens truncation cut off (0 when the prompt fits)
 * @param warning            null when nothing was dropped; else diffusers' truncation warning, naming how many
 *                           tokens were dropped and what they said, for the caller to print where it prints
 */
public record TokenizedPrompt(int[] ids, int untruncatedLength, int droppedTokens, String warning) {
}
