package jdiffusion.nn;

import jdiffusion.kernels.MacCounter;
import jdiffusion.kernels.ShapeOnlyBackend;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.layout.ModelFolder;

import java.nio.file.Path;

/**
 * Run by {@link LoadHardeningTest} in a child JVM with a small heap: {@code load DIR} loads a UNet
 * folder, {@code macs DIR SIZE} counts the MACs of one forward pass at SIZE × SIZE with the shape-only
 * backend. Prints {@code error: message} for a named error, {@code macs=N} or {@code loaded}; an
 * OutOfMemoryError ends the JVM with a non-zero status.
 */
public final class LoadProbe {
    public static void main(String[] args) {
        try {
            UNet u = UNet.load(ModelFolder.open(Path.of(args[1])));
            if (args[0].equals("macs")) {
                int s = Integer.parseInt(args[2]);
                MacCounter counter = new MacCounter(new ShapeOnlyBackend());
                u.forward(new Ctx(counter), Tensor.zeros(1, u.inChannels(), s, s), new float[]{500f}, null);
                System.out.println("macs=" + counter.macs());
            } else {
                System.out.println("loaded");
            }
        } catch (WeightsException | IllegalArgumentException e) {
            System.out.println("error: " + e.getMessage());
        }
    }
}
