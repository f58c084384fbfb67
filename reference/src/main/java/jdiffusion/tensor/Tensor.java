package jdiffusion.tensor;

import java.util.Arrays;

/**
 * A dense float32 tensor: a shape and row-major storage (NCHW for images). No autograd, no strides:
 * views are reshapes that share storage. Tensors are treated as immutable once a kernel has produced
 * them (kernels return new tensors and never write their inputs).
 *
 * <p>Storage lives on the host, or on an accelerator's device ({@link DeviceBuffer}) when a device
 * backend produced it; then the host copy is made on the first {@link #data()} call. Weights may be
 * kept as 16-bit floats (F16 or BF16 bits, {@link #ofHalf}) to halve their memory: backends that know
 * the format read {@link #halfBits()} and convert while computing; {@link #data()} returns a fresh
 * float32 copy of such a tensor on every call (it is not cached, or the memory would not be halved).
 *
 * <p>Activations may live in a {@link TensorArena}: a kernel's output inside a forward pass
 * ({@link #output}) takes a recycled buffer, and the module that made a tensor gives it back with
 * {@link #release()} after its last use. A released tensor cannot be read any more (its buffer belongs
 * to another tensor by then): reading it throws. A tensor kept beyond the pass that made it (a cache
 * across sampling steps) must be {@link #pin() pinned}, which takes its buffer out of recycling for good.
 */
public final class Tensor {
    private final int[] shape;
    private final Storage storage;

    /** Host and/or device storage, shared by a tensor and its reshaped views (none at all: shape only). */
    static final class Storage {
        private final long length;
        private float[] host;
        private final DeviceBuffer device;
        private final short[] half;
        private final boolean bf16;
        /** The arena the host buffer came from and returns to on release; null when not recycled (any more). */
        TensorArena arena;
        boolean pinned, released;
        /** Where it was released (arena check mode only), for the error when it is read afterwards. */
        Throwable releasedAt;

        Storage(float[] host, DeviceBuffer device, long length) {
            this(host, device, length, null, false);
        }

        Storage(float[] host, DeviceBuffer device, long length, short[] half, boolean bf16) {
            this.host = host;
            this.device = device;
            this.length = length;
            this.half = half;
            this.bf16 = bf16;
        }

        long elements() {
            return length;
        }

        boolean shapeOnly() {
            return host == null && device == null && half == null && !released;
        }

        synchronized float[] host() {
            if (released)
                throw new IllegalStateException("a tensor was read after its buffer was released to the arena (and recycled): a tensor that is"
                        + " used after the module that made it released it, or kept beyond its forward pass, must be pinned (Tensor.pin())"
                        + (releasedAt == null ? "; run with -Djdiffusion.arenaCheck=true to see where it was released" : ""), releasedAt);
            if (shapeOnly()) throw new IllegalStateException("a shape-only tensor has no values (it stands for a shape in a dry run or a missing parameter)");
            int length = (int) this.length;
            if (half != null) {
                float[] f = new float[length];
                if (bf16) for (int i = 0; i < length; i++) f[i] = Float.intBitsToFloat((half[i] & 0xffff) << 16);
                else for (int i = 0; i < length; i++) f[i] = Float.float16ToFloat(half[i]);
                return f;
            }
            if (host == null) {
                float[] h = new float[length];
                device.download(h);
                host = h;
            }
            return host;
        }
    }

