package jdiffusion.tornado;

import org.quicktheories.QuickTheory;
import org.quicktheories.core.Gen;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the property classes share (QuickTheories, Apache-2.0): one seed per test JVM, random unless given, so
 * that any failure can be replayed, and coverage counts that a property asserts at its end.
 *
 * <p>Reproducing a failure: QuickTheories prints "Seed was N" with the falsified values, and every coverage
 * failure names the seed; rerun with {@code -DQT_SEED=N} (e.g.
 * {@code ./mvnw -pl tornado-kernels test -Dtest=TornadoKernelProperties -DQT_SEED=N}).
 */
final class Props {
    /** The seed of this run: {@code -DQT_SEED=N}, or a fresh one. */
    static final long SEED = Long.getLong("QT_SEED", System.nanoTime());

    static {
        System.out.println("QuickTheories seed " + SEED + " (replay with -DQT_SEED=" + SEED + ")");
    }

    private Props() {
    }

    /** A theory of {@code examples} examples drawn from this run's seed. */
    static QuickTheory qt(int examples) {
        return QuickTheory.qt().withFixedSeed(SEED).withExamples(examples);
    }

    /**
     * The given values in turn, one per example (the first example gets the first value, and so on, cyclically):
     * for the branches a property must cover (a kernel variant, a kind of shape), so that each gets its share of
     * the examples by construction instead of by chance. It draws no randomness, so the other generators' values
     * stay random; give one such generator per property (two of equal period would always pair the same way).
     */
    @SafeVarargs
    static <T> Gen<T> inTurn(T... values) {
        T[] v = Arrays.copyOf(values, values.length);
        AtomicInteger next = new AtomicInteger();
        return rnd -> v[Math.floorMod(next.getAndIncrement(), v.length)];
    }

    /** Counts of the branches a property's examples took, per label; printed and asserted at the end. */
    static final class Coverage {
        private final String property;
        private final Map<String, Map<String, Integer>> counts = new TreeMap<>();
        private boolean printed;

        Coverage(String property) {
            this.property = property;
        }

        synchronized void count(String label, Object value) {
            counts.computeIfAbsent(label, k -> new TreeMap<>()).merge(String.valueOf(value), 1, Integer::sum);
        }

        synchronized int get(String label, Object value) {
            return counts.getOrDefault(label, Map.of()).getOrDefault(String.valueOf(value), 0);
        }

        /** Every one of {@code values} was seen at least {@code min} times under {@code label}. */
        synchronized void assertEach(String label, int min, Object... values) {
            if (!printed) System.out.println(this);
            printed = true;
            for (Object v : values) {
                int n = get(label, v);
                assertTrue(n >= min, property + ": " + label + " '" + v + "' seen in " + n + " examples, fewer than " + min
                        + " (seed " + SEED + "; replay with -DQT_SEED=" + SEED + "): " + counts.get(label));
            }
        }

        @Override
        public synchronized String toString() {
            StringBuilder sb = new StringBuilder(property).append(" coverage:");
            counts.forEach((label, m) -> sb.append("\n  ").append(label).append(": ").append(m));
            return sb.toString();
        }
    }
}
