package jdiffusion.nn;

import jdiffusion.kernels.Backend;

/** What a forward pass runs with: the backend that does the arithmetic and the caller's hooks. */
public record Ctx(Backend backend, ForwardHooks hooks) {
    public Ctx(Backend backend) {
        this(backend, ForwardHooks.NONE);
    }
}
