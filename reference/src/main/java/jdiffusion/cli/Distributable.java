package jdiffusion.cli;

import jdiffusion.sweep.Sweep;

/**
 * A command whose images a {@link Cluster} can compute: an executor parses the command line it was given
 * with the same picocli classes as the driver, asks the command for a {@link Worker} once per JVM (the
 * model memory-mapped, loaded once) and computes its tasks with it. So what a task computes is defined
 * by exactly the options the user typed, and by the same code as a run without a cluster.
 */
public interface Distributable {

    /** Loads what the command's images need (model, backend, conditioning). */
    Worker worker();

    /** Computes parts of the command's work; safe to call from several threads at once. */
    @FunctionalInterface
    interface Worker {
        /** Images [first, first + count) of {@code unit} (first at a batch boundary), bit for bit as a run of all images makes them. */
        Sweep.Part part(String unit, int first, int count);
    }
}
