package jdiffusion.tensor;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The arena's lifetime rules: reuse after release, loud failure on a read after release, pinning, detaching, trimming. */
class TensorArenaTest {

    @Test
    void outsideAPassOutputsArePlainArraysAndReleaseDoesNothing() {
        Tensor t = Tensor.output(2, 3);
        assertEquals(6, t.numel());
        t.release();
        assertFalse(t.isReleased());
        assertEquals(0f, t.data()[5]);
    }

    @Test
    void aReleasedBufferIsReusedForTheSameLengthAndTheOldTensorCannotBeRead() {
        TensorArena arena = new TensorArena();
        arena.pass(() -> {
            Tensor a = Tensor.output(4, 8);
            float[] buffer = a.data();
            a.release();
            assertTrue(a.isReleased());
            IllegalStateException e = assertThrows(IllegalStateException.class, a::data);
            assertTrue(e.getMessage().contains("released"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> a.reshape(32).data(), "views share the released storage");
            assertThrows(IllegalStateException.class, a::release, "releasing twice is an error");
            assertThrows(IllegalStateException.class, a::pin, "a released tensor cannot be pinned");
            Tensor b = Tensor.output(32);                 // same length: the same buffer
            assertSame(buffer, b.data());
            Tensor c = Tensor.output(31);                 // another length: a new one
            assertNotSame(buffer, c.data());
            b.release();
            c.release();
            return null;
        });
        TensorArena.Stats s = arena.stats();
        assertEquals(2, s.fresh());
        assertEquals(1, s.reused());
        assertEquals(0, s.inUseBytes());
        assertEquals(0, s.detached());
    }

    @Test
    void checkModePoisonsReleasedBuffers() {
        if (!TensorArena.CHECK) return;   // the build runs the tests with -Djdiffusion.arenaCheck=true
        new TensorArena().pass(() -> {
            Tensor a = Tensor.output(16);
            float[] raw = a.data();
            java.util.Arrays.fill(raw, 1f);
            a.release();
            for (float v : raw) assertTrue(Float.isNaN(v), "a raw array kept past its release reads NaN");
            IllegalStateException e = assertThrows(IllegalStateException.class, a::data);
            assertTrue(e.getCause() != null && e.getCause().getMessage().contains("released here"), "the error says where it was released");
            return null;
        });
    }

    @Test
    void pinnedTensorsAreNeverRecycled() {
        TensorArena arena = new TensorArena();
        Tensor kept = arena.pass(() -> {
            Tensor a = Tensor.output(10).pin();
            float[] buffer = a.data();
            buffer[3] = 7f;
            a.release();                                  // a no-op for a pinned tensor
            assertFalse(a.isReleased());
            Tensor b = Tensor.output(10);
            assertNotSame(buffer, b.data());
            b.release();
            return a;
        });
        Tensor again = arena.pass(() -> {
            Tensor b = Tensor.output(10);
            assertNotSame(kept.data(), b.data());
            return b;
        });
        assertEquals(7f, kept.data()[3]);
        assertEquals(1, arena.stats().pinned());
        again.release();                                  // handed out of its pass: an ordinary array now
        assertFalse(again.isReleased());
    }

    @Test
    void whatAPassDoesNotReleaseIsHandedOutAndNeverRecycled() {
        TensorArena arena = new TensorArena();
        List<float[]> seen = new ArrayList<>();
        Tensor result = arena.pass(() -> {
            Tensor forgotten = Tensor.output(5);
            seen.add(forgotten.data());
            return Tensor.output(5);
        });
        assertEquals(2, arena.stats().detached());
        assertEquals(0, arena.stats().inUseBytes());
        arena.pass(() -> {
            Tensor t = Tensor.output(5);
            assertFalse(seen.contains(t.data()));
            assertNotSame(result.data(), t.data());
            t.release();
            return null;
        });
    }

    @Test
    void trimDropsTheFreeBuffersAndKeepsTheOnesInUse() {
        TensorArena arena = new TensorArena();
        float[][] seen = new float[2][];
        Tensor kept = arena.pass(() -> {
            Tensor a = Tensor.output(16), b = Tensor.output(16);
            seen[0] = a.data();
            seen[1] = b.data();
            a.release();
            b.release();
            Tensor c = Tensor.output(16);   // one of the two back in use
            arena.trim();
            assertEquals(0, arena.stats().freeBytes());
            assertEquals(64, arena.stats().inUseBytes());
            Tensor d = Tensor.output(16);   // the other was dropped: a new buffer
            assertNotSame(seen[0], d.data());
            assertNotSame(seen[1], d.data());
            d.release();
            return c;
        });
        assertEquals(16, kept.data().length, "the buffer in use at the trim is still the pass's result");
        assertEquals(3, arena.stats().fresh());
    }

    @Test
    void aShorterTensorTakesALongerFreeBufferWithinTheFit() {
        assertEquals(2.0, TensorArena.FIT, "these cases assume the default fit");
        TensorArena arena = new TensorArena();
        arena.pass(() -> {
            Tensor a = Tensor.output(100);
            float[] buffer = a.data();
            a.release();
            Tensor b = Tensor.output(6, 10);              // 60 elements in the free 100
            assertSame(buffer, b.data());
            assertEquals(60, b.numel());
            b.release();
            Tensor c = Tensor.output(49);                 // 100 > 2 × 49: a buffer of its own
            assertNotSame(buffer, c.data());
            assertEquals(49, c.data().length);
            Tensor d = Tensor.output(51), e = Tensor.output(50);   // the shortest that fits: 100 for both? only one is free
            assertSame(buffer, d.data());
            assertEquals(50, e.data().length);
            c.release();
            d.release();
            e.release();
            return null;
        });
        assertEquals(2, arena.stats().reused());
    }

    @Test
    void tensorsLeaveTheArenaWithArraysOfExactlyTheirLength() {
        TensorArena arena = new TensorArena();
        float[][] big = new float[1][];
        Tensor[] pinned = new Tensor[1];
        Tensor result = arena.pass(() -> {
            Tensor a = Tensor.output(100), b = Tensor.output(100);
            big[0] = a.data();
            a.release();
            b.release();
            Tensor kept = Tensor.output(70);               // in a free 100
            for (int i = 0; i < 70; i++) kept.data()[i] = i;
            pinned[0] = kept.pin();
            assertEquals(70, kept.data().length, "pinned: a copy of its own, of its length");
            assertEquals(69f, kept.data()[69]);
            Tensor again = Tensor.output(100);             // both 100s are free again: the pinned tensor gave its back
            Tensor other = Tensor.output(100);
            assertTrue(again.data() == big[0] || other.data() == big[0]);
            assertEquals(Tensor.output(3, 20).numel(), Tensor.cat0(Tensor.output(1, 20), Tensor.output(2, 20)).numel());
            again.release();
            other.release();
            Tensor out = Tensor.output(2, 30);             // 60 in a free 100: handed out at the end of the pass
            for (int i = 0; i < 60; i++) out.data()[i] = -i;
            assertEquals(100, out.data().length);
            assertEquals(60, out.copy().data().length);
            return out;
        });
        assertEquals(60, result.data().length, "handed out: a copy of its own, of its length");
        assertEquals(-59f, result.data()[59]);
        assertEquals(70, pinned[0].data().length);
        assertEquals(0, arena.stats().inUseBytes());
    }

    @Test
    void aNestedPassJoinsTheOpenOne() {
        TensorArena arena = new TensorArena();
        arena.pass(() -> {
            Tensor inner = arena.pass(() -> Tensor.output(6));
            assertEquals(0, arena.stats().detached(), "the inner call did not end the pass");
            inner.release();
            return null;
        });
        assertEquals(0, arena.stats().detached());
    }

    @Test
    void freeBuffersBeyondWhatThePassNeededAreDropped() {
        TensorArena arena = new TensorArena();
        arena.pass(() -> {                                // three of 100 at once
            Tensor a = Tensor.output(100), b = Tensor.output(100), c = Tensor.output(100);
            a.release();
            b.release();
            c.release();
            return null;
        });
        assertEquals(3 * 400, arena.stats().freeBytes());
        arena.pass(() -> {                                // then one of 100 at a time, and others
            Tensor a = Tensor.output(100);
            a.release();
            Tensor d = Tensor.output(40);                 // too short for a free 100 (more than FIT = 2 times): its own
            d.release();
            return null;
        });
        assertEquals(400 + 160, arena.stats().freeBytes());
        arena.pass(() -> null);
        assertEquals(0, arena.stats().freeBytes(), "a pass that took nothing keeps nothing");
    }

    @Test
    void anExceptionEndsThePassWithoutRecyclingWhatWasOut() {
        TensorArena arena = new TensorArena();
        Tensor[] out = new Tensor[1];
        assertThrows(ArithmeticException.class, () -> arena.pass(() -> {
            out[0] = Tensor.output(8);
            throw new ArithmeticException("boom");
        }));
        assertEquals(1, arena.stats().detached());
        out[0].data()[0] = 1f;                            // still an ordinary, readable array
        assertEquals(1f, out[0].data()[0]);
    }
}
