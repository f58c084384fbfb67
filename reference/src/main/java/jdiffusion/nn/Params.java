package jdiffusion.nn;

import jdiffusion.kernels.HalfFloats;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.CheckpointReader;
import jdiffusion.weights.DType;

/**
 * A position in the checkpoint's key tree ("down_blocks.1.attentions.0."), from which a module takes
 * its parameters by their diffusers names. With a checkpoint, missing and mis-shaped keys are collected
 * by the {@link CheckpointReader} and reported together when loading finishes. Conv and linear weights
 * (parameters named "weight" of rank ≥ 2) are kept in the requested {@link WeightPrecision}.
 */
public final class Params {
    private final ParamSource reader;
    private final String prefix;
    private final WeightPrecision precision;

    public Params(CheckpointReader reader) {
        this(ParamSource.of(reader), "", WeightPrecision.F32);
    }

    public Params(ParamSource source) {
        this(source, "", WeightPrecision.F32);
    }

    public Params(ParamSource source, WeightPrecision precision) {
        this(source, "", precision);
    }

    private Params(ParamSource reader, String prefix, WeightPrecision precision) {
        this.reader = reader;
        this.prefix = prefix;
        this.precision = precision;
    }

    public Params at(String child) {
        return new Params(reader, prefix + child + ".", precision);
    }

    public Params at(String child, int index) {
        return at(child + "." + index);
    }

    /** The checkpoint key of this position (without the trailing dot), e.g. "down_blocks.1.resnets.0". */
    public String path() {
        return prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1);
    }

    public boolean has(String name) {
        return reader.has(prefix + name);
    }

    /**
     * The parameter {@code name} of this position. Where the source does not hold it in this shape, a
     * storage-less placeholder of the shape ({@link Tensor#shapeOnly}) stands in, so the model can be
     * built to the end and every problem reported together; nothing of the configured size is allocated.
     */
    public Tensor take(String name, int... shape) {
        float[] v = reader.take(prefix + name, shape);
        if (v == null) return Tensor.shapeOnly(shape);
        if (precision == WeightPrecision.F32 || shape.length < 2 || !name.equals("weight")) return Tensor.of(v, shape);
        DType dt = precision.storage(reader.dtype(prefix + name));
        if (dt == DType.F32) return Tensor.of(v, shape);
        boolean bf16 = dt == DType.BF16;
        short[] bits = new short[v.length];
        for (int i = 0; i < v.length; i++) bits[i] = HalfFloats.fromFloat(v[i], bf16);
        return Tensor.ofHalf(bits, bf16, shape);
    }

    public Tensor takeOptional(String name, int... shape) {
        return has(name) ? take(name, shape) : null;
    }
}
