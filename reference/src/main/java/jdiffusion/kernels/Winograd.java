package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin &amp; Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016). Each 2×2 output tile is
 * Y = Aᵀ[Σ_ci (G g Gᵀ) ⊙ (Bᵀ d B)]A with d the 4×4 input patch, so the convolution becomes 16
 * independent GEMMs (one per position ξν of the 4×4 transformed tile) of [Cout × Cin]·[Cin × tiles]:
 * 16 multiply-adds per 4 outputs and input channel instead of 36, 2.25× fewer. The transforms use only
 * additions and halvings; they run a vector of 16 tiles at a time.
 *
 * <pre>
 *   Bᵀ = | 1  0 −1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
 *        | 0  1  1  0 |        | ½    ½    ½  |         | 0  1 −1 −1 |
 *        | 0 −1  1  0 |        | ½   −½    ½  |
 *        | 0  1  0 −1 |        | 0    0    1  |
 * </pre>
 * Every output element is produced by a fixed sequence of operations (the GEMM's fixed k order and
 * lane-wise transforms), independent of the thread count.
 */
final class Winograd {
    private static final VectorSpecies<Float> S = VectorWidth.S;
    private static final int L = S.length();

    private Winograd() {
    }

    /**
     * U[ξν] = (G g Gᵀ)[ξ][ν] over (co, ci) for the weight w [cout, cin, 3, 3] (float32 or 16-bit), each of
     * the 16 [cout × cin] matrices packed for the GEMM (the layout of {@link MatA#prepack}) one after the
     * other. The transform writes the packed panels directly: an unpacked copy first would be garbage as
     * large as the result (for SD 1.5, hundreds of MB per cache fill, straight into the old generation).
     */
    static float[] transformWeights(Parallel par, MatA w, int cout, int cin) {
        return transformWeights(par, w, cout, cin, new float[16 * MatA.packedSize(cout, cin)]);
    }

    /**
     * As above, into {@code packed} (at least 16 × packedSize(cout, cin) floats, e.g. a reused scratch buffer):
     * every element of the layout is written, the padding rows of the last panel (past cout) with zero.
     */
    static float[] transformWeights(Parallel par, MatA w, int cout, int cin, float[] packed) {
        transformPanels(par, w, cout, cin, 0, (cout + Gemm.MR - 1) / Gemm.MR, packed);
        return packed;
    }

    /**
     * The MR-row panels [p0, p1) of U (rows p0·MR … of the 16 planes) into {@code packed}, laid out as U of a weight
     * with only those rows: plane ξν at ξν × (p1 − p0) × cin × MR. For weights transformed a block of rows at a time.
     */
    static void transformPanels(Parallel par, MatA w, int cout, int cin, int p0, int p1, float[] packed) {
        final int mr = Gemm.MR, size = (p1 - p0) * cin * mr;
        // One task per MR-row panel. Element (co, ci) of plane ξν sits at panel co / MR, row co % MR, column ci,
        // so a panel's columns [ci0, ci1) are one contiguous run in each plane: they are transformed into a small
        // block, then copied plane by plane. Writing the 16 planes directly was 3-4x slower whenever a plane's
        // size is a multiple of 4 KiB (one thread: 4.0 ns per weight at 640 channels, 1.2 at 600; now 1.5 at 640):
        // 16 store streams that far apart fall into the same L1 set.
        par.forRange(p1 - p0, 1, (q0, q1) -> {
            float[] block = new float[16 * BLOCK_COLUMNS * mr];
            for (int p = p0 + q0; p < p0 + q1; p++)
                for (int ci0 = 0; ci0 < cin; ci0 += BLOCK_COLUMNS) {
                    int ci1 = Math.min(cin, ci0 + BLOCK_COLUMNS), run = (ci1 - ci0) * mr;
                    for (int ci = ci0; ci < ci1; ci++)
                        for (int co = p * mr, r = 0; r < mr; co++, r++) {
                            int at = (ci - ci0) * mr + r;
                            if (co >= cout) {                       // the last panel's padding rows
                                for (int xn = 0; xn < 16; xn++) block[xn * run + at] = 0f;
                                continue;
                            }
                            float g0 = w.get(co, ci * 9), g1 = w.get(co, ci * 9 + 1), g2 = w.get(co, ci * 9 + 2),
                                  g3 = w.get(co, ci * 9 + 3), g4 = w.get(co, ci * 9 + 4), g5 = w.get(co, ci * 9 + 5),
                                  g6 = w.get(co, ci * 9 + 6), g7 = w.get(co, ci * 9 + 7), g8 = w.get(co, ci * 9 + 8);
                            // Gg (4×3), row by row; each row (a, b, c) times Gᵀ gives a row of G g Gᵀ (4 planes)
                            rowTimesGt(g0, g1, g2, block, at, run);
                            rowTimesGt(0.5f * (g0 + g3 + g6), 0.5f * (g1 + g4 + g7), 0.5f * (g2 + g5 + g8), block, 4 * run + at, run);
                            rowTimesGt(0.5f * (g0 - g3 + g6), 0.5f * (g1 - g4 + g7), 0.5f * (g2 - g5 + g8), block, 8 * run + at, run);
                            rowTimesGt(g6, g7, g8, block, 12 * run + at, run);
                        }
                    for (int xn = 0; xn < 16; xn++)
                        System.arraycopy(block, xn * run, packed, xn * size + (p - p0) * cin * mr + ci0 * mr, run);
                }
        });
    }

