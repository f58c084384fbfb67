package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;

/** Data movement with nothing to accelerate (plain copies), shared by the host backends. */
final class ScalarOps {
    private ScalarOps() {
    }

    static Tensor concatChannels(Tensor a, Tensor b) {
        int n = a.dim(0), ca = a.dim(1), cb = b.dim(1), h = a.dim(2), w = a.dim(3);
        if (b.dim(0) != n || b.dim(2) != h || b.dim(3) != w)
            throw new IllegalArgumentException("concatChannels: " + a.shapeString() + " vs " + b.shapeString());
        Tensor out = Tensor.output(n, ca + cb, h, w);
        int hw = h * w;
        for (int bi = 0; bi < n; bi++) {
            System.arraycopy(a.data(), bi * ca * hw, out.data(), bi * (ca + cb) * hw, ca * hw);
            System.arraycopy(b.data(), bi * cb * hw, out.data(), (bi * (ca + cb) + ca) * hw, cb * hw);
        }
        return out;
    }
}