    private Tensor(Storage storage, int[] shape) {
        long n = elements(shape);
        if (n != storage.length)
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " elements, storage has " + storage.length);
        this.shape = shape;
        this.storage = storage;
    }

    /** The product of a shape's dimensions, checked: negative dimensions and overflow are errors. */
    private static long elements(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("tensor " + Arrays.toString(shape) + " has more than 2^63 elements");
            }
        }
        return n;
    }

    /**
     * A tensor that has a shape and no storage: what a shape-only dry run (MAC counting) computes with,
     * and the placeholder of a parameter the checkpoint lacks. Allocates nothing whatever the shape;
     * reading its values ({@link #data()}) is an error.
     */
    public static Tensor shapeOnly(int... shape) {
        return new Tensor(new Storage(null, null, elements(shape)), shape.clone());
    }

    /** Whether this tensor has a shape only, no values ({@link #shapeOnly}). */
    public boolean isShapeOnly() {
        return storage.shapeOnly();
    }

    public static Tensor zeros(int... shape) {
        long n = 1;
        for (int d : shape) n *= d;
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor " + Arrays.toString(shape) + " is too large");
        return new Tensor(new Storage(new float[(int) n], null, (int) n), shape.clone());
    }

    /**
     * Storage for a kernel's output: a recycled buffer of the current forward pass's arena when one is
     * open on this thread ({@link TensorArena#pass}), else a fresh (zeroed) array. The contents are
     * unspecified: the kernel must write every element.
     */
    public static Tensor output(int... shape) {
        TensorArena.Pass pass = TensorArena.current();
        if (pass == null) return zeros(shape);
        long n = elements(shape);
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor " + Arrays.toString(shape) + " is too large");
        Storage s = pass.take((int) n);
        return new Tensor(s, shape.clone());
    }

    /** Pooled storage of {@code length} elements in {@code buffer}, which may be longer (for {@link TensorArena}). */
    static Storage pooled(float[] buffer, int length, TensorArena arena) {
        Storage s = new Storage(buffer, null, length);
        s.arena = arena;
        return s;
    }

    /**
     * For storage leaving its arena (caller holds its lock): when the arena's buffer is longer than the tensor, the
     * tensor gets a copy of exactly its length and the longer buffer is returned (for the arena to take back); else null.
     */
    static float[] exactHost(Storage s) {
        float[] b = s.host;
        if (b == null || b.length == s.length) return null;
        s.host = Arrays.copyOf(b, (int) s.length);
        return b;
    }

    /** The host buffer of pooled storage, taken away from it (on release). */
    static float[] detachBuffer(Storage s) {
        float[] b = s.host;
        s.host = null;
        return b;
    }

    /**
     * Gives this tensor's buffer back to the arena it came from, to be reused by a later operation; from
     * then on this tensor and its views cannot be read. Call it once, after the tensor's last use, in the
     * code that created it (by calling the operation). Nothing happens for a tensor that is not from an
     * arena (weights, inputs, results handed out of a pass) or is pinned. Releasing twice is an error.
     */
    public void release() {
        TensorArena a;
        float[] buffer;
        synchronized (storage) {
            if (storage.released) throw new IllegalStateException("tensor " + shapeString() + " released twice", storage.releasedAt);
            a = storage.arena;
            if (a == null || storage.pinned) return;
            storage.released = true;
            storage.arena = null;
            buffer = detachBuffer(storage);
            if (TensorArena.CHECK) storage.releasedAt = new Throwable("released here");
        }
        a.giveBack(buffer);
    }

    /**
     * Keeps this tensor's storage out of recycling for good (it becomes an ordinary array that the garbage
     * collector frees), for tensors kept beyond the forward pass that made them: DeepCache's module
     * outputs, the cross-attention cache, hooks that record intermediates. Returns this tensor.
     */
    public Tensor pin() {
        TensorArena a;
        float[] longer = null;
        synchronized (storage) {
            if (storage.released) throw new IllegalStateException("cannot pin tensor " + shapeString() + ": it was already released", storage.releasedAt);
            if (storage.pinned) return this;
            storage.pinned = true;
            a = storage.arena;
            storage.arena = null;
            if (a != null) longer = exactHost(storage);
        }
        if (a != null) a.leave(longer, storage.length);
        return this;
    }

    /** Whether this tensor's buffer was given back to its arena ({@link #release()}); it can no longer be read. */
    public boolean isReleased() {
        synchronized (storage) {
            return storage.released;
        }
    }

    /** Wraps {@code data} (no copy). */
    public static Tensor of(float[] data, int... shape) {
        return new Tensor(new Storage(data, null, data.length), shape.clone());
    }

    /** 16-bit float storage: IEEE half-precision bits, or bfloat16 bits when {@code bf16} (no copy). */
    public static Tensor ofHalf(short[] bits, boolean bf16, int... shape) {
        return new Tensor(new Storage(null, null, bits.length, bits, bf16), shape.clone());
    }

    /** A tensor whose contents live on a device; the host copy is made lazily. */
    public static Tensor onDevice(DeviceBuffer buffer, int... shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return new Tensor(new Storage(null, buffer, (int) n), shape.clone());
    }

    /** The contents on the host (downloaded from the device on first use). Do not modify a kernel's result. */
    public float[] data() {
        return storage.host();
    }

    /** Whether the storage is 16-bit floats ({@link #halfBits()}). */
    public boolean isHalf() {
        return storage.half != null;
    }

    /** The 16-bit storage (F16 or BF16 bits, see {@link #isBf16()}), or null for a float32 tensor. */
    public short[] halfBits() {
        return storage.half;
    }

    /** Whether 16-bit storage holds bfloat16 (else IEEE half precision). */
    public boolean isBf16() {
        return storage.bf16;
    }

    /** Bytes of host storage (2 per element for 16-bit tensors, 4 otherwise, none for a shape-only tensor). */
    public long storageBytes() {
        return storage.shapeOnly() ? 0 : storage.length * (storage.half != null ? 2 : 4);
    }

    /** The device storage, or null for a host-only tensor. */
    public DeviceBuffer device() {
        return storage.device;
    }

    /** Whether the host copy exists (false for a device tensor not read yet; true for 16-bit storage). */
    public boolean onHost() {
        synchronized (storage) {
            return storage.host != null || storage.half != null;
        }
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Dimension {@code i}; negative indices count from the end. */
    public int dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    /** The element count, for tensors that have values (every host, device or 16-bit tensor fits an int). */
    public int numel() {
        if (storage.length > Integer.MAX_VALUE)
            throw new IllegalStateException("shape-only tensor " + shapeString() + " has more elements than an int counts: use elements()");
        return (int) storage.length;
    }

    /** The element count as a long (also for shape-only tensors larger than any array). */
    public long elements() {
        return storage.length;
    }

    /** A view with another shape over the same storage. */
    public Tensor reshape(int... newShape) {
        return new Tensor(storage, newShape.clone());
    }

    public Tensor copy() {
        return of(Arrays.copyOf(data(), numel()), shape.clone());
    }

    /** Batch element(s) [from, from+count) of the leading dimension, copied. */
    public Tensor slice0(int from, int count) {
        int[] s = shape.clone();
        s[0] = count;
        if (isShapeOnly()) return shapeOnly(s);
        int per = numel() / shape[0];
        return of(Arrays.copyOfRange(data(), from * per, (from + count) * per), s);
    }

    /** Concatenation along the leading dimension. */
    public static Tensor cat0(Tensor... parts) {
        boolean shapeOnly = false;
        for (Tensor p : parts) shapeOnly |= p.isShapeOnly();
        int[] s = parts[0].shape.clone();
        int n = 0;
        for (Tensor p : parts) {
            if (p.rank() != s.length) throw new IllegalArgumentException("rank mismatch in cat0");
            for (int i = 1; i < s.length; i++)
                if (p.shape[i] != s[i]) throw new IllegalArgumentException("shape mismatch in cat0: " + p.shapeString() + " vs " + Arrays.toString(s));
            n += p.shape[0];
        }
        s[0] = n;
        if (shapeOnly) return shapeOnly(s);
        Tensor out = zeros(s);
        int off = 0;
        for (Tensor p : parts) {
            System.arraycopy(p.data(), 0, out.data(), off, p.numel());
            off += p.numel();
        }
        return out;
    }

    public boolean sameShape(Tensor o) {
        return Arrays.equals(shape, o.shape);
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return "Tensor" + shapeString();
    }
}