    /** Columns (input channels) of a panel transformed into the local block at a time (16 × 32 × MR floats: 24 KiB at MR 12). */
    private static final int BLOCK_COLUMNS = 32;

    /** A row (a, b, c) of G g times Gᵀ: (a, (a + b + c) / 2, (a − b + c) / 2, c) into 4 planes {@code size} apart. */
    private static void rowTimesGt(float a, float b, float c, float[] packed, int base, int size) {
        packed[base] = a;
        packed[base + size] = 0.5f * (a + b + c);
        packed[base + 2 * size] = 0.5f * (a - b + c);
        packed[base + 3 * size] = c;
    }

    /**
     * Scratch of the calling thread: transformed input V, GEMM output M, and U, a block of rows of the transformed
     * weights of a convolution whose weights are not cached (reused from call to call instead of a new array per call).
     */
    private static final class Buffers {
        float[] v = new float[0], m = new float[0], u = new float[0];
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    /**
     * Bytes the scratch V and M of one chunk may take (16 (cin + cout) floats per tile); property
     * jdiffusion.winogradScratchMiB. A batch's tiles are transformed, multiplied and transformed back a chunk
     * of tile rows at a time: V and M for all tiles at once were as large as the activations themselves (SD's
     * VAE decoder at 512×512: 1 GiB each for a 256-channel layer).
     */
    static final long SCRATCH_BYTES = Long.getLong("jdiffusion.winogradScratchMiB", 32) << 20;

    /**
     * Bytes of transformed weights an uncached convolution holds at a time: its output channels are taken in blocks of
     * MR-row panels of about this size (at least one panel), each transformed and then multiplied with the chunk's V.
     * The whole U at once was the scratch's largest part: SD 1.5's 1280-channel upsampler convolution, 100 MiB. A U that
     * fits one block is transformed once per call; larger ones once per block and chunk of tiles, and each block's GEMMs
     * pack V again, so the block is no smaller than the U of a 512-channel convolution (17 MiB): with 8 MiB blocks SD's
     * VAE decoder at 512×512 (512 channels, 8 chunks per convolution) ran 16-20 % slower. Property
     * jdiffusion.winogradWeightBlockMiB.
     */
    static final long WEIGHT_BLOCK_BYTES = Long.getLong("jdiffusion.winogradWeightBlockMiB", 20) << 20;

    /** MR-row panels of U per block for cin input channels (blocks of at most blockBytes, at least one panel). */
    static int blockPanels(int cin, long blockBytes) {
        return (int) Math.max(1, blockBytes / (64L * cin * Gemm.MR));
    }

