package jdiffusion.cli;

import jdiffusion.kernels.Warmup;
import jdiffusion.sample.MemoryBudget;
import jdiffusion.sample.NonFiniteException;
import jdiffusion.weights.WeightsException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.io.UncheckedIOException;

/**
 * The jdiffusion command line: {@code ./jdiffusion <command> --help} documents each command.
 *
 * <p>Whatever goes wrong, the user gets one {@code error:} line and an exit code that says which kind of
 * failure it was (the README's command section lists them); the stack trace only with JDIFFUSION_DEBUG=1.
 */
@Command(name = "jdiffusion", mixinStandardHelpOptions = true, version = "jdiffusion 0.1.0",
        description = "Pure-Java diffusion inference: diffusers-exact models, schedulers and acceleration policies.",
        subcommands = {GenerateCommand.class, SampleCommand.class, ForwardCommand.class, CompareCommand.class, SweepCommand.class,
                PlanCommand.class, EvaluateCommand.class, BenchCommand.class, TokenizeCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:bad input (a file, key, option value or output path; the message names it)",
                "2:usage (unknown option, missing or unreadable value)", "3:no JDK 25 found (the launcher)",
                "4:out of memory (estimated before the run, or met during it)", "5:sampling produced non-finite numbers",
                "6:a sweep finished with failed configurations (rerun to retry them)", "7:internal error (a bug: please report it)"})
public final class Main implements Runnable {
    /** Exit codes, one per kind of failure (picocli's own: 2 for usage errors). */
    public static final int BAD_INPUT = 1, USAGE = CommandLine.ExitCode.USAGE, NO_JDK = 3, OUT_OF_MEMORY = 4, NON_FINITE = 5,
            SWEEP_FAILURES = 6, INTERNAL = 7;

    static final String DEBUG_HINT = "run with JDIFFUSION_DEBUG=1 for the stack trace";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "choose a command (e.g. generate, sample, forward)");
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        Checks.registerFiniteNumbers(cl);
        // exceptions: bad input as one clear line, anything else as one line with its own exit code
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> report(ex, cmd.getErr()));
        // errors (OutOfMemoryError, StackOverflowError) are not exceptions: picocli lets them through
        cl.setExecutionStrategy(parsed -> {
            try {
                return new CommandLine.RunLast().execute(parsed);
            } catch (VirtualMachineError | LinkageError e) {
                return report(e, parsed.commandSpec().commandLine().getErr());
            }
        });
        return cl;
    }

    /** Prints the {@code error:} line for {@code t} (its stack trace only with JDIFFUSION_DEBUG set) and returns the exit code. */
    static int report(Throwable t, PrintWriter err) {
        boolean debug = System.getenv("JDIFFUSION_DEBUG") != null;
        // a class whose static configuration is refused (e.g. -Djdiffusion.vectorBits=100) fails its initialisation: the cause says why
        if (t instanceof ExceptionInInitializerError e && e.getCause() != null) t = e.getCause();
        int code;
        String msg;
        if (t instanceof MemoryBudget.Exceeded) {
            code = OUT_OF_MEMORY;
            msg = t.getMessage();
        } else if (t instanceof NonFiniteException) {
            code = NON_FINITE;
            msg = t.getMessage();
        } else if (t instanceof WeightsException || t instanceof IllegalArgumentException || t instanceof IllegalStateException
                || t instanceof UncheckedIOException) {
            code = BAD_INPUT;
            msg = t.getMessage() != null ? t.getMessage() : t.toString();
        } else if (t instanceof OutOfMemoryError) {
            code = OUT_OF_MEMORY;
            msg = "out of memory (" + t.getMessage() + ", heap limit " + MemoryBudget.mib(Runtime.getRuntime().maxMemory())
                    + "): raise it with JDIFFUSION_HEAP (e.g. JDIFFUSION_HEAP=32g), or need less: --weights-dtype f16, a smaller --batch or --num-images; "
                    + DEBUG_HINT;
        } else if (t instanceof StackOverflowError) {
            code = OUT_OF_MEMORY;
            msg = "stack overflow: raise the thread stack with JDIFFUSION_JAVA_OPTS=-Xss64m; " + DEBUG_HINT;
        } else {
            code = INTERNAL;
            msg = "internal error (" + t + "); this is a bug, please report it with the command line; " + DEBUG_HINT;
        }
        err.println("error: " + msg);
        if (debug) t.printStackTrace(err);
        err.flush();
        return code;
    }

    public static void main(String[] args) {
        startWarmup(args);
        System.exit(commandLine().execute(args));
    }

    /** The commands that run models (and so the cpu backend's kernels, unless another --backend is chosen). */
    static final java.util.Set<String> COMPUTING = java.util.Set.of("generate", "sample", "forward", "compare", "sweep", "evaluate", "bench");

    /** The commands whose warm-up is on unless -Djdiffusion.warmup=false: those that run a sampling loop, where step 1 shows. */
    static boolean warmupByDefault(String command) {
        return command.equals("generate") || command.equals("sample");
    }

    /**
     * Starts compiling the cpu backend's kernels ({@link Warmup}) before picocli has even parsed the options, so that
     * it overlaps the option parsing and the weights' loading: only for {@link #COMPUTING} commands with the cpu
     * backend, not for --help or --version; by default only for {@link #warmupByDefault} commands, else with -Djdiffusion.warmup=true
     * (see {@link Warmup#start(int, boolean)}).
     * Whether it runs changes no result, only when the kernels are compiled.
     */
    static void startWarmup(String[] args) {
        if (args.length == 0 || !COMPUTING.contains(args[0])) return;
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h") || a.equals("--version") || a.equals("-V") || a.equals("--gemm-only")) return;
            String backend = a.startsWith("--backend=") ? a.substring("--backend=".length())
                    : a.equals("--backend") && i + 1 < args.length ? args[i + 1] : null;
            if (backend != null && !backend.equals("cpu")) return;
        }
        // the process's CPUs, not Backends.defaultThreads(): nothing here may throw before picocli reports errors
        Warmup.start(Runtime.getRuntime().availableProcessors(), warmupByDefault(args[0]));
    }
}
