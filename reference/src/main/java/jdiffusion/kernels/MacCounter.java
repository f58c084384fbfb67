package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A backend decorator that counts multiply-accumulates analytically from the shapes actually run
 * (convolutions, linear layers and the two attention matmuls, the operations the papers count as
 * "MACs"), then delegates. Normalisations and elementwise ops are not counted (as in DeepCache and
 * AdaptiveDiffusion's tables).
 */
public final class MacCounter implements Backend {
    private final Backend inner;
    private final AtomicLong macs = new AtomicLong();

    public MacCounter(Backend inner) {
        this.inner = inner;
    }

    public Backend inner() {
        return inner;
    }

    public long macs() {
        return macs.get();
    }

    /** Returns the count so far and starts again from zero. */
    public long reset() {
        return macs.getAndSet(0);
    }

    public static long conv2dMacs(Tensor x, Tensor w, int stride, int pt, int pl, int pb, int pr) {
        int oh = (x.dim(2) + pt + pb - w.dim(2)) / stride + 1, ow = (x.dim(3) + pl + pr - w.dim(3)) / stride + 1;
        return (long) x.dim(0) * w.dim(0) * oh * ow * w.dim(1) * w.dim(2) * w.dim(3);
    }

    @Override
    public String name() {
        return inner.name();
    }

    /**
     * The inner backend's arena: the sampler counts MACs through this wrapper, and its passes must recycle
     * activations as direct calls do (without this, every sampling step allocated afresh).
     */
    @Override
    public jdiffusion.tensor.TensorArena arena() {
        return inner.arena();
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int pt, int pl, int pb, int pr) {
        macs.addAndGet(conv2dMacs(x, w, stride, pt, pl, pb, pr));
        return inner.conv2d(x, w, bias, stride, pt, pl, pb, pr);
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        macs.addAndGet(x.elements() / w.dim(1) * w.dim(0) * w.dim(1));
        return inner.linear(x, w, bias);
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        macs.addAndGet(2L * q.dim(0) * q.dim(1) * k.dim(1) * q.dim(2)); // QKᵀ and PV, summed over heads
        return inner.attention(q, k, v, heads, scale);
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        if (!causal) return attention(q, k, v, heads, scale);
        long pairs = (long) q.dim(1) * (q.dim(1) + 1) / 2;   // query i meets keys 0..i
        macs.addAndGet(2L * q.dim(0) * pairs * q.dim(2));
        return inner.attention(q, k, v, heads, scale, true);
    }

    @Override
    public Tensor gelu(Tensor x) {
        return inner.gelu(x);
    }

    @Override
    public Tensor quickGelu(Tensor x) {
        return inner.quickGelu(x);
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        return inner.groupNorm(x, groups, gamma, beta, eps, silu);
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return inner.layerNorm(x, gamma, beta, eps);
    }

    @Override
    public Tensor silu(Tensor x) {
        return inner.silu(x);
    }

    @Override
    public Tensor geglu(Tensor x) {
        return inner.geglu(x);
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        return inner.upsampleNearest2x(x);
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        return inner.add(a, b);
    }

    @Override
    public Tensor addChannelBias(Tensor x, Tensor v) {
        return inner.addChannelBias(x, v);
    }

    @Override
    public Tensor concatChannels(Tensor a, Tensor b) {
        return inner.concatChannels(a, b);
    }

    @Override
    public Tensor scale(Tensor x, float s) {
        return inner.scale(x, s);
    }

    @Override
    public Tensor toTokens(Tensor x) {
        return inner.toTokens(x);
    }

    @Override
    public Tensor fromTokens(Tensor x, int h, int w) {
        return inner.fromTokens(x, h, w);
    }
}
