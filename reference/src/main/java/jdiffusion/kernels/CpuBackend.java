package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The fast CPU backend: Vector API kernels on a fixed thread pool. Convolutions become GEMMs
 * (im2col, or the input itself for 1×1), linear layers multiply by a once-transposed weight, attention
 * works one query row at a time (never the whole score matrix). Work is split by output index only, so
 * results are bit-identical for any thread count. Tested against {@link ScalarBackend}.
 */
public final class CpuBackend implements Backend, AutoCloseable {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private final Parallel par;
    /** W^T of linear weights, made once per weight tensor (weights live as long as the model). */
    private final Map<Tensor, float[]> transposed = Collections.synchronizedMap(new IdentityHashMap<>());

    public CpuBackend(int threads) {
        this.par = new Parallel(threads);
    }

    @Override
    public String name() {
        return "cpu";
    }

    public int threads() {
        return par.threads();
    }

    /** The worker pool (for the GEMM benchmark). */
    public Parallel parallel() {
        return par;
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int pt, int pl, int pb, int pr) {
        Shapes.conv2d(x, w, bias);
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        int oh = (h + pt + pb - kh) / stride + 1, ow = (wd + pl + pr - kw) / stride + 1, ohw = oh * ow;
        int kk = cin * kh * kw;
        Tensor out = Tensor.zeros(n, cout, oh, ow);
        float[] O = out.data();
        boolean pointwise = kh == 1 && kw == 1 && stride == 1 && pt == 0 && pl == 0 && pb == 0 && pr == 0;
        float[] col = pointwise ? null : new float[kk * ohw];
        for (int b = 0; b < n; b++) {
            int oOff = b * cout * ohw;
            if (bias != null) {
                float[] B = bias.data();
                par.forRange(cout, 16, (c0, c1) -> {
                    for (int co = c0; co < c1; co++) java.util.Arrays.fill(O, oOff + co * ohw, oOff + (co + 1) * ohw, B[co]);
                });
            }
            if (pointwise) {
                Gemm.gemm(par, cout, ohw, cin, w.data(), 0, cin, x.data(), b * cin * h * wd, ohw, O, oOff, ohw);
            } else {
                im2col(x.data(), b * cin * h * wd, cin, h, wd, kh, kw, stride, pt, pl, oh, ow, col);
                Gemm.gemm(par, cout, ohw, kk, w.data(), 0, kk, col, 0, ohw, O, oOff, ohw);
            }
        }
        return out;
    }

