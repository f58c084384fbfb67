package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Gets the cpu backend's kernels JIT-compiled before the first real forward pass. Until C2 has compiled a Vector
 * API kernel, its vector operations run as the API's Java fallbacks (an object and a loop per operation, 100–1000×
 * slower), so the first UNet step of a fresh JVM took seconds (fashion-ddpm-32, 16 images: 4–20 s against 0.1–0.3 s
 * later). Here a daemon thread runs every kernel on small inputs, round after round, while the command parses its
 * options and loads the weights; a forward pass on a {@link CpuBackend} waits for it to end (once per pass).
 *
 * <p>The inputs are chosen so that each round takes every branch a model's forward pass takes (each GEMM split and
 * micro-kernel, bias mode and k-blocking; Winograd with cached and per-call weights (float32 and 16-bit), im2col, 1×1, strided convs;
 * 16-bit weights; self, cross and causal attention with head dims that leave vector tails and over more keys than one
 * block; a grid of GEMM row counts, starts and k-blocks; every few rounds a fresh thread and backend): C2 then compiles each
 * kernel once, from a complete profile, instead of compiling it for the branches seen so far and throwing the code
 * away ("uncommon trap") when a later layer takes another one.
 *
 * <p>The warm-up cannot change a result: the kernels compute the same bits interpreted or compiled, and it works on
 * its own backend instance (own threads, own Winograd cache) and its own data.
 */
public final class Warmup {
    /** Rounds at least (C2's thresholds: ~15 000 invocations + loop iterations per method). */
    static final int MIN_ROUNDS = Integer.getInteger("jdiffusion.warmup.minRounds", 40);
    /** No longer than this, whatever the rounds do. */
    static final double MAX_SECONDS = Double.parseDouble(System.getProperty("jdiffusion.warmup.maxSeconds", "10"));
    /** Rounds per window: the stop rule compares medians of consecutive windows (single sub-millisecond rounds are noise). */
    static final int WINDOW = 16;
    /**
     * The kernels count as compiled by C2 once a window's median round is this many times faster than the first round.
     * Measured here (fashion-ddpm-32's kernel mix, 2 vCPUs): the first, interpreted round takes 0.5-0.8 s, rounds in C1's
     * code (which still calls the Vector API's Java fallbacks) 10-60 ms, rounds in C2's code 0.5-2 ms. Round times that
     * have merely stopped improving are not enough: they also level off while C1's code runs and C2's queue still holds
     * the kernels (Gemm's micro-kernel reached C2 7 s after such a warm-up had ended).
     */
    static final double COMPILED_SPEEDUP = 100;
    /**
     * Then the warm-up ends once the JIT compilers are nearly idle: over a period of QUIET_PERIOD_MS of the warm-up,
     * their compilation time grew by less than QUIET_FRACTION of it. Fast rounds alone are not enough: C2 compiles
     * the kernels one after the other (a vector kernel takes 20-300 ms of one compiler thread), so when the rounds are
     * already fast, methods reached by fewer calls (scalar loops, the drivers around the micro-kernels) are still
     * waiting in C2's queue or still counting towards its threshold, and a real step started then compiled them
     * alongside (measured: 100-300 ms of JIT time in the first step of the default generate). An earlier rule waited
     * for the compiler threads to stand idle for 0.5 s: they never do while the rounds run (each round may still
     * push a method over a threshold), so every warm-up ran to its time limit.
     */
    static final double QUIET_PERIOD_MS = 200, QUIET_FRACTION = 0.3;
    /**
     * Once the rounds are fast, each is followed by a pause of PACE_MS: the rounds then only push methods over C2's
     * thresholds, and the pause leaves the CPU to the compiler threads that work through its queue (on 2 vCPUs the
     * warm-up's two threads otherwise compete with them; the warm-up ended 0.3-0.5 s sooner, same first step).
     */
    static final long PACE_MS = 1;
    /**
     * Every FRESH_EVERY-th round runs as the real run's first pass will: on a new thread, with a new backend (new worker
     * threads, an empty arena, empty per-thread scratch). Otherwise the branches taken only then (per-thread scratch
     * growing from nothing, the arena allocating its first buffers, the pool starting its threads, a thread's first
     * scoped-value lookup) never appear in the profiles C2 compiles from, and the first real step hits an "uncommon trap"
     * in each kernel that inlined one of them (measured: Gemm.task, the GEMM driver, Winograd.conv, attention, the
     * arena), runs it interpreted and compiles it again.
     */
    static final int FRESH_EVERY = 4;
    private static final boolean LOG = Boolean.getBoolean("jdiffusion.warmup.log");

