package jdiffusion.weights.config;

/**
 * Cross-field rules shared by the UNet and VAE config records: what diffusers' modules need to be
 * constructible (GroupNorm divides channels into groups, the sinusoidal embedding divides by
 * half − freq_shift) and what a Java array can hold. Each rule fails with the record's
 * {@link ConfigReader#error}, naming file, key and value.
 */
final class Limits {
    /** More levels than this would make the size multiple 2^(levels−1) overflow an int. */
    static final int MAX_LEVELS = 16;
    /** Resnets per block: diffusers configs use 1–10; the bound keeps a typo from building millions of modules. */
    static final int MAX_LAYERS = 32;
    /** Largest element count of one Java float array (the JDK refuses a few less than Integer.MAX_VALUE). */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private Limits() {
    }

    /** A [1, channels, size, size] sample must fit a Java array, or no image of this size can be made. */
    static void sample(ConfigReader r, String key, int channels, int size) {
        long n = (long) channels * size * size;
        r.require(n <= MAX_ELEMENTS, key, "a sample of " + channels + " × " + size + " × " + size + " = " + n
                + " values does not fit a Java array (at most " + MAX_ELEMENTS + ")");
    }

    static void levels(ConfigReader r, String key, int levels) {
        r.require(levels <= MAX_LEVELS, key, levels + " levels; at most " + MAX_LEVELS + " are supported");
    }

    /** GroupNorm needs every channel count divisible by the group count (torch.nn.GroupNorm refuses otherwise). */
    static void divisibleByGroups(ConfigReader r, String key, int[] channels, int groups) {
        for (int i = 0; i < channels.length; i++)
            r.require(channels[i] % groups == 0, key, "block_out_channels[" + i + "] = " + channels[i]
                    + " is not divisible by norm_num_groups = " + groups + " (GroupNorm needs whole groups)");
    }

    /**
     * freq_shift of the sinusoidal embedding over block_out_channels[0] channels: the frequencies are
     * exp(−ln(10000)·i / (half − freq_shift)), so half − freq_shift must be positive.
     */
    static int freqShift(ConfigReader r, int channels0) {
        int half = channels0 / 2;
        r.require(half >= 1, "block_out_channels", "block_out_channels[0] = " + channels0
                + " is too small for a sinusoidal timestep embedding (needs at least 2 channels)");
        return r.integer("freq_shift", 0, 0, half - 1);
    }

    /** diffusers' default time_embedding_dim, 4 × block_out_channels[0], which must fit an int. */
    static int timeEmbeddingDim(ConfigReader r, int channels0) {
        r.require(channels0 <= ConfigReader.MAX / 4, "block_out_channels", "block_out_channels[0] = " + channels0
                + " is too large: the time embedding would have 4 × that many channels");
        return 4 * channels0;
    }
}