    /** col[(ci·kh + ky)·kw + kx][oy·ow + ox] = x[ci][oy·stride + ky − pt][ox·stride + kx − pl] (0 outside). */
    private void im2col(float[] x, int xOff, int cin, int h, int w, int kh, int kw, int stride, int pt, int pl,
                        int oh, int ow, float[] col) {
        int ohw = oh * ow;
        par.forRange(cin * kh * kw, 8, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int ci = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw;
                int base = r * ohw;
                for (int oy = 0; oy < oh; oy++) {
                    int iy = oy * stride + ky - pt;
                    int dst = base + oy * ow;
                    if (iy < 0 || iy >= h) {
                        java.util.Arrays.fill(col, dst, dst + ow, 0f);
                        continue;
                    }
                    int src = xOff + (ci * h + iy) * w;
                    if (stride == 1) {
                        int lo = Math.max(0, pl - kx), hi = Math.min(ow, w + pl - kx);
                        for (int ox = 0; ox < lo; ox++) col[dst + ox] = 0f;
                        if (hi > lo) System.arraycopy(x, src + lo + kx - pl, col, dst + lo, hi - lo);
                        for (int ox = Math.max(hi, lo); ox < ow; ox++) col[dst + ox] = 0f;
                    } else {
                        for (int ox = 0; ox < ow; ox++) {
                            int ix = ox * stride + kx - pl;
                            col[dst + ox] = ix < 0 || ix >= w ? 0f : x[src + ix];
                        }
                    }
                }
            }
        });
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        Shapes.linear(x, w, bias);
        int in = w.dim(1), outF = w.dim(0), rows = x.numel() / in;
        int[] s = x.shape();
        s[s.length - 1] = outF;
        Tensor out = Tensor.zeros(s);
        float[] O = out.data();
        if (bias != null) for (int r = 0; r < rows; r++) System.arraycopy(bias.data(), 0, O, r * outF, outF);
        float[] wt = transposed.computeIfAbsent(w, t -> transpose(t.data(), outF, in));  // [in, out]
        Gemm.gemm(par, rows, outF, in, x.data(), 0, in, wt, 0, outF, O, 0, outF);
        return out;
    }

    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        Shapes.groupNorm(x, groups, gamma, beta);
        int n = x.dim(0), c = x.dim(1), spatial = x.numel() / (n * c), cpg = c / groups;
        Tensor out = Tensor.zeros(x.shape());
        float[] X = x.data(), O = out.data(), G = gamma.data(), B = beta.data();
        par.forRange(n * groups, 1, (q0, q1) -> {
            for (int q = q0; q < q1; q++) {
                int b = q / groups, g = q % groups;
                int start = (b * c + g * cpg) * spatial, len = cpg * spatial;
                double mean = sum(X, start, len) / len;
                double var = sumSquaredDeviation(X, start, len, (float) mean) / len;
                float inv = (float) (1.0 / Math.sqrt(var + eps));
                for (int ch = g * cpg; ch < (g + 1) * cpg; ch++) {
                    float scale = inv * G[ch], shift = (float) (B[ch] - mean * inv * G[ch]);
                    int off = (b * c + ch) * spatial;
                    affine(X, O, off, spatial, scale, shift, silu);
                }
            }
        });
        return out;
    }

    /** Sum in double of float lanes: vector partial sums in float, blocks added up in double. */
    private static double sum(float[] a, int off, int len) {
        double total = 0;
        for (int b0 = 0; b0 < len; b0 += 4096) {
            int b1 = Math.min(len, b0 + 4096), i = b0;
            FloatVector acc = FloatVector.zero(S);
            for (; i + L <= b1; i += L) acc = acc.add(FloatVector.fromArray(S, a, off + i));
            double part = acc.reduceLanes(VectorOperators.ADD);
            for (; i < b1; i++) part += a[off + i];
            total += part;
        }
        return total;
    }

    private static double sumSquaredDeviation(float[] a, int off, int len, float mean) {
        double total = 0;
        FloatVector m = FloatVector.broadcast(S, mean);
        for (int b0 = 0; b0 < len; b0 += 4096) {
            int b1 = Math.min(len, b0 + 4096), i = b0;
            FloatVector acc = FloatVector.zero(S);
            for (; i + L <= b1; i += L) {
                FloatVector d = FloatVector.fromArray(S, a, off + i).sub(m);
                acc = d.fma(d, acc);
            }
            double part = acc.reduceLanes(VectorOperators.ADD);
            for (; i < b1; i++) part += (double) (a[off + i] - mean) * (a[off + i] - mean);
            total += part;
        }
        return total;
    }

    /** o = x·scale + shift, then SiLU if asked. */
    private static void affine(float[] x, float[] o, int off, int len, float scale, float shift, boolean silu) {
        int i = 0;
        FloatVector sc = FloatVector.broadcast(S, scale), sh = FloatVector.broadcast(S, shift);
        for (; i + L <= len; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, off + i).fma(sc, sh);
            if (silu) v = v.div(v.neg().lanewise(VectorOperators.EXP).add(1f));
            v.intoArray(o, off + i);
        }
        for (; i < len; i++) {
            float v = Math.fma(x[off + i], scale, shift);
            o[off + i] = silu ? (float) (v / (1.0 + Math.exp(-v))) : v;
        }
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int c = x.dim(-1), rows = x.numel() / c;
        Shapes.vector(gamma, c, "layerNorm gamma");
        Shapes.vector(beta, c, "layerNorm beta");
        Tensor out = Tensor.zeros(x.shape());
        float[] X = x.data(), O = out.data(), G = gamma.data(), B = beta.data();
        par.forRange(rows, 16, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int off = r * c;
                double mean = sum(X, off, c) / c;
                float inv = (float) (1.0 / Math.sqrt(sumSquaredDeviation(X, off, c, (float) mean) / c + eps));
                float m = (float) mean;
                int i = 0;
                FloatVector mv = FloatVector.broadcast(S, m), iv = FloatVector.broadcast(S, inv);
                for (; i + L <= c; i += L)
                    FloatVector.fromArray(S, X, off + i).sub(mv).mul(iv).fma(FloatVector.fromArray(S, G, i), FloatVector.fromArray(S, B, i))
                            .intoArray(O, off + i);
                for (; i < c; i++) O[off + i] = Math.fma((X[off + i] - m) * inv, G[i], B[i]);
            }
        });
        return out;
    }

    @Override
    public Tensor silu(Tensor x) {
        Tensor out = Tensor.zeros(x.shape());
        float[] X = x.data(), O = out.data();
        par.forRange(x.numel(), 16384, (i0, i1) -> affine(X, O, i0, i1 - i0, 1f, 0f, true));
        return out;
    }

    @Override
    public Tensor geglu(Tensor x) {
        int two = x.dim(-1), f = two / 2, rows = x.numel() / two;
        if (two % 2 != 0) throw new IllegalArgumentException("geglu: last dimension " + two + " is odd");
        int[] s = x.shape();
        s[s.length - 1] = f;
        Tensor out = Tensor.zeros(s);
        float[] X = x.data(), O = out.data();
        par.forRange(rows, 4, (r0, r1) -> {
            for (int r = r0; r < r1; r++)
                for (int i = 0; i < f; i++) O[r * f + i] = X[r * two + i] * MathFunctions.gelu(X[r * two + f + i]);
        });
        return out;
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        Shapes.attention(q, k, v, heads);
        int b = q.dim(0), tq = q.dim(1), c = q.dim(2), tk = k.dim(1), d = c / heads;
        Tensor out = Tensor.zeros(b, tq, c);
        float[] Q = q.data(), K = k.data(), V = v.data(), O = out.data();
        // per (batch, head): K transposed to [d, tk] so one query's scores vectorise over keys
        for (int bi = 0; bi < b; bi++)
            for (int h = 0; h < heads; h++) {
                float[] kt = new float[d * tk];
                for (int j = 0; j < tk; j++)
                    for (int e = 0; e < d; e++) kt[e * tk + j] = K[(bi * tk + j) * c + h * d + e];
                final int fb = bi, fh = h;
                par.forRange(tq, 8, (i0, i1) -> {
                    float[] row = new float[tk];   // one row of scores: the tile
                    float[] acc = new float[d];
                    for (int i = i0; i < i1; i++) attendRow(Q, (fb * tq + i) * c + fh * d, kt, V, fb * tk, c, fh * d, d, tk, scale, row, acc,
                            O, (fb * tq + i) * c + fh * d);
                });
            }
        return out;
    }

    private static void attendRow(float[] Q, int qOff, float[] kt, float[] V, int vRow0, int c, int vCol, int d, int tk,
                                  float scale, float[] row, float[] acc, float[] O, int oOff) {
        java.util.Arrays.fill(row, 0f);
        for (int e = 0; e < d; e++) {
            FloatVector qe = FloatVector.broadcast(S, Q[qOff + e]);
            int base = e * tk, j = 0;
            for (; j + L <= tk; j += L) qe.fma(FloatVector.fromArray(S, kt, base + j), FloatVector.fromArray(S, row, j)).intoArray(row, j);
            for (; j < tk; j++) row[j] = Math.fma(Q[qOff + e], kt[base + j], row[j]);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < tk; j++) {
            row[j] *= scale;
            max = Math.max(max, row[j]);
        }
        double sum = 0;
        for (int j = 0; j < tk; j++) {
            row[j] = (float) Math.exp(row[j] - max);
            sum += row[j];
        }
        java.util.Arrays.fill(acc, 0f);
        for (int j = 0; j < tk; j++) {
            float p = row[j];
            int vOff = (vRow0 + j) * c + vCol, e = 0;
            FloatVector pv = FloatVector.broadcast(S, p);
            for (; e + L <= d; e += L) pv.fma(FloatVector.fromArray(S, V, vOff + e), FloatVector.fromArray(S, acc, e)).intoArray(acc, e);
            for (; e < d; e++) acc[e] = Math.fma(p, V[vOff + e], acc[e]);
        }
        float inv = (float) (1.0 / sum);
        for (int e = 0; e < d; e++) O[oOff + e] = acc[e] * inv;
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Tensor out = Tensor.zeros(n, c, 2 * h, 2 * w);
        float[] X = x.data(), O = out.data();
        par.forRange(n * c, 4, (p0, p1) -> {
            for (int p = p0; p < p1; p++)
                for (int y = 0; y < h; y++) {
                    int src = (p * h + y) * w, dst = (p * 2 * h + 2 * y) * 2 * w;
                    for (int xx = 0; xx < w; xx++) {
                        float v = X[src + xx];
                        O[dst + 2 * xx] = v;
                        O[dst + 2 * xx + 1] = v;
                    }
                    System.arraycopy(O, dst, O, dst + 2 * w, 2 * w);
                }
        });
        return out;
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        Shapes.same(a, b, "add");
        Tensor out = Tensor.zeros(a.shape());
        float[] A = a.data(), B = b.data(), O = out.data();
        par.forRange(a.numel(), 65536, (i0, i1) -> {
            int i = i0;
            for (; i + L <= i1; i += L) FloatVector.fromArray(S, A, i).add(FloatVector.fromArray(S, B, i)).intoArray(O, i);
            for (; i < i1; i++) O[i] = A[i] + B[i];
        });
        return out;
    }

    @Override
    public Tensor addChannelBias(Tensor x, Tensor v) {
        int n = x.dim(0), c = x.dim(1), spatial = x.numel() / (n * c);
        if (v.numel() != n * c) throw new IllegalArgumentException("addChannelBias: " + v.shapeString() + " does not match " + x.shapeString());
        Tensor out = Tensor.zeros(x.shape());
        float[] X = x.data(), O = out.data(), Vv = v.data();
        par.forRange(n * c, 16, (p0, p1) -> {
            for (int p = p0; p < p1; p++) affine(X, O, p * spatial, spatial, 1f, Vv[p], false);
        });
        return out;
    }

    @Override
    public Tensor concatChannels(Tensor a, Tensor b) {
        return ScalarOps.concatChannels(a, b);
    }

    @Override
    public Tensor scale(Tensor x, float s) {
        Tensor out = Tensor.zeros(x.shape());
        float[] X = x.data(), O = out.data();
        par.forRange(x.numel(), 65536, (i0, i1) -> {
            int i = i0;
            for (; i + L <= i1; i += L) FloatVector.fromArray(S, X, i).mul(s).intoArray(O, i);
            for (; i < i1; i++) O[i] = X[i] * s;
        });
        return out;
    }

    @Override
    public Tensor toTokens(Tensor x) {
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        Tensor out = Tensor.zeros(n, hw, c);
        float[] X = x.data(), O = out.data();
        par.forRange(n * hw, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int b = r / hw, i = r % hw;
                for (int ch = 0; ch < c; ch++) O[r * c + ch] = X[(b * c + ch) * hw + i];
            }
        });
        return out;
    }

    @Override
    public Tensor fromTokens(Tensor x, int h, int w) {
        int n = x.dim(0), hw = x.dim(1), c = x.dim(2);
        if (hw != h * w) throw new IllegalArgumentException("fromTokens: " + hw + " tokens is not " + h + "x" + w);
        Tensor out = Tensor.zeros(n, c, h, w);
        float[] X = x.data(), O = out.data();
        par.forRange(n * c, 4, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int b = p / c, ch = p % c;
                for (int i = 0; i < hw; i++) O[p * hw + i] = X[(b * hw + i) * c + ch];
            }
        });
        return out;
    }

    @Override
    public void close() {
        par.close();
    }
}
