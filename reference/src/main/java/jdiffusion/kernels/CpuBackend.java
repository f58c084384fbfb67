package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;
import jdiffusion.tensor.TensorArena;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The fast CPU backend: Vector API kernels on a fixed thread pool.
 * <ul>
 *   <li>3×3 stride-1 convolutions: Winograd F(2×2, 3×3) ({@link Winograd}) where there are enough
 *       output tiles, else — like every other convolution — one packed GEMM ({@link Gemm}) over the
 *       whole batch, the input seen through implicit im2col ({@link Im2col}) or, for 1×1, directly;</li>
 *   <li>linear layers: the same GEMM with the transposed weight packed on the fly (a few dot products
 *       for a handful of rows);</li>
 *   <li>attention: fused, with an online softmax over key blocks ({@link FlashAttention});</li>
 *   <li>normalisations and activations: vectorised, with float32 special functions that give the same
 *       bits compiled or interpreted ({@link FastMath}).</li>
 * </ul>
 * Conv and linear weights may be float32 or 16-bit ({@link Tensor#isHalf()}); they are converted while
 * packing. Work is split by output index only, so results are bit-identical for any thread count.
 *
 * <p>Batch invariance: every choice of algorithm depends on the shape of one sample (and the weight),
 * never on the batch size or on what ran before (the Winograd cache only decides whether transformed
 * weights are kept, not whether Winograd is used), and every reduction runs within one sample in a
 * fixed order. So a sample gets the same bits alone or in any batch — what per-sample acceleration and
 * a batching server rely on ({@code BatchInvarianceTest}). Every kernel is tested against
 * {@link ScalarBackend}. Outputs come from the forward pass's {@link TensorArena} ({@link Tensor#output}):
 * recycled buffers, so every kernel writes every element of its output.
 */
public final class CpuBackend implements Backend, AutoCloseable {
    private static final VectorSpecies<Float> S = VectorWidth.S;
    private static final int L = S.length();

    private final Parallel par;
    /**
     * Winograd F(2×2, 3×3) is used for 3×3 stride-1 convolutions from WINOGRAD_MIN_TILES output tiles
     * (2×2 pixels) per image on for float32 weights, whose transform may be cached ({@link #cachesWinograd}), and from
     * WINOGRAD_HALF_MIN_TILES per image on for 16-bit weights, which are transformed for each call:
     * below that the transform costs more than it saves. Counted per image, not per batch, so the
     * choice (and with it the bits) does not depend on the batch size.
     */
    static final int WINOGRAD_MIN_TILES = Integer.getInteger("jdiffusion.winogradMinTiles", 64);
    static final int WINOGRAD_HALF_MIN_TILES = 256;
    /** Calls of fewer tiles than this (2×2 outputs, all images of the call) keep their transformed weights ({@link #cachesWinograd}). */
    static final long WINOGRAD_CACHE_MAX_TILES = Long.getLong("jdiffusion.winogradCacheMaxTiles", 128);
    /** Default budget for cached transformed weights (16/9 of the 3×3 weights they come from), 2 GiB. */
    private static final long WINOGRAD_CACHE_BYTES = Long.getLong("jdiffusion.winogradCacheMiB", 2048) << 20;
    private final long winogradCacheBudget;
    private final Map<Tensor, float[]> winograd = Collections.synchronizedMap(new WeakHashMap<>());
    private long winogradBytes;

    /** Recycled activation storage of the passes run on this backend (null: every output a new array). */
    private final TensorArena arena;
    /** Whether operations first wait for a running {@link Warmup} (all instances but the warm-up's own). */
    private final boolean awaitWarmup;

    /** A backend whose passes recycle activations, unless -Djdiffusion.arena=false (for A/B measurements). */
    public CpuBackend(int threads) {
        this(threads, WINOGRAD_CACHE_BYTES, recycleByDefault(), true);
    }

    /** @param recycle whether forward passes recycle activation storage ({@link TensorArena}) */
    public CpuBackend(int threads, boolean recycle) {
        this(threads, WINOGRAD_CACHE_BYTES, recycle, true);
    }

    /** With a budget in bytes for cached Winograd weights (past it, weights are transformed per call). */
    CpuBackend(int threads, long winogradCacheBytes) {
        this(threads, winogradCacheBytes, recycleByDefault(), true);
    }

    /** The {@link Warmup}'s own instance, which does not wait for itself. */
    static CpuBackend forWarmup(int threads) {
        return new CpuBackend(threads, WINOGRAD_CACHE_BYTES, recycleByDefault(), false);
    }

    private CpuBackend(int threads, long winogradCacheBytes, boolean recycle, boolean awaitWarmup) {
        this.par = new Parallel(threads);
        this.winogradCacheBudget = winogradCacheBytes;
        this.arena = recycle ? new TensorArena() : null;
        this.awaitWarmup = awaitWarmup;
    }

    private static boolean recycleByDefault() {
        return !"false".equalsIgnoreCase(System.getProperty("jdiffusion.arena"));
    }

    /** Asked for at the start of every forward pass ({@code Ctx.pass}), which first waits for a running {@link Warmup}. */
    @Override
    public TensorArena arena() {
        warm();
        return arena;
    }

    /**
     * While a {@link Warmup} is compiling the kernels, running them here would take the interpreted Vector API
     * fallbacks at full size, so a forward pass waits for it (once; then a volatile read). Once per pass, not in
     * every operation: the warm-up's own backend does not wait, so in the operations this branch went one way during
     * the warm-up and the other in the real run, and each compiled operation that inlined it (conv2d, linear,
     * attention, ...) hit an "uncommon trap" at the first real call and was compiled again.
     */
    private void warm() {
        if (awaitWarmup) Warmup.await();
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
        Tensor out = Tensor.output(n, cout, oh, ow);   // recycled storage: every element is written below
        float[] O = out.data();
        if (kk == 0) java.util.Arrays.fill(O, 0f);     // an empty reduction: the GEMM leaves C as it is
        int tilesPerImage = ((oh + 1) / 2) * ((ow + 1) / 2);
        if (usesWinograd(kh, kw, stride, tilesPerImage, w.isHalf())) {
            float[] u = winogradWeights(w, (long) n * tilesPerImage), b = bias == null ? null : bias.data();
            if (u != null) Winograd.conv(par, x.data(), n, cin, h, wd, pt, pl, u, b, cout, oh, ow, O);
            else Winograd.convTransforming(par, x.data(), n, cin, h, wd, pt, pl, weight(w, cin * 9), b, cout, oh, ow, O);
            return out;
        }
        boolean pointwise = kh == 1 && kw == 1 && stride == 1 && pt == 0 && pl == 0 && pb == 0 && pr == 0;
        // one GEMM for the whole batch: columns are the output pixels of all images
        PackB cols = pointwise ? PackB.images(x.data(), 0, cin, h * wd)
                : new Im2col(x.data(), 0, cin, h, wd, kh, kw, stride, pt, pl, oh, ow);
        Gemm.gemm(par, cout, n * ohw, kk, weight(w, kk), cols, COut.images(O, 0, cout, ohw),
                bias == null ? Gemm.Start.ZERO : Gemm.Start.ROW_BIAS, bias == null ? null : bias.data());
        return out;
    }

    /**
     * The Winograd-transformed 3×3 weights from the cache (kept while the weight is alive), or null: then the call
     * transforms them itself, a block of output channels at a time. The same bits either way. See {@link #cachesWinograd}.
     */
    private float[] winogradWeights(Tensor w, long tilesPerCall) {
        float[] u = winograd.get(w);
        if (u != null) return u;
        if (!cachesWinograd(tilesPerCall, w.isHalf(), winogradBytes, winogradCacheEntryBytes(w.dim(0), w.dim(1)), winogradCacheBudget))
            return null;
        u = Winograd.transformWeights(par, weight(w, w.dim(1) * 9), w.dim(0), w.dim(1));
        synchronized (winograd) {
            if (winogradBytes + 4L * u.length <= winogradCacheBudget && !winograd.containsKey(w)) {
                winograd.put(w, u);
                winogradBytes += 4L * u.length;
            }
        }
        return u;
    }

    /**
     * Whether a Winograd convolution's transformed weights are cached (the rule MemoryBudget's estimate applies
     * too): float32 weights, within the budget, and a call of fewer than {@link #WINOGRAD_CACHE_MAX_TILES} tiles. The
     * transform costs about as much per weight as 84 tiles' multiply-adds (1 ns per weight against the GEMM's 0.0067 ns per
     * multiply-add, 2 threads, AVX-512): for a call of 512 tiles it adds 16 % to the convolution, for 64 tiles 130 %. So
     * the cache pays where calls are small (DDPM-CIFAR10 at batch 1: 21 % of its time without it) and costs little where
     * they are large, while its memory grows with the model: SD 1.5's was 543 MiB at 32×32 latents, 1.8 GiB at 64×64
     * (16/9 of its 3×3 weights), more than the difference between its peak memory and PyTorch's.
     */
    public static boolean cachesWinograd(long tilesPerCall, boolean halfWeights, long cachedBytes, long entryBytes, long budget) {
        return !halfWeights && tilesPerCall < WINOGRAD_CACHE_MAX_TILES && cachedBytes + entryBytes <= budget;
    }

    /**
     * For memory estimates: whether {@link #conv2d} takes the Winograd path for a kh×kw kernel at
     * {@code stride} with {@code tilesPerImage} 2×2 output tiles per image and float32 or 16-bit weights
     * (the same rule conv2d applies: per image, never per batch).
     */
    public static boolean usesWinograd(int kh, int kw, int stride, long tilesPerImage, boolean halfWeights) {
        return kh == 3 && kw == 3 && stride == 1 && tilesPerImage >= (halfWeights ? WINOGRAD_HALF_MIN_TILES : WINOGRAD_MIN_TILES);
    }

    /**
     * For memory estimates: the tiles of one chunk of a Winograd convolution of n images to oh × ow outputs,
     * whose transformed input and GEMM output are the scratch it takes (16 (cin + cout) floats per tile).
     */
    public static int winogradChunkTiles(int n, int cin, int cout, int oh, int ow) {
        return Winograd.chunkTiles(n, cin, cout, oh, ow);
    }

    /**
     * Bytes one cached Winograd weight takes: its 16 transformed [cout, cin] planes (16/9 of the 3×3
     * weight), packed in GEMM panels, so cout rounded up to the register block. MemoryBudget's estimate
     * of the cache uses this, so it matches what {@link #winogradCacheBytes()} reports after a pass.
     */
    public static long winogradCacheEntryBytes(int cout, int cin) {
        return 4L * 16 * MatA.packedSize(cout, cin);
    }

    /** For memory estimates: bytes of the block of transformed weights an uncached Winograd convolution holds at a time. */
    public static long winogradBlockBytes(int cout, int cin) {
        int panels = Math.min((cout + Gemm.MR - 1) / Gemm.MR, Winograd.blockPanels(cin, Winograd.WEIGHT_BLOCK_BYTES));
        return 64L * panels * Gemm.MR * cin;
    }

    /** The budget for cached Winograd weights, in bytes (property jdiffusion.winogradCacheMiB). */
    public static long winogradCacheBudget() {
        return WINOGRAD_CACHE_BYTES;
    }

    /** Bytes held by cached Winograd weights. */
    public long winogradCacheBytes() {
        synchronized (winograd) {
            return winogradBytes;
        }
    }

    /** A weight [out, ...] as a row-major [out × cols] GEMM operand, in whatever precision it is stored. */
    private static MatA weight(Tensor w, int cols) {
        return w.isHalf() ? MatA.half(w.halfBits(), w.isBf16(), 0, cols) : MatA.of(w.data(), 0, cols);
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        Shapes.linear(x, w, bias);
        int in = w.dim(1), outF = w.dim(0), rows = x.numel() / in;
        int[] s = x.shape();
        s[s.length - 1] = outF;
        Tensor out = Tensor.output(s);
        float[] O = out.data();
        if (in == 0) java.util.Arrays.fill(O, 0f);     // an empty reduction: the GEMM leaves C as it is
        // rows per sample (the leading dimension is the batch), so the path does not depend on the batch size
        int rowsPerSample = x.rank() >= 2 ? rows / x.dim(0) : rows;
        if (rowsPerSample <= FEW_ROWS) {
            fewRows(x.data(), rows, in, weight(w, in), bias == null ? null : bias.data(), outF, O);
            return out;
        }
        Gemm.gemm(par, rows, outF, in, MatA.of(x.data(), 0, in), PackB.transposed(weight(w, in)), COut.matrix(O, 0, outF),
                bias == null ? Gemm.Start.ZERO : Gemm.Start.COLUMN_BIAS, bias == null ? null : bias.data());
        return out;
    }

    /** Up to this many rows per sample a linear layer is a set of dot products (the weight is streamed once). */
    private static final int FEW_ROWS = 4;

    /**
     * out[r][o] = bias[o] + x[r]·w[o] for a handful of rows (e.g. the time embedding): each weight row
     * is read once, converted to float32 if stored in 16 bits, and dotted with every input row;
     * vector lanes accumulate in a fixed order, then are reduced.
     */
    private void fewRows(float[] x, int rows, int in, MatA w, float[] bias, int outF, float[] out) {
        par.forRange(outF, 32, (o0, o1) -> {
            float[] row = w.f32 != null ? null : new float[in];
            for (int o = o0; o < o1; o++) {
                float[] wr = w.f32;
                int wOff = w.off + o * w.ld;
                if (wr == null) {
                    for (int i = 0; i < in; i++) row[i] = w.get(o, i);
                    wr = row;
                    wOff = 0;
                }
                for (int r = 0; r < rows; r++) {
                    FloatVector acc = FloatVector.zero(S);
                    int i = 0;
                    for (; i + L <= in; i += L)
                        acc = FloatVector.fromArray(S, x, r * in + i).fma(FloatVector.fromArray(S, wr, wOff + i), acc);
                    if (i < in) {
                        var m = FastMath.tail(i, in);
                        acc = FloatVector.fromArray(S, x, r * in + i, m).fma(FloatVector.fromArray(S, wr, wOff + i, m), acc);
                    }
                    out[r * outF + o] = sumLanes(acc) + (bias == null ? 0f : bias[o]);
                }
            }
        });
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        Shapes.groupNorm(x, groups, gamma, beta);
        int n = x.dim(0), c = x.dim(1), spatial = x.numel() / (n * c), cpg = c / groups;
        Tensor out = Tensor.output(x.shape());
        float[] X = x.data(), O = out.data(), G = gamma.data(), B = beta.data();
        par.forRange(n * groups, 1, (q0, q1) -> {
            for (int q = q0; q < q1; q++) {
                int b = q / groups, g = q % groups;
                int start = (b * c + g * cpg) * spatial, len = cpg * spatial;
                double mean = sum(X, start, len) / len;
                double var = sumSquaredDeviation(X, start, len, (float) mean) / len;
                float inv = (float) (1.0 / Math.sqrt(var + eps));
                float m = (float) mean;
                for (int ch = g * cpg; ch < (g + 1) * cpg; ch++) {
                    // (x − mean)·(inv·γ) + β: subtracting first keeps it exact when x ≈ mean
                    int off = (b * c + ch) * spatial;
                    FastMath.normalize(X, off, O, off, spatial, m, inv * G[ch], B[ch], silu);
                }
            }
        });
        return out;
    }

    /**
     * The lanes of v added in lane order. (VectorOperators.ADD reductions are not used: their order is
     * the implementation's, and the interpreter's differs from compiled code's.)
     */
    private static float sumLanes(FloatVector v) {
        float[] lanes = LANES.get();
        v.intoArray(lanes, 0);
        float s = 0f;
        for (float x : lanes) s += x;
        return s;
    }

    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[L]);

    /** Sum in double of float lanes: vector partial sums in float, blocks added up in double. */
    private static double sum(float[] a, int off, int len) {
        double total = 0;
        for (int b0 = 0; b0 < len; b0 += 4096) {
            int b1 = Math.min(len, b0 + 4096), i = b0;
            FloatVector acc = FloatVector.zero(S);
            for (; i + L <= b1; i += L) acc = acc.add(FloatVector.fromArray(S, a, off + i));
            double part = sumLanes(acc);
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
            double part = sumLanes(acc);
            for (; i < b1; i++) part += (double) (a[off + i] - mean) * (a[off + i] - mean);
            total += part;
        }
        return total;
    }

    /** o = x + shift. */
    private static void addScalar(float[] x, float[] o, int off, int len, float shift) {
        int i = 0;
        for (; i + L <= len; i += L) FloatVector.fromArray(S, x, off + i).add(shift).intoArray(o, off + i);
        for (; i < len; i++) o[off + i] = x[off + i] + shift;
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int c = x.dim(-1), rows = x.numel() / c;
        Shapes.vector(gamma, c, "layerNorm gamma");
        Shapes.vector(beta, c, "layerNorm beta");
        Tensor out = Tensor.output(x.shape());
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
        return elementwise(x, FastMath::silu);
    }

    @Override
    public Tensor gelu(Tensor x) {
        return elementwise(x, FastMath::gelu);
    }

    @Override
    public Tensor quickGelu(Tensor x) {
        return elementwise(x, FastMath::quickGelu);
    }

    /** A vectorised activation over a range: {@code out[o..o+n) = f(x[i..i+n))}. */
    private interface Activation {
        void apply(float[] x, int xOffset, float[] out, int outOffset, int n);
    }

    /** {@code f} over every element, split across threads in whole vectors (the last one masked), so no element depends on the split. */
    private Tensor elementwise(Tensor x, Activation f) {
        Tensor out = Tensor.output(x.shape());
        float[] X = x.data(), O = out.data();
        int n = x.numel();
        par.forRange((n + L - 1) / L, 1024, (v0, v1) -> f.apply(X, v0 * L, O, v0 * L, Math.min(n, v1 * L) - v0 * L));
        return out;
    }

    /** GEGLU with a vectorised exact-GELU ({@link FastMath#gelu}): out = h · gelu(g), a row at a time. */
    @Override
    public Tensor geglu(Tensor x) {
        int[] s = Shapes.geglu(x);
        int two = x.dim(-1), f = two / 2, rows = x.numel() / two;
        Tensor out = Tensor.output(s);
        float[] X = x.data(), O = out.data();
        par.forRange(rows, Math.max(1, 8192 / f), (r0, r1) -> {
            for (int r = r0; r < r1; r++) FastMath.geluGate(X, r * two, r * two + f, O, r * f, f);
        });
        return out;
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        return attention(q, k, v, heads, scale, false);
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        if (causal) Shapes.causalAttention(q, k, v, heads);
        else Shapes.attention(q, k, v, heads);
        int b = q.dim(0), tq = q.dim(1), c = q.dim(2), tk = k.dim(1);
        Tensor out = Tensor.output(b, tq, c);
        FlashAttention.run(par, q.data(), k.data(), v.data(), out.data(), b, tq, tk, heads, c / heads, scale, causal);
        return out;
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Tensor out = Tensor.output(n, c, 2 * h, 2 * w);
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
        Tensor out = Tensor.output(a.shape());
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
        Tensor out = Tensor.output(x.shape());
        float[] X = x.data(), O = out.data(), Vv = v.data();
        par.forRange(n * c, 16, (p0, p1) -> {
            for (int p = p0; p < p1; p++) addScalar(X, O, p * spatial, spatial, Vv[p]);
        });
        return out;
    }

    @Override
    public Tensor concatChannels(Tensor a, Tensor b) {
        return ScalarOps.concatChannels(a, b);
    }

    @Override
    public Tensor scale(Tensor x, float s) {
        Tensor out = Tensor.output(x.shape());
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
        Tensor out = Tensor.output(n, hw, c);
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
        Tensor out = Tensor.output(n, c, h, w);
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
