package jdiffusion.schedule;

/**
 * The inference timesteps of diffusers 0.31's {@code set_timesteps}, per scheduler family (they differ),
 * with {@code N} training steps, {@code n} inference steps and the config's {@code steps_offset}. The
 * spacings are those of Lin et al. 2024 ("Common Diffusion Noise Schedules and Sample Steps are
 * Flawed"), Table 2. All values are in descending order.
 */
public final class TimestepSpacing {
    private TimestepSpacing() {
    }

    /**
     * DDIMScheduler / DDPMScheduler (integers):
     * <ul>
     *   <li>leading: {@code arange(0, n)·(N // n)}, reversed, {@code + steps_offset};</li>
     *   <li>linspace: {@code linspace(0, N−1, n).round()}, reversed;</li>
     *   <li>trailing: {@code round(arange(N, 0, −N/n)) − 1}.</li>
     * </ul>
     */
    public static int[] discrete(String spacing, int N, int n, int stepsOffset) {
        checkSteps(N, n);
        return switch (spacing) {
            case "leading" -> leading(n, 0, N / n, stepsOffset);
            case "linspace" -> reversedRounded(NumPy.linspace(0, N - 1, n), n);
            case "trailing" -> trailing(N, N, n);
            default -> throw unknown(spacing);
        };
    }

    /**
     * EulerDiscreteScheduler (float32): as {@link #discrete}, except that linspace is not rounded
     * ({@code np.linspace(0, N−1, n, dtype=float32)}, reversed) and the offset is added in float32.
     */
    public static float[] euler(String spacing, int N, int n, int stepsOffset) {
        checkSteps(N, n);
        float[] ts = new float[n];
        switch (spacing) {
            case "linspace" -> {
                double[] l = NumPy.linspace(0, N - 1, n);
                for (int k = 0; k < n; k++) ts[k] = (float) l[n - 1 - k];
            }
            case "leading" -> {
                int ratio = N / n;
                for (int k = 0; k < n; k++) ts[k] = (float) ((n - 1 - k) * ratio) + stepsOffset;
            }
            case "trailing" -> {
                double[] a = NumPy.arange(N, 0, -(double) N / n);
                ts = new float[a.length];
                for (int k = 0; k < a.length; k++) ts[k] = (float) Math.rint(a[k]) - 1f;
            }
            default -> throw unknown(spacing);
        }
        return ts;
    }

    /**
     * DPMSolverMultistepScheduler (integers), with its own rules: n + 1 points of which the last (t = 0)
     * is dropped:
     * <ul>
     *   <li>leading: {@code arange(0, n+1)·(N // (n+1))}, reversed, last dropped, {@code + steps_offset};</li>
     *   <li>linspace: {@code linspace(0, N−1, n+1).round()}, reversed, last dropped;</li>
     *   <li>trailing: {@code round(arange(N, 0, −N/n)) − 1}.</li>
     * </ul>
     * (N here is diffusers' {@code last_timestep}, which is N as {@code lambda_min_clipped} is −∞.)
     */
    public static int[] dpmSolver(String spacing, int N, int n, int stepsOffset) {
        checkSteps(N, n);
        return switch (spacing) {
            case "leading" -> leading(n, 1, N / (n + 1), stepsOffset);
            case "linspace" -> reversedRounded(NumPy.linspace(0, N - 1, n + 1), n);
            case "trailing" -> trailing(N, N, n);
            default -> throw unknown(spacing);
        };
    }

    /** k·ratio for k = from+n−1 … from (descending), plus the offset. */
    private static int[] leading(int n, int from, int ratio, int offset) {
        int[] ts = new int[n];
        for (int k = 0; k < n; k++) ts[k] = (from + n - 1 - k) * ratio + offset;
        return ts;
    }

    /** The {@code count} largest of {@code points}, rounded half to even, in descending order. */
    private static int[] reversedRounded(double[] points, int count) {
        int[] ts = new int[count];
        for (int k = 0; k < count; k++) ts[k] = (int) Math.rint(points[points.length - 1 - k]);
        return ts;
    }

    /** {@code round(arange(last, 0, −N/n)) − 1}. */
    private static int[] trailing(int last, int N, int n) {
        double[] a = NumPy.arange(last, 0, -(double) N / n);
        int[] ts = new int[a.length];
        for (int k = 0; k < a.length; k++) ts[k] = (int) Math.rint(a[k]) - 1;
        return ts;
    }

    private static void checkSteps(int N, int n) {
        if (n < 1 || n > N)
            throw new IllegalArgumentException("number of inference steps must be between 1 and num_train_timesteps (" + N + "), found " + n);
    }

    private static IllegalArgumentException unknown(String spacing) {
        return new IllegalArgumentException("timestep_spacing '" + spacing + "' is not supported (leading, linspace, trailing)");
    }
}
