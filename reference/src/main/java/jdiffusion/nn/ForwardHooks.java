package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

import java.util.function.Supplier;

/**
 * What a caller can do to a forward pass from the outside: intercept module calls (to serve them from
 * a cache, as DeepCache does) and observe named intermediates (for golden checks). The default runs
 * everything and observes nothing.
 */
public interface ForwardHooks {
    ForwardHooks NONE = new ForwardHooks() {
    };

    /** Runs (or replaces) the module call {@code id}; the default runs it. */
    default <T> T module(ModuleId id, Supplier<T> compute) {
        return compute.get();
    }

    /** Called with the output of named stages: conv_in, time_embedding, down_blocks.i, mid_block, up_blocks.i, conv_out. */
    default void intermediate(String name, Tensor value) {
    }
}
