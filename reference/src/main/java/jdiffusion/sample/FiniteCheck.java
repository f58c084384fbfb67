package jdiffusion.sample;

import jdiffusion.kernels.Backend;
import jdiffusion.nn.Ctx;
import jdiffusion.nn.DownBlock;
import jdiffusion.nn.ForwardHooks;
import jdiffusion.nn.ModuleId;
import jdiffusion.schedule.Scheduler;
import jdiffusion.tensor.Tensor;

import java.util.function.Supplier;

/**
 * The sampler's guard against silent garbage: every step's latent is checked for NaN and infinities (one
 * pass over the latent, cheap next to a UNet evaluation). Only after a failure is the step examined
 * further: which of the step's parts first produced a non-finite value — the latent entering the step,
 * the UNet (re-run with an observer that names the first module whose output is non-finite), classifier-
 * free guidance, or the scheduler's update.
 */
final class FiniteCheck {
    private FiniteCheck() {
    }

    /** Number of NaN or infinite values in {@code t}. */
    static long nonFinite(Tensor t) {
        long n = 0;
        for (float v : t.data()) if (!Float.isFinite(v)) n++;
        return n;
    }

    /** The initial latent must be finite (a noise file with NaN in it, say). */
    static void requireFiniteStart(Tensor xT) {
        long bad = nonFinite(xT);
        if (bad > 0)
            throw new NonFiniteException("the initial latent has " + bad + " non-finite (NaN or infinite) values of " + xT.numel() + ": nothing to sample from");
    }

    /** What step {@code i} computed, for the explanation of a failure. */
    record Step(int index, int steps, float t, Tensor latentIn, Tensor raw, Tensor eps, Tensor latentOut, Conditioning cond, boolean guided) {
    }

    /**
     * Stops the run if the step's output latent is not finite, with a message naming the step and the
     * first part of it (module of the UNet, guidance, scheduler) that produced a non-finite value.
     */
    static void requireFinite(Step s, Denoiser denoiser, Scheduler scheduler, Backend backend) {
        long bad = nonFinite(s.latentOut());
        if (bad == 0) return;
        String where;
        if (nonFinite(s.latentIn()) > 0) {
            where = "the latent entering the step was already non-finite (the acceleration policy's resampling)";
        } else if (nonFinite(s.raw()) > 0) {
            String module = firstNonFiniteModule(denoiser, backend, scheduler.scaleModelInput(s.latentIn(), s.index()), s);
            where = module != null ? "the first UNet module whose output went non-finite: " + module
                    : "the UNet output (a model output reused from an earlier step)";
        } else if (nonFinite(s.eps()) > 0) {
            where = "classifier-free guidance (g = " + s.cond().guidance() + ") made the finite model outputs non-finite";
        } else {
            where = "the scheduler's update (" + scheduler.config().kind().className + ") made finite inputs non-finite";
        }
        throw new NonFiniteException(String.format(java.util.Locale.ROOT,
                "sampling went non-finite at step %d of %d (t = %.1f): %d of %d latent values are NaN or infinite; %s. "
                        + "The weights may be finite while activations overflow float32: check the model's weights and inputs",
                s.index() + 1, s.steps(), s.t(), bad, s.latentOut().numel(), where));
    }

    /**
     * Re-runs the step's UNet evaluation with an observer and returns the first module (in the order
     * modules finish, so the innermost) or named stage whose output has a non-finite value; null if none
     * does (the output was reused from an earlier step).
     */
    static String firstNonFiniteModule(Denoiser denoiser, Backend backend, Tensor in, Step s) {
        String[] first = {null};
        ForwardHooks observer = new ForwardHooks() {
            @Override
            public <T> T module(ModuleId id, Supplier<T> compute) {
                T out = compute.get();
                Tensor t = out instanceof Tensor x ? x : out instanceof DownBlock.Out o ? o.hidden() : null;
                if (first[0] == null && t != null && nonFinite(t) > 0) first[0] = id.key();
                return out;
            }

            @Override
            public void intermediate(String name, Tensor value) {
                if (first[0] == null && nonFinite(value) > 0) first[0] = name;
            }
        };
        denoiser.raw(new Ctx(backend, observer), in, s.t(), s.cond(), s.guided());
        return first[0];
    }
}