    private static final Object LOCK = new Object();
    private static CountDownLatch done;
    private static volatile boolean pending;
    private static volatile Report report;

    /** What the warm-up did: rounds, its own run time, and how long callers were held up waiting for it. */
    public record Report(int rounds, double seconds, double firstRoundMs, double lastRoundMs, String error) {
    }

    private Warmup() {
    }

    /**
     * Starts the warm-up on a daemon thread with {@code threads} workers (once per JVM; later calls do nothing) when
     * {@code -Djdiffusion.warmup=true} asks for it; see {@link #start(int, boolean)}.
     */
    public static void start(int threads) {
        start(threads, false);
    }

    /**
     * As {@link #start(int)}, with the default for when {@code jdiffusion.warmup} is not set: the CLI turns it on for
     * the commands that run a sampling loop (generate, sample); elsewhere (tests, the server, bench, a single forward
     * pass) it stays off unless asked for. Measured on the default generate (docs/results/first-image/session5-2026-12-07.md,
     * 6 alternating cold runs): first step 1.2-1.6x the median step instead of 28-43x; wall time (median) 9.9 s against
     * 8.9 s without it and 10.1 s before this round's kernel changes: the compilations cost the same CPU wherever they
     * happen, and the warm-up also compiles kernels the model does not use. A model whose weights take longer to load
     * than the warm-up takes pays nothing.
     */
    public static void start(int threads, boolean byDefault) {
        String asked = System.getProperty("jdiffusion.warmup");
        if (!(asked == null ? byDefault : Boolean.parseBoolean(asked))) return;
        synchronized (LOCK) {
            if (done != null) return;
            done = new CountDownLatch(1);
            pending = true;
        }
        try {
            Thread t = new Thread(() -> run(Math.max(1, Math.min(threads, 2))), "jdiffusion-warmup");
            t.setDaemon(true);
            t.start();
        } catch (RuntimeException | Error e) {
            // no thread, no warm-up: nobody may wait for one
            pending = false;
            done.countDown();
        }
    }

