package jdiffusion.nn;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Published UNet architectures (their diffusers config.json, shipped as resources) that can be built
 * with random weights for benchmarks and memory checks, without downloading the checkpoints; likewise
 * published text encoders (their transformers config.json) and VAE decoders.
 */
public final class Architectures {
    /** "sd15": Stable Diffusion v1.5's UNet (860 M parameters); "ddpm-cifar10": google/ddpm-cifar10-32 (35.7 M). */
    public static final List<String> NAMES = List.of("sd15", "ddpm-cifar10");
    /** "clip-l": Stable Diffusion v1.5's text encoder, OpenAI CLIP ViT-L/14's text tower (123 M parameters). */
    public static final List<String> TEXT_ENCODERS = List.of("clip-l");
    /** "sd-vae": Stable Diffusion v1.5's VAE (AutoencoderKL 128/256/512/512); jdiffusion builds its decoder (49.5 M parameters). */
    public static final List<String> VAES = List.of("sd-vae");

    private Architectures() {
    }

    /** The config of a named architecture, written to a temporary file (configs are parsed from files). */
    public static Path config(String name) {
        String res = switch (name) {
            case "sd15" -> "sd15-unet.json";
            case "ddpm-cifar10" -> "ddpm-cifar10-unet.json";
            case "clip-l" -> "clip-l-text.json";
            case "sd-vae" -> "sd-vae.json";
            default -> throw new IllegalArgumentException("unknown architecture '" + name + "' (choose from " + NAMES + ", " + TEXT_ENCODERS
                    + " or " + VAES + ")");
        };
        try (InputStream in = Architectures.class.getResourceAsStream("/jdiffusion/architectures/" + res)) {
            if (in == null) throw new IllegalStateException("resource " + res + " missing from the jar");
            Path tmp = Files.createTempFile("jdiffusion-" + name + "-", ".json");
            tmp.toFile().deleteOnExit();
            Files.write(tmp, in.readAllBytes());
            return tmp;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The architecture with seeded random weights. */
    public static UNet random(String name, long seed) {
        return random(name, seed, WeightPrecision.F32);
    }

    /** A published text encoder ({@link #TEXT_ENCODERS}) with seeded random weights, linear weights held in {@code precision}. */
    public static ClipTextModel randomTextEncoder(String name, long seed, WeightPrecision precision) {
        if (!TEXT_ENCODERS.contains(name))
            throw new IllegalArgumentException("unknown text encoder '" + name + "' (choose from " + TEXT_ENCODERS + ")");
        return ClipTextModel.fromConfig(config(name), ParamSource.random(seed), precision);
    }

    /** A published VAE's decoder ({@link #VAES}) with seeded random weights (float32, as the decoder always runs). */
    public static VaeDecoder randomVae(String name, long seed) {
        if (!VAES.contains(name)) throw new IllegalArgumentException("unknown VAE '" + name + "' (choose from " + VAES + ")");
        return VaeDecoder.fromConfig(config(name), ParamSource.random(seed));
    }

    /** The architecture with seeded random weights, conv/linear weights held in {@code precision}. */
    public static UNet random(String name, long seed, WeightPrecision precision) {
        return UNet.fromConfig(config(name), ParamSource.random(seed), precision);
    }
}
