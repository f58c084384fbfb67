package jdiffusion.cli;

import jdiffusion.schedule.Schedulers;
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

    /** Resolves the scheduler for a model whose folder has {@code modelConfig} (or null); notes go to stderr. */
    public Schedulers.Resolved resolve(Path modelConfig) {
        return resolve(name, configFile != null ? configFile : modelConfig, eta);
    }

    /** {@link Schedulers#resolve}, its notes printed for the user. */
    public static Schedulers.Resolved resolve(String name, Path cfgFile, double eta) {
        Schedulers.Resolved r = Schedulers.resolve(name, cfgFile, eta);
        r.notes().forEach(n -> System.err.println("note: " + n));
        return r;
    }
}
