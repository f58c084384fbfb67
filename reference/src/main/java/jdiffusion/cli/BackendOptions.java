package jdiffusion.cli;

import jdiffusion.kernels.Backend;
import jdiffusion.kernels.Backends;
import picocli.CommandLine.Option;

/** --backend and --threads, shared by every command that computes. */
public final class BackendOptions {
    @Option(names = "--backend", defaultValue = "cpu",
            description = "Arithmetic backend: cpu (Vector API, threads; default), scalar (the auditable reference), tornado (TornadoVM, if built).")
    String backend;

    @Option(names = "--threads", description = "Worker threads for the cpu backend (default: all cores). Results are identical for any count.")
    Integer threads;

    public Backend create() {
        int t = threads == null ? Backends.defaultThreads() : threads;
        if (t < 1) throw new IllegalArgumentException("--threads must be at least 1, got " + t);
        if (!backend.equals("cpu") && !backend.equals("scalar") && !backend.equals("tornado"))
            throw new IllegalArgumentException("--backend must be cpu, scalar or tornado, got '" + backend + "'");
        return Backends.create(backend, t);
    }
}
