package jdiffusion.tornado;

import jdiffusion.tensor.DeviceBuffer;
import uk.ac.manchester.tornado.api.DataRange;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.common.TornadoFunctions.Task4;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One TornadoVM device seen as "a memory pool plus a fixed set of kernels", the way a CUDA backend sees a
 * GPU. Everything the backend computes lives in one device buffer (the pool, a {@link FloatArray}); every
 * kernel reads and writes it at offsets passed in a small parameter array.
 *
 * <p><b>Task graphs.</b> There is one {@link TaskGraph} per kernel (plus an init graph and upload graphs
 * with staging buffers of a few sizes), all in ONE {@link TornadoExecutionPlan} built when the backend
 * starts. Each kernel graph declares the pool with {@code consumeFromDevice(g, pool)} for every graph g of
 * the plan and {@code persistOnDevice(pool)}, so whichever graph ran last hands the same device buffer to
 * the next one (TornadoVM passes persisted buffers from the last executed graph). Launching a kernel =
 * writing its parameters, resizing its {@link WorkerGrid1D} and {@code plan.withGraph(i).execute()}; the
 * only per-launch transfers are the parameter arrays (a few dozen bytes). Each kernel is JIT-compiled once
 * per process, on its first launch, and then serves every model and shape.
 *
 * <p><b>Memory.</b> {@link Pool} hands out ranges; a range is released when the {@link Buf} that owns it
 * becomes unreachable (phantom reference, processed on the next allocation). When the pool is full the
 * device asks the JVM for a collection, releases what died, and retries; only then is it an error.
 * Downloads copy a range back with a partial {@code transferToHost(DataRange)}.
 *
 * <p>Not thread-safe by itself: every public method is synchronized.
 */
final class Device implements AutoCloseable {
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    /** The compute kernels, each in its own task graph. */
    enum Kernel {
        TILED_GEMM(TiledGemm::gemm, TiledGemm.WG),
        LINEAR_DIRECT(DirectGemm::linear, DirectGemm.WG),
        CONV2D_DIRECT(DirectGemm::conv2d, DirectGemm.WG),
        IM2COL(DotGemm::im2col, Elementwise.WG),
        GEMM_DOT(DotGemm::gemm, DotGemm.WG),
        GROUP_NORM(Norms::groupNorm, Norms.WG_GROUP),
        LAYER_NORM(Norms::layerNorm, Norms.WG_LAYER),
        ATTENTION(Attention::attention, Attention.BQ),
        SILU(Elementwise::silu, Elementwise.WG),
        SCALE(Elementwise::scale, Elementwise.WG),
        ADD(Elementwise::add, Elementwise.WG),
        ADD_CHANNEL_BIAS(Elementwise::addChannelBias, Elementwise.WG),
        GEGLU(Elementwise::geglu, Elementwise.WG),
        UPSAMPLE(Elementwise::upsample2x, Elementwise.WG),
        CONCAT(Elementwise::concat, Elementwise.WG),
        TRANSPOSE(Elementwise::transpose, Elementwise.WG_TRANSPOSE);

        final Task4<KernelContext, FloatArray, IntArray, FloatArray> code;
        final int local;

        Kernel(Task4<KernelContext, FloatArray, IntArray, FloatArray> code, int local) {
            this.code = code;
            this.local = local;
        }
    }

    /** Staging buffer sizes (floats) for uploads: a small tensor does not ship 16 MB. */
    private static final int[] STAGES = {1 << 10, 1 << 14, 1 << 18, 1 << 22};
    private static final int MAX_PARAMS = 32;

