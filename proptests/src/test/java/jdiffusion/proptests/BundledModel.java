package jdiffusion.proptests;

import jdiffusion.nn.UNet;
import jdiffusion.weights.layout.ModelFolder;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The bundled unconditional model (weights/models/fashion-ddpm-32, committed in the repository): a
 * trained model, for properties whose bounds only mean something on real denoisers.
 */
final class BundledModel {
    static final Path DIR = Path.of(System.getProperty("jdiffusion.bundled",
            Path.of("..", "weights", "models", "fashion-ddpm-32").toString()));
    private static UNet unet;

    private BundledModel() {
    }

    static synchronized UNet unet() {
        if (unet == null) {
            Path u = DIR.resolve("unet");
            if (!Files.isDirectory(u))
                throw new IllegalStateException("bundled model missing: " + u.toAbsolutePath() + " (it is committed; run from the proptests module)");
            unet = UNet.load(ModelFolder.open(u));
        }
        return unet;
    }
}
