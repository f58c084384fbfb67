package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;

/** Argument checks shared by all backends, so that every backend rejects bad shapes the same way. */
public final class Shapes {
    private Shapes() {
    }

    public static void conv2d(Tensor x, Tensor w, Tensor bias) {
        if (x.rank() != 4 || w.rank() != 4 || x.dim(1) != w.dim(1))
            throw new IllegalArgumentException("conv2d: input " + x.shapeString() + " does not fit weight " + w.shapeString());
        if (bias != null) vector(bias, w.dim(0), "conv2d bias");
    }

    public static void linear(Tensor x, Tensor w, Tensor bias) {
        if (w.rank() != 2 || x.dim(-1) != w.dim(1))
            throw new IllegalArgumentException("linear: input " + x.shapeString() + " does not fit weight " + w.shapeString());
        if (bias != null) vector(bias, w.dim(0), "linear bias");
    }

    public static void groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta) {
        if (x.rank() < 2 || x.dim(1) % groups != 0)
            throw new IllegalArgumentException("groupNorm: " + x.dim(1) + " channels are not divisible into " + groups + " groups");
        vector(gamma, x.dim(1), "groupNorm gamma");
        vector(beta, x.dim(1), "groupNorm beta");
    }

    public static void attention(Tensor q, Tensor k, Tensor v, int heads) {
        if (q.rank() != 3 || k.rank() != 3 || !k.sameShape(v) || q.dim(0) != k.dim(0) || q.dim(2) != k.dim(2) || q.dim(2) % heads != 0)
            throw new IllegalArgumentException("attention: q " + q.shapeString() + ", k " + k.shapeString() + ", v " + v.shapeString() + ", heads " + heads);
    }

    public static void causalAttention(Tensor q, Tensor k, Tensor v, int heads) {
        attention(q, k, v, heads);
        if (q.dim(1) != k.dim(1))
            throw new IllegalArgumentException("causal attention needs as many queries as keys: q " + q.shapeString() + ", k " + k.shapeString());
    }

    /** GEGLU's output shape ([..., 2f] → [..., f]: the hidden half times gelu of the gate half); an odd last dimension is refused. */
    public static int[] geglu(Tensor x) {
        int two = x.dim(-1);
        if (two % 2 != 0) throw new IllegalArgumentException("geglu: last dimension " + two + " is odd");
        int[] s = x.shape();
        s[s.length - 1] = two / 2;
        return s;
    }

    public static void vector(Tensor t, int n, String what) {
        if (t.numel() != n) throw new IllegalArgumentException(what + ": expected " + n + " elements, got " + t.shapeString());
    }

    public static void same(Tensor a, Tensor b, String op) {
        if (!a.sameShape(b)) throw new IllegalArgumentException(op + ": shapes differ: " + a.shapeString() + " vs " + b.shapeString());
    }
}
