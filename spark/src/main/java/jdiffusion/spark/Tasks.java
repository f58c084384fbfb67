package jdiffusion.spark;

import jdiffusion.cli.Distributable;
import jdiffusion.cli.Main;
import jdiffusion.sample.Generation;
import jdiffusion.sample.StepAction;
import jdiffusion.sample.StepPlan;
import jdiffusion.sample.StepRecord;
import jdiffusion.sample.Trace;
import jdiffusion.sweep.Sweep;
import jdiffusion.tensor.Tensor;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.Function;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The executor side of a job. A task is one {@link Distributable.Worker#part} call; the worker comes
 * from parsing the driver's command line with the CLI's own classes, once per executor JVM (and thread
 * count), so the model is loaded (memory-mapped) once and shared by every task that JVM runs.
 */
final class Tasks {
    private Tasks() {
    }

    /** Images [first, first + count) of one unit of work (a configuration id, a guidance value, ...). */
    record Task(String unit, int first, int count) implements Serializable {
    }

    /**
     * Test hook: a task for which it answers true fails on its first attempt, as one on a lost executor
     * would. Null except in tests; it reaches executors only in local mode (the same JVM).
     */
    static volatile Predicate<Task> failFirstAttempt;

    private static final Map<List<String>, Distributable.Worker> WORKERS = new ConcurrentHashMap<>();

    /** The function Spark runs per task: the part, or the message of an error that would happen again on any attempt. */
    static final class Run implements Function<Task, Result> {
        private static final long serialVersionUID = 1L;
        private final ArrayList<String> commandLine;

        Run(List<String> commandLine) {
            this.commandLine = new ArrayList<>(commandLine);
        }

        @Override
        public Result call(Task t) {
            TaskContext ctx = TaskContext.get();
            Predicate<Task> hook = failFirstAttempt;
            if (hook != null && ctx != null && ctx.attemptNumber() == 0 && hook.test(t))
                throw new RuntimeException("injected failure of " + t + " (first attempt)");
            Distributable.Worker w = worker(commandLine, ctx == null ? 1 : ctx.cpus());
            try {
                return Result.of(t, w.part(t.unit(), t.first(), t.count()));
            } catch (IllegalArgumentException | IllegalStateException e) {
                return new Result(t, null, null, null, Double.NaN, 0, e.getClass().getSimpleName(), e.getMessage());
            }
        }
    }

    /**
     * This JVM's worker for a command line. Tasks run with {@code cpus} backend threads each (Spark's
     * spark.task.cpus, 1 by default) unless the command line gives --threads: Spark runs one task per
     * slot, so the cores are used by tasks side by side rather than by threads within one.
     */
    static Distributable.Worker worker(List<String> commandLine, int cpus) {
        List<String> key = new ArrayList<>(commandLine);
        key.add("\u0000cpus=" + cpus);
        return WORKERS.computeIfAbsent(List.copyOf(key), k -> create(commandLine, cpus));
    }

    private static Distributable.Worker create(List<String> commandLine, int cpus) {
        List<String> args = new ArrayList<>(commandLine);
        CommandLine.ParseResult sub = Main.commandLine().parseArgs(args.toArray(String[]::new)).subcommand();
        if (sub == null || !(sub.commandSpec().userObject() instanceof Distributable))
            throw new IllegalArgumentException("'" + String.join(" ", commandLine) + "' is not a command that runs on a cluster (sweep, evaluate, generate)");
        if (!sub.hasMatchedOption("--threads")) {
            args.addAll(List.of("--threads", Integer.toString(cpus)));
            sub = Main.commandLine().parseArgs(args.toArray(String[]::new)).subcommand();
        }
        return ((Distributable) sub.commandSpec().userObject()).worker();
    }

    /**
     * A task's result as it travels to the driver: the images' float32 values and the traces, exactly
     * (Java serialization of the arrays; the traces in a small binary form), or an error.
     */
    record Result(Task task, int[] shape, float[] images, byte[] traces, double refLatencyMs, double seconds, String errorType, String error)
            implements Serializable {

        static Result of(Task t, Sweep.Part p) {
            Tensor im = p.generation().images();
            return new Result(t, im.shape(), im.data().clone(), encode(p.generation().traces()), p.refLatencyMs(), p.seconds(), null, null);
        }

        Sweep.Part part() {
            return new Sweep.Part(task.first(), new Generation(Tensor.of(images, shape), decode(traces)), refLatencyMs, seconds);
        }
    }

    static byte[] encode(List<Trace> traces) {
        try {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            DataOutputStream o = new DataOutputStream(b);
            o.writeInt(traces.size());
            for (Trace t : traces) {
                writeString(o, t.model());
                writeString(o, t.scheduler());
                writeString(o, t.policy());
                o.writeInt(t.steps());
                o.writeLong(t.fullStepMacs());
                o.writeInt(t.records().size());
                for (StepRecord r : t.records()) {
                    o.writeInt(r.index());
                    o.writeFloat(r.timestep());
                    o.writeInt(r.action().ordinal());
                    o.writeBoolean(r.lowRes());
                    o.writeLong(r.macs());
                    o.writeDouble(r.ms());
                    int[] res = r.resolution() == null ? new int[0] : r.resolution();
                    o.writeInt(r.resolution() == null ? -1 : res.length);
                    for (int v : res) o.writeInt(v);
                    writeCriterion(o, r.criterion());
                    o.writeInt(r.samples().size());   // per sample: its action and (per-sample decisions) criterion
                    for (StepPlan.Sample p : r.samples()) {
                        o.writeInt(p.action().ordinal());
                        writeCriterion(o, p.criterion());
                    }
                }
            }
            o.flush();
            return b.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Trace> decode(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            int n = in.readInt();
            List<Trace> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                String model = readString(in), scheduler = readString(in), policy = readString(in);
                int steps = in.readInt();
                long fullStepMacs = in.readLong();
                int m = in.readInt();
                List<StepRecord> records = new ArrayList<>(m);
                for (int k = 0; k < m; k++) {
                    int index = in.readInt();
                    float timestep = in.readFloat();
                    StepAction action = StepAction.values()[in.readInt()];
                    boolean lowRes = in.readBoolean();
                    long macs = in.readLong();
                    double ms = in.readDouble();
                    int rl = in.readInt();
                    int[] res = rl < 0 ? null : new int[rl];
                    for (int j = 0; j < rl; j++) res[j] = in.readInt();
                    Map<String, Double> crit = readCriterion(in);
                    int ns = in.readInt();
                    List<StepPlan.Sample> samples = new ArrayList<>(ns);
                    for (int j = 0; j < ns; j++) samples.add(new StepPlan.Sample(StepAction.values()[in.readInt()], readCriterion(in)));
                    records.add(new StepRecord(index, timestep, action, lowRes, macs, ms, res, crit, samples));
                }
                out.add(new Trace(model, scheduler, policy, steps, fullStepMacs, List.copyOf(records)));
            }
            return List.copyOf(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A criterion map in its order; null (the map, or a value) survives as null. */
    private static void writeCriterion(DataOutputStream o, Map<String, Double> c) throws IOException {
        o.writeInt(c == null ? -1 : c.size());
        if (c != null) for (var e : c.entrySet()) {
            writeString(o, e.getKey());
            o.writeBoolean(e.getValue() != null);
            if (e.getValue() != null) o.writeDouble(e.getValue());
        }
    }

    private static Map<String, Double> readCriterion(DataInputStream in) throws IOException {
        int cl = in.readInt();
        Map<String, Double> crit = cl < 0 ? null : new LinkedHashMap<>();
        for (int j = 0; j < cl; j++) {
            String key = readString(in);
            crit.put(key, in.readBoolean() ? in.readDouble() : null);
        }
        return crit;
    }

    private static void writeString(DataOutputStream o, String s) throws IOException {
        o.writeBoolean(s != null);
        if (s != null) o.writeUTF(s);
    }

    private static String readString(DataInputStream in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }
}
