package jdiffusion.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import jdiffusion.cli.Cluster;
import jdiffusion.sweep.Sweep;
import jdiffusion.sweep.SweepRow;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.TaskInfo;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;

/**
 * The driver side of a job: a Spark session, one Spark job per submitted unit (its tasks one partition
 * each, in image order), results collected asynchronously so that the units a command submits ahead run
 * side by side. In local mode everything binds to the loopback address and the web UI is off.
 */
final class SparkCluster implements Cluster {
    private final SparkSession spark;
    private final JavaSparkContext jsc;
    private final List<String> commandLine;
    private final TaskTimes times = new TaskTimes();

    SparkCluster(String master, List<String> commandLine) {
        if (commandLine.isEmpty()) throw new IllegalArgumentException("no command to run on Spark");
        SparkSession.Builder b = SparkSession.builder().appName("jdiffusion " + commandLine.getFirst()).master(master)
                .config("spark.sql.debug.maxToStringFields", "100");   // a sweep row has 32 fields: no warning when its plan is printed
        if (master.startsWith("local")) {
            b.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").config("spark.ui.enabled", "false");
        } else if (System.getProperty("spark.jars") == null) {
            // started by ./jdiffusion rather than spark-submit: executors on other machines fetch this module's jar from the driver
            var src = SparkCluster.class.getProtectionDomain().getCodeSource();
            if (src != null && src.getLocation().getPath().endsWith(".jar")) b.config("spark.jars", src.getLocation().toString());
        }
        try {
            this.spark = b.getOrCreate();
        } catch (Exception e) {   // SparkException is a checked exception Scala throws undeclared; the user sees one line
            throw new IllegalArgumentException("--spark " + master + ": Spark could not start: " + e.getMessage(), e);
        }
        this.jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        this.commandLine = List.copyOf(commandLine);
        spark.sparkContext().addSparkListener(times);
    }

    @Override
    public String where() {
        return "Spark " + spark.version() + ", master " + jsc.master() + ", " + slots() + " task slots";
    }

    @Override
    public int slots() {
        return Math.max(1, jsc.defaultParallelism());
    }

    @Override
    public Job submit(String unit, int first, int count, int perTask) {
        if (count < 1 || perTask < 1) throw new IllegalArgumentException("nothing to submit: " + count + " images in tasks of " + perTask);
        List<Tasks.Task> tasks = new ArrayList<>();
        for (int f = first; f < first + count; f += perTask) tasks.add(new Tasks.Task(unit, f, Math.min(perTask, first + count - f)));
        jsc.setJobDescription(unit + " images [" + first + ", " + (first + count) + ")");
        JavaFutureAction<List<Tasks.Result>> results = jsc.parallelize(tasks, tasks.size()).map(new Tasks.Run(commandLine)).collectAsync();
        return () -> parts(unit, results);
    }

    private static List<Sweep.Part> parts(String unit, JavaFutureAction<List<Tasks.Result>> results) {
        List<Tasks.Result> rs;
        try {
            rs = results.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            results.cancel(true);
            throw new IllegalStateException("interrupted while waiting for the Spark job of " + unit);
        } catch (ExecutionException e) {
            Throwable c = e.getCause() == null ? e : e.getCause();
            String msg = String.valueOf(c.getMessage());
            int nl = msg.indexOf('\n');
            throw new UncheckedIOException("the Spark job of " + unit + " failed: " + (nl < 0 ? msg : msg.substring(0, nl)), new IOException(c));
        }
        List<Sweep.Part> parts = new ArrayList<>(rs.size());
        for (Tasks.Result r : rs) {
            if (r.error() != null)
                throw "IllegalStateException".equals(r.errorType()) ? new IllegalStateException(r.error()) : new IllegalArgumentException(r.error());
            parts.add(r.part());
        }
        return parts;
    }

    /**
     * The rows as Spark SQL reads them from their JSON form (the lines of rows.jsonl), written as one
     * Parquet file in a folder: into a temporary folder beside {@code dir}, then renamed over it. On a
     * cluster the write runs on an executor: {@code dir} must be on storage every node sees.
     */
    @Override
    public Path writeRows(Path dir, List<SweepRow> rows) {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        try {
            for (SweepRow r : rows) lines.add(json.writeValueAsString(r));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path abs = dir.toAbsolutePath().normalize();
        Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp"), old = abs.resolveSibling("." + abs.getFileName() + ".old");
        try {
            deleteTree(tmp);
            jsc.setJobDescription("rows table " + abs);
            spark.read().json(spark.createDataset(lines, Encoders.STRING())).coalesce(1).write().parquet(tmp.toUri().toString());
            deleteTree(old);
            if (Files.exists(abs)) move(abs, old);
            move(tmp, abs);
            deleteTree(old);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir + ": " + e.getMessage(), e);
        }
        return dir;
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    @Override
    public void close() {
        String summary = times.summary();
        spark.stop();
        if (summary != null) System.err.println("spark: " + summary);
    }

    /**
     * What Spark adds to the tasks' own work, for the line printed at the end: per task, its duration on
     * the executor minus its run time (scheduling delay, deserializing the task, serializing its result).
     */
    static final class TaskTimes extends SparkListener {
        private final List<Long> overheadMs = new ArrayList<>();
        private long runMs;
        private int jobs;

        @Override
        public synchronized void onJobStart(SparkListenerJobStart e) {
            jobs++;
        }

        @Override
        public synchronized void onTaskEnd(SparkListenerTaskEnd e) {
            TaskInfo i = e.taskInfo();
            if (e.taskMetrics() == null || !i.successful()) return;
            long run = e.taskMetrics().executorRunTime();
            runMs += run;
            overheadMs.add(i.duration() - run);
        }

        synchronized String summary() {
            if (overheadMs.isEmpty()) return null;
            List<Long> s = overheadMs.stream().sorted().toList();
            return String.format(Locale.ROOT, "%d tasks in %d jobs ran %.1f s; Spark's own time per task %d ms (median; max %d ms)",
                    s.size(), jobs, runMs / 1e3, s.get(s.size() / 2), s.getLast());
        }
    }
}
