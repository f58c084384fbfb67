package jdiffusion.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.cli.Main;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Running jdiffusion commands in this JVM (Spark's local mode runs its executors here too) and reading what they wrote. */
final class Runs {
    private Runs() {
    }

    static final ObjectMapper JSON = new ObjectMapper();
    static final Path ROOT = Path.of(System.getProperty("jdiffusion.root", "..")).toAbsolutePath().normalize();
    static final Path MODEL = ROOT.resolve("weights/models/fashion-ddpm-32");

    /** What a command returned and printed to its error stream. */
    record Result(int exit, String err) {
    }

    /** Runs a command line as SparkMain does (the CLI with Spark on the class path). */
    static Result run(List<String> args) {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(SparkMain.withSubmitMaster(args.toArray(String[]::new), null).toArray(String[]::new));
        return new Result(exit, err.toString());
    }

    static List<String> args(String... a) {
        return new ArrayList<>(List.of(a));
    }

    static List<String> plus(List<String> a, String... more) {
        List<String> out = new ArrayList<>(a);
        out.addAll(List.of(more));
        return out;
    }

    /** The JSON lines of a file, in order, without the fields named. */
    static List<JsonNode> lines(Path f, Set<String> without) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            ObjectNode n = (ObjectNode) JSON.readTree(line);
            n.remove(without);
            out.add(n);
        }
        return out;
    }
}