    /** Tiles per chunk for a convolution of n images to oh × ow outputs: whole tile rows, at least one. */
    static int chunkTiles(int n, int cin, int cout, int oh, int ow) {
        int th = (oh + 1) / 2, tw = (ow + 1) / 2;
        return chunkRows(cin, cout, tw, n * th, SCRATCH_BYTES) * tw;
    }

    private static int chunkRows(int cin, int cout, int tw, int rows, long scratchBytes) {
        return (int) Math.max(1, Math.min(rows, scratchBytes / (64L * (cin + cout) * tw)));
    }

    /**
     * out [n, cout, oh, ow] = conv(x [n, cin, h, w], weights given as packed U) + bias, zero padding pt (top)
     * and pl (left); oh, ow as the caller computed them for a 3×3 stride-1 kernel. The tiles (2×2 outputs)
     * of the whole batch are taken in chunks of tile rows (the batch's rows one after the other); every tile is
     * computed alone (its own transforms, its own GEMM column), so the chunking changes no bit.
     */
    static void conv(Parallel par, float[] x, int n, int cin, int h, int w, int pt, int pl, float[] u, float[] bias, int cout,
                     int oh, int ow, float[] out) {
        conv(par, x, n, cin, h, w, pt, pl, u, null, bias, cout, oh, ow, out, SCRATCH_BYTES, WEIGHT_BLOCK_BYTES);
    }

    /**
     * As above for weights that are not cached: the 3×3 weights w [cout, cin·9] (float32 or 16-bit) are transformed
     * during the call, a block of output channels at a time ({@link #WEIGHT_BLOCK_BYTES}). The same bits as with the
     * whole U: each element of M is the same dot product over the input channels, only its row's block differs.
     */
    static void convTransforming(Parallel par, float[] x, int n, int cin, int h, int w, int pt, int pl, MatA weights, float[] bias,
                                 int cout, int oh, int ow, float[] out) {
        conv(par, x, n, cin, h, w, pt, pl, null, weights, bias, cout, oh, ow, out, SCRATCH_BYTES, WEIGHT_BLOCK_BYTES);
    }

    /**
     * The convolution with U given (u) or made per call from the 3×3 weights (raw, in blocks of at most blockBytes), with
     * chunks of at most {@code scratchBytes} of V and M (at least one tile row).
     */
    static void conv(Parallel par, float[] x, int n, int cin, int h, int w, int pt, int pl, float[] u, MatA raw, float[] bias, int cout,
                     int oh, int ow, float[] out, long scratchBytes, long blockBytes) {
        int th = (oh + 1) / 2, tw = (ow + 1) / 2, rows = n * th, chunk = chunkRows(cin, cout, tw, rows, scratchBytes);
        Buffers buf = BUFFERS.get();
        if (buf.v.length < 16 * cin * chunk * tw) buf.v = new float[16 * cin * chunk * tw];
        // + L: the output transform reads whole vectors of M, past the last tile of a row (lanes it does not store)
        if (buf.m.length < 16 * cout * chunk * tw + L) buf.m = new float[16 * cout * chunk * tw + L];
        int panels = (cout + Gemm.MR - 1) / Gemm.MR, blockPanels = Math.min(panels, blockPanels(cin, blockBytes));
        if (raw != null && buf.u.length < 16 * blockPanels * Gemm.MR * cin) buf.u = new float[16 * blockPanels * Gemm.MR * cin];
        if (raw != null && blockPanels == panels) {   // all of U fits the block: transformed once, then used as cached weights
            transformPanels(par, raw, cout, cin, 0, panels, buf.u);
            u = buf.u;
            raw = null;
        }
        for (int r0 = 0; r0 < rows; r0 += chunk)
            chunk(par, x, cin, h, w, pt, pl, u, raw, blockPanels, bias, cout, oh, ow, out, th, tw, r0, Math.min(rows, r0 + chunk), buf);
    }

