package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Implicit im2col: the convolution input x [N, Cin, H, W] seen as the GEMM operand
 * B[(ci·kh + ky)·kw + kx][(b·oh + oy)·ow + ox] = x[b][ci][oy·stride + ky − pt][ox·stride + kx − pl]
 * (0 outside), packed straight into GEMM panels. The column matrix is never materialised: a panel of
 * NR output pixels is gathered from the input rows it needs, contiguous runs copied a vector at a time.
 */
final class Im2col implements PackB {
    private static final VectorSpecies<Float> S = VectorWidth.S;
    private static final int L = S.length();
    private final float[] x;
    private final int xOff, cin, h, w, kh, kw, stride, pt, pl, oh, ow;

    Im2col(float[] x, int xOff, int cin, int h, int w, int kh, int kw, int stride, int pt, int pl, int oh, int ow) {
        this.x = x;
        this.xOff = xOff;
        this.cin = cin;
        this.h = h;
        this.w = w;
        this.kh = kh;
        this.kw = kw;
        this.stride = stride;
        this.pt = pt;
        this.pl = pl;
        this.oh = oh;
        this.ow = ow;
    }

    @Override
    public void pack(int k0, int kc, int j0, int cols, float[] dst, int dOff) {
        final int nr = Gemm.NR, ohw = oh * ow;
        // split the panel's columns into runs within one output row: (b, oy, ox0, length, column)
        int j = 0;
        while (j < cols) {
            int col = j0 + j, b = col / ohw, p = col % ohw, oy = p / ow, ox = p % ow;
            int len = Math.min(cols - j, ow - ox);
            int img = xOff + b * cin * h * w;
            for (int k = 0; k < kc; k++) {
                int kk = k0 + k, ci = kk / (kh * kw), ky = (kk / kw) % kh, kx = kk % kw;
                int iy = oy * stride + ky - pt, d = dOff + k * nr + j;
                if (iy < 0 || iy >= h) {
                    for (int t = 0; t < len; t++) dst[d + t] = 0f;
                    continue;
                }
                int row = img + (ci * h + iy) * w, ix0 = ox * stride + kx - pl;
                if (stride == 1) copyRun(row, ix0, len, dst, d);
                else
                    for (int t = 0; t < len; t++) {
                        int ix = ix0 + t * stride;
                        dst[d + t] = ix < 0 || ix >= w ? 0f : x[row + ix];
                    }
            }
            j += len;
        }
        for (int k = 0; k < kc; k++)
            for (int t = cols; t < nr; t++) dst[dOff + k * nr + t] = 0f;
    }

    /** dst[d..d+len) = x[row + ix0 ..] with zeros where the input column is outside [0, w). */
    private void copyRun(int row, int ix0, int len, float[] dst, int d) {
        int lo = Math.max(0, -ix0), hi = Math.min(len, w - ix0);   // valid t: [lo, hi)
        if (hi <= lo) {
            for (int t = 0; t < len; t++) dst[d + t] = 0f;
            return;
        }
        int t = 0;
        for (; t < lo; t++) dst[d + t] = 0f;
        int src = row + ix0;
        for (; t + L <= hi; t += L) FloatVector.fromArray(S, x, src + t).intoArray(dst, d + t);
        for (; t < hi; t++) dst[d + t] = x[src + t];
        for (; t < len; t++) dst[d + t] = 0f;
    }
}
