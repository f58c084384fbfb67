package jdiffusion.cli;

import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.SafeTensorsWriter;
import jdiffusion.weights.WeightsException;

import java.nio.file.Path;


/** Reading named tensors from the user's safetensors inputs, with errors that name file and key. */
final class Tensors {
    private Tensors() {
    }

    static Tensor require(SafeTensorsFile f, String key) {
        if (!f.contains(key))
            throw WeightsException.at(f.file(), key, "required tensor is missing (the file has " + f.entries().keySet() + ")");
        return Tensor.of(f.floats(key), f.entry(key).intShape());
    }

    /**
     * The x_T of a --noise file: [N, C, H, W] with the model's latent channels, already multiplied by the
     * scheduler's init_noise_sigma (the latents the sampling loop starts from).
     */
    static Tensor initialLatents(Path file, jdiffusion.sample.Pipeline p) {
        Tensor xT;
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            xT = require(f, "x_T");
        }
        int channels = p.unet().inChannels();
        if (xT.rank() != 4 || xT.dim(1) != channels || xT.dim(0) < 1 || xT.dim(2) < 1 || xT.dim(3) < 1)
            throw new IllegalArgumentException(file + ": x_T " + xT.shapeString() + " does not fit the model's latent [N, " + channels + ", H, W] (N, H, W ≥ 1)");
        return xT;
    }

    static Tensor optional(SafeTensorsFile f, String key) {
        return f.contains(key) ? require(f, key) : null;
    }

    static void put(SafeTensorsWriter w, String key, Tensor t) {
        w.put(key, t.shape(), t.data());
    }
}
