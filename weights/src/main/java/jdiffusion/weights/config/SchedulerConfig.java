package jdiffusion.weights.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A diffusers {@code scheduler_config.json}, read for one of the schedulers jdiffusion implements
 * ({@link Kind}), with that scheduler's own defaults for absent keys (they differ: e.g. Euler and
 * DPM-Solver default to "linspace" spacing, DDIM to "leading").
 *
 * <p>Like diffusers' {@code Scheduler.from_config(other.config)}, a config written for another
 * scheduler class can be read: keys that belong to other diffusers schedulers but not to this one are
 * listed in {@link #notUsed} (and shown to the user); keys no diffusers scheduler knows are errors.
 */
public record SchedulerConfig(
        Kind kind, String fileClassName, int numTrainTimesteps, double betaStart, double betaEnd,
        String betaSchedule, double[] trainedBetas, String predictionType, String timestepSpacing,
        int stepsOffset, boolean clipSample, double clipSampleRange, boolean setAlphaToOne,
        String varianceType, int solverOrder, String solverType, boolean lowerOrderFinal,
        List<String> notUsed) {

    /** The schedulers jdiffusion implements, with their diffusers class names. */
    public enum Kind {
        DDIM("DDIMScheduler"), DDPM("DDPMScheduler"), EULER("EulerDiscreteScheduler"), DPMPP_2M("DPMSolverMultistepScheduler");
        public final String className;

        Kind(String className) {
            this.className = className;
        }

        public static Kind ofClassName(String name) {
            for (Kind k : values()) if (k.className.equals(name)) return k;
            return null;
        }
    }

    /** Upper bound of num_train_timesteps (diffusers' models use 1000; a few use 4000). */
    public static final int MAX_TRAIN_TIMESTEPS = 1_000_000;

    private static final Set<String> COMMON = Set.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "prediction_type", "timestep_spacing", "steps_offset", "rescale_betas_zero_snr");
    private static final Set<String> THRESHOLDING = Set.of("thresholding", "dynamic_thresholding_ratio", "sample_max_value");
    private static final Set<String> DDIM = Set.of("clip_sample", "clip_sample_range", "set_alpha_to_one");
    private static final Set<String> DDPM = Set.of("clip_sample", "clip_sample_range", "variance_type");
    private static final Set<String> SIGMAS = Set.of("use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "final_sigmas_type");
    private static final Set<String> EULER = Set.of("interpolation_type", "sigma_min", "sigma_max", "timestep_type");
    private static final Set<String> DPM = Set.of("solver_order", "algorithm_type", "solver_type", "lower_order_final",
            "euler_at_final", "use_lu_lambdas", "lambda_min_clipped", "variance_type");
    /** Keys of other diffusers schedulers (PNDM, LMS, Heun, UniPC, ...) that may be carried over by from_config. */
    private static final Set<String> OTHER = Set.of("skip_prk_steps", "predict_x0", "solver_p", "disable_corrector",
            "timestep_values", "use_flow_sigmas", "flow_shift", "noise_sampler_seed", "s_noise", "s_churn", "s_tmin", "s_tmax");

    static Set<String> keysOf(Kind k) {
        Set<String> s = new LinkedHashSet<>(COMMON);
        switch (k) {
            case DDIM -> { s.addAll(DDIM); s.addAll(THRESHOLDING); }
            case DDPM -> { s.addAll(DDPM); s.addAll(THRESHOLDING); }
            case EULER -> { s.addAll(EULER); s.addAll(SIGMAS); }
            case DPMPP_2M -> { s.addAll(DPM); s.addAll(SIGMAS); s.addAll(THRESHOLDING); }
        }
        return s;
    }

    /** Reads {@code file} for the scheduler named by its own {@code _class_name}. */
    public static SchedulerConfig parse(Path file) {
        ConfigReader r = ConfigReader.read(file);
        String cls = r.className();
        Kind k = Kind.ofClassName(cls);
        if (k == null) throw r.error("_class_name", "'" + cls + "' is not implemented; choose one of DDIM, DDPM, Euler, DPM-Solver++ (e.g. --scheduler ddim)");
        return parse(r, k);
    }

    /** Reads {@code file} for scheduler {@code kind}, whatever class the file was written for. */
    public static SchedulerConfig parse(Path file, Kind kind) {
        return parse(ConfigReader.read(file), kind);
    }

    public static SchedulerConfig parse(ConfigReader r, Kind k) {
        String fileClass = r.string("_class_name", null);
        boolean dpm = k == Kind.DPMPP_2M, euler = k == Kind.EULER;
        // the schedule's arrays have num_train_timesteps entries: bounded so that a typo cannot exhaust the heap
        int n = r.integer("num_train_timesteps", 1000, 1, MAX_TRAIN_TIMESTEPS);
        // β is a variance in (0, 1): α = 1 − β must stay in (0, 1) for ᾱ, σ and log-SNR to be finite
        double b0 = r.numberBetween("beta_start", 0.0001, 0, 1);
        double b1 = r.numberBetween("beta_end", 0.02, 0, 1);
        String sched = r.string("beta_schedule", "linear", "linear", "scaled_linear", "squaredcos_cap_v2");
        double[] trained = r.numbersBetween("trained_betas", 0, 1);
        if (trained != null)
            r.require(trained.length == n, "trained_betas", "has " + trained.length + " entries; it must have num_train_timesteps (" + n + ")");
        String pred = r.string("prediction_type", "epsilon", "epsilon", "v_prediction", "sample");
        String spacing = r.string("timestep_spacing", euler || dpm ? "linspace" : "leading", "leading", "linspace", "trailing");
        int offset = r.integer("steps_offset", 0, 0, n - 1);   // timesteps index the n-entry schedule
        r.onlyDefault("rescale_betas_zero_snr", false);

        Set<String> mine = keysOf(k);
        boolean clip = false, alphaOne = false;
        double clipRange = 1.0;
        String variance = null, solverType = null;
        int order = 0;
        boolean lowerFinal = false;
        if (mine.contains("clip_sample")) {
            clip = r.bool("clip_sample", true);
            clipRange = r.positiveNumber("clip_sample_range", 1.0);
        }
        if (mine.contains("set_alpha_to_one")) alphaOne = r.bool("set_alpha_to_one", true);
        if (mine.contains("thresholding")) {
            r.onlyDefault("thresholding", false);
            r.inert("dynamic_thresholding_ratio", "sample_max_value"); // used only when thresholding
        }
        if (k == Kind.DDPM) variance = r.string("variance_type", "fixed_small", "fixed_small", "fixed_large");
        if (mine.contains("use_karras_sigmas")) {
            r.onlyDefault("use_karras_sigmas", false);
            r.onlyDefault("use_exponential_sigmas", false);
            r.onlyDefault("use_beta_sigmas", false);
            r.string("final_sigmas_type", "zero", "zero");
        }
        if (euler) {
            r.string("interpolation_type", "linear", "linear");
            r.onlyDefault("sigma_min", (Object) null);
            r.onlyDefault("sigma_max", (Object) null);
            r.string("timestep_type", "discrete", "discrete");
        }
        if (dpm) {
            order = r.integer("solver_order", 2, 1, 2);   // only orders 1 and 2 are implemented
            r.string("algorithm_type", "dpmsolver++", "dpmsolver++");
            solverType = r.string("solver_type", "midpoint", "midpoint", "heun");
            lowerFinal = r.bool("lower_order_final", true);
            r.onlyDefault("euler_at_final", false);
            r.onlyDefault("use_lu_lambdas", false);
            r.onlyDefault("variance_type", (Object) null);
            var lmc = r.json().get("lambda_min_clipped");
            if (lmc != null && !lmc.isNull() && !(lmc.isTextual() && lmc.asText().equals("-inf")) && !(lmc.isNumber() && lmc.asDouble() == Double.NEGATIVE_INFINITY))
                throw r.error("lambda_min_clipped", "only -inf (no clipping) is supported, found " + lmc);
            r.inert("lambda_min_clipped");
        }
        List<String> notUsed = new ArrayList<>();
        Set<String> known = new LinkedHashSet<>();
        for (Kind other : Kind.values()) known.addAll(keysOf(other));
        known.addAll(OTHER);
        r.json().fieldNames().forEachRemaining(key -> {
            if (!key.startsWith("_") && !mine.contains(key) && known.contains(key)) notUsed.add(key);
        });
        r.inert(notUsed.toArray(String[]::new));
        r.finish();
        return new SchedulerConfig(k, fileClass, n, b0, b1, sched, trained, pred, spacing, offset, clip, clipRange,
                alphaOne, variance, order, solverType, lowerFinal, List.copyOf(notUsed));
    }

    /** A config with diffusers' defaults for {@code kind} and the given betas (for tests and bundled models). */
    public static SchedulerConfig defaults(Kind kind) {
        var r = new ConfigReader(Path.of("<defaults>"), new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode());
        return parse(r, kind);
    }
}
