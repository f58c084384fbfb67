package jdiffusion.schedule;

import jdiffusion.weights.config.SchedulerConfig;

/**
 * The training noise schedule β_1 … β_N (diffusers' {@code betas}), computed as diffusers computes it,
 * to the bit:
 * <ul>
 *   <li>{@code linear}: {@code torch.linspace(β_start, β_end, N, dtype=float32)} (Ho et al. 2020 §4);</li>
 *   <li>{@code scaled_linear}: {@code torch.linspace(√β_start, √β_end, N, dtype=float32) ** 2} (Stable Diffusion);</li>
 *   <li>{@code squaredcos_cap_v2}: diffusers' {@code betas_for_alpha_bar}, Nichol &amp; Dhariwal 2021 eq. 17,
 *       β_t = min(1 − ᾱ(t/N)/ᾱ((t−1)/N), 0.999) with ᾱ(s) = cos²((s + 0.008)/1.008 · π/2), in float64,
 *       then cast to float32;</li>
 *   <li>{@code trained_betas}: the given values cast to float32.</li>
 * </ul>
 */
public final class BetaSchedule {
    private BetaSchedule() {
    }

    /** The betas a scheduler config asks for. */
    public static float[] betas(SchedulerConfig c) {
        if (c.trainedBetas() != null) return trained(c.trainedBetas());
        return betas(c.betaSchedule(), c.numTrainTimesteps(), c.betaStart(), c.betaEnd());
    }

    public static float[] betas(String schedule, int n, double betaStart, double betaEnd) {
        return switch (schedule) {
            case "linear" -> torchLinspace((float) betaStart, (float) betaEnd, n);
            case "scaled_linear" -> {
                float[] b = torchLinspace((float) Math.sqrt(betaStart), (float) Math.sqrt(betaEnd), n);
                for (int i = 0; i < n; i++) b[i] = b[i] * b[i];
                yield b;
            }
            case "squaredcos_cap_v2" -> squaredCosCapV2(n, 0.999);
            default -> throw new IllegalArgumentException("beta_schedule '" + schedule + "' is not implemented");
        };
    }

    public static float[] trained(double[] betas) {
        float[] b = new float[betas.length];
        for (int i = 0; i < b.length; i++) b[i] = (float) betas[i];
        return b;
    }

    /**
     * diffusers' {@code betas_for_alpha_bar(n, max_beta)} with the cosine ᾱ of Nichol &amp; Dhariwal 2021
     * (eq. 17): β_i = min(1 − ᾱ((i+1)/n)/ᾱ(i/n), max_beta), in float64 like Python, then float32.
     */
    static float[] squaredCosCapV2(int n, double maxBeta) {
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n, t2 = (double) (i + 1) / n;
            b[i] = (float) Math.min(1 - alphaBarCosine(t2) / alphaBarCosine(t1), maxBeta);
        }
        return b;
    }

    private static double alphaBarCosine(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /**
     * {@code torch.linspace(start, end, steps, dtype=torch.float32)} as PyTorch's CPU kernel computes it
     * (x86-64 AVX2 build, whose compiler fuses the multiply-adds): step = (end − start)/(steps − 1) in
     * float32; the first half counts up from {@code start}, the second half down from {@code end}; the
     * vectorised body writes 8-lane vectors, two per iteration, each lane {@code base + k·step} from a
     * vector base chosen by the half its first lane is in; a scalar tail finishes. The result differs
     * from the exact linspace in the last bit of some elements, which shows in ᾱ_t and the sigmas, so it
     * is reproduced rather than approximated.
     */
    static float[] torchLinspace(float start, float end, int steps) {
        float[] out = new float[steps];
        if (steps == 0) return out;
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        final int lanes = 8;
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2, idx = 0;
        while (idx + 2 * lanes <= steps) {
            for (int vector = 0; vector < 2; vector++, idx += lanes) {
                float base = linspaceElement(start, end, step, steps, halfway, idx);
                for (int k = 0; k < lanes; k++) out[idx + k] = Math.fma(k, step, base);
            }
        }
        for (; idx < steps; idx++) out[idx] = linspaceElement(start, end, step, steps, halfway, idx);
        return out;
    }

    private static float linspaceElement(float start, float end, float step, int steps, int halfway, int idx) {
        return idx < halfway ? Math.fma(step, idx, start) : Math.fma(-step, steps - idx - 1, end);
    }
}
