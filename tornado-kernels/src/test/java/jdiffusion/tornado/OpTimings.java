package jdiffusion.tornado;

import jdiffusion.kernels.Backend;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.nn.Architectures;
import jdiffusion.nn.Ctx;
import jdiffusion.nn.UNet;
import jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The per-op timing table of tornado-kernels/README.md: every backend call of one UNet forward pass of a
 * published architecture (default google/ddpm-cifar10-32 with random weights, batch 1, 32×32) is recorded
 * with its arguments; each distinct call is then timed on the TornadoVM backend (inputs already on the
 * device, synchronous: the kernel has finished when the call returns) and on the CPU backend (Vector API,
 * all cores), and the times are summed per op over the pass. Finally whole forward passes are timed
 * (tornado: upload of the input, every kernel, download of the output). Both backends are warmed up by time
 * first ({@code -Djdiffusion.bench.warmup=SECONDS} of whole passes each, default 30, then every distinct call on
 * its own): measured cold (one warm-up call), the CPU column summed to several times the CPU backend's whole pass.
 *
 * <p>Not part of the normal build (excluded in the pom). Run:
 * <pre>
 * source $TORNADOVM_HOME/../setvars.sh   # or export TORNADOVM_HOME + JAVA_HOME (JDK 25)
 * ./mvnw -o -pl tornado-kernels test -Dtest=OpTimings [-Djdiffusion.bench.arch=ddpm-cifar10] [-Djdiffusion.bench.batch=1]
 * </pre>
 * The table is printed and written to tornado-kernels/target/op-timings.md.
 */
class OpTimings {
    record Call(Method method, Object[] args) {
        String op() {
            return method.getName();
        }

        String shapes() {
            StringBuilder sb = new StringBuilder();
            for (Object a : args) {
                if (a instanceof Tensor t) sb.append(sb.isEmpty() ? "" : " ").append(t.shapeString().replace(" ", ""));
            }
            return sb.toString();
        }

        /** identical op + shapes + scalar arguments */
        String key() {
            StringBuilder sb = new StringBuilder(op());
            for (Object a : args) sb.append('|').append(a instanceof Tensor t ? t.shapeString() : String.valueOf(a));
            return sb.toString();
        }
    }

