package jdiffusion.cli;

import jdiffusion.sweep.Sweep;
import jdiffusion.sweep.SweepRow;

import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Somewhere other than this JVM to compute a command's images: Apache Spark, provided by the spark
 * module (found with {@link ServiceLoader} when it is on the class path; {@code ./jdiffusion} puts it
 * there when {@code --spark} is given, spark-submit through its jar). The command runs here as usual,
 * as the driver; only its parts are computed elsewhere, by executors that parse the same command line
 * with the same picocli classes and ask the command for a {@link Distributable.Worker}. The engine and
 * the CLI never see Spark; Spark sees only this interface.
 */
public interface Cluster extends AutoCloseable {

    /** What the spark module registers in META-INF/services. */
    interface Provider {
        /** @param commandLine the command's arguments, as executors will parse them (subcommand first) */
        Cluster connect(String master, List<String> commandLine);
    }

    /** The cluster at {@code master}, or an error saying how to put Spark on the class path. */
    static Cluster connect(String master, List<String> commandLine) {
        for (Provider p : ServiceLoader.load(Provider.class)) return p.connect(master, commandLine);
        throw new IllegalStateException("--spark " + master + " needs the spark module and Apache Spark on the class path: run it through "
                + "./jdiffusion, which adds them when --spark is given, or submit jdiffusion-spark.jar with spark-submit (README, \"Cluster\")");
    }

    /** Where the work runs, for logs and reports, e.g. "Spark 4.2.0, master local[2], 2 task slots". */
    String where();

    /** Tasks that can run at once: how far ahead a driver submits work. */
    int slots();

    /**
     * Starts computing images [first, first + count) of one unit of the command's work (a sweep
     * configuration id, a guidance value, ...) in tasks of {@code perTask} images each, every task one
     * call of {@link Distributable.Worker#part} on an executor. Returns at once.
     */
    Job submit(String unit, int first, int count, int perTask);

    /** Submitted work. */
    interface Job {
        /**
         * Waits for the parts, in image order. An IllegalArgumentException or IllegalStateException a task
         * threw is thrown again here with its message (it would fail again: not retried); a task that kept
         * failing otherwise (lost executors, ...) fails the job with an UncheckedIOException.
         */
        List<Sweep.Part> await();
    }

    /** Writes a sweep's rows as a Parquet table (a folder) at {@code dir}, replacing an older one; returns it. */
    Path writeRows(Path dir, List<SweepRow> rows);

    @Override
    void close();
}
