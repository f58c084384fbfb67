package jdiffusion.tensor;

import java.util.Arrays;

/**
 * A dense float32 tensor: a shape and row-major storage (NCHW for images). No autograd, no strides:
 * views are reshapes that share storage. Everything a kernel computes lands in one of these.
 */
public final class Tensor {
    private final int[] shape;
    private final float[] data;

    private Tensor(float[] data, int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
        }
        if (n != data.length)
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " elements, storage has " + data.length);
        this.shape = shape;
        this.data = data;
    }

    public static Tensor zeros(int... shape) {
        long n = 1;
        for (int d : shape) n *= d;
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor " + Arrays.toString(shape) + " is too large");
        return new Tensor(new float[(int) n], shape.clone());
    }

    /** Wraps {@code data} (no copy). */
    public static Tensor of(float[] data, int... shape) {
        return new Tensor(data, shape.clone());
    }

    public static Tensor scalarLike(float v) {
        return new Tensor(new float[]{v}, new int[]{1});
    }

    public float[] data() {
        return data;
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
        return data.length;
    }

    /** A view with another shape over the same storage. */
    public Tensor reshape(int... newShape) {
        return new Tensor(data, newShape.clone());
    }

    public Tensor copy() {
        return new Tensor(data.clone(), shape.clone());
    }

    /** Batch element(s) [from, from+count) of the leading dimension, copied. */
    public Tensor slice0(int from, int count) {
        int per = data.length / shape[0];
        int[] s = shape.clone();
        s[0] = count;
        return new Tensor(Arrays.copyOfRange(data, from * per, (from + count) * per), s);
    }

    /** Concatenation along the leading dimension. */
    public static Tensor cat0(Tensor... parts) {
        int[] s = parts[0].shape.clone();
        int n = 0;
        for (Tensor p : parts) {
            if (p.rank() != s.length) throw new IllegalArgumentException("rank mismatch in cat0");
            for (int i = 1; i < s.length; i++) if (p.shape[i] != s[i]) throw new IllegalArgumentException("shape mismatch in cat0: " + p.shapeString() + " vs " + Arrays.toString(s));
            n += p.shape[0];
        }
        s[0] = n;
        Tensor out = zeros(s);
        int off = 0;
        for (Tensor p : parts) {
            System.arraycopy(p.data, 0, out.data, off, p.data.length);
            off += p.data.length;
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
