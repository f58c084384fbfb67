package jdiffusion.kernels;

/**
 * The left GEMM operand A [M×K], row-major with leading dimension {@code ld}, stored as float32 or as
 * 16-bit floats (F16 or BF16 bits in a short[]; converted to float32 while packing, so a model's
 * weights can stay 16-bit in memory and still be computed in float32).
 */
public final class MatA {
    final float[] f32;
    final short[] half;
    final boolean bf16;
    final int off, ld;
    /** When not null: the whole matrix as MR-row panels [panel][k][MR] of depth {@code packedK}, from {@code off}. */
    final float[] packed;
    final int packedK;

    private MatA(float[] f32, short[] half, boolean bf16, int off, int ld, float[] packed, int packedK) {
        this.f32 = f32;
        this.half = half;
        this.bf16 = bf16;
        this.off = off;
        this.ld = ld;
        this.packed = packed;
        this.packedK = packedK;
    }

    private MatA(float[] f32, short[] half, boolean bf16, int off, int ld) {
        this(f32, half, bf16, off, ld, null, 0);
    }

    /**
     * Rows [0, m) × columns [0, k) packed once into dst[dOff ..] ({@link #packedSize} floats), for all
     * GEMM tasks to share; returns the packed view.
     */
    MatA prepack(Parallel par, int m, int k, float[] dst, int dOff) {
        int groups = (m + Gemm.MR - 1) / Gemm.MR;
        par.forRange(groups, Math.max(1, 65536 / Math.max(1, k * Gemm.MR)), (g0, g1) -> {
            for (int g = g0; g < g1; g++) packPanel(g * Gemm.MR, Math.min(Gemm.MR, m - g * Gemm.MR), 0, k, dst, dOff + g * k * Gemm.MR);
        });
        return packed(dst, dOff, k);
    }

    static int packedSize(int m, int k) {
        return (m + Gemm.MR - 1) / Gemm.MR * Gemm.MR * k;
    }

    /** An already packed matrix (layout of {@link #prepack}) starting at {@code off}. */
    static MatA packed(float[] panels, int off, int k) {
        return new MatA(null, null, false, off, 0, panels, k);
    }

    public static MatA of(float[] a, int off, int ld) {
        return new MatA(a, null, false, off, ld);
    }

    /** 16-bit storage: IEEE half precision bits, or bfloat16 bits when {@code bf16}. */
    public static MatA half(short[] a, boolean bf16, int off, int ld) {
        return new MatA(null, a, bf16, off, ld);
    }

    /** Element (i, k) as float32. */
    float get(int i, int k) {
        int idx = off + i * ld + k;
        return f32 != null ? f32[idx] : HalfFloats.toFloat(half[idx], bf16);
    }

    /**
     * Packs rows [i0, i0+rows) and columns [k0, k0+kc) as one MR-row panel: dst[dOff + k·MR + r]
     * (rows ≥ {@code rows} are zero), the order in which the micro-kernel broadcasts them.
     */
    void packPanel(int i0, int rows, int k0, int kc, float[] dst, int dOff) {
        final int mr = Gemm.MR;
        if (rows < mr)
            for (int k = 0; k < kc; k++)
                for (int r = rows; r < mr; r++) dst[dOff + k * mr + r] = 0f;
        if (f32 != null && rows == mr) {
            int s0 = off + i0 * ld + k0;
            for (int k = 0; k < kc; k++) {
                int d = dOff + k * mr, s = s0 + k;
                for (int r = 0; r < mr; r++) dst[d + r] = f32[s + r * ld];
            }
        } else if (f32 != null) {
            for (int r = 0; r < rows; r++) {
                int src = off + (i0 + r) * ld + k0;
                for (int k = 0; k < kc; k++) dst[dOff + k * mr + r] = f32[src + k];
            }
        } else {
            for (int r = 0; r < rows; r++) {
                int src = off + (i0 + r) * ld + k0;
                for (int k = 0; k < kc; k++) dst[dOff + k * mr + r] = HalfFloats.toFloat(half[src + k], bf16);
            }
        }
    }
}
