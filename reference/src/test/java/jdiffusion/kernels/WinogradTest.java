package jdiffusion.kernels;

import jdiffusion.Golden;
import jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Winograd F(2×2, 3×3) against the scalar direct convolution: odd and even sizes (partial tiles at the
 * right and bottom edges), symmetric and one-sided padding, channel counts off the micro-tile, and
 * bit-identical results for 1, 2 and 3 threads.
 */
class WinogradTest {

    static Tensor random(long seed, int... shape) {
        Tensor t = Tensor.zeros(shape);
        Random r = new Random(seed);
        for (int i = 0; i < t.numel(); i++) t.data()[i] = (float) r.nextGaussian();
        return t;
    }

    @ParameterizedTest(name = "n={0} cin={1} cout={2} {3}x{4} pad t{5} l{6} b{7} r{8}")
    @CsvSource({"1,3,5,8,8,1,1,1,1", "2,17,13,7,9,1,1,1,1", "1,40,33,1,1,1,1,1,1", "1,5,7,2,3,1,1,1,1", "2,8,8,11,6,0,0,1,1",
            "1,9,4,5,5,0,0,0,0", "1,64,70,37,35,1,1,1,1", "3,2,2,16,33,1,0,1,0"})
    void matchesDirectConvolution(int n, int cin, int cout, int h, int w, int pt, int pl, int pb, int pr) {
        Tensor x = random(1, n, cin, h, w), wt = random(2, cout, cin, 3, 3), b = random(3, cout);
        Tensor want = new ScalarBackend().conv2d(x, wt, b, 1, pt, pl, pb, pr);
        int oh = h + pt + pb - 2, ow = w + pl + pr - 2;
        float[][] got = new float[3][];
        for (int t = 1; t <= 3; t++)
            try (Parallel par = new Parallel(t)) {
                float[] u = Winograd.transformWeights(par, MatA.of(wt.data(), 0, cin * 9), cout, cin);
                got[t - 1] = new float[n * cout * oh * ow];
                Winograd.conv(par, x.data(), n, cin, h, w, pt, pl, u, b.data(), cout, oh, ow, got[t - 1]);
            }
        double e = Golden.relL2(got[0], want.data());
        assertTrue(e <= 1e-5, "relative L2 " + e);
        assertArrayEquals(got[0], got[1], "1 vs 2 threads");
        assertArrayEquals(got[0], got[2], "1 vs 3 threads");
    }

    /**
     * The batch's tiles taken in chunks of tile rows (one row, rows spanning two images, a whole image and more, all at
     * once) give the same bits: each tile is transformed and multiplied alone. Odd sizes leave partial tiles and a
     * vector tail in every row.
     */
    @ParameterizedTest(name = "n={0} cin={1} cout={2} {3}x{4}")
    @CsvSource({"3,5,13,13,19", "2,17,8,32,32", "1,3,5,8,8"})
    void chunksOfTileRowsGiveTheSameBits(int n, int cin, int cout, int h, int w) {
        Tensor x = random(4, n, cin, h, w), wt = random(5, cout, cin, 3, 3), b = random(6, cout);
        int oh = h, ow = w, tw = (ow + 1) / 2, th = (oh + 1) / 2;
        long perRow = 64L * (cin + cout) * tw;
        try (Parallel par = new Parallel(2)) {
            float[] u = Winograd.transformWeights(par, MatA.of(wt.data(), 0, cin * 9), cout, cin);
            float[] all = new float[n * cout * oh * ow];
            Winograd.conv(par, x.data(), n, cin, h, w, 1, 1, u, null, b.data(), cout, oh, ow, all, Long.MAX_VALUE, Winograd.WEIGHT_BLOCK_BYTES);
            for (long rows : new long[]{1, 2, th - 1, th + 1, 3L * th / 2}) {
                float[] got = new float[all.length];
                java.util.Arrays.fill(got, Float.NaN);
                Winograd.conv(par, x.data(), n, cin, h, w, 1, 1, u, null, b.data(), cout, oh, ow, got, Math.max(1, rows) * perRow,
                        Winograd.WEIGHT_BLOCK_BYTES);
                assertArrayEquals(all, got, "chunks of " + rows + " tile rows");
            }
        }
    }

