package jdiffusion.kernels;

import java.util.List;

/** Creates backends by name: "scalar" (the reference) or "cpu" (Vector API + threads). */
public final class Backends {
    public static final List<String> NAMES = List.of("cpu", "scalar");

    private Backends() {
    }

    public static int defaultThreads() {
        String p = System.getProperty("jdiffusion.threads");
        return p != null ? Integer.parseInt(p) : Runtime.getRuntime().availableProcessors();
    }

    public static Backend create(String name, int threads) {
        return switch (name) {
            case "cpu" -> new CpuBackend(threads);
            case "scalar" -> new ScalarBackend();
            case "tornado" -> TornadoLoader.create();
            default -> throw new IllegalArgumentException("unknown backend '" + name + "' (choose cpu, scalar or tornado)");
        };
    }
}
