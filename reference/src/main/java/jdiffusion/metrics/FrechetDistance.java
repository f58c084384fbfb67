package jdiffusion.metrics;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * The Fréchet distance between two Gaussians fitted to feature sets (Heusel et al. 2017, the "FID"
 * formula; here with a Fashion-MNIST classifier's features instead of Inception's):
 * d² = |μ₁ − μ₂|² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½). Tr((Σ₁Σ₂)^½) is computed as Σ √λᵢ of the symmetric
 * matrix Σ₁^½ Σ₂ Σ₁^½ (same eigenvalues as Σ₁Σ₂), with EJML's symmetric eigen-decomposition.
 */
public final class FrechetDistance {
    private FrechetDistance() {
    }

    /** @param a samples × features; @param b samples × features (covariances with N−1, as numpy.cov) */
    public static double between(double[][] a, double[][] b) {
        int d = a[0].length;
        if (b[0].length != d) throw new IllegalArgumentException("feature sizes differ: " + d + " vs " + b[0].length);
        if (a.length < 2 || b.length < 2) throw new IllegalArgumentException("need at least 2 samples per set");
        double[] m1 = mean(a), m2 = mean(b);
        DMatrixRMaj s1 = covariance(a, m1), s2 = covariance(b, m2);
        double diff = 0;
        for (int i = 0; i < d; i++) diff += (m1[i] - m2[i]) * (m1[i] - m2[i]);
        DMatrixRMaj root1 = sqrtPsd(s1);
        DMatrixRMaj tmp = new DMatrixRMaj(d, d), m = new DMatrixRMaj(d, d);
        CommonOps_DDRM.mult(root1, s2, tmp);
        CommonOps_DDRM.mult(tmp, root1, m);
        symmetrize(m);
        double trSqrt = 0;
        for (double l : eigenvalues(m)) trSqrt += Math.sqrt(Math.max(0, l));
        return diff + CommonOps_DDRM.trace(s1) + CommonOps_DDRM.trace(s2) - 2 * trSqrt;
    }

    static double[] mean(double[][] x) {
        double[] m = new double[x[0].length];
        for (double[] r : x) for (int i = 0; i < m.length; i++) m[i] += r[i];
        for (int i = 0; i < m.length; i++) m[i] /= x.length;
        return m;
    }

    static DMatrixRMaj covariance(double[][] x, double[] m) {
        int d = m.length;
        DMatrixRMaj c = new DMatrixRMaj(d, d);
        for (double[] r : x)
            for (int i = 0; i < d; i++) {
                double di = r[i] - m[i];
                for (int j = i; j < d; j++) c.add(i, j, di * (r[j] - m[j]));
            }
        for (int i = 0; i < d; i++)
            for (int j = i; j < d; j++) {
                double v = c.get(i, j) / (x.length - 1);
                c.set(i, j, v);
                c.set(j, i, v);
            }
        return c;
    }

    /** V·diag(√max(λ, 0))·Vᵀ for a symmetric positive semi-definite matrix. */
    static DMatrixRMaj sqrtPsd(DMatrixRMaj s) {
        int d = s.numRows;
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, true, true);
        if (!eig.decompose(s.copy())) throw new IllegalStateException("eigen-decomposition failed");
        DMatrixRMaj out = new DMatrixRMaj(d, d);
        for (int k = 0; k < d; k++) {
            double l = Math.sqrt(Math.max(0, eig.getEigenvalue(k).getReal()));
            DMatrixRMaj v = eig.getEigenVector(k);
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) out.add(i, j, l * v.get(i) * v.get(j));
        }
        return out;
    }

    static double[] eigenvalues(DMatrixRMaj m) {
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(m.numRows, false, true);
        if (!eig.decompose(m.copy())) throw new IllegalStateException("eigen-decomposition failed");
        double[] l = new double[m.numRows];
        for (int k = 0; k < l.length; k++) l[k] = eig.getEigenvalue(k).getReal();
        return l;
    }

    private static void symmetrize(DMatrixRMaj m) {
        for (int i = 0; i < m.numRows; i++)
            for (int j = i + 1; j < m.numCols; j++) {
                double v = (m.get(i, j) + m.get(j, i)) / 2;
                m.set(i, j, v);
                m.set(j, i, v);
            }
    }
}
