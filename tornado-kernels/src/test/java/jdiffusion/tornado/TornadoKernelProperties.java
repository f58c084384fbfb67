package jdiffusion.tornado;

import jdiffusion.Golden;
import jdiffusion.kernels.Backend;
import jdiffusion.kernels.ScalarBackend;
import jdiffusion.tensor.Tensor;
import jdiffusion.tornado.Props.Coverage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Supplier;

import static jdiffusion.tornado.SharedBackend.random;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.generators.SourceDSL.arbitrary;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * Every TornadoVM kernel computes the same function as the scalar reference: ≤ 1e-4 relative L2 error on
 * random shapes (QuickTheories; seed handling in {@link Props}). The shapes are chosen to cross the kernels'
 * tile boundaries: several 64-wide GEMM tiles and 16-deep k-steps (ragged edges included), attention with more
 * keys than one tile and head dimensions that shrink the key tile (D = 300 → 13 keys per tile), group norms
 * larger than a work-group. The branches that matter (conv2d/linear variant, kind of convolution, one or several
 * key tiles, ...) come in turn ({@link Props#inTurn}) and each property asserts at its end that every branch got
 * its examples. The worst error per kernel is printed at the end.
 */
class TornadoKernelProperties {
    static final double TOL = 1e-4;
    static final Backend SCALAR = new ScalarBackend();
    static final Map<String, Double> WORST = new TreeMap<>();
    static final TornadoBackend.Gemm[] VARIANTS = {TornadoBackend.Gemm.TILED, TornadoBackend.Gemm.DIRECT, TornadoBackend.Gemm.DOT};

    static TornadoBackend tornado() {
        return SharedBackend.get();
    }

    /** Runs {@code op} with the given conv2d/linear variant, then restores the default (AUTO). */
    static Tensor with(TornadoBackend.Gemm g, Supplier<Tensor> op) {
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

    @AfterAll
    static void report() {
        System.out.println("worst relative L2 error per kernel (tornado vs scalar):");
        WORST.forEach((k, v) -> System.out.printf("  %-16s %.2e%n", k, v));
    }

    static Gen<Long> seeds() {
        return longs().all();
    }

    static Gen<Integer> small() {
        return integers().between(1, 4);
    }

    static Gen<Integer> features() {
        return integers().between(1, 150);
    }

    static Gen<Integer> tokens() {
        return integers().between(1, 200);
    }

    static Gen<Integer> groups() {
        return arbitrary().pick(1, 2, 4, 8, 32);
    }

    // ------------------------------------------------------------------------------------------------ conv2d

    /** 3×3 pad 1 (stride 1 and 2, and the asymmetric bottom/right padding of downsample_padding=0) and 1×1. */
    enum ConvKind {
        K1, K3_S1, K3_S2, K3_S2_ASYM;

        int k() {
            return this == K1 ? 1 : 3;
        }

        int stride() {
            return this == K3_S2 || this == K3_S2_ASYM ? 2 : 1;
        }
    }

    record Conv(ConvKind kind, int n, int cin, int cout, int h, int w, long seed) {
        int pad() {
            return kind.k() == 3 ? 1 : 0;
        }

        int padTop() {
            return kind == ConvKind.K3_S2_ASYM ? 0 : pad();
        }

        int padBottom() {
            return kind == ConvKind.K3_S2_ASYM ? 1 : pad();
        }

        Tensor conv(Backend be, Tensor x, Tensor w, Tensor b) {
            return be.conv2d(x, w, b, kind.stride(), padTop(), padTop(), padBottom(), padBottom());
        }
    }

    /** Batch 1–2, Cin 1–40, Cout 1–80, H and W 1–21, random weights; the kind as given. */
    static Gen<Conv> convs(Gen<ConvKind> kinds) {
        Gen<int[]> shape = integers().between(1, 2).zip(integers().between(1, 40), integers().between(1, 80),
                integers().between(1, 21), integers().between(1, 21), (n, ci, co, h, w) -> new int[]{n, ci, co, h, w});
        return kinds.zip(shape, seeds(), (k, s, seed) -> new Conv(k, s[0], s[1], s[2], s[3], s[4], seed));
    }

    record ConvCase(Conv conv, TornadoBackend.Gemm variant) {
    }

    @Test
    void conv2d() {
        Coverage cov = new Coverage("conv2d");
        // 12 strata in turn: every kind of convolution with every variant (40 examples: each pair 3 or 4 times)
        Object[][] strata = new Object[ConvKind.values().length * VARIANTS.length][];
        for (int i = 0; i < strata.length; i++) strata[i] = new Object[]{ConvKind.values()[i % 4], VARIANTS[i % 3]};
        Gen<Object[]> stratum = Props.inTurn(strata);
        Gen<ConvCase> cases = stratum.flatMap(st -> convs(arbitrary().constant((ConvKind) st[0])).map(c -> new ConvCase(c, (TornadoBackend.Gemm) st[1])));
        Props.qt(40).forAll(cases).checkAssert(cc -> {
            Conv c = cc.conv();
            Tensor x = random(c.seed(), c.n(), c.cin(), c.h(), c.w());
            Tensor wt = random(c.seed() + 1, c.cout(), c.cin(), c.kind().k(), c.kind().k());
            Tensor b = c.seed() % 5 == 0 ? null : random(c.seed() + 2, c.cout());
            cov.count("kernel", c.kind());
            cov.count("variant", cc.variant());
            agree("conv2d " + cc.variant().name().toLowerCase(), with(cc.variant(), () -> c.conv(tornado(), x, wt, b)), c.conv(SCALAR, x, wt, b));
        });
        cov.assertEach("kernel", 8, (Object[]) ConvKind.values());
        cov.assertEach("variant", 12, (Object[]) VARIANTS);
    }

    /** The DOT variant's im2col in pixel chunks (scratch bound of 1–3000 floats), as large convolutions run. */
    @Test
    void conv2dChunked() {
        Coverage cov = new Coverage("conv2dChunked");
        Props.qt(15).forAll(convs(Props.inTurn(ConvKind.values())), integers().between(1, 3000)).checkAssert((c, scratch) -> {
            Tensor x = random(c.seed(), c.n(), c.cin(), c.h(), c.w());
            Tensor wt = random(c.seed() + 1, c.cout(), c.cin(), c.kind().k(), c.kind().k());
            Tensor b = random(c.seed() + 2, c.cout());
            cov.count("kernel", c.kind());
            tornado().setDotScratchFloats(scratch);
            try {
                agree("conv2d dot chunked", with(TornadoBackend.Gemm.DOT, () -> c.conv(tornado(), x, wt, b)), c.conv(SCALAR, x, wt, b));
            } finally {
                tornado().setDotScratchFloats(1L << 24);
            }
        });
        cov.assertEach("kernel", 3, (Object[]) ConvKind.values());
    }

    // ------------------------------------------------------------------------------------------------ linear

    record Linear(int rows, int in, int out, boolean bias, long seed, TornadoBackend.Gemm variant) {
        int tiles() {
            return ((rows + TiledGemm.TILE - 1) / TiledGemm.TILE) * ((out + TiledGemm.TILE - 1) / TiledGemm.TILE);
        }
    }

    @Test
    void linear() {
        Coverage cov = new Coverage("linear");
        // 6 strata in turn: each variant with one output tile (rows, out ≤ 64) and with several (rows 65–150)
        Object[][] strata = new Object[6][];
        for (int i = 0; i < 6; i++) strata[i] = new Object[]{VARIANTS[i % 3], i % 2 == 0};
        Gen<Linear> cases = Props.inTurn(strata).flatMap(st -> {
            boolean oneTile = (Boolean) st[1];
            Gen<Integer> rows = oneTile ? integers().between(1, TiledGemm.TILE) : integers().between(TiledGemm.TILE + 1, 150);
            Gen<Integer> out = oneTile ? integers().between(1, TiledGemm.TILE) : features();
            return rows.zip(features(), out, booleans().all(), seeds(),
                    (r, in, o, bias, seed) -> new Linear(r, in, o, bias, seed, (TornadoBackend.Gemm) st[0]));
        });
        Props.qt(40).forAll(cases).checkAssert(l -> {
            Tensor x = random(l.seed(), l.rows(), l.in()), w = random(l.seed() + 1, l.out(), l.in());
            Tensor b = l.bias() ? random(l.seed() + 2, l.out()) : null;
            cov.count("variant", l.variant());
            cov.count("output tiles", l.tiles() == 1 ? "one" : "several");
            agree("linear " + l.variant().name().toLowerCase(), with(l.variant(), () -> tornado().linear(x, w, b)), SCALAR.linear(x, w, b));
        });
        cov.assertEach("variant", 12, (Object[]) VARIANTS);
        cov.assertEach("output tiles", 18, "one", "several");
    }

    /** linear on a 3-D token tensor, as the transformer uses it */
    @Test
    void linearTokens() {
        Coverage cov = new Coverage("linearTokens");
        Gen<int[]> shapes = small().zip(tokens(), features(), features(), (b, t, in, out) -> new int[]{b, t, in, out});
        Props.qt(15).forAll(shapes, seeds(), Props.inTurn(VARIANTS)).checkAssert((s, seed, g) -> {
            Tensor x = random(seed, s[0], s[1], s[2]), w = random(seed + 1, s[3], s[2]), b = random(seed + 2, s[3]);
            cov.count("variant", g);
            agree("linear " + g.name().toLowerCase(), with(g, () -> tornado().linear(x, w, b)), SCALAR.linear(x, w, b));
        });
        cov.assertEach("variant", 5, (Object[]) VARIANTS);
    }

    // ------------------------------------------------------------------------------------------------ norms

    @Test
    void groupNorm() {
        Coverage cov = new Coverage("groupNorm");
        Gen<int[]> shapes = small().zip(groups(), small(), integers().between(1, 700), (n, g, per, s) -> new int[]{n, g, per, s});
        Props.qt(40).forAll(shapes, Props.inTurn(false, true), seeds()).checkAssert((s, silu, seed) -> {
            int n = s[0], groups = s[1], c = groups * s[2], spatial = s[3];
            Tensor x = random(seed, n, c, spatial), g = random(seed + 1, c), b = random(seed + 2, c);
            cov.count("silu", silu);
            cov.count("group size", s[2] * spatial > Norms.WG_GROUP ? "larger than a work-group" : "within a work-group");
            agree(silu ? "groupNorm+silu" : "groupNorm", tornado().groupNorm(x, groups, g, b, 1e-5f, silu), SCALAR.groupNorm(x, groups, g, b, 1e-5f, silu));
        });
        cov.assertEach("silu", 20, false, true);
        cov.assertEach("group size", 5, "larger than a work-group");
    }

    @Test
    void layerNorm() {
        Props.qt(40).forAll(features(), integers().between(1, 400), seeds()).checkAssert((rows, c, seed) -> {
            Tensor x = random(seed, rows, c), g = random(seed + 1, c), b = random(seed + 2, c);
            agree("layerNorm", tornado().layerNorm(x, g, b, 1e-5f), SCALAR.layerNorm(x, g, b, 1e-5f));
        });
    }

    // ------------------------------------------------------------------------------------------------ attention

    record Att(int batch, int heads, int d, int tq, int tk, long seed) {
        /** keys per tile of the kernel for this head dimension */
        int keysPerTile() {
            return Math.min(Attention.BK, Attention.KV / d);
        }
    }

    /**
     * Self-shaped (Tq = Tk) and cross (Tq ≠ Tk, e.g. 77 text tokens) attention, with all keys in one tile and
     * with several key tiles: four strata in turn, token counts 1–200 in each.
     */
    @Test
    void attention() {
        Coverage cov = new Coverage("attention");
        Object[][] strata = {{"self-shaped", "one"}, {"self-shaped", "several"}, {"cross", "one"}, {"cross", "several"}};
        Gen<int[]> heads = small().zip(arbitrary().pick(1, 2, 3, 8), arbitrary().pick(1, 4, 8, 17, 40, 64, 160, 300), (b, h, d) -> new int[]{b, h, d});
        Gen<Att> cases = Props.inTurn(strata).flatMap(st -> heads.flatMap(bhd -> {
            int bk = Math.min(Attention.BK, Attention.KV / bhd[2]);
            Gen<Integer> tk = st[1].equals("one") ? integers().between(1, bk) : integers().between(bk + 1, 200);
            return tk.zip(tokens(), seeds(), (k, q, seed) -> new Att(bhd[0], bhd[1], bhd[2], st[0].equals("self-shaped") ? k : q, k, seed));
        }));
        Props.qt(40).forAll(cases).checkAssert(a -> {
            int c = a.heads() * a.d();
            Tensor q = random(a.seed(), a.batch(), a.tq(), c), k = random(a.seed() + 1, a.batch(), a.tk(), c), v = random(a.seed() + 2, a.batch(), a.tk(), c);
            float scale = (float) (1 / Math.sqrt(a.d()));
            cov.count("key tiles", (a.tk() + a.keysPerTile() - 1) / a.keysPerTile() > 1 ? "several" : "one");
            cov.count("shape", a.tq() != a.tk() ? "cross (tq != tk)" : "self-shaped");
            agree("attention", tornado().attention(q, k, v, a.heads(), scale), SCALAR.attention(q, k, v, a.heads(), scale));
        });
        cov.assertEach("key tiles", 20, "one", "several");
        cov.assertEach("shape", 10, "self-shaped", "cross (tq != tk)");
    }

    /** Large logits: the online softmax must rescale without overflow. */
    @Test
    void attentionLargeLogits() {
        Props.qt(10).forAll(tokens(), tokens(), seeds()).checkAssert((tq, tk, seed) -> {
            int d = 16;
            Tensor q = SCALAR.scale(random(seed, 1, tq, d), 30f), k = SCALAR.scale(random(seed + 1, 1, tk, d), 30f), v = random(seed + 2, 1, tk, d);
            agree("attention (large logits)", tornado().attention(q, k, v, 1, 0.25f), SCALAR.attention(q, k, v, 1, 0.25f));
        });
    }

    // ------------------------------------------------------------------------------------------------ elementwise

    @Test
    void elementwise() {
        Gen<int[]> shapes = small().zip(integers().between(1, 400), small(), integers().between(1, 40), (n, c, h, w) -> new int[]{n, c, h, w});
        Props.qt(40).forAll(shapes, seeds()).checkAssert((s, seed) -> {
            int n = s[0], c = s[1], h = s[2], w = s[3];
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
        });
    }

    /**
     * A resnet-like chain entirely on the device (each op consumes the previous op's device tensor): the
     * only host transfers are the inputs' uploads and the final read.
     */
    @Test
    void deviceResidentChain() {
        Coverage cov = new Coverage("deviceResidentChain");
        Gen<int[]> shapes = small().zip(groups(), small(), integers().between(1, 40), (n, g, per, side) -> new int[]{n, g, per, side});
        Props.qt(20).forAll(shapes, seeds(), Props.inTurn(VARIANTS)).checkAssert((s, seed, variant) -> {
            TornadoBackend t = tornado();
            int n = s[0], groups = s[1], c = groups * s[2], co = c + 3, side = s[3];
            Tensor x = random(seed, n, c, side, side), g = random(seed + 1, c), b = random(seed + 2, c);
            Tensor w = random(seed + 3, co, c, 3, 3), wb = random(seed + 4, co), emb = random(seed + 5, n, 7), pw = random(seed + 6, co, 7);
            Tensor sc = random(seed + 7, co, c, 1, 1);
            Function<Backend, Tensor> net = be -> {
                Tensor h = be.conv2d(be.groupNorm(x, groups, g, b, 1e-6f, true), w, wb, 1, 1, 1, 1, 1);
                h = be.addChannelBias(h, be.linear(be.silu(emb), pw, null));
                Tensor skip = be.conv2d(x, sc, null, 1, 0, 0, 0, 0);
                return be.scale(be.add(h, skip), 0.5f);
            };
            cov.count("variant", variant);
            agree("chain (resnet)", with(variant, () -> net.apply(t)), net.apply(SCALAR));
        });
        cov.assertEach("variant", 6, (Object[]) VARIANTS);
    }
}
