package jdiffusion.weights;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a safetensors file: its name, file dtype, shape and byte range (relative to the start
 * of the data section), plus the file it lives in so errors can name it.
 */
public record TensorEntry(Path file, String name, DType dtype, long[] shape, long begin, long end) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** The shape as ints (a tensor's dimensions index Java arrays); an error naming the tensor if one does not fit. */
    public int[] intShape() {
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) {
            if (shape[i] > Integer.MAX_VALUE - 8)
                throw WeightsException.at(file, name, "dimension " + i + " of shape " + shapeString() + " is larger than a Java array holds");
            s[i] = (int) shape[i];
        }
        return s;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + shapeString();
    }
}
