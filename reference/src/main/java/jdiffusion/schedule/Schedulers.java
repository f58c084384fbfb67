package jdiffusion.schedule;

import jdiffusion.weights.config.SchedulerConfig;
import jdiffusion.weights.config.SchedulerConfig.Kind;

import java.util.List;
import java.util.Locale;

/** Creates schedulers from configs, and maps the CLI's scheduler names to {@link Kind}s. */
public final class Schedulers {
    private Schedulers() {
    }

    /** The CLI names, in the order of {@link Kind}: ddim, ddpm, euler, dpmpp2m. */
    public static final List<String> NAMES = List.of("ddim", "ddpm", "euler", "dpmpp2m");

    /**
     * The scheduler {@code cfg} describes. {@code eta} is DDIM's η (0 = deterministic DDIM, 1 = DDPM-like
     * noise); the other schedulers have no η and reject a non-zero one rather than ignore it.
     */
    public static Scheduler create(SchedulerConfig cfg, double eta) {
        if (cfg.kind() != Kind.DDIM && eta != 0)
            throw new IllegalArgumentException("eta = " + eta + " applies only to DDIM, not to " + name(cfg.kind()));
        return switch (cfg.kind()) {
            case DDIM -> new DdimScheduler(cfg, eta);
            case DDPM -> new DdpmScheduler(cfg);
            case EULER -> new EulerDiscreteScheduler(cfg);
            case DPMPP_2M -> new DpmSolverMultistepScheduler(cfg);
        };
    }

    /** The CLI name of a scheduler kind. */
    public static String name(Kind kind) {
        return switch (kind) {
            case DDIM -> "ddim";
            case DDPM -> "ddpm";
            case EULER -> "euler";
            case DPMPP_2M -> "dpmpp2m";
        };
    }

    /** The kind a CLI name stands for (case-insensitive). */
    public static Kind kindOf(String name) {
        for (Kind k : Kind.values()) if (name(k).equals(name.toLowerCase(Locale.ROOT))) return k;
        throw new IllegalArgumentException("unknown scheduler '" + name + "' (choose one of " + String.join(", ", NAMES) + ")");
    }
}
