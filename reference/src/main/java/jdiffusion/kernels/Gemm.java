package jdiffusion.kernels;

/**
 * Single-precision GEMM C (+)= A·B with the Vector API, organised like BLIS/GotoBLAS: B is packed in
 * KC×NC blocks of NR-wide panels (the block stays in L2), A in MR-row panels (a panel stays in L1
 * while the B panels stream past it), and a register-blocked micro-kernel ({@link GemmKernels}) keeps
 * its MR×2 vector accumulators in registers, so each loaded B vector feeds MR FMAs and each broadcast A
 * value 2. That is what makes it fast: the arithmetic runs from registers on unit-stride, cache-resident
 * data. The tile's columns follow the vector width, its rows and the block sizes the register plan
 * ({@link VectorWidth}): 12 rows (12×32 at 512 bits, 12×16 at 256), or 6 with the 16-register plan.
 *
 * <p>B can come from anywhere through {@link PackB} (a matrix, a transposed weight, an image seen
 * through implicit im2col); A may be float32 or 16-bit ({@link MatA}); C's columns may be spread over
 * images ({@link COut}). Work is split by C rows or C columns only, and every C element is accumulated
 * over k = 0, 1, …, K−1 in that order with one fused multiply-add per step, whatever the blocking, the
 * split or the micro-kernel variant: results are bit-identical for any thread count.
 */
public final class Gemm {
    private static final int L = VectorWidth.L;
    /** Micro-tile: MR rows of C by NR = 2 vectors of columns (see {@link VectorWidth}). */
    public static final int MR = VectorWidth.MR, NR = VectorWidth.NR;
    /** Cache blocks: at most KC_MAX deep and NC columns per packed B block (fits L2; an A panel fits L1). */
    static final int KC_MAX = VectorWidth.KC_MAX, NC = VectorWidth.NC;
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
     * (the halves may lie in different images) and a kernel exists for its rows (MR, or a tail of 8, 4 or 2),
     * else through a scratch tile. A comes packed ({@code ap}) or in place (null).
     */
    private static void tile(int kc, MatA a, int row, int pc, float[] ap, int aOff, float[] bp, int bOff, Scratch s, COut c,
                             int rows, int col, int cols, int init, float[] bias) {
        int addr = cols == NR ? c.contiguous(row, col, L) : -1, addr1 = addr >= 0 ? c.contiguous(row, col + L, L) : -1;
        int biasOff = init == ROW ? row : col;
        if (addr1 >= 0) {
            float[] cc = c.c();
            int ldc = c.ldc();
            if (ap == null) {
                GemmKernels.fullRows(kc, a.f32, a.off + row * a.ld + pc, a.ld, bp, bOff, cc, addr, addr1, ldc, init, bias, biasOff);
                return;
            }
            if (rows == MR) {
                GemmKernels.full(kc, ap, aOff, bp, bOff, cc, addr, addr1, ldc, init, bias, biasOff);
                return;
            }
            if (GemmKernels.tail(rows, kc, ap, aOff, bp, bOff, cc, addr, addr1, ldc, init, bias, biasOff)) return;
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
        if (ap != null) GemmKernels.full(kc, ap, aOff, bp, bOff, t, 0, L, NR, LOAD, null, 0);
        else GemmKernels.fullRows(kc, a.f32, a.off + row * a.ld + pc, a.ld, bp, bOff, t, 0, L, NR, LOAD, null, 0);
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++) c.c()[c.index(row + r, col + q)] = t[r * NR + q];
    }

    /** The full micro-tile for callers outside the GEMM driver (attention): see {@link GemmKernels}. */
    static void microPacked(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int cOff1, int ldc, int init, float[] bias,
                            int biasOff) {
        GemmKernels.full(kc, a, aOff, b, bOff, c, cOff, cOff1, ldc, init, bias, biasOff);
    }
}
