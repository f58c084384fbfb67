package jdiffusion.sample;

/**
 * What a sampling step did to obtain its model output. The trace file spells it as {@link #label()}
 * ("full", "partial", "skipped"), prefixed "low-res " when the latent was at reduced resolution.
 */
public enum StepAction {
    /** The UNet ran completely (one full evaluation). */
    FULL("full", 'F'),
    /** The UNet ran, with some modules served from a cache (DeepCache, cross-attention caching). */
    PARTIAL("partial", 'P'),
    /** No UNet call: the previous raw output was reused (AdaptiveDiffusion). */
    SKIPPED("skipped", 'S');

    private final String label;
    private final char letter;

    StepAction(String label, char letter) {
        this.label = label;
        this.letter = letter;
    }

    /** The word the trace file and progress lines use. */
    public String label() {
        return label;
    }

    /** The letter of {@link Trace#pattern()}: F, P or S (lower case at low resolution). */
    public char letter(boolean lowRes) {
        return lowRes ? Character.toLowerCase(letter) : letter;
    }

    /** Whether the UNet runs at all. */
    public boolean callsModel() {
        return this != SKIPPED;
    }

    /** Reads a trace label ("full", "low-res partial", ...) back; the resolution prefix is ignored. */
    public static StepAction ofLabel(String s) {
        String a = s.startsWith("low-res ") ? s.substring("low-res ".length()) : s;
        for (StepAction v : values()) if (v.label.equals(a)) return v;
        throw new IllegalArgumentException("unknown step action '" + s + "' (full, partial, skipped, optionally prefixed 'low-res ')");
    }
}
