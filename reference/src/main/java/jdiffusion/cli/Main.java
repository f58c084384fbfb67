package jdiffusion.cli;

import jdiffusion.weights.WeightsException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The jdiffusion command line: {@code ./jdiffusion <command> --help} documents each command. */
@Command(name = "jdiffusion", mixinStandardHelpOptions = true, version = "jdiffusion 0.1.0",
        description = "Pure-Java diffusion inference: diffusers-exact models, schedulers and acceleration policies.",
        subcommands = {GenerateCommand.class, SampleCommand.class, ForwardCommand.class, CompareCommand.class, SweepCommand.class,
                PlanCommand.class, EvaluateCommand.class, BenchCommand.class, TokenizeCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "choose a command (e.g. generate, sample, forward)");
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        // bad input (files, keys, options) is reported as one clear line, not a stack trace
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof WeightsException || ex instanceof IllegalArgumentException || ex instanceof IllegalStateException
                    || ex instanceof java.io.UncheckedIOException) {
                cmd.getErr().println("error: " + ex.getMessage());
                if (System.getenv("JDIFFUSION_DEBUG") != null) ex.printStackTrace(cmd.getErr());
                return 1;
            }
            throw ex;
        });
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
