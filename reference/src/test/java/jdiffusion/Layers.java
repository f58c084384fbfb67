package jdiffusion;

import com.tngtech.archunit.library.Architectures;

import java.util.List;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

/**
 * The layers of jdiffusion, stated once: bottom first, and each layer may use only the layers listed
 * before it. {@link ArchitectureTest} enforces it on the engine's classes; modules built on the engine
 * (serve, spark, tornado-kernels) reuse {@link #rule()} on theirs, and docs/ARCHITECTURE.md shows
 * {@link #diagram()} (a test keeps the two in sync).
 */
public final class Layers {
    private Layers() {
    }

    /** One layer: its package under {@code jdiffusion} and what lives there. */
    public record Layer(String pkg, String holds) {
    }

    public static final List<Layer> ORDER = List.of(
            new Layer("tensor", "Tensor (shape + float storage, host or device), seeded noise streams"),
            new Layer("weights", "file formats: safetensors, diffusers config records, folder layouts (module weights/)"),
            new Layer("image", "images in [-1, 1] to PNG: single images, grids, atomic writes"),
            new Layer("kernels", "Backend (scalar reference, Vector API CPU), GEMM, convolutions, attention, MAC counting"),
            new Layer("tornado", "the TornadoVM Backend (module tornado-kernels/, only where TornadoVM is installed)"),
            new Layer("nn", "modules named like checkpoint keys: UNet, VAE decoder, CLIP text model"),
            new Layer("text", "CLIP tokenizer and prompt encoding"),
            new Layer("schedule", "beta schedules, timestep spacing, one class per scheduler"),
            new Layer("sample", "Sampler (the loop), StepPolicy seam, Trace, pipelines, conditioning, generation"),
            new Layer("accel", "acceleration policies: AdaptiveDiffusion, DeepCache, mixed resolution, cross-attention cache; TextToImage (the Java API)"),
            new Layer("metrics", "PSNR, SSIM, LPIPS, Fréchet distance, Fashion-MNIST classifier"),
            new Layer("sweep", "the trade-off sweep: grid, resumable rows, tables, figures, report, planner"),
            new Layer("cli", "picocli commands (the user interface)"),
            new Layer("serve", "the HTTP server (module serve/)"),
            new Layer("spark", "the Spark jobs (module spark/)"));

    /** Each layer may access only the layers before it in {@link #ORDER}; layers absent from a module are optional. */
    public static Architectures.LayeredArchitecture rule() {
        Architectures.LayeredArchitecture arch = layeredArchitecture().consideringOnlyDependenciesInLayers().withOptionalLayers(true);
        for (Layer l : ORDER) arch = arch.layer(l.pkg()).definedBy("jdiffusion." + l.pkg() + "..");
        for (int i = 0; i < ORDER.size(); i++) {
            String name = ORDER.get(i).pkg();
            String[] below = ORDER.subList(0, i).stream().map(Layer::pkg).toArray(String[]::new);
            arch = below.length == 0 ? arch.whereLayer(name).mayNotAccessAnyLayer() : arch.whereLayer(name).mayOnlyAccessLayers(below);
        }
        return arch;
    }

    /** The layer stack as text, top first (the block docs/ARCHITECTURE.md carries). */
    public static String diagram() {
        StringBuilder sb = new StringBuilder();
        for (int i = ORDER.size() - 1; i >= 0; i--) {
            Layer l = ORDER.get(i);
            sb.append(String.format("%-9s │ %s%n", l.pkg(), l.holds()));
            if (i > 0) sb.append(String.format("%-9s ▼%n", ""));
        }
        return sb.toString();
    }
}
