package jdiffusion.tensor;

import java.util.Arrays;

/**
 * A dense float32 tensor: a shape and row-major storage (NCHW for images). No autograd, no strides:
 * views are reshapes that share storage. Tensors are treated as immutable once a kernel has produced
 * them (kernels return new tensors and never write their inputs).
 *
 * <p>Storage lives on the host, or on an accelerator's device ({@link DeviceBuffer}) when a device
 * backend produced it; then the host copy is made on the first {@link #data()} call.
 */
public final class Tensor {
    private final int[] shape;
    private final Storage storage;

    /** Host and/or device storage, shared by a tensor and its reshaped views. */
    private static final class Storage {
        private final int length;
        private float[] host;
        private final DeviceBuffer device;

        Storage(float[] host, DeviceBuffer device, int length) {
            this.host = host;
            this.device = device;
            this.length = length;
        }

        synchronized float[] host() {
            if (host == null) {
                float[] h = new float[length];
                device.download(h);
                host = h;
            }
            return host;
        }
    }

    private Tensor(Storage storage, int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
        }
        if (n != storage.length)
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " elements, storage has " + storage.length);
        this.shape = shape;
        this.storage = storage;
    }

    public static Tensor zeros(int... shape) {
        long n = 1;
        for (int d : shape) n *= d;
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor " + Arrays.toString(shape) + " is too large");
        return new Tensor(new Storage(new float[(int) n], null, (int) n), shape.clone());
    }

    /** Wraps {@code data} (no copy). */
    public static Tensor of(float[] data, int... shape) {
        return new Tensor(new Storage(data, null, data.length), shape.clone());
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

    /** The device storage, or null for a host-only tensor. */
    public DeviceBuffer device() {
        return storage.device;
    }

    /** Whether the host copy exists (false for a device tensor not read yet). */
    public boolean onHost() {
        synchronized (storage) {
            return storage.host != null;
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

    public int numel() {
        return storage.length;
    }

    /** A view with another shape over the same storage. */
    public Tensor reshape(int... newShape) {
        return new Tensor(storage, newShape.clone());
    }

    public Tensor copy() {
        return of(data().clone(), shape.clone());
    }

    /** Batch element(s) [from, from+count) of the leading dimension, copied. */
    public Tensor slice0(int from, int count) {
        int per = numel() / shape[0];
        int[] s = shape.clone();
        s[0] = count;
        return of(Arrays.copyOfRange(data(), from * per, (from + count) * per), s);
    }

    /** Concatenation along the leading dimension. */
    public static Tensor cat0(Tensor... parts) {
        int[] s = parts[0].shape.clone();
        int n = 0;
        for (Tensor p : parts) {
            if (p.rank() != s.length) throw new IllegalArgumentException("rank mismatch in cat0");
            for (int i = 1; i < s.length; i++)
                if (p.shape[i] != s[i]) throw new IllegalArgumentException("shape mismatch in cat0: " + p.shapeString() + " vs " + Arrays.toString(s));
            n += p.shape[0];
        }
        s[0] = n;
        Tensor out = zeros(s);
        int off = 0;
        for (Tensor p : parts) {
            float[] d = p.data();
            System.arraycopy(d, 0, out.data(), off, d.length);
            off += d.length;
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