    private final String prefix;
    private final TornadoDevice device;
    private final FloatArray pool;
    private final Pool alloc;
    private final TornadoExecutionPlan plan;
    private final IntArray[] ints = new IntArray[Kernel.values().length];
    private final FloatArray[] floats = new FloatArray[Kernel.values().length];
    private final WorkerGrid1D[] grids = new WorkerGrid1D[Kernel.values().length];
    private final int[] graphOf = new int[Kernel.values().length];
    private final FloatArray[] stages = new FloatArray[STAGES.length];
    private final IntArray[] stageParams = new IntArray[STAGES.length];
    private final WorkerGrid1D[] stageGrids = new WorkerGrid1D[STAGES.length];
    private final int[] stageGraph = new int[STAGES.length];
    private final ReferenceQueue<Buf> queue = new ReferenceQueue<>();
    private final Set<BufRef> live = Collections.newSetFromMap(new IdentityHashMap<>());
    private TornadoExecutionResult last;
    private boolean closed;
    private final long[] launches = new long[Kernel.values().length];
    private final long[] launchNanos = new long[Kernel.values().length];
    private long uploads, uploadedFloats, downloads, downloadedFloats, collections;

    /**
     * @param poolFloats size of the memory pool in floats
     * @param deviceSpec "driver:device" as listed by {@code tornado --devices}, or null for TornadoVM's default
     */
    Device(long poolFloats, String deviceSpec) {
        TornadoDevice device = TornadoDevices.select(TornadoDevices.runtime(), deviceSpec);
        if (poolFloats > Integer.MAX_VALUE - 64)
            throw new DeviceMemoryException(String.format("jdiffusion.tornado.memory: a pool of %.0f MB exceeds the kernels' 2^31-float index range (8 GiB); "
                    + "lower it, e.g. -Djdiffusion.tornado.memory=4g", poolFloats * 4e-6));
        if (poolFloats * Float.BYTES > device.getMaxAllocMemory())
            throw new DeviceMemoryException(String.format("jdiffusion.tornado.memory: a pool of %.0f MB is larger than the largest buffer %s allows (%.0f MB); "
                    + "lower it, e.g. -Djdiffusion.tornado.memory=%dm", poolFloats * 4e-6, device.getDescription(), device.getMaxAllocMemory() / 1e6,
                    device.getMaxAllocMemory() >> 20));
        this.prefix = "jd" + INSTANCES.incrementAndGet() + "_";
        this.pool = new FloatArray((int) poolFloats);
        this.alloc = new Pool(poolFloats);
        List<String> names = new ArrayList<>();
        names.add(prefix + "init");
        for (Kernel k : Kernel.values()) names.add(prefix + k.name().toLowerCase());
        for (int s : STAGES) names.add(prefix + "upload" + s);

        List<ImmutableTaskGraph> graphs = new ArrayList<>();
        GridScheduler gs = new GridScheduler();
        WorkerGrid1D initGrid = new WorkerGrid1D(1);
        initGrid.setLocalWork(1, 1, 1);
        gs.addWorkerGrid(prefix + "init.t", initGrid);
        graphs.add(new TaskGraph(prefix + "init")
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, pool)
                .task("t", Elementwise::touch, new KernelContext(), pool)
                .persistOnDevice(pool).snapshot());
        for (Kernel k : Kernel.values()) {
            int i = k.ordinal();
            ints[i] = new IntArray(MAX_PARAMS);
            floats[i] = new FloatArray(4);
            grids[i] = new WorkerGrid1D(k.local);
            grids[i].setLocalWork(k.local, 1, 1);
            String name = prefix + k.name().toLowerCase();
            gs.addWorkerGrid(name + ".t", grids[i]);
            TaskGraph g = new TaskGraph(name).transferToDevice(DataTransferMode.EVERY_EXECUTION, ints[i], floats[i]);
            for (String src : names) g.consumeFromDevice(src, pool);
            g.task("t", k.code, new KernelContext(), pool, ints[i], floats[i]).persistOnDevice(pool);
            graphOf[i] = graphs.size();
            graphs.add(g.snapshot());
        }
        for (int s = 0; s < STAGES.length; s++) {
            stages[s] = new FloatArray(STAGES[s]);
            stageParams[s] = new IntArray(2);
            stageGrids[s] = new WorkerGrid1D(Elementwise.WG);
            stageGrids[s].setLocalWork(Elementwise.WG, 1, 1);
            String name = prefix + "upload" + STAGES[s];
            gs.addWorkerGrid(name + ".t", stageGrids[s]);
            TaskGraph g = new TaskGraph(name).transferToDevice(DataTransferMode.EVERY_EXECUTION, stageParams[s], stages[s]);
            for (String src : names) g.consumeFromDevice(src, pool);
            g.task("t", Elementwise::upload, new KernelContext(), pool, stages[s], stageParams[s]).persistOnDevice(pool);
            stageGraph[s] = graphs.size();
            graphs.add(g.snapshot());
        }
        this.plan = new TornadoExecutionPlan(graphs.toArray(new ImmutableTaskGraph[0]));
        plan.withDevice(device);
        this.device = device;
        plan.withGridScheduler(gs);
        last = plan.withGraph(0).execute();
    }

    String deviceDescription() {
        return device.getDescription();
    }

    /** Whether the device is a CPU (OpenCL CL_DEVICE_TYPE_CPU, e.g. PoCL). */
    boolean isCpu() {
        return device.getDeviceType() == uk.ac.manchester.tornado.api.enums.TornadoDeviceType.CPU;
    }

    long maxAllocBytes() {
        return device.getMaxAllocMemory();
    }

    // ------------------------------------------------------------------------------------------------ memory

    /** A device tensor's storage: a range of the pool, released when this object becomes unreachable. */
    static final class Buf implements DeviceBuffer {
        final Device device;
        final int offset;
        final int length;

        private Buf(Device device, int offset, int length) {
            this.device = device;
            this.offset = offset;
            this.length = length;
        }

        @Override
        public Object owner() {
            return device;
        }

        @Override
        public void download(float[] dst) {
            device.download(this, dst);
        }
    }

    private static final class BufRef extends PhantomReference<Buf> {
        final long offset, length;

        BufRef(Buf b, ReferenceQueue<Buf> q) {
            super(b, q);
            offset = b.offset;
            length = b.length;
        }
    }

    synchronized Buf allocate(int n) {
        checkOpen();
        release();
        long off = alloc.alloc(n);
        for (int attempt = 0; off < 0 && attempt < 3; attempt++) {
            collections++;
            System.gc();
            awaitReleases();
            off = alloc.alloc(n);
        }
        if (off < 0)
            throw new DeviceMemoryException(String.format(
                    "TornadoVM device memory pool exhausted: a tensor of %s does not fit (%s of %s in use, largest free range %s). "
                            + "Raise the pool with -Djdiffusion.tornado.memory=SIZE (e.g. 2g; this device allows single buffers up to %s; "
                            + "with ./jdiffusion: JDIFFUSION_JAVA_OPTS=-Djdiffusion.tornado.memory=2g).",
                    mb(n * 4L), mb(alloc.used() * 4), mb(alloc.capacity() * 4), mb(alloc.largestFree() * 4), mb(maxAllocBytes())));
        Buf b = new Buf(this, (int) off, n);
        live.add(new BufRef(b, queue));
        return b;
    }

    /** Bytes as MB, with three significant digits below 100 MB (a tiny pool's numbers stay readable). */
    static String mb(long bytes) {
        double m = bytes / 1e6;
        return String.format(Locale.ROOT, m >= 100 ? "%.0f MB" : "%.3g MB", m);
    }

    private void release() {
        Reference<? extends Buf> r;
        while ((r = queue.poll()) != null) free((BufRef) r);
    }

    private void awaitReleases() {
        try {
            Reference<? extends Buf> r = queue.remove(100);
            while (r != null) {
                free((BufRef) r);
                r = queue.remove(10);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void free(BufRef r) {
        if (live.remove(r)) alloc.free(r.offset, r.length);
    }

    /** Copies host data into a new device range. */
    synchronized Buf upload(float[] src) {
        Buf b = allocate(src.length);
        upload(src, b.offset);
        return b;
    }

    private void upload(float[] src, int dst) {
        int done = 0;
        while (done < src.length) {
            int remaining = src.length - done;
            int s = 0;
            while (s < STAGES.length - 1 && STAGES[s] < remaining) s++;
            int n = Math.min(remaining, STAGES[s]);
            MemorySegment.copy(src, done, stages[s].getSegment(), ValueLayout.JAVA_FLOAT, 0, n);
            stageParams[s].set(0, n);
            stageParams[s].set(1, dst + done);
            stageGrids[s].setGlobalWork(roundUp(n, Elementwise.WG), 1, 1);
            try {
                last = plan.withGraph(stageGraph[s]).execute();
            } catch (RuntimeException e) {
                throw new KernelFailure("upload", e);
            }
            done += n;
        }
        uploads++;
        uploadedFloats += src.length;
    }

    synchronized void download(Buf b, float[] dst) {
        checkOpen();
        if (dst.length != b.length) throw new IllegalArgumentException("download of " + b.length + " floats into " + dst.length);
        try {
            last.transferToHost(new DataRange(pool).withOffset(b.offset).withSize(b.length));
        } catch (RuntimeException e) {
            throw new KernelFailure("download", e);
        }
        MemorySegment.copy(pool.getSegment(), ValueLayout.JAVA_FLOAT, (long) b.offset * Float.BYTES, dst, 0, b.length);
        downloads++;
        downloadedFloats += b.length;
    }

    // ------------------------------------------------------------------------------------------------ launches

    /**
     * Runs kernel {@code k} with integer parameters {@code ip} and float parameters {@code fp} on
     * {@code threads} work-items (rounded up to the kernel's work-group size). Synchronous: the results
     * are in the pool when it returns.
     */
    synchronized void launch(Kernel k, int[] ip, float[] fp, long threads) {
        checkOpen();
        int i = k.ordinal();
        if (ip.length > MAX_PARAMS) throw new IllegalArgumentException("too many parameters for " + k);
        for (int j = 0; j < ip.length; j++) ints[i].set(j, ip[j]);
        for (int j = 0; j < fp.length; j++) floats[i].set(j, fp[j]);
        long global = roundUp(Math.max(threads, 1), k.local);
        if (global > Integer.MAX_VALUE) throw new IllegalArgumentException(k + ": grid of " + global + " work-items is too large");
        grids[i].setGlobalWork(global, 1, 1);
        long t0 = System.nanoTime();
        try {
            last = plan.withGraph(graphOf[i]).execute();
        } catch (RuntimeException e) {
            throw new KernelFailure(k.name().toLowerCase(), e);
        }
        launchNanos[i] += System.nanoTime() - t0;
        launches[i]++;
    }

    private static long roundUp(long n, long m) {
        return (n + m - 1) / m * m;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("the TornadoVM backend was closed");
    }

    /** Usage counters, for the timing harness and diagnostics. */
    synchronized String stats() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("pool %.1f MB, in use %.1f MB, peak %.1f MB, %d free ranges; uploads %d (%.1f MB), downloads %d (%.1f MB), forced GCs %d; launches:",
                alloc.capacity() * 4e-6, alloc.used() * 4e-6, alloc.peak() * 4e-6, alloc.freeRanges(), uploads, uploadedFloats * 4e-6,
                downloads, downloadedFloats * 4e-6, collections));
        for (Kernel k : Kernel.values())
            if (launches[k.ordinal()] > 0)
                sb.append(String.format(" %s=%d (%.0f ms)", k.name().toLowerCase(), launches[k.ordinal()], launchNanos[k.ordinal()] / 1e6));
        return sb.toString();
    }

    /** {uploads, downloads, kernel launches} so far. */
    synchronized long[] counters() {
        long l = 0;
        for (long v : launches) l += v;
        return new long[]{uploads, downloads, l};
    }

    synchronized long usedFloats() {
        release();
        return alloc.used();
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            plan.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the TornadoVM execution plan failed", e);
        }
    }

    /** A kernel (or transfer) failed on the device: never retried elsewhere. */
    static final class KernelFailure extends IllegalStateException {
        KernelFailure(String what, Throwable cause) {
            super("TornadoVM kernel '" + what + "' failed on the device (no CPU fallback): " + cause, cause);
        }
    }

    /** The device pool cannot hold a tensor even after a collection, or the requested pool cannot exist. */
    static final class DeviceMemoryException extends IllegalStateException {
        DeviceMemoryException(String message) {
            super(message);
        }
    }
}
