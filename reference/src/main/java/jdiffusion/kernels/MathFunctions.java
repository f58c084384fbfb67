package jdiffusion.kernels;

/**
 * Scalar math the kernels share: the one definition of SiLU, GELU (exact, erf-based) and erf. Uses
 * StrictMath (fdlibm, bit-exact everywhere) so results never depend on the JIT tier.
 */
public final class MathFunctions {
    private MathFunctions() {
    }

    public static float silu(float x) {
        return (float) (x / (1.0 + StrictMath.exp(-x)));
    }

    /**
     * CLIP's quick_gelu: x · sigmoid(1.702·x) (Hendrycks &amp; Gimpel 2016, §2's sigmoid approximation of GELU).
     * 1.702·x is rounded to float32 first, as PyTorch's {@code x * torch.sigmoid(1.702 * x)} does: that rounding
     * moves e^(−1.702·x) by up to |1.702·x|·6e-8 relative, more than the rest of the float32 evaluation.
     */
    public static float quickGelu(float x) {
        float a = 1.702f * x;
        return (float) (x / (1.0 + StrictMath.exp(-a)));
    }

    /** PyTorch's default (exact) GELU: x/2 · (1 + erf(x/√2)). */
    public static float gelu(float x) {
        return (float) (0.5 * x * (1.0 + erf(x / Math.sqrt(2.0))));
    }

    /**
     * The error function to about 1e-14 absolute: its Maclaurin series for |x| < 2.5 and the
     * continued fraction of erfc (Abramowitz &amp; Stegun 7.1.14, evaluated bottom-up) beyond.
     */
    public static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 2.5) {
            // erf x = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 60; n++) {
                term *= -x2 / n;
                double t = term / (2 * n + 1);
                sum += t;
                if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
            }
            r = 2.0 / Math.sqrt(Math.PI) * sum;
        } else if (ax > 6.5) {
            r = 1.0;
        } else {
            // erfc x = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
            double f = ax;
            for (int k = 60; k >= 1; k--) f = ax + (k / 2.0) / f;
            r = 1.0 - StrictMath.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        }
        return x < 0 ? -r : r;
    }
}
