package jdiffusion.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector width the fast kernels compute with, chosen once per JVM, and the register and cache blocking
 * that goes with it. Every kernel class takes its species and tile sizes from here, as constants (static
 * finals), so the JIT compiles each configuration as if it were the only one.
 *
 * <p><b>Width</b>: the Vector API's preferred species — the widest the JIT turns into machine vectors: 512
 * bits with AVX-512, 256 with AVX2, 128 with SSE or NEON — or {@code -Djdiffusion.vectorBits=128|256|512},
 * there to test and measure the other configurations on one machine. A width above the machine's works,
 * but the Vector API then runs it in plain Java, many times slower.
 *
 * <p><b>Registers</b>: x86 has 32 vector registers with AVX-512 and 16 without (AVX2, SSE); AArch64 has 32.
 * The blocking plans for 32 at 512 bits (and on AArch64) and for 16 otherwise, so a forced 256-bit width on
 * an AVX-512 machine runs the AVX2 configuration (though the JIT may still use all 32 registers there).
 *
 * <p><b>GEMM micro-tile</b>, MR rows × NR = 2 vectors of columns: its MR·2 accumulators, the 2 vectors of B
 * and the broadcast A value must all stay in registers, or every step spills to memory.
 * <ul>
 *   <li>32 registers: MR = 12, 24 + 2 + 1 = 27 live (12×32 at 512 bits: BLIS's SkylakeX sgemm kernel,
 *       32×12 column-major, is the same tile);</li>
 *   <li>16 registers: MR = 6, 12 + 2 + 1 = 15 live (6×16 at 256 bits: BLIS's Haswell sgemm kernel). The 12×16
 *       tile that 16 registers were given before needs 27 and spilled.</li>
 * </ul>
 * <b>Cache blocks</b>: a packed B block of KC_MAX × NC floats stays in L2 while the MR × KC A panels pass
 * through L1: 640 KiB at 32 registers (the 1 MiB L2 of Zen 4/5 and Skylake-SP, where AVX-512 is), 256 KiB at
 * 16 (AVX2-only cores have 256 KiB–2 MiB of L2; Zen 2/3, common in cloud VMs, 512 KiB).
 *
 * <p>None of this changes results: every GEMM element is accumulated over k in order with one fused
 * multiply-add per step whatever the tile, and the Winograd transforms and the attention's softmax are
 * lane-wise, so GEMM, Winograd convolution and attention give the same bits in every configuration
 * (WidthInvarianceTest). Reductions across lanes (normalisation sums, dot products) depend on the width.
 */
public final class VectorWidth {
    /** The system property that forces a width in bits. */
    public static final String PROPERTY = "jdiffusion.vectorBits";
    static final VectorSpecies<Float> S = species(System.getProperty(PROPERTY), FloatVector.SPECIES_PREFERRED);
    /** Floats per vector. */
    static final int L = S.length();
    /** Vector registers the blocking plans for. */
    static final int REGISTERS = registers(S.vectorBitSize(), System.getProperty("os.arch", ""));
    /** GEMM micro-tile: MR rows by NR = 2 vectors of columns. */
    static final int MR = REGISTERS >= 32 ? 12 : 6, NR = 2 * L;
    /** GEMM cache blocks: at most KC_MAX deep, NC columns per packed B block. */
    static final int KC_MAX = REGISTERS >= 32 ? 320 : 256, NC = REGISTERS >= 32 ? 512 : 256;

    private VectorWidth() {
    }

    /** The species for a {@value #PROPERTY} value (null: the preferred one); anything but 128, 256 or 512 is refused. */
    static VectorSpecies<Float> species(String bits, VectorSpecies<Float> preferred) {
        if (bits == null) return preferred;
        return switch (bits.strip()) {
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException("-D" + PROPERTY + "=" + bits + ": not a vector width; allowed: 128, 256 or 512"
                    + " (default: the Vector API's preferred width, here " + preferred.vectorBitSize() + ")");
        };
    }

    /** 32 vector registers with AVX-512 (a 512-bit width) and on AArch64, 16 otherwise (AVX2, SSE). */
    static int registers(int bits, String arch) {
        return bits >= 512 || arch.equals("aarch64") ? 32 : 16;
    }

    /** Vector width in bits. */
    public static int bits() {
        return S.vectorBitSize();
    }

    /** One line for benchmark output: width, where it came from, registers planned for, tiles. */
    public static String describe() {
        String from = System.getProperty(PROPERTY) != null ? "forced by -D" + PROPERTY + ", preferred " + FloatVector.SPECIES_PREFERRED.vectorBitSize()
                : "the preferred width";
        return String.format("vector_bits=%d (%s), blocking for %d registers: GEMM micro-tile %dx%d, B block %dx%d",
                bits(), from, REGISTERS, MR, NR, KC_MAX, NC);
    }
}
