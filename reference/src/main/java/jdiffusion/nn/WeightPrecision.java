package jdiffusion.nn;

import jdiffusion.weights.DType;

/**
 * How conv and linear weights are held in memory (arithmetic is float32 either way): F32, or 16-bit
 * (F16 / BF16) to halve the model's memory, or FILE: as the checkpoint stores each of them. Other
 * parameters (biases, norm scales; under 1% of a UNet) are always float32.
 */
public enum WeightPrecision {
    F32, F16, BF16, FILE;

    /** Parses f32, f16, bf16 or file (case-insensitive). */
    public static WeightPrecision parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "f32", "fp32", "float32" -> F32;
            case "f16", "fp16", "float16", "half" -> F16;
            case "bf16", "bfloat16" -> BF16;
            case "file" -> FILE;
            default -> throw new IllegalArgumentException("unknown weight precision '" + s + "' (choose f32, f16, bf16 or file)");
        };
    }

    /** The storage dtype of a weight stored as {@code fileDtype} in the checkpoint. */
    DType storage(DType fileDtype) {
        return switch (this) {
            case F32 -> DType.F32;
            case F16 -> DType.F16;
            case BF16 -> DType.BF16;
            case FILE -> fileDtype;
        };
    }
}
