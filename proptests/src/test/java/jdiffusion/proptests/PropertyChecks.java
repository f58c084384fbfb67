package jdiffusion.proptests;

import org.quicktheories.QuickTheory;
import org.quicktheories.api.AsString;
import org.quicktheories.core.Configuration;
import org.quicktheories.core.ExceptionReporter;
import org.quicktheories.core.NoGuidance;
import org.quicktheories.core.Reporter;
import org.quicktheories.core.Strategy;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How every property here runs: a JUnit test calls {@code PropertyChecks.qt(seed, examples, shrinkCycles)
 * .forAll(gen).checkAssert(...)}. QuickTheories generates {@code examples} inputs from the seed (first the
 * all-shrink-target, all-minimum and all-maximum inputs, then random ones), and on the first failure shrinks the
 * input for up to {@code shrinkCycles} attempts and throws an AssertionError with the smallest failing input,
 * the cause, the seed, and (added here) the command that reruns exactly that run.
 *
 * <p>Reproducible by default: each property states its own fixed seed. {@code -DQT_SEED=<long>} replaces the
 * seed of every property in the run (QuickTheories' own system property, read here so that it wins over the
 * fixed seed) — to explore other inputs, or to rerun a failure reported with that seed. The number of examples
 * is the property's (its bounds and coverage counts are stated for it), so QuickTheories' other QT_* system
 * properties, which would change it or cut the run short, are refused rather than silently ignored.
 */
final class PropertyChecks {
    static final String SEED_PROPERTY = Configuration.SEED;   // "QT_SEED"
    private static final List<String> REFUSED = List.of(Configuration.EXAMPLES, Configuration.SHRINKS, Configuration.TESTING_TIME,
            Configuration.PROFILE, Configuration.GENERATE_ATTEMPTS);

    private PropertyChecks() {
    }

    /** A QuickTheory with the seed ({@code -DQT_SEED} if given), exactly this many examples and this shrink budget. */
    static QuickTheory qt(long defaultSeed, int examples, int shrinkCycles) {
        long seed = seed(defaultSeed);
        String test = callingTest();
        Reporter reporter = new RerunHint(test, new ExceptionReporter());
        // no time limit, no generation retries needed (no property filters its inputs), no coverage guidance
        return QuickTheory.qt(() -> new Strategy(Configuration.defaultPRNG(seed), examples, -1, shrinkCycles, 10, reporter,
                prng -> new NoGuidance()));
    }

    static long seed(long defaultSeed) {
        for (String p : REFUSED)
            if (System.getProperty(p) != null)
                throw new IllegalArgumentException("-D" + p + " is not supported by these properties: each fixes its number of examples "
                        + "and shrink budget (its bounds and coverage counts are stated for them); vary the inputs with -D" + SEED_PROPERTY + "=<long>");
        String given = System.getProperty(SEED_PROPERTY);
        if (given == null) return defaultSeed;
        try {
            return Long.parseLong(given.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + SEED_PROPERTY + "=" + given + " is not a whole number (a Java long is expected)");
        }
    }

