package jdiffusion.tornado;

import jdiffusion.Golden;
import jdiffusion.kernels.Backend;
import jdiffusion.kernels.ScalarBackend;
import jdiffusion.tensor.Tensor;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.PropertyDefaults;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.statistics.Statistics;

import java.util.Map;
import java.util.TreeMap;

import static jdiffusion.tornado.SharedBackend.random;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every TornadoVM kernel computes the same function as the scalar reference: ≤ 1e-4 relative L2 error on
 * random shapes. The shapes are chosen to cross the kernels' tile boundaries: several 64-wide GEMM tiles
 * and 16-deep k-steps (ragged edges included), attention with more keys than one tile and head dimensions
 * that shrink the key tile (D = 300 → 13 keys per tile), group norms larger than a work-group.
 * The worst error per kernel is printed at the end.
 */
@PropertyDefaults(tries = 40)
@SuppressWarnings("unused")
class TornadoKernelProperties {
    static final double TOL = 1e-4;
    static final Backend SCALAR = new ScalarBackend();
    static final Map<String, Double> WORST = new TreeMap<>();

    static TornadoBackend tornado() {
        return SharedBackend.get();
    }

    @Provide
    Arbitrary<TornadoBackend.Gemm> gemms() {
        return Arbitraries.of(TornadoBackend.Gemm.TILED, TornadoBackend.Gemm.DIRECT, TornadoBackend.Gemm.DOT);
    }

    /** Runs {@code op} with the given conv2d/linear variant, then restores the default (AUTO). */
    static Tensor with(TornadoBackend.Gemm g, java.util.function.Supplier<Tensor> op) {
        tornado().setGemm(g);
        try {
            return op.get();
        } finally {
            tornado().setGemm(TornadoBackend.Gemm.AUTO);
        }
    }

    static void agree(String what, Tensor got, Tensor ref) {
        assertTrue(got.device() != null, what + ": the result should stay on the device");
        double e = Golden.relL2(got, ref);
        synchronized (WORST) {
            WORST.merge(what, e, Math::max);
        }
        assertTrue(e <= TOL, what + ": relative L2 " + e + " > " + TOL);
    }

    @AfterContainer
    static void report() {
        System.out.println("worst relative L2 error per kernel (tornado vs scalar):");
        WORST.forEach((k, v) -> System.out.printf("  %-16s %.2e%n", k, v));
    }

    record Conv(int n, int cin, int cout, int h, int w, int k, int stride, boolean asym, long seed) {
    }

