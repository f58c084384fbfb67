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

    /**
     * A Gaussian fitted to a feature set: mean and covariance (N−1), or given, e.g. the shipped
     * {@code test_feature_stats.safetensors} of the Fashion-MNIST classifier.
     */
    public record Stats(double[] mu, DMatrixRMaj sigma, int samples) {
        public Stats {
            if (sigma.numRows != mu.length || sigma.numCols != mu.length)
                throw new IllegalArgumentException("covariance " + sigma.numRows + "×" + sigma.numCols + " does not fit a mean of " + mu.length);
        }

        /** @param x samples × features */
        public static Stats of(double[][] x) {
            if (x.length < 2) throw new IllegalArgumentException("need at least 2 samples per set");
            double[] m = mean(x);
            return new Stats(m, covariance(x, m), x.length);
        }

        /** From a mean [d] and a row-major covariance [d·d] (samples unknown: −1). */
        public static Stats of(float[] mu, float[] sigma) {
            int d = mu.length;
            if (sigma.length != d * d) throw new IllegalArgumentException("covariance has " + sigma.length + " values for dimension " + d);
            double[] m = new double[d];
            DMatrixRMaj s = new DMatrixRMaj(d, d);
            for (int i = 0; i < d; i++) m[i] = mu[i];
            for (int i = 0; i < d * d; i++) s.data[i] = sigma[i];
            return new Stats(m, s, -1);
        }
    }

    /** @param a samples × features; @param b samples × features (covariances with N−1, as numpy.cov) */
    public static double between(double[][] a, double[][] b) {
        if (b[0].length != a[0].length) throw new IllegalArgumentException("feature sizes differ: " + a[0].length + " vs " + b[0].length);
        return between(Stats.of(a), Stats.of(b));
    }

    /** The distance between two fitted Gaussians. */
    public static double between(Stats a, Stats b) {
        int d = a.mu().length;
        if (b.mu().length != d) throw new IllegalArgumentException("feature sizes differ: " + d + " vs " + b.mu().length);
        double[] m1 = a.mu(), m2 = b.mu();
        DMatrixRMaj s1 = a.sigma(), s2 = b.sigma();
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