    /**
     * Waits until the warm-up has finished, if one was started; returns the seconds waited (0 when none runs).
     * Cheap once the warm-up is over (one volatile read).
     */
    public static double await() {
        if (!pending) return 0;
        CountDownLatch d;
        synchronized (LOCK) {
            d = done;
        }
        if (d == null) return 0;
        long t0 = System.nanoTime();
        try {
            // the warm-up stops itself after MAX_SECONDS; the margin covers a thread the machine hardly schedules
            d.await((long) (MAX_SECONDS * 3 + 10), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Whether a warm-up has started and not yet finished. */
    public static boolean running() {
        return pending;
    }

    /** The finished warm-up's report, or null (none started, or still running). */
    public static Report report() {
        return report;
    }

    private static void run(int threads) {
        long start = System.nanoTime();
        int rounds = 0;
        double first = 0, last = 0;
        String error = null;
        try (CpuBackend b = CpuBackend.forWarmup(threads)) {
            Inputs in = new Inputs();
            double[] window = new double[WINDOW];
            JitClock jit = new JitClock();
            boolean compiled = false;
            long periodStart = System.nanoTime(), periodJit = jit.millis();
            while (true) {
                long t0 = System.nanoTime();
                if (rounds % FRESH_EVERY == FRESH_EVERY - 1) freshRound(threads, in);
                else roundInPass(b, in);
                last = (System.nanoTime() - t0) / 1e6;
                if (rounds == 0) first = last;
                window[rounds % WINDOW] = last;
                rounds++;
                if (LOG) System.err.printf("warmup round %d: %.2f ms, JIT %d ms%n", rounds, last, jit.millis());
                long now = System.nanoTime();
                if ((now - start) / 1e9 >= MAX_SECONDS) break;
                if (!compiled && rounds >= MIN_ROUNDS && rounds % WINDOW == 0) compiled = median(window) * COMPILED_SPEEDUP <= first;
                if (compiled && PACE_MS > 0) Thread.sleep(PACE_MS);
                double periodMs = (now - periodStart) / 1e6;
                if (periodMs < QUIET_PERIOD_MS) continue;
                long jitNow = jit.millis();
                if (compiled && (!jit.available() || jitNow - periodJit < QUIET_FRACTION * periodMs)) break;
                periodStart = now;
                periodJit = jitNow;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error = e.toString();
        } catch (RuntimeException | Error e) {
            // a warm-up that fails costs nothing but its time: the real run reports its own errors
            error = e.toString();
        } finally {
            report = new Report(rounds, (System.nanoTime() - start) / 1e9, first, last, error);
            if (LOG) System.err.println("warmup: " + report);
            pending = false;
            done.countDown();
        }
    }

    private static void freshRound(int threads, Inputs in) {
        RuntimeException[] failed = new RuntimeException[1];
        Thread t = new Thread(() -> {
            try (CpuBackend fresh = CpuBackend.forWarmup(threads)) {
                roundInPass(fresh, in);
            } catch (RuntimeException e) {
                failed[0] = e;
            }
        }, "jdiffusion-warmup-fresh");
        t.setDaemon(true);
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("warm-up interrupted", e);
        }
        if (failed[0] != null) throw failed[0];
    }

    /** The JIT compilers' accumulated compilation time (0 where the JVM does not measure it). */
    private static final class JitClock {
        private final java.lang.management.CompilationMXBean bean = java.lang.management.ManagementFactory.getCompilationMXBean();
        private final boolean available = bean != null && bean.isCompilationTimeMonitoringSupported();

        boolean available() {
            return available;
        }

        long millis() {
            return available ? bean.getTotalCompilationTime() : 0;
        }
    }

    private static double median(double[] xs) {
        double[] sorted = xs.clone();
        Arrays.sort(sorted);
        return (sorted[(sorted.length - 1) / 2] + sorted[sorted.length / 2]) / 2;
    }

    /** The inputs of a round: seeded values, shapes chosen for coverage at the least arithmetic (see {@link #round}). */
    private static final class Inputs {
        final SplittableRandom r = new SplittableRandom(19);
        // images
        final Tensor x16 = t(1, 8, 16, 16), x32 = t(1, 4, 32, 32), x40 = t(2, 40, 4, 4), x8 = t(2, 8, 8, 8), x4 = t(2, 8, 4, 4),
                x1 = t(2, 8, 16, 16), x2 = t(2, 32, 4, 4);
        final Tensor w20 = t(20, 8, 3, 3), b20 = t(20), w16 = t(16, 8, 3, 3), wHalf = half(t(4, 4, 3, 3), false), w4 = t(4, 4, 3, 3), b4 = t(4);
        final Tensor w12 = t(12, 40, 3, 3), w32 = t(32, 8, 3, 3), b32 = t(32), w128 = t(128, 8, 3, 3), w8 = t(8, 8, 3, 3), b8 = t(8);
        final Tensor p8 = t(8, 8, 1, 1), p256 = t(256, 32, 1, 1), w8Half = half(t(8, 8, 3, 3), true), temb = t(1, 20);
        final Tensor g8 = t(8), g20 = t(20), g64 = t(64);
        // token sequences
        final Tensor tok = t(2, 48, 64), lin48 = t(48, 64), b48 = t(48), tok2 = t(1, 64, 32), lin128 = t(128, 32), linHalf = half(t(16, 64), true);
        final Tensor row = t(2, 32), lin64 = t(64, 32), b64 = t(64), lin64Half = half(t(64, 32), false);
        final Tensor q = t(1, 32, 80), kv = t(1, 77, 80), causal = t(1, 40, 64), gated = t(1, 16, 160);
        // attention over more keys than one block (FlashAttention.BK): the running maximum rescales the output
        final Tensor longSeq = t(1, FlashAttention.BK + 24, 16);
        // GEMM grid: every micro-kernel row count (MR, the tails, a partial tile) × every start × one and two k-blocks
        final int gemmN = 2 * Gemm.NR, gemmK = Gemm.KC_MAX + 24;
        final float[] ga = f(Gemm.MR * 2 * gemmK), gb = f(gemmK * gemmN), gc = f(Gemm.MR * 2 * gemmN), gbias = f(Gemm.MR * 2 + gemmN);

        float[] f(int n) {
            float[] d = new float[n];
            for (int i = 0; i < n; i++) d[i] = (float) (r.nextDouble() - 0.5);
            return d;
        }

        Tensor t(int... shape) {
            Tensor x = Tensor.zeros(shape);
            float[] d = x.data();
            for (int i = 0; i < d.length; i++) d[i] = (float) (r.nextDouble() - 0.5);
            return x;
        }

        static Tensor half(Tensor x, boolean bf16) {
            short[] bits = new short[x.numel()];
            for (int i = 0; i < bits.length; i++) bits[i] = HalfFloats.fromFloat(x.data()[i], bf16);
            return Tensor.ofHalf(bits, bf16, x.shape());
        }
    }

    /**
     * A round as one forward pass of the backend's arena, as a model's pass runs: kernel outputs come from the arena
     * (taken fresh, then recycled), so C2 compiles the kernels' output allocation with the branch the real passes take.
     * Run outside a pass, the warm-up compiled the other branch, and every operation of the first real step hit an
     * "uncommon trap" and went back to the interpreter (measured: step 1 still 5-7x the median after a long warm-up).
     */
    private static void roundInPass(CpuBackend b, Inputs in) {
        if (b.arena() == null) round(b, in);
        else b.arena().pass(() -> {
            round(b, in);
            return null;
        });
    }

    /** Keeps {@code x} for release at the end of the round and returns it. */
    private static Tensor keep(List<Tensor> out, Tensor x) {
        out.add(x);
        return x;
    }

    /**
     * Every kernel once or more, in each branch a forward pass may take, at the least arithmetic that takes it: until
     * C2 has compiled a kernel, each of its vector operations costs microseconds. (GEMM: m = output channels or rows,
     * n = output pixels or columns, split over threads from 2^18 multiply-adds; NR = 2 vectors of columns, MR = 12 rows.)
     */
    private static void round(CpuBackend b, Inputs in) {
        List<Tensor> out = new ArrayList<>();
        // Winograd, cached weights (64 tiles): 12- and 8-row micro-kernels, with bias; 12 and 4 rows, no bias
        Tensor h = keep(out, b.conv2d(in.x16, in.w20, in.b20, 1, 1, 1, 1, 1));                 // [1, 20, 16, 16]
        out.add(b.conv2d(in.x16, in.w16, null, 1, 1, 1, 1, 1));  // [1, 16, 16, 16]
        // Winograd, 16-bit and float32 weights transformed per call (256 tiles: calls of ≥ 128 tiles are not cached)
        out.add(b.conv2d(in.x32, in.wHalf, in.b4, 1, 1, 1, 1, 1));  // [1, 4, 32, 32]
        out.add(b.conv2d(in.x32, in.w4, in.b4, 1, 1, 1, 1, 1));     // [1, 4, 32, 32]
        // im2col: two k-blocks (k = 360), A read in place (microRows), one task
        out.add(b.conv2d(in.x40, in.w12, null, 1, 1, 1, 1, 1));  // [2, 12, 4, 4]
        // im2col, columns split over threads (4 panels), A packed up front
        out.add(b.conv2d(in.x8, in.w32, in.b32, 1, 1, 1, 1, 1));  // [2, 32, 8, 8]
        // im2col, rows split over threads (1 panel, B packed and shared); 1×1 likewise; strided convs with partial tiles, 16-bit weights
        out.add(b.conv2d(in.x4, in.w128, null, 1, 1, 1, 1, 1));  // [2, 128, 4, 4]
        out.add(b.conv2d(in.x2, in.p256, null, 1, 0, 0, 0, 0));  // [2, 256, 4, 4]
        out.add(b.conv2d(in.x8, in.w8, in.b8, 2, 1, 1, 1, 1));  // [2, 8, 4, 4]
        out.add(b.conv2d(in.x8, in.w8, in.b8, 2, 0, 0, 1, 1));  // [2, 8, 4, 4]
        out.add(b.conv2d(in.x8, in.w8Half, in.b8, 2, 1, 1, 1, 1));  // [2, 8, 4, 4]
        // 1×1 over 512 columns: A packed per panel
        Tensor p = keep(out, b.conv2d(in.x1, in.p8, in.b8, 1, 0, 0, 0, 0));                     // [2, 8, 16, 16]
        Winograd.transformWeights(b.parallel(), MatA.of(in.w8.data(), 0, 9 * 8), 8, 8);            // a model's first forward, per 3×3 conv
        // linear: a few rows (dot products, float32 and 16-bit weights); rows split with a column bias; columns split; 16-bit weights
        out.add(b.linear(in.row, in.lin64, in.b64));  // [2, 64]
        out.add(b.linear(in.row, in.lin64Half, in.b64));  // [2, 64]
        Tensor t = keep(out, b.linear(in.tok, in.lin48, in.b48));                               // [2, 48, 48]
        out.add(b.linear(in.tok2, in.lin128, null));  // [1, 64, 128]
        out.add(b.linear(in.tok, in.linHalf, null));  // [2, 48, 16]
        // norms, activations, elementwise
        Tensor g = keep(out, b.groupNorm(p, 4, in.g8, in.g8, 1e-5f, true));
        out.add(b.groupNorm(h, 4, in.g20, in.g20, 1e-6f, false));
        out.add(b.layerNorm(in.tok, in.g64, in.g64, 1e-5f));
        out.add(b.add(g, p));
        out.add(b.addChannelBias(h, in.temb));
        out.add(b.concatChannels(g, p));
        out.add(b.scale(t, 0.5f));
        out.add(b.upsampleNearest2x(in.x4));
        out.add(b.silu(in.row));
        b.fromTokens(b.toTokens(h), 16, 16);                                                  // possibly views: handed out at the pass end
        // attention: self (head dims 40 and 80), cross to 77 tokens, causal; gated and plain activations
        out.add(b.attention(in.q, in.q, in.q, 2, 0.15f));
        out.add(b.attention(in.q, in.q, in.q, 1, 0.11f));
        out.add(b.attention(in.q, in.kv, in.kv, 2, 0.15f));
        out.add(b.attention(in.causal, in.causal, in.causal, 2, 0.18f, true));
        out.add(b.attention(in.longSeq, in.longSeq, in.longSeq, 2, 0.3f));
        out.add(b.attention(in.longSeq, in.longSeq, in.longSeq, 2, 0.3f, true));
        for (int rows : new int[]{Gemm.MR, 8, 4, 2, 1})
            for (Gemm.Start start : Gemm.Start.values())
                for (int k : new int[]{40, in.gemmK})
                    Gemm.gemm(b.parallel(), Gemm.MR + rows, in.gemmN, k, MatA.of(in.ga, 0, k), PackB.rowMajor(in.gb, 0, in.gemmN),
                            COut.matrix(in.gc, 0, in.gemmN), start, in.gbias);
        out.add(b.geglu(in.gated));
        out.add(b.gelu(in.gated));
        out.add(b.quickGelu(in.gated));
        in.x16.release();                                                                     // not from the arena: nothing happens
        for (Tensor x : out) x.release();   // back to the arena: the next round takes them again, as a forward pass does
    }
}
