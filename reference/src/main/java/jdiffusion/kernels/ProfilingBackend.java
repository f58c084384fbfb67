package jdiffusion.kernels;

import jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A backend decorator that times every operation (wall clock around the delegate call; the delegate
 * parallelises inside an operation, so wall time is what the operation costs), measures the CPU time
 * all threads of the process spent meanwhile (on a shared machine wall time also counts the time the
 * threads were not scheduled; CPU time does not), and counts multiply-accumulates, grouped by
 * operation and shape class ("conv2d 3x3 @64x64", "attention 4096x4096"). Used by
 * {@code jdiffusion bench --profile} to show where a forward pass spends its time.
 */
public final class ProfilingBackend implements Backend {
    /** Accumulated cost of one group of calls. */
    public static final class Entry {
        public final String op;
        long nanos, cpuNanos, calls, macs;

        Entry(String op) {
            this.op = op;
        }

        public long nanos() {
            return nanos;
        }

        public long cpuNanos() {
            return cpuNanos;
        }

        public long calls() {
            return calls;
        }

        public long macs() {
            return macs;
        }
    }

    private final Backend inner;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    public ProfilingBackend(Backend inner) {
        this.inner = inner;
    }

    public Backend inner() {
        return inner;
    }

    /** The inner backend's arena: a profiled pass recycles storage as an unprofiled one does. */
    @Override
    public jdiffusion.tensor.TensorArena arena() {
        return inner.arena();
    }

    public synchronized void reset() {
        entries.clear();
    }

    /** The groups, most expensive first. */
    public synchronized List<Entry> entries() {
        List<Entry> l = new ArrayList<>(entries.values());
        l.sort((a, b) -> Long.compare(b.nanos, a.nanos));
        return l;
    }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    /** CPU time of all live threads of this JVM. */
    public static long processCpuNanos() {
        long sum = 0;
        for (long id : THREADS.getAllThreadIds()) {
            long t = THREADS.getThreadCpuTime(id);
            if (t > 0) sum += t;
        }
        return sum;
    }

    private Tensor time(String op, long macs, Supplier<Tensor> body) {
        long c0 = processCpuNanos(), t0 = System.nanoTime();
        Tensor out = body.get();
        long dt = System.nanoTime() - t0, dc = processCpuNanos() - c0;
        synchronized (this) {
            Entry e = entries.computeIfAbsent(op, Entry::new);
            e.nanos += dt;
            e.cpuNanos += dc;
            e.calls++;
            e.macs += macs;
        }
        return out;
    }

    /** A table: op, calls, wall ms, share of the wall total, CPU ms, GMAC/s (wall) and GMAC per CPU-second. */
    public String table() {
        List<Entry> l = entries();
        long total = 0, totalCpu = 0;
        for (Entry e : l) {
            total += e.nanos;
            totalCpu += e.cpuNanos;
        }
        StringBuilder sb = new StringBuilder(String.format("%-34s %6s %10s %6s %10s %8s %8s%n", "op", "calls", "wall ms", "share",
                "cpu ms", "GMAC/s", "GMAC/cpu-s"));
        for (Entry e : l)
            sb.append(String.format("%-34s %6d %10.1f %5.1f%% %10.1f %8s %8s%n", e.op, e.calls, e.nanos / 1e6, 100.0 * e.nanos / Math.max(1, total),
                    e.cpuNanos / 1e6, e.macs == 0 ? "" : String.format("%.1f", e.macs / (double) e.nanos),
                    e.macs == 0 || e.cpuNanos == 0 ? "" : String.format("%.1f", e.macs / (double) e.cpuNanos)));
        sb.append(String.format("%-34s %6s %10.1f %6s %10.1f%n", "total (inside ops)", "", total / 1e6, "", totalCpu / 1e6));
        return sb.toString();
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int pt, int pl, int pb, int pr) {
        String op = "conv2d " + w.dim(2) + "x" + w.dim(3) + (stride == 1 ? "" : " stride " + stride) + " @" + x.dim(2) + "x" + x.dim(3);
        return time(op, MacCounter.conv2dMacs(x, w, stride, pt, pl, pb, pr), () -> inner.conv2d(x, w, bias, stride, pt, pl, pb, pr));
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        long rows = x.numel() / w.dim(1);
        return time(rows < 64 ? "linear (few rows)" : "linear " + rows + " rows", rows * w.dim(0) * w.dim(1), () -> inner.linear(x, w, bias));
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        return time(silu ? "groupNorm+silu" : "groupNorm", 0, () -> inner.groupNorm(x, groups, gamma, beta, eps, silu));
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return time("layerNorm", 0, () -> inner.layerNorm(x, gamma, beta, eps));
    }

    @Override
    public Tensor silu(Tensor x) {
        return time("silu", 0, () -> inner.silu(x));
    }

    @Override
    public Tensor geglu(Tensor x) {
        return time("geglu", 0, () -> inner.geglu(x));
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        String op = "attention " + q.dim(1) + "x" + k.dim(1);
        return time(op, 2L * q.dim(0) * q.dim(1) * k.dim(1) * q.dim(2), () -> inner.attention(q, k, v, heads, scale));
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        if (!causal) return attention(q, k, v, heads, scale);
        String op = "attention causal " + q.dim(1) + "x" + k.dim(1);
        return time(op, q.dim(0) * (long) q.dim(1) * (q.dim(1) + 1) * q.dim(2), () -> inner.attention(q, k, v, heads, scale, true));
    }

    @Override
    public Tensor gelu(Tensor x) {
        return time("gelu", 0, () -> inner.gelu(x));
    }

    @Override
    public Tensor quickGelu(Tensor x) {
        return time("quickGelu", 0, () -> inner.quickGelu(x));
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        return time("upsampleNearest2x", 0, () -> inner.upsampleNearest2x(x));
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        return time("add", 0, () -> inner.add(a, b));
    }

    @Override
    public Tensor addChannelBias(Tensor x, Tensor v) {
        return time("addChannelBias", 0, () -> inner.addChannelBias(x, v));
    }

    @Override
    public Tensor concatChannels(Tensor a, Tensor b) {
        return time("concatChannels", 0, () -> inner.concatChannels(a, b));
    }

    @Override
    public Tensor scale(Tensor x, float s) {
        return time("scale", 0, () -> inner.scale(x, s));
    }

    @Override
    public Tensor toTokens(Tensor x) {
        return time("toTokens", 0, () -> inner.toTokens(x));
    }

    @Override
    public Tensor fromTokens(Tensor x, int h, int w) {
        return time("fromTokens", 0, () -> inner.fromTokens(x, h, w));
    }
}
