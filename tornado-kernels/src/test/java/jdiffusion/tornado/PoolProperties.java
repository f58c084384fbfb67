package jdiffusion.tornado;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pool allocator (pure Java): ranges never overlap, stay inside the pool, are aligned, and coalesce back to one. */
class PoolProperties {

    @Property(tries = 200)
    void allocFreeKeepsRangesDisjointAndCoalesces(@ForAll @Size(min = 1, max = 200) List<@IntRange(min = 1, max = 5000) Integer> sizes, @ForAll long seed) {
        Pool pool = new Pool(200_000);
        Random r = new Random(seed);
        List<long[]> live = new ArrayList<>();
        for (int n : sizes) {
            if (!live.isEmpty() && r.nextInt(3) == 0) {
                long[] x = live.remove(r.nextInt(live.size()));
                pool.free(x[0], x[1]);
            }
            long off = pool.alloc(n);
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
    }

    @Property(tries = 20)
    void doubleFreeIsDetected(@ForAll @IntRange(min = 1, max = 1000) int n) {
        Pool pool = new Pool(10_000);
        long a = pool.alloc(n);
        pool.alloc(n);
        pool.free(a, n);
        assertThrows(IllegalStateException.class, () -> pool.free(a, n));
    }
}
