package jdiffusion.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The file dtypes jdiffusion reads. This is the dtype of the bytes on disk, not the dtype arithmetic
 * is done in: every kernel computes in float32, and {@link #toFloat} is the one place a stored element
 * becomes a float. The integer dtypes (I64, I32, U8) hold token ids, pixels and the like (e.g. a text encoder's
 * {@code input_ids}, an image's 8-bit channels); {@link #toLong} reads them exactly.
 */
public enum DType {
    F32(4), F16(2), BF16(2), I64(8), I32(4), U8(1);

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Parses a safetensors dtype string; returns null when jdiffusion does not support it. */
    public static DType parse(String s) {
        return switch (s) {
            case "F32" -> F32;
            case "F16" -> F16;
            case "BF16" -> BF16;
            case "I64" -> I64;
            case "I32" -> I32;
            case "U8" -> U8;
            default -> null;
        };
    }

    /** Whether elements are integers (I64, I32, U8) rather than floating point. */
    public boolean isInteger() {
        return this == I64 || this == I32 || this == U8;
    }

    /**
     * Element {@code index} of {@code seg} (little-endian, as safetensors stores it) as a float. Integers
     * convert exactly up to 2^24 in magnitude and are rounded to the nearest float beyond.
     */
    public float toFloat(MemorySegment seg, long index) {
        return switch (this) {
            case F32 -> seg.get(F32_LE, index * 4);
            case F16 -> Float.float16ToFloat(seg.get(I16_LE, index * 2));
            case BF16 -> Float.intBitsToFloat((seg.get(I16_LE, index * 2) & 0xffff) << 16);
            case I64 -> (float) seg.get(I64_LE, index * 8);
            case I32 -> (float) seg.get(I32_LE, index * 4);
            case U8 -> seg.get(ValueLayout.JAVA_BYTE, index) & 0xff;
        };
    }

    /** Element {@code index} of an integer dtype, exactly; a floating-point dtype is a caller error. */
    public long toLong(MemorySegment seg, long index) {
        return switch (this) {
            case I64 -> seg.get(I64_LE, index * 8);
            case I32 -> seg.get(I32_LE, index * 4);
            case U8 -> seg.get(ValueLayout.JAVA_BYTE, index) & 0xff;
            default -> throw new IllegalStateException(this + " is not an integer dtype");
        };
    }

    /** Copies {@code count} elements starting at element {@code from} into {@code dst[dstOff..]}, as floats. */
    public void toFloats(MemorySegment seg, long from, float[] dst, int dstOff, int count) {
        if (this == F32) {
            MemorySegment.copy(seg, F32_LE, from * 4, dst, dstOff, count);
            return;
        }
        for (int i = 0; i < count; i++) dst[dstOff + i] = toFloat(seg, from + i);
    }
}
