package jdiffusion.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One CLI invocation as a user makes it, in-process: exit code and what picocli wrote to out and err. */
public record CliRun(int code, String out, String err) {

    public static CliRun run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new CliRun(code, out.toString(), err.toString());
    }

    /**
     * As {@link #run}, also capturing what the command printed to System.out and System.err (bench prints its
     * results there, picocli's tracer its warnings): out and err hold picocli's text followed by the stream's.
     */
    public static CliRun runCapturingSystemStreams(String... args) {
        java.io.PrintStream oldOut = System.out, oldErr = System.err;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(), err = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
        System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        CliRun r;
        try {
            r = run(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new CliRun(r.code(), r.out() + out.toString(java.nio.charset.StandardCharsets.UTF_8),
                r.err() + err.toString(java.nio.charset.StandardCharsets.UTF_8));
    }
}
