package jdiffusion.models;

import jdiffusion.Golden;
import jdiffusion.kernels.Backends;
import jdiffusion.metrics.FashionClassifier;
import jdiffusion.nn.Ctx;
import jdiffusion.sample.Pipeline;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bundled models (weights/models/, trained with weights/train/train.py) compute in Java what they
 * computed in PyTorch: each folder carries parity.safetensors, a fixed input and PyTorch's output.
 */
class BundledModelsTest {

    static Path models() {
        String root = System.getProperty("jdiffusion.root", "..");
        return Path.of(root).resolve("weights/models").toAbsolutePath().normalize();
    }

    static Path folder(String name) {
        Path p = models().resolve(name);
        Assumptions.assumeTrue(Files.isDirectory(p), "bundled model " + p + " not present");
        return p;
    }

    @ParameterizedTest(name = "{0} on {1}")
    @org.junit.jupiter.params.provider.CsvSource({"fashion-ddpm-32,scalar", "fashion-ddpm-32,cpu", "fashion-cond-32,scalar", "fashion-cond-32,cpu",
            "fashion-ddpm-32-mr,scalar", "fashion-ddpm-32-mr,cpu"})
    void unetMatchesPyTorch(String name, String backend) {
        Path dir = folder(name);
        Pipeline p = Pipeline.load(dir);
        try (SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("parity.safetensors"))) {
            Tensor ctx = io.contains("encoder_hidden_states") ? Golden.tensor(io, "encoder_hidden_states") : null;
            Tensor out = p.unet().forward(new Ctx(Backends.create(backend, 2)), Golden.tensor(io, "sample"), io.floats("timestep"), ctx);
            double e = Golden.relL2(out, Golden.tensor(io, "out"));
            System.out.printf("%s on %s: relative L2 vs PyTorch %.2e%n", name, backend, e);
            assertTrue(e <= 1e-4, name + ": " + e);
        }
    }

    /**
     * The multi-resolution model was trained at 16×16 and 24×24 too (mixed-resolution sampling runs it there):
     * its parity file also holds {@code sample_<size>} → {@code out_<size>} pairs at those sizes.
     */
    @ParameterizedTest(name = "fashion-ddpm-32-mr at low resolution on {0}")
    @ValueSource(strings = {"scalar", "cpu"})
    void multiResolutionModelMatchesPyTorchAtEachTrainingSize(String backend) {
        Path dir = folder("fashion-ddpm-32-mr");
        Pipeline p = Pipeline.load(dir);
        try (SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("parity.safetensors"))) {
            List<String> sizes = io.entries().keySet().stream().filter(k -> k.startsWith("sample_")).sorted().toList();
            assertEquals(List.of("sample_16", "sample_24"), sizes, "low-resolution parity inputs");
            for (String key : sizes) {
                String size = key.substring("sample_".length());
                Tensor in = Golden.tensor(io, key);
                Tensor out = p.unet().forward(new Ctx(Backends.create(backend, 2)), in, io.floats("timestep"), null);
                assertArrayEquals(in.shape(), out.shape(), "output shape at " + size);
                double e = Golden.relL2(out, Golden.tensor(io, "out_" + size));
                System.out.printf("fashion-ddpm-32-mr %s×%s on %s: relative L2 vs PyTorch %.2e%n", size, size, backend, e);
                assertTrue(e <= 1e-4, size + ": " + e);
            }
        }
    }

    @ParameterizedTest(name = "classifier on {0}")
    @ValueSource(strings = {"scalar", "cpu"})
    void classifierMatchesPyTorch(String backend) {
        Path dir = folder("fmnist-classifier");
        FashionClassifier c = FashionClassifier.load(dir);
        try (SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("parity.safetensors"))) {
            FashionClassifier.Output o = c.run(Backends.create(backend, 2), Golden.tensor(io, "sample"));
            double el = Golden.relL2(o.logits(), Golden.tensor(io, "logits")), ef = Golden.relL2(o.features(), Golden.tensor(io, "features"));
            System.out.printf("classifier on %s: logits %.2e, features %.2e%n", backend, el, ef);
            assertTrue(el <= 1e-4 && ef <= 1e-4, "logits " + el + ", features " + ef);
            float[] labels = io.floats("labels");
            int[] pred = o.predictions();
            int[] want = new int[labels.length];
            for (int i = 0; i < labels.length; i++) want[i] = (int) labels[i];
            assertTrue(pred.length == want.length);
            assertArrayEquals(predictionsOf(io), pred, "same predicted classes as PyTorch");
        }
    }

    private static int[] predictionsOf(SafeTensorsFile io) {
        Tensor logits = Golden.tensor(io, "logits");
        return new FashionClassifier.Output(null, logits).predictions();
    }
}
