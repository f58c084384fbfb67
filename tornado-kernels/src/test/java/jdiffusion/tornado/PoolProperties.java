package jdiffusion.tornado;

import jdiffusion.tornado.Props.Coverage;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.longs;

/** The pool allocator (pure Java): ranges never overlap, stay inside the pool, are aligned, and coalesce back to one. */
class PoolProperties {

    /**
     * 1–200 allocations of 1–5000 floats in a pool of 200 000, each preceded by a random free with probability
     * 1/3. Long sequences fill the pool, so both outcomes of an allocation are exercised (asserted at the end).
     */
    @Test
    void allocFreeKeepsRangesDisjointAndCoalesces() {
        Coverage cov = new Coverage("allocFreeKeepsRangesDisjointAndCoalesces");
        Props.qt(200).forAll(lists().of(integers().between(1, 5000)).ofSizeBetween(1, 200), longs().all()).checkAssert((sizes, seed) -> {
            Pool pool = new Pool(200_000);
            Random r = new Random(seed);
            List<long[]> live = new ArrayList<>();
            for (int n : sizes) {
                if (!live.isEmpty() && r.nextInt(3) == 0) {
                    long[] x = live.remove(r.nextInt(live.size()));
                    pool.free(x[0], x[1]);
                }
                long off = pool.alloc(n);
                cov.count("allocation", off < 0 ? "refused (pool full)" : "placed");
                if (off < 0) {
                    assertTrue(pool.largestFree() < Pool.aligned(n), "alloc failed although a range fits");
                    continue;
                }
                assertEquals(0, off % Pool.ALIGN);
                assertTrue(off + n <= pool.capacity());
                for (long[] o : live) assertTrue(off + Pool.aligned(n) <= o[0] || o[0] + Pool.aligned(o[1]) <= off, "overlap");
                live.add(new long[]{off, n});
            }
            long used = 0;
            for (long[] o : live) used += Pool.aligned(o[1]);
            assertEquals(used, pool.used());
            for (long[] o : live) pool.free(o[0], o[1]);
            assertEquals(0, pool.used());
            assertEquals(1, pool.freeRanges());
            assertEquals(pool.capacity(), pool.largestFree());
        });
        cov.assertEach("allocation", 20, "placed", "refused (pool full)");
    }

    @Test
    void doubleFreeIsDetected() {
        Props.qt(20).forAll(integers().between(1, 1000)).checkAssert(n -> {
            Pool pool = new Pool(10_000);
            long a = pool.alloc(n);
            pool.alloc(n);
            pool.free(a, n);
            assertThrows(IllegalStateException.class, () -> pool.free(a, n));
        });
    }
}
