package jdiffusion.spark;

import jdiffusion.cli.Main;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The jdiffusion command line with Spark on the class path: what {@code ./jdiffusion} runs when
 * {@code --spark} is given, and the main class of jdiffusion-spark.jar for spark-submit. The commands,
 * their options and their checks are the CLI's own ({@link Main}); this module only provides the
 * {@link jdiffusion.cli.Cluster} they find. Under spark-submit (which sets spark.master), a command
 * that takes {@code --spark} and was not given it runs on the master spark-submit was given.
 */
public final class SparkMain {
    private SparkMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        return Main.commandLine().execute(withSubmitMaster(args, System.getProperty("spark.master")).toArray(String[]::new));
    }

    /** The arguments, with --spark MASTER added when spark-submit set a master and the command takes --spark but was not given it. */
    static List<String> withSubmitMaster(String[] args, String master) {
        List<String> a = new ArrayList<>(Arrays.asList(args));
        if (master == null || a.isEmpty() || a.stream().anyMatch(s -> s.equals("--spark") || s.startsWith("--spark="))) return a;
        CommandLine sub = Main.commandLine().getSubcommands().get(a.getFirst());
        if (sub != null && sub.getCommandSpec().findOption("--spark") != null) a.addAll(List.of("--spark", master));
        return a;
    }
}
