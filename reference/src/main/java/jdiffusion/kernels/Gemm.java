package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM C (+)= A·B with the Vector API, organised like BLIS/GotoBLAS: B is packed in
 * KC×NC blocks of NR-wide panels (the block stays in L2), A in MR-row panels (a panel stays in L1
 * while the B panels stream past it), and a 12×32 register-blocked micro-kernel keeps 24 AVX-512
 * accumulators in registers, so each loaded B vector feeds 12 FMAs and each broadcast A value 2.
 * That is what makes it fast: the arithmetic runs from registers on unit-stride, cache-resident data.
 *
 * <p>B can come from anywhere through {@link PackB} (a matrix, a transposed weight, an image seen
 * through implicit im2col); A may be float32 or 16-bit ({@link MatA}); C's columns may be spread over
 * images ({@link COut}). Work is split by C rows or C columns only, and every C element is accumulated
 * over k = 0, 1, …, K−1 in that order with one fused multiply-add per step, whatever the blocking, the
 * split or the micro-kernel variant: results are bit-identical for any thread count.
 */
public final class Gemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Micro-tile: MR rows of C by NR = 2 vectors of columns. */
    public static final int MR = 12, NR = 2 * L;
    /** Cache blocks: at most KC_MAX deep and NC columns per packed B block (fits L2; an A panel fits L1). */
    static final int KC_MAX = 320, NC = 512;
    /** From this many columns per task on, A is packed (the copy pays for itself); below, it is read in place. */
    private static final int PACK_A_MIN_COLS = 512;

    private static final class Scratch {
        final float[] a = new float[MR * KC_MAX], b = new float[KC_MAX * NC], tile = new float[MR * NR];
        float[] packedA = new float[0], packedB = new float[0];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Gemm() {
    }

    /** What C starts from before A·B is added: its contents, zero, a bias per row or a bias per column. */
    public enum Start { ACCUMULATE, ZERO, ROW_BIAS, COLUMN_BIAS }

    /** Micro-kernel start codes (the first k-block starts as asked, later ones from C). */
    static final int LOAD = 0, ZERO = 1, ROW = 2, COL = 3;

    /** Row-major C[M×N] += A[M×K]·B[K×N] with leading dimensions. */
    public static void gemm(Parallel par, int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float[] c, int cOff, int ldc) {
        gemm(par, m, n, k, MatA.of(a, aOff, lda), PackB.rowMajor(b, bOff, ldb), COut.matrix(c, cOff, ldc), Start.ACCUMULATE, null);
    }

    /**
     * C = start + A·B for any operand sources (see the class comment), where start is C's contents, zero,
     * bias[row] or bias[column]. Starting from the bias inside the micro-kernel saves a pass that would
     * fill C with it first and the loads of C that would follow. With K = 0, C is left as it is.
     */
    public static void gemm(Parallel par, int m, int n, int k, MatA a, PackB b, COut c, Start start, float[] bias) {
        if (m <= 0 || n <= 0 || k <= 0) return;
        int init = switch (start) {
            case ACCUMULATE -> LOAD;
            case ZERO -> ZERO;
            case ROW_BIAS -> ROW;
            case COLUMN_BIAS -> COL;
        };
        int panels = (n + NR - 1) / NR, groups = (m + MR - 1) / MR;
        int kBlocks = (k + KC_MAX - 1) / KC_MAX, kc = (k + kBlocks - 1) / kBlocks;   // equal k-blocks ≤ KC_MAX
        long work = (long) m * n * k;
        if (par.threads() == 1 || work < 1 << 18) {
            task(0, m, 0, n, k, kc, a, b, null, c, init, bias, n >= PACK_A_MIN_COLS || a.f32 == null);
        } else if (panels >= 2 * par.threads() && (n >= m || groups < 2 * par.threads())) {
            // wide C: split the columns; A is packed once up front and shared (every task reads all of it,
            // so this is the split when A is the smaller operand), each task packs its own B blocks
            MatA ap = a;
            if (a.packed == null) {
                Scratch s = SCRATCH.get();
                if (s.packedA.length < MatA.packedSize(m, k)) s.packedA = new float[MatA.packedSize(m, k)];
                ap = a.prepack(par, m, k, s.packedA, 0);
            }
            MatA fa = ap;
            par.forRange(panels, 8, (p0, p1) -> task(0, m, p0 * NR, Math.min(n, p1 * NR), k, kc, fa, b, null, c, init, bias, true));
        } else {
            // tall C: split the rows; B is packed once up front and shared (every task reads all of it)
            Scratch s = SCRATCH.get();
            int size = panels * NR * k;
            if (s.packedB.length < size) s.packedB = new float[size];
            float[] bp = s.packedB;
            par.forRange(panels, Math.max(1, 32768 / (NR * k)), (p0, p1) -> {
                for (int p = p0; p < p1; p++) b.pack(0, k, p * NR, Math.min(NR, n - p * NR), bp, p * k * NR);
            });
            int grain = (int) Math.max(1, (1L << 20) / ((long) MR * n * k));
            boolean packA = n >= PACK_A_MIN_COLS || a.f32 == null;
            par.forRange(groups, grain, (g0, g1) -> task(g0 * MR, Math.min(m, g1 * MR), 0, n, k, kc, a, null, bp, c, init, bias, packA));
        }
    }

    /**
     * Columns [j0, j1) of C = start + A·B on the calling thread (j0 a multiple of NR), for callers that
     * run many independent GEMMs in one parallel region. A should be packed ({@link MatA#prepack}).
     */
    static void columns(int m, int j0, int j1, int k, MatA a, PackB b, COut c, Start start, float[] bias) {
        if (m <= 0 || j1 <= j0 || k <= 0) return;
        int init = switch (start) {
            case ACCUMULATE -> LOAD;
            case ZERO -> ZERO;
            case ROW_BIAS -> ROW;
            case COLUMN_BIAS -> COL;
        };
        int kBlocks = (k + KC_MAX - 1) / KC_MAX, kc = (k + kBlocks - 1) / kBlocks;
        task(0, m, j0, j1, k, kc, a, b, null, c, init, bias, true);
    }

    /**
     * C[i0:i1, j0:j1] (+)= A[i0:i1, :]·B[:, j0:j1] on one thread; i0 is a multiple of MR, j0 of NR. B is
     * packed here block by block from {@code b}, or comes whole as panels [panel][k][NR] in {@code bPre}.
     */
    private static void task(int i0, int i1, int j0, int j1, int k, int kcMax, MatA a, PackB b, float[] bPre, COut c,
                             int start, float[] bias, boolean packA) {
        Scratch s = SCRATCH.get();
        float[] bArr = bPre != null ? bPre : s.b;
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc), panels = (nc + NR - 1) / NR;
            for (int pc = 0; pc < k; pc += kcMax) {
                int kc = Math.min(kcMax, k - pc);
                int init = pc == 0 ? start : LOAD;
                if (bPre == null)
                    for (int p = 0; p < panels; p++) b.pack(pc, kc, jc + p * NR, Math.min(NR, nc - p * NR), s.b, p * kc * NR);
                for (int row = i0; row < i1; row += MR) {
                    int rows = Math.min(MR, i1 - row);
                    float[] ap = null;
                    int aOff = 0;
                    if (a.packed != null) {
                        ap = a.packed;
                        aOff = a.off + (row / MR * a.packedK + pc) * MR;
                    } else if (packA || rows < MR) {
                        a.packPanel(row, rows, pc, kc, s.a, 0);
                        ap = s.a;
                    }
                    for (int p = 0; p < panels; p++) {
                        int col = jc + p * NR, cols = Math.min(NR, nc - p * NR);
                        int bOff = bPre != null ? (col / NR * k + pc) * NR : p * kc * NR;
                        tile(kc, a, row, pc, ap, aOff, bArr, bOff, s, c, rows, col, cols, init, bias);
                    }
                }
            }
        }
    }

    /**
     * One tile of C (rows ≤ MR): straight into C when each half of its columns is whole and contiguous
     * (the halves may lie in different images) and it has 12, 8 or 4 rows, else through a scratch tile.
     * A comes packed ({@code ap}) or in place (null).
     */
    private static void tile(int kc, MatA a, int row, int pc, float[] ap, int aOff, float[] bp, int bOff, Scratch s, COut c,
                             int rows, int col, int cols, int init, float[] bias) {
        int addr = cols == NR ? c.contiguous(row, col, L) : -1, addr1 = addr >= 0 ? c.contiguous(row, col + L, L) : -1;
        int biasOff = init == ROW ? row : col;
        if (addr1 >= 0) {
            float[] cc = c.c();
            int ldc = c.ldc();
            if (ap == null) {
                microRows(kc, a.f32, a.off + row * a.ld + pc, a.ld, bp, bOff, cc, addr, addr1, ldc, init, bias, biasOff);
                return;
            }
            switch (rows) {
                case MR -> {
                    microPacked(kc, ap, aOff, bp, bOff, cc, addr, addr1, ldc, init, bias, biasOff);
                    return;
                }
                case 8 -> {
                    microPacked8(kc, ap, aOff, bp, bOff, cc, addr, addr1, ldc, init, bias, biasOff);
                    return;
                }
                case 4 -> {
                    microPacked4(kc, ap, aOff, bp, bOff, cc, addr, addr1, ldc, init, bias, biasOff);
                    return;
                }
                default -> {
                }
            }
        }
        // partial tile: start values into the scratch tile, compute there, copy the valid part out
        float[] t = s.tile;
        for (int r = 0; r < MR; r++)
            for (int q = 0; q < NR; q++)
                t[r * NR + q] = r >= rows || q >= cols ? 0f : switch (init) {
                    case LOAD -> c.c()[c.index(row + r, col + q)];
                    case ROW -> bias[row + r];
                    case COL -> bias[col + q];
                    default -> 0f;
                };
        if (ap != null) microPacked(kc, ap, aOff, bp, bOff, t, 0, L, NR, LOAD, null, 0);
        else microRows(kc, a.f32, a.off + row * a.ld + pc, a.ld, bp, bOff, t, 0, L, NR, LOAD, null, 0);
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++) c.c()[c.index(row + r, col + q)] = t[r * NR + q];
    }

    /**
     * The micro-kernel: C[12×NR] = start + A·B over kc steps, A packed as [k][12] (12 values broadcast per
     * step), B packed as [k][NR] (two vectors per step); the 24 accumulators stay in registers for the whole
     * loop, so each step is 2 loads, 12 broadcasts and 24 FMAs. The two column halves of the tile start at
     * cOff and cOff1 (cOff + L for a plain matrix). The start is C itself (LOAD), zero, bias[biasOff + row]
     * (ROW_BIAS) or bias[biasOff + column] (COLUMN_BIAS).
     */
    static void microPacked(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc, int init, float[] bias, int biasOff) {
        FloatVector z0 = init == COL ? FloatVector.fromArray(S, bias, biasOff) : FloatVector.zero(S);
        FloatVector z1 = init == COL ? FloatVector.fromArray(S, bias, biasOff + L) : z0;
        FloatVector c00 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 0 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 0]) : z0;
        FloatVector c01 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 0 * ldc) : init == ROW ? c00 : z1;
        FloatVector c10 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 1]) : z0;
        FloatVector c11 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 1 * ldc) : init == ROW ? c10 : z1;
        FloatVector c20 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 2 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 2]) : z0;
        FloatVector c21 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 2 * ldc) : init == ROW ? c20 : z1;
        FloatVector c30 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 3 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 3]) : z0;
        FloatVector c31 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 3 * ldc) : init == ROW ? c30 : z1;
        FloatVector c40 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 4 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 4]) : z0;
        FloatVector c41 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 4 * ldc) : init == ROW ? c40 : z1;
        FloatVector c50 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 5 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 5]) : z0;
        FloatVector c51 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 5 * ldc) : init == ROW ? c50 : z1;
        FloatVector c60 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 6 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 6]) : z0;
        FloatVector c61 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 6 * ldc) : init == ROW ? c60 : z1;
        FloatVector c70 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 7 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 7]) : z0;
        FloatVector c71 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 7 * ldc) : init == ROW ? c70 : z1;
        FloatVector c80 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 8 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 8]) : z0;
        FloatVector c81 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 8 * ldc) : init == ROW ? c80 : z1;
        FloatVector c90 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 9 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 9]) : z0;
        FloatVector c91 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 9 * ldc) : init == ROW ? c90 : z1;
        FloatVector ca0 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 10 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 10]) : z0;
        FloatVector ca1 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 10 * ldc) : init == ROW ? ca0 : z1;
        FloatVector cb0 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 11 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 11]) : z0;
        FloatVector cb1 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 11 * ldc) : init == ROW ? cb0 : z1;
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR, ak = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L), x;
            x = FloatVector.broadcast(S, a[ak]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ak + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ak + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ak + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ak + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ak + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, a[ak + 6]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[ak + 7]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, a[ak + 8]); c80 = x.fma(b0, c80); c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, a[ak + 9]); c90 = x.fma(b0, c90); c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, a[ak + 10]); ca0 = x.fma(b0, ca0); ca1 = x.fma(b1, ca1);
            x = FloatVector.broadcast(S, a[ak + 11]); cb0 = x.fma(b0, cb0); cb1 = x.fma(b1, cb1);
        }
        c00.intoArray(c, cOff + 0 * ldc); c01.intoArray(c, cOff1 + 0 * ldc);
        c10.intoArray(c, cOff + 1 * ldc); c11.intoArray(c, cOff1 + 1 * ldc);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff1 + 2 * ldc);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff1 + 3 * ldc);
        c40.intoArray(c, cOff + 4 * ldc); c41.intoArray(c, cOff1 + 4 * ldc);
        c50.intoArray(c, cOff + 5 * ldc); c51.intoArray(c, cOff1 + 5 * ldc);
        c60.intoArray(c, cOff + 6 * ldc); c61.intoArray(c, cOff1 + 6 * ldc);
        c70.intoArray(c, cOff + 7 * ldc); c71.intoArray(c, cOff1 + 7 * ldc);
        c80.intoArray(c, cOff + 8 * ldc); c81.intoArray(c, cOff1 + 8 * ldc);
        c90.intoArray(c, cOff + 9 * ldc); c91.intoArray(c, cOff1 + 9 * ldc);
        ca0.intoArray(c, cOff + 10 * ldc); ca1.intoArray(c, cOff1 + 10 * ldc);
        cb0.intoArray(c, cOff + 11 * ldc); cb1.intoArray(c, cOff1 + 11 * ldc);
    }

    /** {@link #microPacked} for the first 8 rows of a packed panel (the last row group of a matrix). */
    private static void microPacked8(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc, int init, float[] bias, int biasOff) {
        FloatVector z0 = init == COL ? FloatVector.fromArray(S, bias, biasOff) : FloatVector.zero(S);
        FloatVector z1 = init == COL ? FloatVector.fromArray(S, bias, biasOff + L) : z0;
        FloatVector c00 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 0 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 0]) : z0;
        FloatVector c01 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 0 * ldc) : init == ROW ? c00 : z1;
        FloatVector c10 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 1]) : z0;
        FloatVector c11 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 1 * ldc) : init == ROW ? c10 : z1;
        FloatVector c20 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 2 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 2]) : z0;
        FloatVector c21 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 2 * ldc) : init == ROW ? c20 : z1;
        FloatVector c30 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 3 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 3]) : z0;
        FloatVector c31 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 3 * ldc) : init == ROW ? c30 : z1;
        FloatVector c40 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 4 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 4]) : z0;
        FloatVector c41 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 4 * ldc) : init == ROW ? c40 : z1;
        FloatVector c50 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 5 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 5]) : z0;
        FloatVector c51 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 5 * ldc) : init == ROW ? c50 : z1;
        FloatVector c60 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 6 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 6]) : z0;
        FloatVector c61 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 6 * ldc) : init == ROW ? c60 : z1;
        FloatVector c70 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 7 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 7]) : z0;
        FloatVector c71 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 7 * ldc) : init == ROW ? c70 : z1;
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR, ak = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L), x;
            x = FloatVector.broadcast(S, a[ak]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ak + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ak + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ak + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ak + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ak + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, a[ak + 6]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[ak + 7]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        c00.intoArray(c, cOff + 0 * ldc); c01.intoArray(c, cOff1 + 0 * ldc);
        c10.intoArray(c, cOff + 1 * ldc); c11.intoArray(c, cOff1 + 1 * ldc);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff1 + 2 * ldc);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff1 + 3 * ldc);
        c40.intoArray(c, cOff + 4 * ldc); c41.intoArray(c, cOff1 + 4 * ldc);
        c50.intoArray(c, cOff + 5 * ldc); c51.intoArray(c, cOff1 + 5 * ldc);
        c60.intoArray(c, cOff + 6 * ldc); c61.intoArray(c, cOff1 + 6 * ldc);
        c70.intoArray(c, cOff + 7 * ldc); c71.intoArray(c, cOff1 + 7 * ldc);
    }

    /** {@link #microPacked} for the first 4 rows of a packed panel (the last row group of a matrix). */
    private static void microPacked4(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc, int init, float[] bias, int biasOff) {
        FloatVector z0 = init == COL ? FloatVector.fromArray(S, bias, biasOff) : FloatVector.zero(S);
        FloatVector z1 = init == COL ? FloatVector.fromArray(S, bias, biasOff + L) : z0;
        FloatVector c00 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 0 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 0]) : z0;
        FloatVector c01 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 0 * ldc) : init == ROW ? c00 : z1;
        FloatVector c10 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 1]) : z0;
        FloatVector c11 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 1 * ldc) : init == ROW ? c10 : z1;
        FloatVector c20 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 2 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 2]) : z0;
        FloatVector c21 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 2 * ldc) : init == ROW ? c20 : z1;
        FloatVector c30 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 3 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 3]) : z0;
        FloatVector c31 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 3 * ldc) : init == ROW ? c30 : z1;
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR, ak = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L), x;
            x = FloatVector.broadcast(S, a[ak]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ak + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ak + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ak + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
        }
        c00.intoArray(c, cOff + 0 * ldc); c01.intoArray(c, cOff1 + 0 * ldc);
        c10.intoArray(c, cOff + 1 * ldc); c11.intoArray(c, cOff1 + 1 * ldc);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff1 + 2 * ldc);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff1 + 3 * ldc);
    }

    /** {@link #microPacked} with A read in place from 12 rows of a row-major float32 matrix (leading dimension lda). */
    private static void microRows(int kc, float[] a, int aOff, int lda, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc,
                                  int init, float[] bias, int biasOff) {
        FloatVector z0 = init == COL ? FloatVector.fromArray(S, bias, biasOff) : FloatVector.zero(S);
        FloatVector z1 = init == COL ? FloatVector.fromArray(S, bias, biasOff + L) : z0;
        FloatVector c00 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 0 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 0]) : z0;
        FloatVector c01 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 0 * ldc) : init == ROW ? c00 : z1;
        FloatVector c10 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 1]) : z0;
        FloatVector c11 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 1 * ldc) : init == ROW ? c10 : z1;
        FloatVector c20 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 2 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 2]) : z0;
        FloatVector c21 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 2 * ldc) : init == ROW ? c20 : z1;
        FloatVector c30 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 3 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 3]) : z0;
        FloatVector c31 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 3 * ldc) : init == ROW ? c30 : z1;
        FloatVector c40 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 4 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 4]) : z0;
        FloatVector c41 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 4 * ldc) : init == ROW ? c40 : z1;
        FloatVector c50 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 5 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 5]) : z0;
        FloatVector c51 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 5 * ldc) : init == ROW ? c50 : z1;
        FloatVector c60 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 6 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 6]) : z0;
        FloatVector c61 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 6 * ldc) : init == ROW ? c60 : z1;
        FloatVector c70 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 7 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 7]) : z0;
        FloatVector c71 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 7 * ldc) : init == ROW ? c70 : z1;
        FloatVector c80 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 8 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 8]) : z0;
        FloatVector c81 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 8 * ldc) : init == ROW ? c80 : z1;
        FloatVector c90 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 9 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 9]) : z0;
        FloatVector c91 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 9 * ldc) : init == ROW ? c90 : z1;
        FloatVector ca0 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 10 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 10]) : z0;
        FloatVector ca1 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 10 * ldc) : init == ROW ? ca0 : z1;
        FloatVector cb0 = init == LOAD ? FloatVector.fromArray(S, c, cOff + 11 * ldc) : init == ROW ? FloatVector.broadcast(S, bias[biasOff + 11]) : z0;
        FloatVector cb1 = init == LOAD ? FloatVector.fromArray(S, c, cOff1 + 11 * ldc) : init == ROW ? cb0 : z1;
        int a0 = aOff + 0 * lda, a1 = aOff + 1 * lda, a2 = aOff + 2 * lda, a3 = aOff + 3 * lda, a4 = aOff + 4 * lda, a5 = aOff + 5 * lda;
        int a6 = aOff + 6 * lda, a7 = aOff + 7 * lda, a8 = aOff + 8 * lda, a9 = aOff + 9 * lda, aa = aOff + 10 * lda, ab = aOff + 11 * lda;
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L), x;
            x = FloatVector.broadcast(S, a[a0 + k]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[a1 + k]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[a2 + k]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[a3 + k]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[a4 + k]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[a5 + k]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, a[a6 + k]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[a7 + k]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, a[a8 + k]); c80 = x.fma(b0, c80); c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, a[a9 + k]); c90 = x.fma(b0, c90); c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, a[aa + k]); ca0 = x.fma(b0, ca0); ca1 = x.fma(b1, ca1);
            x = FloatVector.broadcast(S, a[ab + k]); cb0 = x.fma(b0, cb0); cb1 = x.fma(b1, cb1);
        }
        c00.intoArray(c, cOff + 0 * ldc); c01.intoArray(c, cOff1 + 0 * ldc);
        c10.intoArray(c, cOff + 1 * ldc); c11.intoArray(c, cOff1 + 1 * ldc);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff1 + 2 * ldc);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff1 + 3 * ldc);
        c40.intoArray(c, cOff + 4 * ldc); c41.intoArray(c, cOff1 + 4 * ldc);
        c50.intoArray(c, cOff + 5 * ldc); c51.intoArray(c, cOff1 + 5 * ldc);
        c60.intoArray(c, cOff + 6 * ldc); c61.intoArray(c, cOff1 + 6 * ldc);
        c70.intoArray(c, cOff + 7 * ldc); c71.intoArray(c, cOff1 + 7 * ldc);
        c80.intoArray(c, cOff + 8 * ldc); c81.intoArray(c, cOff1 + 8 * ldc);
        c90.intoArray(c, cOff + 9 * ldc); c91.intoArray(c, cOff1 + 9 * ldc);
        ca0.intoArray(c, cOff + 10 * ldc); ca1.intoArray(c, cOff1 + 10 * ldc);
        cb0.intoArray(c, cOff + 11 * ldc); cb1.intoArray(c, cOff1 + 11 * ldc);
    }
}
