package jdiffusion.cli;

import jdiffusion.schedule.Scheduler;
import jdiffusion.schedule.Schedulers;
import jdiffusion.weights.config.SchedulerConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** --scheduler, --scheduler-config and --eta: which scheduler runs and with which diffusers config. */
public final class SchedulerOptions {
    @Option(names = "--scheduler", description = "ddim, ddpm, euler or dpmpp2m (DPM-Solver++ 2M). Default: the model's own scheduler if it is one of these, else ddim.")
    String name;

    @Option(names = "--scheduler-config", description = "A diffusers scheduler_config.json overriding the model's (keys of other schedulers are reported and not used).")
    Path configFile;

    @Option(names = "--eta", defaultValue = "0", description = "DDIM η (0 = deterministic DDIM; 1 = DDPM-like). Needs --scheduler ddim when > 0.")
    double eta;

    /** Builds the scheduler; {@code modelConfig} is the folder's scheduler_config.json or null. */
    public Scheduler create(Path modelConfig) {
        return create(name, configFile != null ? configFile : modelConfig, eta);
    }

    /**
     * The scheduler called {@code name} (null: the config's own kind if supported, else DDIM) with the
     * betas of {@code cfgFile} (null: diffusers' defaults); notes go to stderr. Used by sweep as well.
     */
    public static Scheduler create(String name, Path cfgFile, double eta) {
        SchedulerConfig.Kind kind;
        if (name != null) {
            kind = Schedulers.kindOf(name);
        } else if (cfgFile != null) {
            String cls = jdiffusion.weights.config.ConfigReader.read(cfgFile).json().path("_class_name").asText("");
            SchedulerConfig.Kind own = SchedulerConfig.Kind.ofClassName(cls);
            kind = own != null ? own : SchedulerConfig.Kind.DDIM;
            if (own == null) System.err.println("note: " + cfgFile + " is for " + cls + "; using DDIMScheduler with its betas (choose with --scheduler)");
        } else {
            kind = SchedulerConfig.Kind.DDIM;
        }
        if (eta < 0 || Double.isNaN(eta)) throw new IllegalArgumentException("--eta must be ≥ 0, got " + eta);
        if (eta > 0 && kind != SchedulerConfig.Kind.DDIM) throw new IllegalArgumentException("--eta applies to --scheduler ddim only");
        SchedulerConfig cfg;
        if (cfgFile != null) {
            cfg = SchedulerConfig.parse(cfgFile, kind);
            if (!cfg.notUsed().isEmpty())
                System.err.println("note: " + cfgFile.getFileName() + " keys not used by " + kind.className + ": " + cfg.notUsed());
        } else {
            cfg = SchedulerConfig.defaults(kind);
            System.err.println("note: the model has no scheduler config; using " + kind.className + " with diffusers' defaults (linear betas 1e-4..0.02, 1000 steps)");
        }
        return Schedulers.create(cfg, eta);
    }
}
