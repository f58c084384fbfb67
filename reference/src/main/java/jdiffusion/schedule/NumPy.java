package jdiffusion.schedule;

/**
 * The few NumPy float64 routines diffusers builds its timesteps and sigmas with, reproduced to the bit
 * (same formulas, same order of rounding), so that a schedule computed here equals the one diffusers
 * computes. {@link Math#rint} is NumPy's {@code round} (halves to even).
 */
final class NumPy {
    private NumPy() {
    }

    /**
     * {@code np.linspace(start, stop, num)} (endpoint included): {@code i·step + start} with
     * {@code step = (stop − start)/(num − 1)}, and the last element set to {@code stop}.
     */
    static double[] linspace(double start, double stop, int num) {
        if (num < 1) return new double[0];
        double[] y = new double[num];
        if (num == 1) {
            y[0] = start;
            return y;
        }
        int div = num - 1;
        double delta = stop - start, step = delta / div;
        for (int i = 0; i < num; i++) y[i] = (step == 0 ? i / (double) div * delta : i * step) + start;
        y[num - 1] = stop;
        return y;
    }

    /**
     * {@code np.arange(start, stop, step)} with a float step: length {@code ceil((stop − start)/step)},
     * elements {@code start + i·δ} where {@code δ = (start + step) − start} (NumPy's fill rule).
     */
    static double[] arange(double start, double stop, double step) {
        double len = Math.ceil((stop - start) / step);
        if (!(len > 0)) return new double[0];
        double[] a = new double[(int) len];
        a[0] = start;
        if (a.length > 1) {
            double delta = (start + step) - start;
            for (int i = 1; i < a.length; i++) a[i] = start + i * delta;
        }
        return a;
    }

    /**
     * {@code np.interp(x, xp, fp)} for increasing {@code xp}, in float64: {@code slope·(x − xp[j]) + fp[j]}
     * with {@code slope = (fp[j+1] − fp[j])/(xp[j+1] − xp[j])}; ends are clamped to fp's first/last value.
     */
    static double[] interp(double[] x, double[] xp, double[] fp) {
        int m = xp.length;
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            if (Double.isNaN(v)) {
                out[i] = v;
                continue;
            }
            if (v < xp[0]) {
                out[i] = fp[0];
                continue;
            }
            if (v >= xp[m - 1]) {
                out[i] = fp[m - 1];
                continue;
            }
            int j = upperBound(xp, v) - 1; // xp[j] <= v < xp[j+1]
            if (xp[j] == v) {
                out[i] = fp[j];
                continue;
            }
            double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
            double r = slope * (v - xp[j]) + fp[j];
            if (Double.isNaN(r)) {
                r = slope * (v - xp[j + 1]) + fp[j + 1];
                if (Double.isNaN(r) && fp[j] == fp[j + 1]) r = fp[j];
            }
            out[i] = r;
        }
        return out;
    }

    /** The first index whose element is greater than {@code v}. */
    private static int upperBound(double[] a, double v) {
        int lo = 0, hi = a.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] <= v) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
