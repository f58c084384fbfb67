package jdiffusion.cli;

import jdiffusion.weights.AtomicFiles;
import picocli.CommandLine;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/** Validation of CLI values, with messages that name the option: numbers, and output paths before anything is computed. */
final class Checks {
    private Checks() {
    }

    static int atLeast(String option, int value, int min) {
        if (value < min) throw new IllegalArgumentException(option + " must be at least " + min + ", got " + value);
        return value;
    }

    static int between(String option, int value, int min, int max) {
        if (value < min || value > max) throw new IllegalArgumentException(option + " must be between " + min + " and " + max + ", got " + value);
        return value;
    }

    /**
     * Every double option of every command (and every element of a list of doubles) is read by this
     * converter: "Infinity", "-Infinity", "NaN" and overflowing literals such as 1e400 are refused as the
     * option's value, naming it, before the command runs.
     */
    static void registerFiniteNumbers(CommandLine cl) {
        CommandLine.ITypeConverter<Double> conv = s -> {
            double v;
            try {
                v = Double.parseDouble(s.trim());
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("'" + s + "' is not a number");
            }
            if (!Double.isFinite(v)) throw new CommandLine.TypeConversionException("'" + s + "' is not a finite number");
            return v;
        };
        cl.registerConverter(Double.class, conv);
        cl.registerConverter(Double.TYPE, conv);
    }

    /**
     * Checks the output files of a command before it computes anything (see {@link AtomicFiles#checkWritable}):
     * each is a writable file path, not a directory, and no two options name the same file. Null paths
     * (options not given) are skipped.
     *
     * @param outputs option name → path, in the order the command writes them
     */
    static void outputs(Map<String, Path> outputs) {
        Map<Path, String> seen = new HashMap<>();
        for (var e : outputs.entrySet()) {
            if (e.getValue() == null) continue;
            AtomicFiles.checkWritable(e.getValue(), e.getKey());
            String other = seen.put(e.getValue().toAbsolutePath().normalize(), e.getKey());
            if (other != null) throw new IllegalArgumentException(other + " and " + e.getKey() + " name the same file " + e.getValue() + "; give each its own");
        }
    }

    /** {@link #outputs} for one or two options. */
    static void outputs(String option, Path path, String option2, Path path2) {
        Map<String, Path> m = new LinkedHashMap<>();
        m.put(option, path);
        if (option2 != null) m.put(option2, path2);
        outputs(m);
    }
}
