package jdiffusion.cli;

import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.SafeTensorsWriter;
import jdiffusion.weights.WeightsException;


/** Reading named tensors from the user's safetensors inputs, with errors that name file and key. */
final class Tensors {
    private Tensors() {
    }

    static Tensor require(SafeTensorsFile f, String key) {
        if (!f.contains(key))
            throw WeightsException.at(f.file(), key, "required tensor is missing (the file has " + f.entries().keySet() + ")");
        return Tensor.of(f.floats(key), f.entry(key).intShape());
    }

    static Tensor optional(SafeTensorsFile f, String key) {
        return f.contains(key) ? require(f, key) : null;
    }

    static void put(SafeTensorsWriter w, String key, Tensor t) {
        w.put(key, t.shape(), t.data());
    }
}