    @Provide
    Arbitrary<Conv> convs() {
        return Combinators.combine(Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 40),
                Arbitraries.integers().between(1, 80), Arbitraries.integers().between(1, 21), Arbitraries.integers().between(1, 21),
                Arbitraries.of(1, 3), Arbitraries.of(1, 2), Arbitraries.longs())
                .as((n, cin, cout, h, w, k, s, seed) -> new Conv(n, cin, cout, h, w, k, k == 3 ? s : 1, k == 3 && s == 2 && seed % 2 == 0, seed));
    }

    /** 3×3 pad 1 (stride 1 and 2, and the asymmetric bottom/right padding of downsample_padding=0) and 1×1. */
    @Property
    void conv2d(@ForAll("convs") Conv c, @ForAll("gemms") TornadoBackend.Gemm g) {
        Tensor x = random(c.seed(), c.n(), c.cin(), c.h(), c.w());
        Tensor wt = random(c.seed() + 1, c.cout(), c.cin(), c.k(), c.k());
        Tensor b = c.seed() % 5 == 0 ? null : random(c.seed() + 2, c.cout());
        int pad = c.k() == 3 ? 1 : 0;
        int pt = c.asym() ? 0 : pad, pb = c.asym() ? 1 : pad;
        Statistics.label("kernel").collect(c.k() + "x" + c.k() + " stride " + c.stride() + (c.asym() ? " asym-pad" : ""));
        Statistics.label("variant").collect(g);
        agree("conv2d " + g.name().toLowerCase(), with(g, () -> tornado().conv2d(x, wt, b, c.stride(), pt, pt, pb, pb)),
                SCALAR.conv2d(x, wt, b, c.stride(), pt, pt, pb, pb));
    }

    /** The DOT variant's im2col in pixel chunks (scratch bound of a few rows), as large convolutions run. */
    @Property(tries = 15)
    void conv2dChunked(@ForAll("convs") Conv c, @ForAll("scratch") int scratch) {
        Tensor x = random(c.seed(), c.n(), c.cin(), c.h(), c.w());
        Tensor wt = random(c.seed() + 1, c.cout(), c.cin(), c.k(), c.k());
        Tensor b = random(c.seed() + 2, c.cout());
        int pad = c.k() == 3 ? 1 : 0;
        int pt = c.asym() ? 0 : pad, pb = c.asym() ? 1 : pad;
        tornado().setDotScratchFloats(scratch);
        try {
            agree("conv2d dot chunked", with(TornadoBackend.Gemm.DOT, () -> tornado().conv2d(x, wt, b, c.stride(), pt, pt, pb, pb)),
                    SCALAR.conv2d(x, wt, b, c.stride(), pt, pt, pb, pb));
        } finally {
            tornado().setDotScratchFloats(1L << 24);
        }
    }

    @Provide
    Arbitrary<Integer> scratch() {
        return Arbitraries.integers().between(1, 3000);
    }

    @Property
    void linear(@ForAll("rows") int rows, @ForAll("features") int in, @ForAll("features") int out, @ForAll boolean bias, @ForAll long seed,
                @ForAll("gemms") TornadoBackend.Gemm g) {
        Tensor x = random(seed, rows, in), w = random(seed + 1, out, in), b = bias ? random(seed + 2, out) : null;
        Statistics.label("tiles").collect(((rows + 63) / 64) + "x" + ((out + 63) / 64));
        agree("linear " + g.name().toLowerCase(), with(g, () -> tornado().linear(x, w, b)), SCALAR.linear(x, w, b));
    }

    /** linear on a 3-D token tensor, as the transformer uses it */
    @Property(tries = 15)
    void linearTokens(@ForAll("small") int batch, @ForAll("tokens") int t, @ForAll("features") int in, @ForAll("features") int out, @ForAll long seed,
                      @ForAll("gemms") TornadoBackend.Gemm g) {
        Tensor x = random(seed, batch, t, in), w = random(seed + 1, out, in), b = random(seed + 2, out);
        agree("linear " + g.name().toLowerCase(), with(g, () -> tornado().linear(x, w, b)), SCALAR.linear(x, w, b));
    }

    @Provide
    Arbitrary<Integer> rows() {
        return Arbitraries.integers().between(1, 150);
    }

    @Provide
    Arbitrary<Integer> features() {
        return Arbitraries.integers().between(1, 150);
    }

    @Property
    void groupNorm(@ForAll("small") int n, @ForAll("groups") int groups, @ForAll("small") int perGroup, @ForAll("spatial") int spatial,
                   @ForAll boolean silu, @ForAll long seed) {
        int c = groups * perGroup;
        Tensor x = random(seed, n, c, spatial), g = random(seed + 1, c), b = random(seed + 2, c);
        Statistics.label("silu").collect(silu);
        agree(silu ? "groupNorm+silu" : "groupNorm", tornado().groupNorm(x, groups, g, b, 1e-5f, silu), SCALAR.groupNorm(x, groups, g, b, 1e-5f, silu));
    }

    @Provide
    Arbitrary<Integer> spatial() {
        return Arbitraries.integers().between(1, 700);
    }

    @Provide
    Arbitrary<Integer> small() {
        return Arbitraries.integers().between(1, 4);
    }

    @Provide
    Arbitrary<Integer> groups() {
        return Arbitraries.of(1, 2, 4, 8, 32);
    }

    @Property
    void layerNorm(@ForAll("rows") int rows, @ForAll("channels") int c, @ForAll long seed) {
        Tensor x = random(seed, rows, c), g = random(seed + 1, c), b = random(seed + 2, c);
        agree("layerNorm", tornado().layerNorm(x, g, b, 1e-5f), SCALAR.layerNorm(x, g, b, 1e-5f));
    }

    @Provide
    Arbitrary<Integer> channels() {
        return Arbitraries.integers().between(1, 400);
    }

    /** Self-shaped (Tq = Tk) and cross (Tq ≠ Tk, e.g. 77 text tokens) attention, key counts beyond one tile. */
    @Property
    void attention(@ForAll("small") int batch, @ForAll("heads") int heads, @ForAll("headDims") int d, @ForAll("tokens") int tq,
                   @ForAll("tokens") int tk, @ForAll long seed) {
        int c = heads * d;
        Tensor q = random(seed, batch, tq, c), k = random(seed + 1, batch, tk, c), v = random(seed + 2, batch, tk, c);
        float scale = (float) (1 / Math.sqrt(d));
        int bk = Math.min(Kernels.ATT_BK, Kernels.ATT_KV / d);
        Statistics.label("key tiles").collect((tk + bk - 1) / bk > 1 ? "several" : "one");
        Statistics.label("shape").collect(tq != tk ? "cross (tq != tk)" : "self-shaped");
        agree("attention", tornado().attention(q, k, v, heads, scale), SCALAR.attention(q, k, v, heads, scale));
    }

    /** Large logits: the online softmax must rescale without overflow. */
    @Property(tries = 10)
    void attentionLargeLogits(@ForAll("tokens") int tq, @ForAll("tokens") int tk, @ForAll long seed) {
        int d = 16;
        Tensor q = SCALAR.scale(random(seed, 1, tq, d), 30f), k = SCALAR.scale(random(seed + 1, 1, tk, d), 30f), v = random(seed + 2, 1, tk, d);
        agree("attention (large logits)", tornado().attention(q, k, v, 1, 0.25f), SCALAR.attention(q, k, v, 1, 0.25f));
    }

    @Provide
    Arbitrary<Integer> heads() {
        return Arbitraries.of(1, 2, 3, 8);
    }

    @Provide
    Arbitrary<Integer> headDims() {
        return Arbitraries.of(1, 4, 8, 17, 40, 64, 160, 300);
    }

    @Provide
    Arbitrary<Integer> tokens() {
        return Arbitraries.integers().between(1, 200);
    }

    @Property
    void elementwise(@ForAll("small") int n, @ForAll("channels") int c, @ForAll("small") int h, @ForAll("side") int w, @ForAll long seed) {
        TornadoBackend t = tornado();
        Tensor x = random(seed, n, c, h, w), y = random(seed + 1, n, c, h, w), v = random(seed + 2, n, c);
        agree("add", t.add(x, y), SCALAR.add(x, y));
        agree("scale", t.scale(x, 0.37f), SCALAR.scale(x, 0.37f));
        agree("silu", t.silu(x), SCALAR.silu(x));
        agree("addChannelBias", t.addChannelBias(x, v), SCALAR.addChannelBias(x, v));
        Tensor z = random(seed + 4, n, 1 + (int) Math.floorMod(seed, 37L), h, w);
        agree("concatChannels", t.concatChannels(x, z), SCALAR.concatChannels(x, z));
        agree("upsampleNearest2x", t.upsampleNearest2x(x), SCALAR.upsampleNearest2x(x));
        Tensor tokens = t.toTokens(x);
        agree("toTokens", tokens, SCALAR.toTokens(x));
        agree("fromTokens", t.fromTokens(tokens, h, w), x);
        Tensor two = random(seed + 3, n, h * w, 2 * c);
        agree("geglu", t.geglu(two), SCALAR.geglu(two));
    }

    @Provide
    Arbitrary<Integer> side() {
        return Arbitraries.integers().between(1, 40);
    }

    /**
     * A resnet-like chain entirely on the device (each op consumes the previous op's device tensor): the
     * only host transfers are the inputs' uploads and the final read.
     */
    @Property(tries = 20)
    void deviceResidentChain(@ForAll("small") int n, @ForAll("groups") int groups, @ForAll("small") int perGroup, @ForAll("side") int side,
                             @ForAll long seed, @ForAll("gemms") TornadoBackend.Gemm variant) {
        TornadoBackend t = tornado();
        int c = groups * perGroup, co = c + 3;
        Tensor x = random(seed, n, c, side, side), g = random(seed + 1, c), b = random(seed + 2, c);
        Tensor w = random(seed + 3, co, c, 3, 3), wb = random(seed + 4, co), emb = random(seed + 5, n, 7), pw = random(seed + 6, co, 7);
        Tensor sc = random(seed + 7, co, c, 1, 1);
        java.util.function.Function<Backend, Tensor> net = be -> {
            Tensor h = be.conv2d(be.groupNorm(x, groups, g, b, 1e-6f, true), w, wb, 1, 1, 1, 1, 1);
            h = be.addChannelBias(h, be.linear(be.silu(emb), pw, null));
            Tensor skip = be.conv2d(x, sc, null, 1, 0, 0, 0, 0);
            return be.scale(be.add(h, skip), 0.5f);
        };
        agree("chain (resnet)", with(variant, () -> net.apply(t)), net.apply(SCALAR));
    }
}
