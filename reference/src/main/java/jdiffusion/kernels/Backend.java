package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;
import jdiffusion.tensor.TensorArena;

/**
 * The only place that knows how arithmetic is done. Models describe what is computed, in terms of
 * these operations; a backend decides how (plain loops, Vector API and threads, TornadoVM). Every
 * operation returns a new tensor and leaves its inputs alone. All arithmetic is float32 in and out.
 *
 * <p>Shapes: images are NCHW; token sequences are [batch, tokens, channels].
 */
public interface Backend {

    String name();

    /**
     * The arena that recycles this backend's outputs within and across forward passes (models open their
     * passes on it, see {@link TensorArena}), or null when outputs are plain arrays (the default).
     */
    default TensorArena arena() {
        return null;
    }

    /**
     * 2-D cross-correlation (PyTorch Conv2d). x [N, Cin, H, W], w [Cout, Cin, kh, kw], bias [Cout] or
     * null; zero padding per side (diffusers' downsample_padding=0 pads only bottom/right).
     * Output [N, Cout, (H+pt+pb-kh)/stride+1, (W+pl+pr-kw)/stride+1].
     */
    Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padTop, int padLeft, int padBottom, int padRight);

    /** x [..., in] times w^T (w is [out, in], PyTorch layout) plus bias [out] (or null): [..., out]. */
    Tensor linear(Tensor x, Tensor w, Tensor bias);

    /**
     * GroupNorm over x [N, C, *]: per (n, group) mean and biased variance, then gamma/beta per channel;
     * when {@code silu} is set, SiLU is applied to the result (the fused norm+activation of resnets).
     */
    Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu);

    /** LayerNorm over the last dimension with affine gamma/beta. */
    Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps);

    /** x · sigmoid(x), elementwise. */
    Tensor silu(Tensor x);

    /** GEGLU (diffusers): x [..., 2F] split into (h, g) along the last dim; returns h · gelu(g), [..., F]. */
    Tensor geglu(Tensor x);

    /**
     * Multi-head softmax attention: q [B, Tq, H·D], k and v [B, Tk, H·D] (heads interleaved as
     * diffusers' head_to_batch_dim does: channel = h·D + d) → [B, Tq, H·D]:
     * softmax(scale · q kᵀ) v per head. Implementations must not hold more than a tile of the
     * Tq × Tk score matrix at once.
     */
    Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale);

    /**
     * {@link #attention(Tensor, Tensor, Tensor, int, float)}, and with {@code causal} each query i attends only to
     * the keys j ≤ i (the causal mask of a decoder, e.g. the CLIP text encoder); causal needs Tq = Tk. Backends
     * without a causal kernel of their own compute it with the scalar reference on the host.
     */
    default Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        return causal ? new ScalarBackend().attention(q, k, v, heads, scale, true) : attention(q, k, v, heads, scale);
    }

    /**
     * GELU as PyTorch's default (exact, erf-based): x/2 · (1 + erf(x/√2)), elementwise (CLIP's "gelu", SD 2.x).
     * Backends without a kernel of their own compute it with the scalar reference on the host.
     */
    default Tensor gelu(Tensor x) {
        return new ScalarBackend().gelu(x);
    }

    /**
     * CLIP's quick_gelu, x · sigmoid(1.702·x), elementwise (OpenAI CLIP's text tower, SD 1.x). Backends without a
     * kernel of their own compute it with the scalar reference on the host.
     */
    default Tensor quickGelu(Tensor x) {
        return new ScalarBackend().quickGelu(x);
    }

    /** Nearest-neighbour 2× upsampling of x [N, C, H, W] → [N, C, 2H, 2W]. */
    Tensor upsampleNearest2x(Tensor x);

    /** a + b, same shape. */
    Tensor add(Tensor a, Tensor b);

    /** x [N, C, H, W] + v[n, c] broadcast over H, W (the time-embedding injection of a resnet). */
    Tensor addChannelBias(Tensor x, Tensor v);

    /** Channel concatenation [N, Ca, H, W] ++ [N, Cb, H, W] → [N, Ca+Cb, H, W] (UNet skip connections). */
    Tensor concatChannels(Tensor a, Tensor b);

    /** x · s, elementwise. */
    Tensor scale(Tensor x, float s);

    /** [N, C, H, W] → [N, H·W, C] (image to token sequence). */
    Tensor toTokens(Tensor x);

    /** [N, H·W, C] → [N, C, H, W] (token sequence back to image). */
    Tensor fromTokens(Tensor x, int h, int w);
}
