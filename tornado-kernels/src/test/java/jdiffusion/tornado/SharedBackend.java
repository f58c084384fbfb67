package jdiffusion.tornado;

import jdiffusion.tensor.Tensor;

import java.util.Random;

/** One TornadoVM backend for the whole test JVM: the device starts and each kernel is compiled once. */
final class SharedBackend {
    private static TornadoBackend instance;

    private SharedBackend() {
    }

    static synchronized TornadoBackend get() {
        if (instance == null) {
            instance = new TornadoBackend();
            System.out.println("TornadoVM device: " + instance.deviceDescription());
            Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("tornado backend: " + instance.stats())));
        }
        return instance;
    }

    static Tensor random(long seed, int... shape) {
        Tensor t = Tensor.zeros(shape);
        Random r = new Random(seed);
        for (int i = 0; i < t.numel(); i++) t.data()[i] = (float) r.nextGaussian();
        return t;
    }
}