    /** The tile rows [r0, r1) of the batch (row r: image r / th, tile row r % th) into out. */
    private static void chunk(Parallel par, float[] x, int cin, int h, int w, int pt, int pl, float[] u, MatA raw, int blockPanels,
                              float[] bias, int cout, int oh, int ow, float[] out, int th, int tw, int r0, int r1, Buffers buf) {
        float[] v = buf.v, m = buf.m;
        int b0 = r0 / th, images = (r1 - 1) / th - b0 + 1, tiles = (r1 - r0) * tw, rowsMax = Math.min(r1 - r0, th);
        par.forRange(images * cin, 1, (p0, p1) -> {
            float[] ev = new float[(2 * rowsMax + 2) * (tw + 1 + L)], od = new float[(2 * rowsMax + 2) * (tw + 1 + L)];
            for (int p = p0; p < p1; p++) {
                int b = b0 + p / cin;
                inputTransform(x, b, p % cin, cin, h, w, pt, pl, Math.max(0, r0 - b * th), Math.min(th, r1 - b * th), b * th - r0,
                        tw, tiles, v, ev, od);
            }
        });
        if (u != null) multiply(par, u, 0, cout, cout, cin, v, m, tiles);
        else {
            int panels = (cout + Gemm.MR - 1) / Gemm.MR;
            for (int q0 = 0; q0 < panels; q0 += blockPanels) {     // a block of output channels: its U, then its rows of M
                int q1 = Math.min(panels, q0 + blockPanels), rows = Math.min(cout, q1 * Gemm.MR) - q0 * Gemm.MR;
                transformPanels(par, raw, cout, cin, q0, q1, buf.u);
                multiply(par, buf.u, q0 * Gemm.MR, rows, cout, cin, v, m, tiles);
            }
        }
        par.forRange(images * cout, 1, (p0, p1) -> {
            float[] y0 = new float[2 * (tw + L)], y1 = new float[2 * (tw + L)];
            for (int p = p0; p < p1; p++) {
                int b = b0 + p / cout, co = p % cout;
                outputTransform(m, b, co, cout, Math.max(0, r0 - b * th), Math.min(th, r1 - b * th), b * th - r0, tw, tiles,
                        bias == null ? 0f : bias[co], oh, ow, out, y0, y1);
            }
        });
    }

