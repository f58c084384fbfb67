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
 * <p><b>GEMM micro-tile</b>, MR rows × NR = 2 vectors of columns (NR follows the width): two plans exist,
 * for 32 vector registers (AVX-512, AArch64) and for 16 (x86 without AVX-512), selected with
 * {@code -Djdiffusion.vectorRegisters=32|16}:
 * <ul>
 *   <li>32: MR = 12, 24 accumulators + 2 vectors of B + the broadcast A value = 27 live (12×32 at 512 bits:
 *       BLIS's SkylakeX sgemm kernel is the same tile); B blocks of 320 × 512 floats (640 KiB, for a 1 MiB L2);</li>
 *   <li>16: MR = 6, 12 + 2 + 1 = 15 live, nothing spills (BLIS's Haswell sgemm tile, 6×16 at 256 bits);
 *       B blocks of 256 × 256 (256 KiB).</li>
 * </ul>
 * The default is the 32-register plan at every width, because it measured faster even where only 16
 * registers exist: with the JVM limited to AVX2 (-XX:UseAVX=2: 256-bit vectors, 16 registers) on an AMD
 * EPYC (Zen 4), GEMM 2048³ on 2 threads ran at 62.2/63.5/62.3 GFLOP per CPU-second with the 12×16 tile and
 * 46.1/46.3/46.1 with the 6×16 tile (3 alternating rounds, docs/results/vector-width-registers-2026-12-07.txt):
 * C2 spills some of the 24 accumulators, but the 12-row tile loads each B vector for 12 rows instead of 6, and
 * that wins. The 16-register plan stays selectable (and tested) for measuring it on other machines.
 *
 * <p>None of this changes results: every GEMM element is accumulated over k in order with one fused
 * multiply-add per step whatever the tile, and the Winograd transforms and the attention's softmax are
 * lane-wise, so GEMM, Winograd convolution and attention give the same bits in every configuration
 * (VectorWidthTest). Reductions across lanes (normalisation sums, dot products) depend on the width.
 */
public final class VectorWidth {
    /** The system property that forces a width in bits. */
    public static final String PROPERTY = "jdiffusion.vectorBits";
    static final VectorSpecies<Float> S = species(System.getProperty(PROPERTY), FloatVector.SPECIES_PREFERRED);
    /** Floats per vector. */
    static final int L = S.length();
    /** The system property that picks the register count the blocking plans for (16 or 32; default 32, see above). */
    public static final String REGISTERS_PROPERTY = "jdiffusion.vectorRegisters";
    /** Vector registers the blocking plans for. */
    static final int REGISTERS = registers(System.getProperty(REGISTERS_PROPERTY));
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

    /** The {@value #REGISTERS_PROPERTY} value: 16 or 32, null for the default, 32. */
    static int registers(String value) {
        if (value == null) return 32;
        return switch (value.strip()) {
            case "16" -> 16;
            case "32" -> 32;
            default -> throw new IllegalArgumentException("-D" + REGISTERS_PROPERTY + "=" + value + ": allowed: 16 or 32"
                    + " (the register count the GEMM blocking plans for; default 32)");
        };
    }

    /** Vector width in bits. */
    public static int bits() {
        return S.vectorBitSize();
    }

    /** One line for benchmark output: width, where it came from, registers planned for, tiles. */
    public static String describe() {
        String from = System.getProperty(PROPERTY) != null ? "forced by -D" + PROPERTY + ", preferred " + FloatVector.SPECIES_PREFERRED.vectorBitSize()
                : "the preferred width";
        String regs = System.getProperty(REGISTERS_PROPERTY) != null ? " (forced by -D" + REGISTERS_PROPERTY + ")" : "";
        return String.format("vector_bits=%d (%s), blocking for %d registers%s: GEMM micro-tile %dx%d, B block %dx%d",
                bits(), from, REGISTERS, regs, MR, NR, KC_MAX, NC);
    }
}
