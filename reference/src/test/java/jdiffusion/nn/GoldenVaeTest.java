package jdiffusion.nn;

import jdiffusion.Golden;
import jdiffusion.kernels.Backends;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.layout.ModelFolder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The golden AutoencoderKL case: vae.decode(latents).sample within 1e-4 relative L2 on every backend. */
class GoldenVaeTest {

    @ParameterizedTest(name = "vae-sd-layout on {0}")
    @ValueSource(strings = {"scalar", "cpu"})
    void decoderMatchesDiffusers(String backend) {
        VaeDecoder vae = VaeDecoder.load(ModelFolder.open(Golden.path("vae-sd-layout")));
        try (SafeTensorsFile io = SafeTensorsFile.open(Golden.path("vae-sd-layout", "io.safetensors"))) {
            Tensor out = vae.decode(new Ctx(Backends.create(backend, 2)), Golden.tensor(io, "latents"));
            double e = Golden.relL2(out, Golden.tensor(io, "out"));
            System.out.printf("vae-sd-layout on %s: out %.2e%n", backend, e);
            assertTrue(e <= 1e-4, "relative L2 " + e);
        }
    }
}
