package jdiffusion.tornado;

import jdiffusion.kernels.Backend;
import jdiffusion.kernels.Shapes;
import jdiffusion.tensor.DeviceBuffer;
import jdiffusion.tensor.Tensor;

import java.util.Locale;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The engine's {@link Backend} on a TornadoVM device (OpenCL, PTX or SPIR-V; verified on OpenCL/PoCL).
 *
 * <p>Execution is eager: every operation launches its kernel at once (see {@link Device}: one task graph
 * per kernel, all in one execution plan, each JIT-compiled once per process) and returns a tensor whose
 * storage stays on the device ({@link Tensor#onDevice}); the next operation reads it there. Nothing comes
 * back to the host until host code calls {@link Tensor#data()} on a result (e.g. the scheduler reading the
 * UNet output), which downloads that one tensor.
 *
 * <p>Host tensors are uploaded on first use: tensors in parameter positions (conv/linear weights and
 * biases, norm gamma/beta) are cached by identity of their storage for as long as they live, so a model's
 * weights go to the device once; other host inputs (the latent, the timestep embedding, the text
 * conditioning) are cached by identity too, but re-validated by a checksum on every use, because nothing
 * forbids a caller to refill the same array between calls.
 *
 * <p>There is no fallback: if TornadoVM is missing, no device is found, bailout is not disabled, or a
 * kernel fails to compile or run, the constructor or the operation throws.
 *
 * <p>Configuration (system properties): {@code jdiffusion.tornado.memory} (pool size, e.g. 768m or 2g;
 * default 1g capped at the device's largest buffer), {@code jdiffusion.tornado.device} (driver:device
 * index as listed by {@code tornado --devices}, default the TornadoVM default device).
 */
public final class TornadoBackend implements Backend, AutoCloseable {
    /**
     * How conv2d and linear run: TILED stages 64×64 tiles of both operands in local memory (the GPU
     * design, {@link TiledGemm}); DIRECT has no local memory or barriers and blocks 8 outputs per work-item in
     * registers ({@link DirectGemm}); DOT is im2col + dot products along k ({@link DotGemm}), what a CPU OpenCL
     * device such as PoCL runs fastest (see README.md). AUTO picks DOT on CPU devices, TILED elsewhere.
     */
    public enum Gemm { AUTO, TILED, DIRECT, DOT }

    /** Scratch bound of the DOT variant's im2col: 16 M floats (64 MB); larger convolutions run in pixel chunks. */
    private volatile long dotScratchFloats = 1L << 24;

    private final Device dev;
    private volatile boolean direct;
    private volatile boolean dot;
    /** transposed linear weights Wt [in, out] for the DIRECT variant, by identity of the host storage */
    private final Map<float[], Device.Buf> transposed = new WeakHashMap<>();
    /** device copies of parameter tensors, by identity of their host storage */
    private final Map<float[], Device.Buf> params = new WeakHashMap<>();
    /** device copies of other host inputs, by identity, with the checksum of their contents */
    private final Map<float[], Cached> inputs = new WeakHashMap<>();

    private record Cached(long checksum, Device.Buf buf) {
    }

    /** Starts TornadoVM on the configured device (the CLI's {@code --backend tornado}). */
    public TornadoBackend() {
        this(poolFloatsFromProperty(), gemmFromProperty());
    }

    /**
     * @param poolFloats size of the device memory pool, in floats
     * @param gemm       conv2d/linear kernel variant
     */
    public TornadoBackend(long poolFloats, Gemm gemm) {
        requireTornado();
        try {
            this.dev = new Device(poolFloats, System.getProperty("jdiffusion.tornado.device"));
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw e;                                             // named errors (no device, bad setting): as they are
        } catch (RuntimeException | LinkageError e) {
            throw new IllegalStateException("TornadoVM could not set up a device: " + e, e);
        }
        setGemm(gemm);
    }

    /** Switches the conv2d/linear variant (AUTO: DOT on a CPU device, TILED elsewhere). */
    public void setGemm(Gemm gemm) {
        this.direct = gemm == Gemm.DIRECT;
        this.dot = gemm == Gemm.DOT || (gemm == Gemm.AUTO && dev.isCpu());
    }

    /** Bounds the DOT variant's im2col scratch (tests use a tiny bound to exercise the chunking). */
    void setDotScratchFloats(long floats) {
        this.dotScratchFloats = floats;
    }

    /** The conv2d/linear variant in use. */
    public Gemm gemm() {
        return dot ? Gemm.DOT : direct ? Gemm.DIRECT : Gemm.TILED;
    }

    static void requireTornado() {
        if (System.getProperty("tornado.load.api.implementation") == null)
            throw new IllegalStateException("TornadoVM is not initialised in this JVM: start it with TornadoVM's flags "
                    + "(java @$TORNADOVM_HOME/tornado-argfile -Dtornado.recover.bailout=False ...; ./jdiffusion adds them when TORNADOVM_HOME is set)");
        if (!"false".equalsIgnoreCase(System.getProperty("tornado.recover.bailout")))
            throw new IllegalStateException("TornadoVM bailout is enabled: a kernel that fails would silently run as sequential Java. "
                    + "Start the JVM with -Dtornado.recover.bailout=False (./jdiffusion does)");
        try {
            Class.forName("uk.ac.manchester.tornado.api.TaskGraph");
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("TornadoVM's API (tornado-api) is not on the module path: start the JVM with @$TORNADOVM_HOME/tornado-argfile");
        }
    }

    private static Gemm gemmFromProperty() {
        String s = System.getProperty("jdiffusion.tornado.gemm", "auto");
        try {
            return Gemm.valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("jdiffusion.tornado.gemm: '" + s + "' is not a variant (auto, tiled, direct or dot)");
        }
    }

    private static long poolFloatsFromProperty() {
        String s = System.getProperty("jdiffusion.tornado.memory");
        long bytes = s == null || s.isBlank() ? 1L << 30 : parseSize(s);
        return bytes / Float.BYTES;
    }

    static long parseSize(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        long mult = 1;
        if (t.endsWith("k")) mult = 1L << 10;
        else if (t.endsWith("m")) mult = 1L << 20;
        else if (t.endsWith("g")) mult = 1L << 30;
        if (mult != 1) t = t.substring(0, t.length() - 1);
        try {
            long v = Long.parseLong(t) * mult;
            if (v <= 0) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("jdiffusion.tornado.memory: '" + s + "' is not a size (e.g. 768m, 2g)");
        }
    }

    @Override
    public String name() {
        return "tornado";
    }

    /** The device this backend runs on, e.g. "[Portable Computing Language] -- pthread-skylake-avx512-...". */
    public String deviceDescription() {
        return dev.deviceDescription();
    }

    /** Pool and launch counters (diagnostics). */
    public String stats() {
        return dev.stats();
    }

    /** Host→device uploads, device→host downloads and kernel launches so far: {uploads, downloads, launches}. */
    public long[] transferCounters() {
        return dev.counters();
    }

    /** Floats of the pool currently held by live tensors. */
    public long deviceFloatsInUse() {
        return dev.usedFloats();
    }

    @Override
    public void close() {
        synchronized (this) {
            params.clear();
            inputs.clear();
            transposed.clear();
        }
        dev.close();
    }

    // ------------------------------------------------------------------------------------------------ operands

    /** The device storage of an activation operand (uploaded if it lives on the host). */
    private Device.Buf in(Tensor t) {
        DeviceBuffer d = t.device();
        if (d instanceof Device.Buf b && b.device == dev) return b;
        float[] host = t.data();
        long sum = checksum(host);
        synchronized (this) {
            Cached c = inputs.get(host);
            if (c != null && c.checksum == sum) return c.buf;
            Device.Buf b = dev.upload(host);
            inputs.put(host, new Cached(sum, b));
            return b;
        }
    }

    /** The device storage of a parameter operand (weights, biases, norm affines): uploaded once per tensor. */
    private Device.Buf param(Tensor t) {
        DeviceBuffer d = t.device();
        if (d instanceof Device.Buf b && b.device == dev) return b;
        float[] host = t.data();
        synchronized (this) {
            Device.Buf b = params.get(host);
            if (b == null) {
                b = dev.upload(host);
                params.put(host, b);
            }
            return b;
        }
    }

    /** W^T [in, out] of a linear weight W [out, in], made on the device once per host weight. */
    private Device.Buf transposedParam(Tensor w) {
        DeviceBuffer d = w.device();
        if (d instanceof Device.Buf b && b.device == dev) return transposeOnDevice(b, w.dim(0), w.dim(1));
        float[] host = w.data();
        synchronized (this) {
            Device.Buf t = transposed.get(host);
            if (t == null) {
                t = transposeOnDevice(dev.upload(host), w.dim(0), w.dim(1));
                transposed.put(host, t);
            }
            return t;
        }
    }

    private Device.Buf transposeOnDevice(Device.Buf src, int rows, int cols) {
        Device.Buf o = dev.allocate(rows * cols);
        int tilesR = ceil(rows, Elementwise.TT), tilesC = ceil(cols, Elementwise.TT);
        dev.launch(Device.Kernel.TRANSPOSE, new int[]{1, rows, cols, src.offset, o.offset, tilesR, tilesC}, new float[0],
                (long) tilesR * tilesC * Elementwise.WG_TRANSPOSE);
        return o;
    }

    private static long checksum(float[] a) {
        long h = 0x9E3779B97F4A7C15L ^ a.length;
        for (float v : a) h = (h ^ Float.floatToRawIntBits(v)) * 0x100000001B3L + 0x632BE59BD9B4E019L;
        return h;
    }

    private Tensor out(Device.Buf b, int... shape) {
        return Tensor.onDevice(b, shape);
    }

    private static int size(Tensor t) {
        return t.numel();
    }

    // ------------------------------------------------------------------------------------------------ operations

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int pt, int pl, int pb, int pr) {
        Shapes.conv2d(x, w, bias);
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        if (stride < 1) throw new IllegalArgumentException("conv2d: stride " + stride);
        int oh = (h + pt + pb - kh) / stride + 1, ow = (wd + pl + pr - kw) / stride + 1;
        if (oh < 1 || ow < 1) throw new IllegalArgumentException("conv2d: empty output for input " + x.shapeString() + " and kernel " + w.shapeString());
        Device.Buf xb = in(x), wb = param(w), bb = bias == null ? null : param(bias);
        Device.Buf o = dev.allocate(n * cout * oh * ow);
        long np = (long) n * oh * ow;
        if (dot) {
            // im2col in chunks of pixels, so that the scratch stays bounded (a 3×3 conv's columns are 9× its input)
            int k = cin * kh * kw;
            int chunk = (int) Math.max(1, Math.min(np, dotScratchFloats / k));
            Device.Buf col = dev.allocate(chunk * k);
            for (int p0 = 0; p0 < np; p0 += chunk) {
                int count = (int) Math.min(chunk, np - p0);
                dev.launch(Device.Kernel.IM2COL, new int[]{n, cin, h, wd, kh, kw, stride, pt, pl, oh, ow, xb.offset, col.offset, p0, count},
                        new float[0], (long) count * cin);
                dev.launch(Device.Kernel.GEMM_DOT, new int[]{cout, count, k, wb.offset, col.offset, bb == null ? -1 : bb.offset, o.offset, GemmOutput.CONV, oh * ow, p0},
                        new float[0], (long) ceil(cout, DotGemm.BLOCK) * ceil(count, DotGemm.BLOCK));
            }
            return out(o, n, cout, oh, ow);
        }
        if (direct) {
            dev.launch(Device.Kernel.CONV2D_DIRECT, new int[]{n, cin, h, wd, cout, kh, kw, stride, pt, pl, oh, ow,
                    xb.offset, wb.offset, bb == null ? -1 : bb.offset, o.offset}, new float[0], (long) ceil(cout, DirectGemm.BLOCK) * np);
            return out(o, n, cout, oh, ow);
        }
        int tilesM = ceil(cout, TiledGemm.TILE), tilesN = (int) ((np + TiledGemm.TILE - 1) / TiledGemm.TILE);
        dev.launch(Device.Kernel.TILED_GEMM, new int[]{cout, (int) np, cin * kh * kw, wb.offset, xb.offset, bb == null ? -1 : bb.offset, o.offset,
                GemmOutput.CONV, oh * ow, 0, tilesN, cin, h, wd, kh, kw, stride, pt, pl, ow}, new float[0], (long) tilesM * tilesN * TiledGemm.WG);
        return out(o, n, cout, oh, ow);
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        Shapes.linear(x, w, bias);
        int k = w.dim(1), nOut = w.dim(0), rows = x.numel() / k;
        int[] s = x.shape();
        s[s.length - 1] = nOut;
        Device.Buf xb = in(x), bb = bias == null ? null : param(bias);
        Device.Buf o;
        if (dot) {
            Device.Buf wb = param(w);
            o = dev.allocate(rows * nOut);
            dev.launch(Device.Kernel.GEMM_DOT, new int[]{rows, nOut, k, xb.offset, wb.offset, bb == null ? -1 : bb.offset, o.offset, GemmOutput.LINEAR, 0, 0},
                    new float[0], (long) ceil(rows, DotGemm.BLOCK) * ceil(nOut, DotGemm.BLOCK));
            return out(o, s);
        }
        if (direct) {
            Device.Buf wt = transposedParam(w);
            o = dev.allocate(rows * nOut);
            dev.launch(Device.Kernel.LINEAR_DIRECT, new int[]{rows, nOut, k, xb.offset, wt.offset, bb == null ? -1 : bb.offset, o.offset},
                    new float[0], (long) ceil(rows, DirectGemm.BLOCK) * nOut);
            return out(o, s);
        }
        Device.Buf wb = param(w);
        o = dev.allocate(rows * nOut);
        int tilesM = ceil(rows, TiledGemm.TILE), tilesN = ceil(nOut, TiledGemm.TILE);
        dev.launch(Device.Kernel.TILED_GEMM, new int[]{rows, nOut, k, xb.offset, wb.offset, bb == null ? -1 : bb.offset, o.offset,
                GemmOutput.LINEAR, 0, 0, tilesN}, new float[0], (long) tilesM * tilesN * TiledGemm.WG);
        return out(o, s);
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        Shapes.groupNorm(x, groups, gamma, beta);
        int n = x.dim(0), c = x.dim(1), spatial = x.numel() / (n * c);
        Device.Buf xb = in(x), gb = param(gamma), bb = param(beta);
        Device.Buf o = dev.allocate(x.numel());
        dev.launch(Device.Kernel.GROUP_NORM, new int[]{n, c, spatial, groups, xb.offset, gb.offset, bb.offset, o.offset, silu ? 1 : 0},
                new float[]{eps}, (long) n * groups * Norms.WG_GROUP);
        return out(o, x.shape());
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int c = x.dim(-1), rows = x.numel() / c;
        Shapes.vector(gamma, c, "layerNorm gamma");
        Shapes.vector(beta, c, "layerNorm beta");
        Device.Buf xb = in(x), gb = param(gamma), bb = param(beta);
        Device.Buf o = dev.allocate(x.numel());
        dev.launch(Device.Kernel.LAYER_NORM, new int[]{rows, c, xb.offset, gb.offset, bb.offset, o.offset},
                new float[]{eps}, (long) rows * Norms.WG_LAYER);
        return out(o, x.shape());
    }

    @Override
    public Tensor silu(Tensor x) {
        Device.Buf xb = in(x);
        Device.Buf o = dev.allocate(size(x));
        dev.launch(Device.Kernel.SILU, new int[]{size(x), xb.offset, o.offset}, new float[0], size(x));
        return out(o, x.shape());
    }

    @Override
    public Tensor geglu(Tensor x) {
        int[] s = Shapes.geglu(x);
        int two = x.dim(-1), f = two / 2, rows = x.numel() / two;
        Device.Buf xb = in(x);
        Device.Buf o = dev.allocate(rows * f);
        dev.launch(Device.Kernel.GEGLU, new int[]{rows * f, f, xb.offset, o.offset}, new float[0], (long) rows * f);
        return out(o, s);
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        Shapes.attention(q, k, v, heads);
        int b = q.dim(0), tq = q.dim(1), c = q.dim(2), tk = k.dim(1), d = c / heads;
        if (d > Attention.KV)
            throw new IllegalArgumentException("attention: head dimension " + d + " exceeds the kernel's tile capacity " + Attention.KV);
        Device.Buf qb = in(q), kb = in(k), vb = in(v);
        Device.Buf o = dev.allocate(b * tq * c);
        int bk = Math.min(Attention.BK, Attention.KV / d);
        int qTiles = ceil(tq, Attention.BQ);
        dev.launch(Device.Kernel.ATTENTION, new int[]{b, tq, tk, heads, d, qb.offset, kb.offset, vb.offset, o.offset, bk, qTiles},
                new float[]{scale}, (long) b * heads * qTiles * Attention.BQ);
        return out(o, b, tq, c);
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        if (x.rank() != 4) throw new IllegalArgumentException("upsampleNearest2x: expected [N, C, H, W], got " + x.shapeString());
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Device.Buf xb = in(x);
        int total = n * c * 4 * h * w;
        Device.Buf o = dev.allocate(total);
        dev.launch(Device.Kernel.UPSAMPLE, new int[]{total, h, w, xb.offset, o.offset}, new float[0], total);
        return out(o, n, c, 2 * h, 2 * w);
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        Shapes.same(a, b, "add");
        Device.Buf ab = in(a), bb = in(b);
        Device.Buf o = dev.allocate(size(a));
        dev.launch(Device.Kernel.ADD, new int[]{size(a), ab.offset, bb.offset, o.offset}, new float[0], size(a));
        return out(o, a.shape());
    }

    @Override
    public Tensor addChannelBias(Tensor x, Tensor v) {
        int n = x.dim(0), c = x.dim(1), spatial = x.numel() / (n * c);
        if (v.numel() != n * c) throw new IllegalArgumentException("addChannelBias: " + v.shapeString() + " does not match " + x.shapeString());
        Device.Buf xb = in(x), vb = in(v);
        Device.Buf o = dev.allocate(size(x));
        dev.launch(Device.Kernel.ADD_CHANNEL_BIAS, new int[]{size(x), spatial, xb.offset, vb.offset, o.offset}, new float[0], size(x));
        return out(o, x.shape());
    }

    @Override
    public Tensor concatChannels(Tensor a, Tensor b) {
        int n = a.dim(0), ca = a.dim(1), cb = b.dim(1), h = a.dim(2), w = a.dim(3);
        if (a.rank() != 4 || b.rank() != 4 || b.dim(0) != n || b.dim(2) != h || b.dim(3) != w)
            throw new IllegalArgumentException("concatChannels: " + a.shapeString() + " vs " + b.shapeString());
        Device.Buf ab = in(a), bb = in(b);
        int total = n * (ca + cb) * h * w;
        Device.Buf o = dev.allocate(total);
        dev.launch(Device.Kernel.CONCAT, new int[]{total, ca, cb, h * w, ab.offset, bb.offset, o.offset}, new float[0], total);
        return out(o, n, ca + cb, h, w);
    }

    @Override
    public Tensor scale(Tensor x, float s) {
        Device.Buf xb = in(x);
        Device.Buf o = dev.allocate(size(x));
        dev.launch(Device.Kernel.SCALE, new int[]{size(x), xb.offset, o.offset}, new float[]{s}, size(x));
        return out(o, x.shape());
    }

    @Override
    public Tensor toTokens(Tensor x) {
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        return transpose(x, n, c, hw, new int[]{n, hw, c});
    }

    @Override
    public Tensor fromTokens(Tensor x, int h, int w) {
        int n = x.dim(0), hw = x.dim(1), c = x.dim(2);
        if (hw != h * w) throw new IllegalArgumentException("fromTokens: " + hw + " tokens is not " + h + "x" + w);
        return transpose(x, n, hw, c, new int[]{n, c, h, w});
    }

    /** [N, rows, cols] → [N, cols, rows] */
    private Tensor transpose(Tensor x, int n, int rows, int cols, int[] shape) {
        Device.Buf xb = in(x);
        Device.Buf o = dev.allocate(size(x));
        int tilesR = ceil(rows, Elementwise.TT), tilesC = ceil(cols, Elementwise.TT);
        dev.launch(Device.Kernel.TRANSPOSE, new int[]{n, rows, cols, xb.offset, o.offset, tilesR, tilesC}, new float[0],
                (long) n * tilesR * tilesC * Elementwise.WG_TRANSPOSE);
        return out(o, shape);
    }

    private static int ceil(int a, int b) {
        return (a + b - 1) / b;
    }
}
