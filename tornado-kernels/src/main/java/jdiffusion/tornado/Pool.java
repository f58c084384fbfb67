package jdiffusion.tornado;

import java.util.Map;
import java.util.TreeMap;

/**
 * The allocator of the device memory pool: ranges of float offsets in one device buffer. First fit over a
 * free list ordered by offset; freeing coalesces with both neighbours. Offsets are aligned to
 * {@link #ALIGN} floats (128 bytes), which keeps every tensor's start aligned for wide loads.
 * Pure Java (no TornadoVM), so it is unit-tested on its own.
 */
final class Pool {
    static final int ALIGN = 32;

    private final long capacity;
    /** free ranges: offset → length */
    private final TreeMap<Long, Long> free = new TreeMap<>();
    private long used;
    private long peak;

    Pool(long capacity) {
        this.capacity = capacity / ALIGN * ALIGN;
        if (this.capacity > 0) free.put(0L, this.capacity);
    }

    static long aligned(long n) {
        return (Math.max(n, 1) + ALIGN - 1) / ALIGN * ALIGN;
    }

    /** An aligned range of at least n floats, or -1 when no free range is large enough. */
    long alloc(long n) {
        long size = aligned(n);
        for (Map.Entry<Long, Long> e : free.entrySet()) {
            if (e.getValue() >= size) {
                long off = e.getKey(), len = e.getValue();
                free.remove(off);
                if (len > size) free.put(off + size, len - size);
                used += size;
                peak = Math.max(peak, used);
                return off;
            }
        }
        return -1;
    }

    /** Returns the range [off, off + aligned(n)) to the free list. */
    void free(long off, long n) {
        long size = aligned(n);
        if (off < 0 || off + size > capacity) throw new IllegalArgumentException("free of [" + off + ", +" + size + ") outside the pool");
        Map.Entry<Long, Long> before = free.floorEntry(off);
        if (before != null && before.getKey() + before.getValue() > off)
            throw new IllegalStateException("double free at " + off);
        Map.Entry<Long, Long> after = free.ceilingEntry(off);
        if (after != null && after.getKey() < off + size) throw new IllegalStateException("double free at " + off);
        long start = off, len = size;
        if (before != null && before.getKey() + before.getValue() == off) {
            start = before.getKey();
            len += before.getValue();
            free.remove(before.getKey());
        }
        if (after != null && after.getKey() == off + size) {
            len += after.getValue();
            free.remove(after.getKey());
        }
        free.put(start, len);
        used -= size;
    }

    long capacity() {
        return capacity;
    }

    long used() {
        return used;
    }

    long peak() {
        return peak;
    }

    /** The largest free range (what one allocation can get without freeing anything). */
    long largestFree() {
        long m = 0;
        for (long v : free.values()) m = Math.max(m, v);
        return m;
    }

    int freeRanges() {
        return free.size();
    }
}