    /** "Class#method" of the test that called {@link #qt}: what {@code -Dtest=} needs to rerun it alone. */
    private static String callingTest() {
        return StackWalker.getInstance().walk(frames -> frames
                .dropWhile(f -> f.getClassName().startsWith(PropertyChecks.class.getName()))
                .findFirst()
                .map(f -> f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1) + "#" + f.getMethodName())
                .orElse("?"));
    }

    /** QuickTheories' report (smallest input, cause, "Seed was …"), plus the command that reruns that run. */
    private record RerunHint(String test, Reporter delegate) implements Reporter {
        @Override
        public void falisification(long seed, int count, Object smallest, Throwable cause, List<Object> examples, AsString<Object> toString) {
            withHint(seed, () -> delegate.falisification(seed, count, smallest, cause, examples, toString));
        }

        @Override
        public void falisification(long seed, int count, Object smallest, List<Object> examples, AsString<Object> toString) {
            withHint(seed, () -> delegate.falisification(seed, count, smallest, examples, toString));
        }

        @Override
        public void valuesExhausted(int completedExamples) {
            delegate.valuesExhausted(completedExamples);
        }

        private void withHint(long seed, Runnable report) {
            try {
                report.run();
            } catch (AssertionError e) {
                AssertionError withCommand = new AssertionError(e.getMessage() + System.lineSeparator()
                        + "Rerun exactly this run: ./mvnw -B -pl proptests -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='"
                        + test + "' -D" + SEED_PROPERTY + "=" + seed);
                withCommand.setStackTrace(e.getStackTrace());
                throw withCommand;
            }
            throw new AssertionError("QuickTheories reported a falsification without failing (seed " + seed + ")");
        }
    }

    /**
     * Explicit coverage counts, asserted at the end of a property: how many examples fell into each class of a
     * label, where the statistics these replace mostly only printed them. A property
     * counts inside its check and asserts after it; a failing check throws before the counts are asserted, so the
     * re-runs while shrinking never matter.
     */
    static final class Coverage {
        private final String property = callingTest();
        private final Map<String, Map<String, Integer>> counts = new TreeMap<>();
        private int examples;

        /** Call once per example. */
        void example() {
            examples++;
        }

        void add(String label, Object value) {
            counts.computeIfAbsent(label, l -> new TreeMap<>()).merge(String.valueOf(value), 1, Integer::sum);
        }

        /**
         * Asserts the property ran {@code expected} examples: QuickTheories counts an input it has already tried
         * (same random draws) towards the limit without running it; with a random long in every input here that
         * is practically impossible, so a shortfall means the search changed.
         */
        void ran(int expected) {
            assertEquals(expected, examples, "examples run by " + property);
        }

        int count(String label, Object value) {
            return counts.getOrDefault(label, Map.of()).getOrDefault(String.valueOf(value), 0);
        }

        /** Asserts that at least {@code k} examples had {@code label} = each of {@code values}. */
        void atLeast(int k, String label, Object... values) {
            for (Object v : values) {
                int n = count(label, v);
                assertTrue(n >= k, shortfall(label + " = " + v + " in " + n + " of " + examples + " examples, at least " + k + " required"));
            }
        }

        /** Asserts that more than {@code percent}% of the examples had {@code label} = {@code value}. */
        void moreThanPercent(double percent, String label, Object value) {
            int n = count(label, value);
            assertTrue(100.0 * n / examples > percent,
                    shortfall(label + " = " + value + " in " + n + " of " + examples + " examples, more than " + percent + "% required"));
        }

        /** Asserts that at least {@code percent}% of the examples had {@code label} = {@code value}. */
        void atLeastPercent(double percent, String label, Object value) {
            int n = count(label, value);
            assertTrue(100.0 * n / examples >= percent,
                    shortfall(label + " = " + value + " in " + n + " of " + examples + " examples, at least " + percent + "% required"));
        }

        private String shortfall(String what) {
            String seed = System.getProperty(SEED_PROPERTY);
            return "coverage of " + property + ": " + what + ". Every example passed, but the inputs did not exercise this case enough"
                    + (seed == null ? "" : " (with -D" + SEED_PROPERTY + "=" + seed + " instead of the property's own seed this can "
                    + "happen by chance: see the property's javadoc)") + ". " + this;
        }

        /** The counts, one line per label, e.g. {@code setting: C_max=0 4, N=1 5, ...}. */
        @Override
        public String toString() {
            String seed = System.getProperty(SEED_PROPERTY);
            return "coverage of " + property + ": " + examples + " examples (" + (seed == null ? "its own seed" : SEED_PROPERTY + "=" + seed) + ")"
                    + counts.entrySet().stream()
                    .map(e -> System.lineSeparator() + "  " + e.getKey() + ": " + e.getValue().entrySet().stream()
                            .map(c -> c.getKey() + " " + c.getValue()).collect(Collectors.joining(", ")))
                    .collect(Collectors.joining());
        }

        /** Prints the counts for the test log. */
        void print() {
            System.out.println(this);
        }
    }
}
