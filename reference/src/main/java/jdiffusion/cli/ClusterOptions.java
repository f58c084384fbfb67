package jdiffusion.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

import java.util.List;

/** --spark MASTER: compute the images on Apache Spark (see {@link Cluster}). */
public final class ClusterOptions {
    @Option(names = "--spark", paramLabel = "MASTER",
            description = {"Compute the images as Apache Spark tasks: local[N] (N cores of this machine), local[N,F] (F attempts per task), "
                    + "spark://HOST:7077 (a standalone cluster). Results are identical to a run without it. "
                    + "Paths (--model, --cond) must be valid on every worker. Needs the spark module: ./jdiffusion adds it."})
    String master;

    /** The cluster --spark names (the caller closes it), or null without --spark. */
    Cluster connect(CommandSpec spec) {
        if (master == null) return null;
        if (master.isBlank()) throw new IllegalArgumentException("--spark needs a master URL, e.g. local[2] or spark://host:7077");
        List<String> args = spec.commandLine().getParseResult().originalArgs();
        return Cluster.connect(master, args);
    }

    boolean given() {
        return master != null;
    }
}
