package jdiffusion.nn;

import jdiffusion.tensor.Tensor;
import jdiffusion.weights.CheckpointReader;

/**
 * A position in the checkpoint's key tree ("down_blocks.1.attentions.0."), from which a module takes
 * its parameters by their diffusers names. With a checkpoint, missing and mis-shaped keys are collected
 * by the {@link CheckpointReader} and reported together when loading finishes.
 */
public final class Params {
    private final ParamSource reader;
    private final String prefix;

    public Params(CheckpointReader reader) {
        this(ParamSource.of(reader), "");
    }

    public Params(ParamSource source) {
        this(source, "");
    }

    private Params(ParamSource reader, String prefix) {
        this.reader = reader;
        this.prefix = prefix;
    }

    public Params at(String child) {
        return new Params(reader, prefix + child + ".");
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

    public Tensor take(String name, int... shape) {
        return Tensor.of(reader.take(prefix + name, shape), shape);
    }

    public Tensor takeOptional(String name, int... shape) {
        return has(name) ? take(name, shape) : null;
    }
}
