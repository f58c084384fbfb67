package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;

/**
 * The auditable reference: single-threaded loops that read like the math, accumulating in double.
 * Every faster backend is tested against this one. Do not optimise it.
 */
public final class ScalarBackend implements Backend {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int pt, int pl, int pb, int pr) {
        Shapes.conv2d(x, w, bias);
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        int oh = (h + pt + pb - kh) / stride + 1, ow = (wd + pl + pr - kw) / stride + 1;
        Tensor out = Tensor.zeros(n, cout, oh, ow);
        float[] X = x.data(), W = w.data(), B = bias == null ? null : bias.data(), O = out.data();
        for (int b = 0; b < n; b++)
            for (int co = 0; co < cout; co++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        double acc = B == null ? 0 : B[co];
                        for (int ci = 0; ci < cin; ci++)
                            for (int ky = 0; ky < kh; ky++) {
                                int iy = oy * stride + ky - pt;
                                if (iy < 0 || iy >= h) continue;
                                for (int kx = 0; kx < kw; kx++) {
                                    int ix = ox * stride + kx - pl;
                                    if (ix < 0 || ix >= wd) continue;
                                    acc += (double) X[((b * cin + ci) * h + iy) * wd + ix] * W[((co * cin + ci) * kh + ky) * kw + kx];
                                }
                            }
                        O[((b * cout + co) * oh + oy) * ow + ox] = (float) acc;
                    }
        return out;
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        int in = w.dim(1), outF = w.dim(0);
        Shapes.linear(x, w, bias);
        int rows = x.numel() / in;
        int[] s = x.shape();
        s[s.length - 1] = outF;
        Tensor out = Tensor.zeros(s);
        float[] X = x.data(), W = w.data(), O = out.data();
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++) {
                double acc = bias == null ? 0 : bias.data()[o];
                for (int i = 0; i < in; i++) acc += (double) X[r * in + i] * W[o * in + i];
                O[r * outF + o] = (float) acc;
            }
        return out;
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        Shapes.groupNorm(x, groups, gamma, beta);
        int n = x.dim(0), c = x.dim(1), spatial = x.numel() / (n * c), cpg = c / groups;
        Tensor out = Tensor.zeros(x.shape());
        float[] X = x.data(), O = out.data(), G = gamma.data(), Bt = beta.data();
        for (int b = 0; b < n; b++)
            for (int g = 0; g < groups; g++) {
                int start = (b * c + g * cpg) * spatial, len = cpg * spatial;
                double mean = 0;
                for (int i = 0; i < len; i++) mean += X[start + i];
                mean /= len;
                double var = 0;
                for (int i = 0; i < len; i++) var += (X[start + i] - mean) * (X[start + i] - mean);
                var /= len;
                double inv = 1.0 / Math.sqrt(var + eps);
                for (int ch = g * cpg; ch < (g + 1) * cpg; ch++)
                    for (int i = 0; i < spatial; i++) {
                        int idx = (b * c + ch) * spatial + i;
                        float v = (float) ((X[idx] - mean) * inv * G[ch] + Bt[ch]);
                        O[idx] = silu ? MathFunctions.silu(v) : v;
                    }
            }
        return out;
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int c = x.dim(-1), rows = x.numel() / c;
        Shapes.vector(gamma, c, "layerNorm gamma");
        Shapes.vector(beta, c, "layerNorm beta");
        Tensor out = Tensor.zeros(x.shape());
        float[] X = x.data(), O = out.data();
        for (int r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < c; i++) mean += X[r * c + i];
            mean /= c;
            for (int i = 0; i < c; i++) var += (X[r * c + i] - mean) * (X[r * c + i] - mean);
            var /= c;
            double inv = 1.0 / Math.sqrt(var + eps);
            for (int i = 0; i < c; i++) O[r * c + i] = (float) ((X[r * c + i] - mean) * inv * gamma.data()[i] + beta.data()[i]);
        }
        return out;
    }

    @Override
    public Tensor silu(Tensor x) {
        Tensor out = Tensor.zeros(x.shape());
        for (int i = 0; i < x.numel(); i++) out.data()[i] = MathFunctions.silu(x.data()[i]);
        return out;
    }

    @Override
    public Tensor geglu(Tensor x) {
        int[] s = Shapes.geglu(x);
        int two = x.dim(-1), f = two / 2, rows = x.numel() / two;
        Tensor out = Tensor.zeros(s);
        float[] X = x.data(), O = out.data();
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < f; i++) O[r * f + i] = X[r * two + i] * MathFunctions.gelu(X[r * two + f + i]);
        return out;
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        return attention(q, k, v, heads, scale, false);
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        if (causal) Shapes.causalAttention(q, k, v, heads);
        else Shapes.attention(q, k, v, heads);
        int b = q.dim(0), tq = q.dim(1), c = q.dim(2), tk = k.dim(1), d = c / heads;
        Tensor out = Tensor.zeros(b, tq, c);
        float[] Q = q.data(), K = k.data(), V = v.data(), O = out.data();
        double[] scores = new double[tk]; // one row of the score matrix at a time
        for (int bi = 0; bi < b; bi++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < tq; i++) {
                    int keys = causal ? i + 1 : tk; // causal: keys after the query are masked out (weight 0)
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < keys; j++) {
                        double s = 0;
                        for (int e = 0; e < d; e++)
                            s += (double) Q[(bi * tq + i) * c + h * d + e] * K[(bi * tk + j) * c + h * d + e];
                        scores[j] = s * scale;
                        max = Math.max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < keys; j++) {
                        scores[j] = StrictMath.exp(scores[j] - max);
                        sum += scores[j];
                    }
                    for (int e = 0; e < d; e++) {
                        double acc = 0;
                        for (int j = 0; j < keys; j++) acc += scores[j] * V[(bi * tk + j) * c + h * d + e];
                        O[(bi * tq + i) * c + h * d + e] = (float) (acc / sum);
                    }
                }
        return out;
    }

    @Override
    public Tensor gelu(Tensor x) {
        Tensor out = Tensor.zeros(x.shape());
        for (int i = 0; i < x.numel(); i++) out.data()[i] = MathFunctions.gelu(x.data()[i]);
        return out;
    }

    @Override
    public Tensor quickGelu(Tensor x) {
        Tensor out = Tensor.zeros(x.shape());
        for (int i = 0; i < x.numel(); i++) out.data()[i] = MathFunctions.quickGelu(x.data()[i]);
        return out;
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Tensor out = Tensor.zeros(n, c, 2 * h, 2 * w);
        for (int p = 0; p < n * c; p++)
            for (int y = 0; y < 2 * h; y++)
                for (int xx = 0; xx < 2 * w; xx++)
                    out.data()[(p * 2 * h + y) * 2 * w + xx] = x.data()[(p * h + y / 2) * w + xx / 2];
        return out;
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        Shapes.same(a, b, "add");
        Tensor out = Tensor.zeros(a.shape());
        for (int i = 0; i < a.numel(); i++) out.data()[i] = a.data()[i] + b.data()[i];
        return out;
    }

    @Override
    public Tensor addChannelBias(Tensor x, Tensor v) {
        int n = x.dim(0), c = x.dim(1), spatial = x.numel() / (n * c);
        if (v.numel() != n * c) throw new IllegalArgumentException("addChannelBias: " + v.shapeString() + " does not match " + x.shapeString());
        Tensor out = Tensor.zeros(x.shape());
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < spatial; i++) out.data()[p * spatial + i] = x.data()[p * spatial + i] + v.data()[p];
        return out;
    }

    @Override
    public Tensor concatChannels(Tensor a, Tensor b) {
        return ScalarOps.concatChannels(a, b);
    }

    @Override
    public Tensor scale(Tensor x, float s) {
        Tensor out = Tensor.zeros(x.shape());
        for (int i = 0; i < x.numel(); i++) out.data()[i] = x.data()[i] * s;
        return out;
    }

    @Override
    public Tensor toTokens(Tensor x) {
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        Tensor out = Tensor.zeros(n, hw, c);
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < hw; i++) out.data()[(b * hw + i) * c + ch] = x.data()[(b * c + ch) * hw + i];
        return out;
    }

    @Override
    public Tensor fromTokens(Tensor x, int h, int w) {
        int n = x.dim(0), hw = x.dim(1), c = x.dim(2);
        if (hw != h * w) throw new IllegalArgumentException("fromTokens: " + hw + " tokens is not " + h + "x" + w);
        Tensor out = Tensor.zeros(n, c, h, w);
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < hw; i++) out.data()[(b * c + ch) * hw + i] = x.data()[(b * hw + i) * c + ch];
        return out;
    }
}
