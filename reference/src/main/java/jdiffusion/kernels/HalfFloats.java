package jdiffusion.kernels;

/** Conversions between float32 and the two 16-bit float formats weights may be kept in. */
public final class HalfFloats {
    private HalfFloats() {
    }

    /** F16 (IEEE binary16) or BF16 bits → float32, exactly. */
    public static float toFloat(short bits, boolean bf16) {
        return bf16 ? Float.intBitsToFloat((bits & 0xffff) << 16) : Float.float16ToFloat(bits);
    }

    /** float32 → F16 or BF16 bits, round to nearest even (NaN stays NaN). */
    public static short fromFloat(float v, boolean bf16) {
        if (!bf16) return Float.floatToFloat16(v);
        int b = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return (short) ((b >>> 16) | 0x40);
        int rounded = b + 0x7fff + ((b >>> 16) & 1);
        return (short) (rounded >>> 16);
    }
}
