package jdiffusion.schedule;

import jdiffusion.weights.config.SchedulerConfig;
import jdiffusion.weights.config.SchedulerConfig.Kind;

import java.nio.file.Path;
import java.util.ArrayList;
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

    /**
     * Which scheduler runs, decided from the user's choice and the model's config file, with the notes a
     * user should read about that decision (a config for another scheduler, keys it does not use, no
     * config at all). Callers print or record the notes; this layer never prints.
     *
     * @param config the scheduler's config: the file's betas with the chosen kind, or diffusers' defaults
     * @param eta    DDIM's η (0 for every other kind)
     */
    public record Resolved(SchedulerConfig config, double eta, List<String> notes) {
        /** A fresh scheduler (schedulers hold per-run state: one per sampling run). */
        public Scheduler create() {
            return Schedulers.create(config, eta);
        }
    }

    /**
     * The scheduler called {@code name} (null: the config's own kind if supported, else DDIM) with the
     * betas of {@code cfgFile} (null: diffusers' defaults).
     */
    public static Resolved resolve(String name, Path cfgFile, double eta) {
        List<String> notes = new ArrayList<>();
        Kind kind;
        if (name != null) {
            kind = kindOf(name);
        } else if (cfgFile != null) {
            String cls = jdiffusion.weights.config.ConfigReader.read(cfgFile).json().path("_class_name").asText("");
            Kind own = Kind.ofClassName(cls);
            kind = own != null ? own : Kind.DDIM;
            if (own == null) notes.add(cfgFile + " is for " + cls + "; using DDIMScheduler with its betas (choose with --scheduler)");
        } else {
            kind = Kind.DDIM;
        }
        if (eta < 0 || !Double.isFinite(eta)) throw new IllegalArgumentException("--eta must be a finite number ≥ 0, got " + eta);
        if (eta > 0 && kind != Kind.DDIM) throw new IllegalArgumentException("--eta applies to --scheduler ddim only");
        SchedulerConfig cfg;
        if (cfgFile != null) {
            cfg = SchedulerConfig.parse(cfgFile, kind);
            if (!cfg.notUsed().isEmpty())
                notes.add(cfgFile.getFileName() + " keys not used by " + kind.className + ": " + cfg.notUsed());
        } else {
            cfg = SchedulerConfig.defaults(kind);
            notes.add("the model has no scheduler config; using " + kind.className + " with diffusers' defaults (linear betas 1e-4..0.02, 1000 steps)");
        }
        return new Resolved(cfg, eta, List.copyOf(notes));
    }
}
