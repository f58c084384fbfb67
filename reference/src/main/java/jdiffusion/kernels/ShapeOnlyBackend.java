package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;

/**
 * Computes only the shapes of every operation's result: each result is a storage-less
 * {@link Tensor#shapeOnly} tensor, so a dry run allocates nothing proportional to the activations. With
 * a {@link MacCounter} on top it gives the cost of a forward pass without doing it, whatever its size.
 */
public final class ShapeOnlyBackend implements Backend {

    @Override
    public String name() {
        return "shape-only";
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int pt, int pl, int pb, int pr) {
        Shapes.conv2d(x, w, bias);
        return Tensor.shapeOnly(x.dim(0), w.dim(0), (x.dim(2) + pt + pb - w.dim(2)) / stride + 1, (x.dim(3) + pl + pr - w.dim(3)) / stride + 1);
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        Shapes.linear(x, w, bias);
        int[] s = x.shape();
        s[s.length - 1] = w.dim(0);
        return Tensor.shapeOnly(s);
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        return Tensor.shapeOnly(x.shape());
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return Tensor.shapeOnly(x.shape());
    }

    @Override
    public Tensor silu(Tensor x) {
        return Tensor.shapeOnly(x.shape());
    }

    @Override
    public Tensor geglu(Tensor x) {
        int[] s = x.shape();
        s[s.length - 1] /= 2;
        return Tensor.shapeOnly(s);
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        Shapes.attention(q, k, v, heads);
        return Tensor.shapeOnly(q.shape());
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        if (causal) Shapes.causalAttention(q, k, v, heads);
        return attention(q, k, v, heads, scale);
    }

    @Override
    public Tensor gelu(Tensor x) {
        return Tensor.zeros(x.shape());
    }

    @Override
    public Tensor quickGelu(Tensor x) {
        return Tensor.zeros(x.shape());
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        return Tensor.shapeOnly(x.dim(0), x.dim(1), 2 * x.dim(2), 2 * x.dim(3));
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        Shapes.same(a, b, "add");
        return Tensor.shapeOnly(a.shape());
    }

    @Override
    public Tensor addChannelBias(Tensor x, Tensor v) {
        return Tensor.shapeOnly(x.shape());
    }

    @Override
    public Tensor concatChannels(Tensor a, Tensor b) {
        return Tensor.shapeOnly(a.dim(0), a.dim(1) + b.dim(1), a.dim(2), a.dim(3));
    }

    @Override
    public Tensor scale(Tensor x, float s) {
        return Tensor.shapeOnly(x.shape());
    }

    @Override
    public Tensor toTokens(Tensor x) {
        return Tensor.shapeOnly(x.dim(0), x.dim(2) * x.dim(3), x.dim(1));
    }

    @Override
    public Tensor fromTokens(Tensor x, int h, int w) {
        return Tensor.shapeOnly(x.dim(0), x.dim(2), h, w);
    }
}
