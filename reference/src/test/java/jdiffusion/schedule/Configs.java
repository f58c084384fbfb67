package jdiffusion.schedule;

import jdiffusion.weights.config.SchedulerConfig;
import jdiffusion.weights.config.SchedulerConfig.Kind;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Scheduler configs for tests, written as scheduler_config.json files and read by the real parser. */
final class Configs {
    private Configs() {
    }

    /** {@code keys} is the JSON object body without braces, e.g. {@code "\"solver_order\": 1"} (may be empty). */
    static SchedulerConfig parse(Kind kind, String keys) {
        try {
            Path f = Files.createTempFile("scheduler_config", ".json");
            try {
                Files.writeString(f, "{\"_class_name\": \"" + kind.className + "\"" + (keys.isBlank() ? "" : ", " + keys) + "}");
                return SchedulerConfig.parse(f);
            } finally {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Scheduler create(Kind kind, String keys, double eta, int steps) {
        Scheduler s = Schedulers.create(parse(kind, keys), eta);
        s.setTimesteps(steps);
        return s;
    }
}
