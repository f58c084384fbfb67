package jdiffusion.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Recycled storage for the activations of forward passes. Without it every operation returns a fresh
 * array and the garbage collector grows the heap to keep up with the allocation rate (the Java side of
 * the side-by-side benchmark peaked at 2.5–4× PyTorch's resident memory); with it a forward pass takes
 * its outputs from buffers that earlier operations (of this pass or of the previous one) gave back, so
 * the heap holds the weights plus about one pass's peak of live activations.
 *
 * <p>Lifetimes are explicit:
 * <ul>
 *   <li>{@link #pass} opens a forward pass on the calling thread (UNet, VAE decoder and text encoder open
 *       one around their forward; a nested call joins the open one). Inside it, kernels allocate their
 *       outputs with {@link Tensor#output}, which takes a buffer from the arena: the shortest free one that
 *       holds the tensor and is at most {@link #FIT} times its length, else a new one of exactly its length.
 *       Inside a pass a tensor's array may thus be longer than the tensor (kernels index by shape, never by
 *       the array's length); outside any pass, {@link Tensor#output} is a plain new array.</li>
 *   <li>The module that created a tensor (by calling an operation) {@link Tensor#release() releases} it
 *       after its last use; its buffer is then reused. A released tensor cannot be read again: reading it
 *       throws, so a lifetime mistake fails loudly instead of reading another tensor's values.</li>
 *   <li>Tensors kept beyond the pass (DeepCache's module outputs, the cross-attention cache, intermediates
 *       recorded by hooks) are {@link Tensor#pin() pinned}: taken out of recycling for good.</li>
 *   <li>When the outermost pass ends, whatever it took and did not release (its result, and anything a
 *       module forgot to release) is handed out of the arena as ordinary arrays, never recycled later;
 *       {@link Stats#detached()} counts them (a UNet pass detaches exactly its output). A tensor leaves the
 *       arena (handed out or pinned) with an array of exactly its length: a longer buffer is copied and goes
 *       back to the arena, so code outside the pass may take {@code data().length} as the element count. Free buffers
 *       beyond what the pass needed at once are dropped, so a change of shapes (another resolution, the
 *       VAE after the UNet) does not keep the old ones.</li>
 * </ul>
 * Only where the bytes live changes, never the arithmetic: kernels write every element of their output.
 * In check mode ({@code -Djdiffusion.arenaCheck=true}, on in the tests) released buffers are filled with
 * NaN (a kernel that skipped an element, or code that kept a raw array past a release, then produces NaN)
 * and each release records where it happened, for the error of a later read.
 *
 * <p>An arena may be shared by threads (a backend's arena, passes running on several threads); each
 * thread has its own pass.
 */
public final class TensorArena {
    private static final ScopedValue<Pass> CURRENT = ScopedValue.newInstance();
    /** Check mode: poison released buffers with NaN and remember where each release happened. */
    static final boolean CHECK = Boolean.getBoolean("jdiffusion.arenaCheck");

    /**
     * A free buffer may hold a tensor up to this many times shorter (property jdiffusion.arenaFit; 1: exact lengths
     * only). With exact lengths, every activation length of a pass kept its own buffers: DDPM-CIFAR10 b8 held 149 MiB
     * of buffers for a peak of 48 MiB in use, SD 1.5 at 32×32 173 MiB for 52.
     */
    static final double FIT = Double.parseDouble(System.getProperty("jdiffusion.arenaFit", "2"));

    /** Free buffers of one length, and how many of that length are out (taken, not released or handed out). */
    private static final class Shelf {
        final ArrayDeque<float[]> free = new ArrayDeque<>();
        int out, highWater;
    }

    private final TreeMap<Integer, Shelf> shelves = new TreeMap<>();
    private long inUse, peakInUse, freeBytes, fresh, freshBytes, reused, reusedBytes, detached, pinned;

    /** The pass open on this thread, or null. */
    static Pass current() {
        return CURRENT.isBound() ? CURRENT.get() : null;
    }

    /** What an arena has done so far (bytes are float32 buffer bytes). */
    public record Stats(long fresh, long freshBytes, long reused, long reusedBytes, long inUseBytes, long peakInUseBytes,
                        long freeBytes, long detached, long pinned) {
        /** Buffers taken from the arena in total. */
        public long taken() {
            return fresh + reused;
        }
    }

    public synchronized Stats stats() {
        return new Stats(fresh, freshBytes, reused, reusedBytes, inUse, peakInUse, freeBytes, detached, pinned);
    }

    /** Starts the peak of bytes in use afresh (e.g. after a warm-up). */
    public synchronized void resetPeak() {
        peakInUse = inUse;
    }

    /**
     * Drops the free buffers (the garbage collector takes them), keeping those in use: for the end of a workload,
     * before unrelated work that would otherwise allocate beside them. The next pass takes new buffers.
     */
    public synchronized void trim() {
        for (Iterator<Shelf> it = shelves.values().iterator(); it.hasNext(); ) {
            Shelf shelf = it.next();
            shelf.free.clear();
            if (shelf.out == 0) it.remove();
        }
        freeBytes = 0;
    }

    /**
     * Runs {@code body} as one forward pass on this arena (joining the pass already open on this thread
     * for this arena, if any) and returns its result.
     */
    public <T> T pass(Supplier<T> body) {
        Pass open = current();
        if (open != null && open.arena == this) return body.get();
        Pass p = new Pass(this);
        try {
            return ScopedValue.where(CURRENT, p).call(body::get);
        } finally {
            p.end();
        }
    }

    /** One forward pass: the storage it took, handed out of the arena at its end unless released or pinned. */
    static final class Pass {
        private final TensorArena arena;
        private final List<Tensor.Storage> taken = new ArrayList<>();

        Pass(TensorArena arena) {
            this.arena = arena;
        }

        Tensor.Storage take(int length) {
            Tensor.Storage s = Tensor.pooled(arena.buffer(length), length, arena);
            taken.add(s);
            return s;
        }

        private void end() {
            long count = 0;
            for (Tensor.Storage s : taken) {
                float[] buffer;
                synchronized (s) {
                    if (s.released || s.pinned || s.arena != arena) continue;
                    s.arena = null;
                    buffer = Tensor.exactHost(s);
                }
                count++;
                arena.leaving(buffer, s.elements());
            }
            taken.clear();
            arena.endPass(count);
        }
    }

    /**
     * A buffer of at least {@code length} floats: the shortest free one up to {@link #FIT} × length, else a new one of
     * exactly that length.
     */
    private synchronized float[] buffer(int length) {
        Shelf shelf = null;
        float[] b = null;
        long limit = Math.max(length, (long) Math.floor(length * FIT));
        for (Map.Entry<Integer, Shelf> e : shelves.subMap(length, true, (int) Math.min(Integer.MAX_VALUE, limit), true).entrySet())
            if (!e.getValue().free.isEmpty()) {
                shelf = e.getValue();
                b = shelf.free.poll();
                break;
            }
        if (shelf == null) shelf = shelves.computeIfAbsent(length, k -> new Shelf());
        long bytes = 4L * (b != null ? b.length : length);
        if (b != null) {
            freeBytes -= bytes;
            reused++;
            reusedBytes += bytes;
        } else {
            b = new float[length];
            fresh++;
            freshBytes += bytes;
        }
        shelf.out++;
        shelf.highWater = Math.max(shelf.highWater, shelf.out);
        inUse += bytes;
        peakInUse = Math.max(peakInUse, inUse);
        return b;
    }

    /** A released buffer back on its shelf (poisoned with NaN in check mode). */
    void giveBack(float[] buffer) {
        if (CHECK) Arrays.fill(buffer, Float.NaN);
        synchronized (this) {
            Shelf shelf = shelves.computeIfAbsent(buffer.length, k -> new Shelf());
            shelf.free.push(buffer);
            shelf.out--;
            inUse -= 4L * buffer.length;
            freeBytes += 4L * buffer.length;
        }
    }

    /** A tensor left the arena by being pinned ({@code buffer}, {@code length}: as for {@link #leaving}). */
    void leave(float[] buffer, long length) {
        synchronized (this) {
            pinned++;
        }
        leaving(buffer, length);
    }

    /**
     * A tensor of {@code length} elements leaves the arena (handed out or pinned): {@code buffer} is null when it keeps
     * the arena's buffer it had (of exactly its length), else that longer buffer, which goes back to its shelf (the
     * tensor got a copy of its own, {@link Tensor#exactHost}).
     */
    void leaving(float[] buffer, long keptLength) {
        if (buffer != null) giveBack(buffer);
        else out(keptLength, -1);
    }

    private synchronized void out(long length, int delta) {
        Shelf shelf = shelves.get((int) length);
        if (shelf != null) shelf.out += delta;
        inUse += 4L * length * delta;
    }

    /** The outermost pass ended: count what it handed out, and keep only as many free buffers per length as it used at once. */
    private synchronized void endPass(long count) {
        detached += count;
        for (Iterator<Shelf> it = shelves.values().iterator(); it.hasNext(); ) {
            Shelf shelf = it.next();
            int keep = Math.max(0, shelf.highWater - shelf.out);
            while (shelf.free.size() > keep) {
                freeBytes -= 4L * shelf.free.pop().length;
            }
            shelf.highWater = shelf.out;
            if (shelf.free.isEmpty() && shelf.out == 0) it.remove();
        }
    }
}
