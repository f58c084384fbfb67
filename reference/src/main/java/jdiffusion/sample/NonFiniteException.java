package jdiffusion.sample;

/**
 * Sampling produced NaN or infinite values: the run stops rather than write an image of garbage. The
 * message names the step and, when the UNet is to blame, the first module whose output went non-finite.
 */
public final class NonFiniteException extends IllegalStateException {
    public NonFiniteException(String message) {
        super(message);
    }
}