    @Test
    void theCacheKeepsWeightsOnlyForCallsWhereTheirTransformCostsMost() {
        long mib = 1 << 20, budget = 2048 * mib;
        assertTrue(CpuBackend.cachesWinograd(64, false, 0, 100 * mib, budget), "fewer than 128 tiles: kept, whatever the size");
        assertTrue(CpuBackend.cachesWinograd(127, false, 0, mib, budget));
        assertTrue(!CpuBackend.cachesWinograd(128, false, 0, mib, budget), "128 tiles or more: transformed per call");
        assertTrue(!CpuBackend.cachesWinograd(64, true, 0, mib, budget), "16-bit weights are never kept");
        assertTrue(!CpuBackend.cachesWinograd(64, false, budget - mib, 2 * mib, budget), "not past the budget");
    }

    @Test
    void uncachedWeightsGiveTheSameBits() {
        // a zero cache budget: the weights are transformed per call, the same bits as cached (64 tiles: a call the
        // default budget caches)
        Tensor x = random(8, 1, 24, 16, 16), wt = random(9, 20, 24, 3, 3), wt2 = random(10, 13, 24, 3, 3), b = random(11, 20);
        try (CpuBackend cached = new CpuBackend(2); CpuBackend uncached = new CpuBackend(2, 0)) {
            for (int i = 0; i < 2; i++) {
                assertArrayEquals(cached.conv2d(x, wt, b, 1, 1, 1, 1, 1).data(), uncached.conv2d(x, wt, b, 1, 1, 1, 1, 1).data());
                assertArrayEquals(cached.conv2d(x, wt2, null, 1, 1, 1, 1, 1).data(), uncached.conv2d(x, wt2, null, 1, 1, 1, 1, 1).data());
            }
            assertTrue(uncached.winogradCacheBytes() == 0 && cached.winogradCacheBytes() > 0);
            // a call of 2 × 256 tiles (≥ 128) transforms its weights itself, whatever the budget
            long before = cached.winogradCacheBytes();
            Tensor big = random(12, 2, 24, 32, 32), wt3 = random(13, 20, 24, 3, 3);
            Tensor want = new ScalarBackend().conv2d(big, wt3, b, 1, 1, 1, 1, 1);
            assertTrue(Golden.relL2(cached.conv2d(big, wt3, b, 1, 1, 1, 1, 1), want) <= 1e-5);
            assertEquals(before, cached.winogradCacheBytes(), "a large call is not cached");
        }
    }

    @Test
    void theBackendUsesItForLargeInputs() {
        // 2 × 32 × 32 = 512 tiles ≥ the threshold: the cpu backend goes through Winograd (twice: cached weights)
        Tensor x = random(4, 2, 24, 64, 64), wt = random(5, 20, 24, 3, 3), b = random(6, 20);
        Tensor want = new ScalarBackend().conv2d(x, wt, b, 1, 1, 1, 1, 1);
        try (CpuBackend cpu = new CpuBackend(2)) {
            for (int i = 0; i < 2; i++) {
                double e = Golden.relL2(cpu.conv2d(x, wt, b, 1, 1, 1, 1, 1), want);
                assertTrue(e <= 1e-5, "relative L2 " + e);
            }
        }
    }