    /**
     * Rows [row0, row0 + rows) of the 16 GEMMs M[ξν] = U[ξν]·V[ξν] in one parallel region (tasks are (ξν, column chunk)
     * pairs), with u holding U for exactly those rows (planes of packedSize(rows, cin) floats).
     */
    private static void multiply(Parallel par, float[] u, int row0, int rows, int cout, int cin, float[] v, float[] m, int tiles) {
        int panels = (tiles + Gemm.NR - 1) / Gemm.NR, perTask = Math.max(1, Math.min(panels, (1 << 19) / Math.max(1, rows * cin)));
        int chunks = (panels + perTask - 1) / perTask, size = MatA.packedSize(rows, cin);
        par.forRange(16 * chunks, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int xn = t / chunks, q0 = (t % chunks) * perTask, q1 = Math.min(panels, q0 + perTask);
                Gemm.columns(rows, q0 * Gemm.NR, Math.min(tiles, q1 * Gemm.NR), cin, MatA.packed(u, xn * size, cin),
                        PackB.rowMajor(v, xn * cin * tiles, tiles), COut.matrix(m, (xn * cout + row0) * tiles, tiles), Gemm.Start.ZERO, null);
            }
        });
    }

    /**
     * V[ξν][ci][t] = (Bᵀ d B)[ξ][ν] for every tile t of image b, channel ci. Each input row is split once
     * into even and odd padded columns, so the four patch columns of L consecutive tiles are four
     * unit-stride vector loads: d[·][0] = even[tx], d[·][1] = odd[tx], d[·][2] = even[tx+1],
     * d[·][3] = odd[tx+1].
     */
    private static void inputTransform(float[] x, int b, int ci, int cin, int h, int w, int pt, int pl, int ty0, int ty1, int rowBase,
                                       int tw, int tiles, float[] v, float[] ev, float[] od) {
        int stride = tw + 1 + L, plane = cin * tiles, img = (b * cin + ci) * h * w;
        // padded row 2·ty0 + rr (input row 2·ty0 + rr − pt) split into even (ev) and odd (od) padded columns
        for (int rr = 0; rr < 2 * (ty1 - ty0) + 2; rr++) {
            int iy = 2 * ty0 + rr - pt, e0 = rr * stride;
            if (iy < 0 || iy >= h) {
                java.util.Arrays.fill(ev, e0, e0 + stride, 0f);
                java.util.Arrays.fill(od, e0, e0 + stride, 0f);
                continue;
            }
            int src = img + iy * w;
            for (int j = 0; j < stride; j++) {       // padded column 2j is input column 2j − pl
                int ixe = 2 * j - pl, ixo = ixe + 1;
                ev[e0 + j] = ixe >= 0 && ixe < w ? x[src + ixe] : 0f;
                od[e0 + j] = ixo >= 0 && ixo < w ? x[src + ixo] : 0f;
            }
        }
        for (int ty = ty0; ty < ty1; ty++)
            inputRow(ev, od, 2 * (ty - ty0) * stride, stride, v, ci * tiles + (rowBase + ty) * tw, plane, tw);
    }

    /**
     * V of one tile row: its tw tiles from the even/odd padded columns of 4 padded rows starting at {@code o0}, into
     * v[ξν][dst + tile]. Row ξ of V combines two patch rows after their column transform t_r = (d0 − d2, d1 + d2,
     * d2 − d1, d1 − d3): V[0] = t0 − t2, V[1] = t1 + t2, V[2] = t2 − t1, V[3] = t1 − t3 (Bᵀ d B), one call each.
     * Small methods on purpose: as one loop nest inside inputTransform, C2 compiled this code again for each
     * on-stack replacement (~0.45 s each on this machine) and C1 ran out of registers for it.
     */
    private static void inputRow(float[] ev, float[] od, int o0, int stride, float[] v, int dst0, int plane, int tw) {
        inputPair(ev, od, o0, o0 + 2 * stride, false, v, dst0, plane, tw);
        inputPair(ev, od, o0 + stride, o0 + 2 * stride, true, v, dst0 + 4 * plane, plane, tw);
        inputPair(ev, od, o0 + 2 * stride, o0 + stride, false, v, dst0 + 8 * plane, plane, tw);
        inputPair(ev, od, o0 + stride, o0 + 3 * stride, false, v, dst0 + 12 * plane, plane, tw);
    }

    /** Planes ν = 0..3 of one row ξ of V: t_a[ν] + t_b[ν] ({@code add}) or t_a[ν] − t_b[ν], patch rows at {@code oa} and {@code ob}. */
    private static void inputPair(float[] ev, float[] od, int oa, int ob, boolean add, float[] v, int dst0, int plane, int tw) {
        for (int tx = 0; tx < tw; tx += L) {
            VectorMask<Float> mask = S.indexInRange(tx, tw);
            FloatVector a0 = FloatVector.fromArray(S, ev, oa + tx), a1 = FloatVector.fromArray(S, od, oa + tx);
            FloatVector a2 = FloatVector.fromArray(S, ev, oa + tx + 1), a3 = FloatVector.fromArray(S, od, oa + tx + 1);
            FloatVector b0 = FloatVector.fromArray(S, ev, ob + tx), b1 = FloatVector.fromArray(S, od, ob + tx);
            FloatVector b2 = FloatVector.fromArray(S, ev, ob + tx + 1), b3 = FloatVector.fromArray(S, od, ob + tx + 1);
            FloatVector ta0 = a0.sub(a2), ta1 = a1.add(a2), ta2 = a2.sub(a1), ta3 = a1.sub(a3);
            FloatVector tb0 = b0.sub(b2), tb1 = b1.add(b2), tb2 = b2.sub(b1), tb3 = b1.sub(b3);
            int d = dst0 + tx;
            (add ? ta0.add(tb0) : ta0.sub(tb0)).intoArray(v, d, mask);
            (add ? ta1.add(tb1) : ta1.sub(tb1)).intoArray(v, plane + d, mask);
            (add ? ta2.add(tb2) : ta2.sub(tb2)).intoArray(v, 2 * plane + d, mask);
            (add ? ta3.add(tb3) : ta3.sub(tb3)).intoArray(v, 3 * plane + d, mask);
        }
    }

    /**
     * out[b][co] = Aᵀ M A + bias for the tile rows [ty0, ty1) of image b, channel co (M's column of tile row ty:
     * rowBase + ty); tiles past the edge are cut.
     */
    private static void outputTransform(float[] m, int b, int co, int cout, int ty0, int ty1, int rowBase, int tw, int tiles, float bias,
                                        int oh, int ow, float[] out, float[] y0, float[] y1) {
        int plane = cout * tiles, dstImg = (b * cout + co) * oh * ow;
        for (int ty = ty0; ty < ty1; ty++)
            outputRow(m, co * tiles + (rowBase + ty) * tw, plane, tw, bias, ty, oh, ow, dstImg, out, y0, y1);
    }

    /** The outputs of one tile row (its tw tiles at m[ξν][src + tile]); a method of its own for the reason given at {@link #inputRow}. */
    private static void outputRow(float[] m, int src, int plane, int tw, float bias, int ty, int oh, int ow, int dstImg, float[] out,
                                  float[] y0, float[] y1) {
        for (int tx = 0; tx < tw; tx += L) {
            int o = src + tx;
            // Aᵀ M per column ν: s0ν = m0ν + m1ν + m2ν, s1ν = m1ν − m2ν − m3ν; whole vectors, also past the row's last
            // tile (M has L floats to spare): lanes are independent and those lanes are never stored. Masked loads made
            // this method too large for C2 to inline col0/col1 in some runs (NodeCountInliningCutoff), 10-20 % slower.
            FloatVector s00 = col0(m, o, plane, 0), s01 = col0(m, o, plane, 1);
            FloatVector s02 = col0(m, o, plane, 2), s03 = col0(m, o, plane, 3);
            FloatVector s10 = col1(m, o, plane, 0), s11 = col1(m, o, plane, 1);
            FloatVector s12 = col1(m, o, plane, 2), s13 = col1(m, o, plane, 3);
            // (·) A plus bias: y_r0 = s_r0 + s_r1 + s_r2, y_r1 = s_r1 − s_r2 − s_r3
            s00.add(s01).add(s02).add(bias).intoArray(y0, 2 * tx);
            s01.sub(s02).sub(s03).add(bias).intoArray(y0, 2 * tx + L);
            s10.add(s11).add(s12).add(bias).intoArray(y1, 2 * tx);
            s11.sub(s12).sub(s13).add(bias).intoArray(y1, 2 * tx + L);
            // interleave the two output columns of each tile into the output rows
            int n = Math.min(L, tw - tx);
            for (int row = 0; row < 2; row++) {
                int oy = 2 * ty + row;
                if (oy >= oh) break;
                float[] y = row == 0 ? y0 : y1;
                int dst = dstImg + oy * ow + 2 * tx;
                for (int j = 0; j < n; j++) {
                    out[dst + 2 * j] = y[2 * tx + j];
                    if (2 * (tx + j) + 1 < ow) out[dst + 2 * j + 1] = y[2 * tx + L + j];
                }
            }
        }
    }

    private static FloatVector col0(float[] m, int o, int plane, int nu) {
        return FloatVector.fromArray(S, m, nu * plane + o).add(FloatVector.fromArray(S, m, (4 + nu) * plane + o))
                .add(FloatVector.fromArray(S, m, (8 + nu) * plane + o));
    }

    private static FloatVector col1(float[] m, int o, int plane, int nu) {
        return FloatVector.fromArray(S, m, (4 + nu) * plane + o).sub(FloatVector.fromArray(S, m, (8 + nu) * plane + o))
                .sub(FloatVector.fromArray(S, m, (12 + nu) * plane + o));
    }
}