    static List<Call> record(UNet unet, Tensor x, float[] t, Tensor ctx) {
        List<Call> calls = new ArrayList<>();
        Backend cpu = new jdiffusion.kernels.ShapeOnlyBackend();
        Backend rec = (Backend) Proxy.newProxyInstance(OpTimings.class.getClassLoader(), new Class<?>[]{Backend.class}, (p, m, a) -> {
            if (!m.getName().equals("name")) calls.add(new Call(m, a.clone()));
            try {
                return m.invoke(cpu, a);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
        unet.forward(new Ctx(rec), x, t, ctx);
        return calls;
    }

    /** Per-call warm-up, on top of the whole-pass warm-up: at least this long and two calls. */
    static final long CALL_WARMUP_NANOS = 300_000_000L;

    /** Median of the per-call times (ms) of {@code reps} calls, after repeating the call for {@link #CALL_WARMUP_NANOS}. */
    static double time(Backend b, Method m, Object[] args, int reps) throws Exception {
        long start = System.nanoTime();
        for (int i = 0; i < 2 || System.nanoTime() - start < CALL_WARMUP_NANOS; i++) {
            Tensor r = (Tensor) m.invoke(b, args);
            if (r.device() == null) r.data();
        }
        double[] ms = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            Tensor r = (Tensor) m.invoke(b, args);
            if (r.device() == null) r.data();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms[reps / 2];
    }

    static Object[] materialise(Object[] args, Function<Tensor, Tensor> f) {
        Object[] out = args.clone();
        for (int i = 0; i < out.length; i++) if (out[i] instanceof Tensor t) out[i] = f.apply(t);
        return out;
    }

    @Test
    void table() throws Exception {
        String arch = System.getProperty("jdiffusion.bench.arch", "ddpm-cifar10");
        int batch = Integer.getInteger("jdiffusion.bench.batch", 1);
        int reps = Integer.getInteger("jdiffusion.bench.reps", 7);
        UNet unet = Architectures.random(arch, 1);
        int s = unet.sampleSize();
        Tensor x = SharedBackend.random(7, batch, unet.inChannels(), s, s);
        float[] ts = new float[batch];
        Arrays.fill(ts, 500f);
        Tensor ctx = unet.conditional() ? SharedBackend.random(8, batch, 77, unet.crossAttentionDim()) : null;
        List<Call> calls = record(unet, x, ts, ctx);
        String load0 = loadAverage();

        TornadoBackend tornado = SharedBackend.get();
        TornadoBackend.Gemm[] variants = {TornadoBackend.Gemm.DOT, TornadoBackend.Gemm.DIRECT, TornadoBackend.Gemm.TILED};
        int threads = Runtime.getRuntime().availableProcessors();
        double warmup = Double.parseDouble(System.getProperty("jdiffusion.bench.warmup", "30"));
        try (CpuBackend cpu = new CpuBackend(threads)) {
            // Both sides warmed up by time before anything is measured: whole forward passes for `warmup` seconds
            // each, so that the JIT has compiled the CPU backend's kernels (and TornadoVM's host-side launch path)
            // the way a long run has; every distinct call is then warmed up again on its own (see time()).
            int cpuPasses = warm(unet, new Ctx(cpu), x, ts, ctx, warmup, MIN_WARM_PASSES);
            tornado.setGemm(TornadoBackend.Gemm.DOT);
            int tornadoPasses = warm(unet, new Ctx(tornado), x, ts, ctx, warmup, MIN_WARM_PASSES);
            tornado.setGemm(TornadoBackend.Gemm.AUTO);
            System.out.printf("warm-up: %d cpu passes, %d tornado passes (at least %.0f s and %d passes each)%n", cpuPasses, tornadoPasses, warmup,
                    MIN_WARM_PASSES);
            // per op: {calls, cpu ms, tornado ms per variant...}; conv2d/linear depend on the variant, the rest do not
            Map<String, double[]> perOp = new LinkedHashMap<>();
            Map<String, double[]> distinct = new LinkedHashMap<>();
            for (Call c : calls) {
                double[] tc = distinct.get(c.key());
                if (tc == null) {
                    // random inputs of the recorded shapes; parameters stay host tensors (uploaded once, cached),
                    // activations are put on the device first
                    Object[] host = materialise(c.args(), t -> SharedBackend.random(t.numel(), t.shape()));
                    Object[] dev = host.clone();
                    for (int i = 0; i < dev.length; i++)
                        if (dev[i] instanceof Tensor t && !isParam(c.op(), i)) dev[i] = tornado.scale(t, 1f);
                    tc = new double[1 + variants.length];
                    tc[0] = time(cpu, c.method(), host, reps);
                    boolean gemm = c.op().equals("conv2d") || c.op().equals("linear");
                    for (int v = 0; v < variants.length; v++) {
                        if (!gemm && v > 0) {
                            tc[1 + v] = tc[1];
                            continue;
                        }
                        tornado.setGemm(variants[v]);
                        tc[1 + v] = time(tornado, c.method(), dev, reps);
                    }
                    tornado.setGemm(TornadoBackend.Gemm.AUTO);
                    distinct.put(c.key(), tc);
                    System.out.printf("  %-18s %-40s cpu %8.3f ms   tornado %s%n", c.op(), c.shapes(), tc[0],
                            gemm ? String.format("dot %8.3f  direct %8.3f  tiled %8.3f ms", tc[1], tc[2], tc[3]) : String.format("%8.3f ms", tc[1]));
                }
                double[] acc = perOp.computeIfAbsent(c.op(), k -> new double[2 + variants.length]);
                acc[0]++;
                for (int i = 0; i < tc.length; i++) acc[1 + i] += tc[i];
            }
            // launch overhead: the smallest kernel
            Tensor one = tornado.scale(Tensor.zeros(1), 1f);
            double launch = time(tornado, Backend.class.getMethod("scale", Tensor.class, float.class), new Object[]{one, 2f}, 51);

            // whole forward passes: cpu, then tornado with each variant
            double[] fwd = new double[1 + variants.length];
            fwd[0] = forward(unet, new Ctx(cpu), x, ts, ctx, reps);
            for (int v = 0; v < variants.length; v++) {
                tornado.setGemm(variants[v]);
                fwd[1 + v] = forward(unet, new Ctx(tornado), x, ts, ctx, reps);
            }
            tornado.setGemm(TornadoBackend.Gemm.AUTO);

            StringBuilder md = new StringBuilder();
            md.append(String.format("Architecture `%s` (random weights), batch %d, %dx%d: %d backend calls per forward pass.%n", arch, batch, s, s, calls.size()));
            md.append(String.format("Device: %s. CPU backend: %d threads. Both warmed up by time (%.0f s and %d whole passes each: %d cpu, %d tornado; then each "
                    + "distinct call repeated for %.1f s); median of %d runs per distinct call, summed over the pass. Load average before/after: %s / %s.%n%n",
                    tornado.deviceDescription(), threads, warmup, MIN_WARM_PASSES, cpuPasses, tornadoPasses, CALL_WARMUP_NANOS / 1e9, reps, load0,
                    loadAverage()));
            md.append("| op | calls | cpu ms | tornado ms | tornado / cpu |\n|---|---:|---:|---:|---:|\n");
            double sc = 0, st = 0;
            for (var e : perOp.entrySet()) {
                double[] a = e.getValue();
                sc += a[1];
                st += a[2];
                md.append(String.format("| %s | %d | %.1f | %.1f | %.2f |%n", e.getKey(), (int) a[0], a[1], a[2], a[2] / a[1]));
            }
            md.append(String.format("| **sum of ops** | %d | %.1f | %.1f | %.2f |%n", calls.size(), sc, st, st / sc));
            md.append(String.format("| **whole forward pass** | | %.1f | %.1f | %.2f |%n%n", fwd[0], fwd[1], fwd[1] / fwd[0]));
            md.append("conv2d and linear by kernel variant (sum over the pass, ms; whole forward pass with that variant):\n\n");
            md.append("| variant | conv2d | linear | whole forward |\n|---|---:|---:|---:|\n");
            md.append(String.format("| cpu backend | %.1f | %.1f | %.1f |%n", perOp.get("conv2d")[1], perOp.get("linear")[1], fwd[0]));
            for (int v = 0; v < variants.length; v++)
                md.append(String.format("| tornado %s%s | %.1f | %.1f | %.1f |%n", variants[v].name().toLowerCase(),
                        v == 0 ? " (default on CPU devices)" : v == 2 ? " (default on GPUs)" : "",
                        perOp.get("conv2d")[2 + v], perOp.get("linear")[2 + v], fwd[1 + v]));
            md.append(String.format("%nLaunch overhead (1-element `scale`, median of 51): %.3f ms per kernel.%n", launch));
            System.out.println();
            System.out.println(md);
            System.out.println(tornado.stats());
            Path outFile = Path.of("target", "op-timings.md");
            Files.createDirectories(outFile.getParent());
            Files.writeString(outFile, md.toString());
        }
    }

    /**
     * Whole forward passes for at least {@code seconds} and at least {@link #MIN_WARM_PASSES} passes (on a loaded
     * machine one pass can take longer than the time budget); returns how many ran.
     */
    static int warm(UNet unet, Ctx c, Tensor x, float[] ts, Tensor ctx, double seconds, int minPasses) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        int n = 0;
        do {
            unet.forward(c, x, ts, ctx).data();
            n++;
        } while (System.nanoTime() < end || n < minPasses);
        return n;
    }

    static final int MIN_WARM_PASSES = 10;

    /** The 1-minute load average (the machine is shared: read the numbers with it). */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    /**
     * Median ms of whole forward passes, input on the host, output read back; after 5 s (and 2 passes) more of
     * warm-up with this backend and variant (the backends are warm already, see table()).
     */
    static double forward(UNet unet, Ctx c, Tensor x, float[] ts, Tensor ctx, int reps) {
        warm(unet, c, x, ts, ctx, 5, 2);
        double[] ms = new double[reps];
        for (int i = 0; i < reps; i++) {
            Tensor xi = SharedBackend.random(100 + i, x.shape());
            long t0 = System.nanoTime();
            unet.forward(c, xi, ts, ctx).data();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms[reps / 2];
    }

    /** Argument positions that hold parameters (weights, biases, norm affines) in the Backend methods. */
    static boolean isParam(String op, int i) {
        return switch (op) {
            case "conv2d", "linear" -> i == 1 || i == 2;
            case "groupNorm" -> i == 2 || i == 3;
            case "layerNorm" -> i == 1 || i == 2;
            default -> false;
        };
    }
}