    /**
     * The transform writes the GEMM's packed panels directly; the plain way (all 16 [cout × cin] planes
     * unpacked, then each packed by MatA.prepack) must give the same bits, padding rows included.
     */
    /**
     * Weights transformed during the call, a block of output channels at a time (one panel, two, a partial last block,
     * all at once), over one chunk of tiles or several, give the bits of the cached U: float32 and 16-bit weights.
     */
    @ParameterizedTest(name = "n={0} cin={1} cout={2} {3}x{4} half={5}")
    @CsvSource({"2,7,37,9,11,false", "1,20,24,16,16,false", "3,5,13,13,19,true", "1,3,1,8,8,false"})
    void weightsTransformedInBlocksGiveTheBitsOfTheCachedOnes(int n, int cin, int cout, int h, int w, boolean half) {
        Tensor x = random(8, n, cin, h, w), wt = random(9, cout, cin, 3, 3), b = random(10, cout);
        MatA raw = MatA.of(wt.data(), 0, cin * 9);
        if (half) {
            short[] bits = new short[wt.numel()];
            for (int i = 0; i < bits.length; i++) bits[i] = HalfFloats.fromFloat(wt.data()[i], false);
            raw = MatA.half(bits, false, 0, cin * 9);
        }
        int tw = (w + 1) / 2;
        long panelBytes = 64L * cin * Gemm.MR, perRow = 64L * (cin + cout) * tw;
        try (Parallel par = new Parallel(2)) {
            float[] u = Winograd.transformWeights(par, raw, cout, cin);
            float[] want = new float[n * cout * h * w];
            Winograd.conv(par, x.data(), n, cin, h, w, 1, 1, u, null, b.data(), cout, h, w, want, Long.MAX_VALUE, Winograd.WEIGHT_BLOCK_BYTES);
            for (long blockPanels : new long[]{1, 2, 3, 1000})
                for (long chunkRows : new long[]{1, 1000}) {
                    float[] got = new float[want.length];
                    java.util.Arrays.fill(got, Float.NaN);
                    Winograd.conv(par, x.data(), n, cin, h, w, 1, 1, null, raw, b.data(), cout, h, w, got, chunkRows * perRow,
                            blockPanels * panelBytes);
                    assertArrayEquals(want, got, blockPanels + " panels per block, chunks of " + chunkRows + " tile rows");
                }
        }
    }

    @ParameterizedTest(name = "cout={0} cin={1}")
    @CsvSource({"1,1", "5,3", "13,17", "33,40", "70,64", "25,97"})
    void transformWritesWhatPackingThePlanesGives(int cout, int cin) {
        float[] w = random(7, cout, cin, 3, 3).data();
        float[] u = new float[16 * cout * cin];
        for (int co = 0; co < cout; co++)
            for (int ci = 0; ci < cin; ci++) {
                float[][] gg = new float[4][3];                      // G g: 4×3
                for (int col = 0; col < 3; col++) {
                    float a = w[(co * cin + ci) * 9 + col], b = w[(co * cin + ci) * 9 + 3 + col], c = w[(co * cin + ci) * 9 + 6 + col];
                    gg[0][col] = a;
                    gg[1][col] = 0.5f * (a + b + c);
                    gg[2][col] = 0.5f * (a - b + c);
                    gg[3][col] = c;
                }
                for (int xi = 0; xi < 4; xi++) {                     // (G g) Gᵀ: 4×4
                    float a = gg[xi][0], b = gg[xi][1], c = gg[xi][2];
                    float[] row = {a, 0.5f * (a + b + c), 0.5f * (a - b + c), c};
                    for (int nu = 0; nu < 4; nu++) u[((xi * 4 + nu) * cout + co) * cin + ci] = row[nu];
                }
            }
        int size = MatA.packedSize(cout, cin);
        try (Parallel par = new Parallel(2)) {
            float[] want = new float[16 * size];
            for (int xn = 0; xn < 16; xn++) MatA.of(u, xn * cout * cin, cin).prepack(par, cout, cin, want, xn * size);
            assertArrayEquals(want, Winograd.transformWeights(par, MatA.of(w, 0, cin * 9), cout, cin));
            float[] dirty = new float[16 * size];                   // a reused scratch: every element is written
            java.util.Arrays.fill(dirty, Float.NaN);
            assertArrayEquals(want, Winograd.transformWeights(par, MatA.of(w, 0, cin * 9), cout, cin, dirty));
        }
    }
}
