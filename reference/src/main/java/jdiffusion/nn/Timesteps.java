package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/**
 * Sinusoidal timestep embedding, diffusers' {@code get_timestep_embedding} (after "Attention Is All
 * You Need", §3.5): for i &lt; half, freq_i = exp(−ln(10000)·i / (half − freq_shift)), emb = [sin(t·freq),
 * cos(t·freq)], swapped to [cos, sin] when flip_sin_to_cos. Every intermediate is rounded to float32
 * where PyTorch computes in float32, so the result matches diffusers bit-for-bit or within an ulp.
 */
public final class Timesteps {
    private Timesteps() {
    }

    public static Tensor embed(float[] timesteps, int dim, boolean flipSinToCos, int freqShift) {
        int half = dim / 2;
        float[] freq = new float[half];
        float negLog = (float) -Math.log(10000.0);
        for (int i = 0; i < half; i++) {
            float exponent = (negLog * i) / (float) (half - freqShift);
            freq[i] = (float) Math.exp(exponent);
        }
        Tensor out = Tensor.zeros(timesteps.length, dim);
        float[] o = out.data();
        for (int b = 0; b < timesteps.length; b++) {
            for (int i = 0; i < half; i++) {
                float arg = timesteps[b] * freq[i];
                float s = (float) Math.sin(arg), c = (float) Math.cos(arg);
                o[b * dim + i] = flipSinToCos ? c : s;
                o[b * dim + half + i] = flipSinToCos ? s : c;
            }
            // odd dim: the last column stays zero (diffusers pads)
        }
        return out;
    }
}
