package jdiffusion.nn;

import jdiffusion.kernels.Backend;
import jdiffusion.tensor.Tensor;
import jdiffusion.tensor.TensorArena;

import java.util.function.Supplier;

/**
 * What a forward pass runs with: the backend that does the arithmetic and the caller's hooks.
 *
 * <p>Activation lifetimes (see {@link TensorArena}): a model runs its forward inside {@link #pass}, and
 * each module {@link Tensor#release() releases} the tensors it obtained from operations or submodules
 * after their last use — never its inputs (they belong to its caller) nor what it returns.
 */
public record Ctx(Backend backend, ForwardHooks hooks) {
    public Ctx(Backend backend) {
        this(backend, ForwardHooks.NONE);
    }

    /** Runs a model's forward pass on the backend's arena (recycled activations), or as it is when the backend has none. */
    public <T> T pass(Supplier<T> body) {
        TensorArena arena = backend.arena();
        return arena == null ? body.get() : arena.pass(body);
    }

    /**
     * Shows a named stage's output to the hooks. Hooks may keep what they are shown (golden tests record
     * the intermediates), so the tensor is pinned first: it is never recycled.
     */
    public void intermediate(String name, Tensor value) {
        if (hooks == ForwardHooks.NONE) return;
        value.pin();
        hooks.intermediate(name, value);
    }
}
