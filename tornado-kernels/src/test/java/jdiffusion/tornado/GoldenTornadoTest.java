package jdiffusion.tornado;

import jdiffusion.Golden;
import jdiffusion.nn.Ctx;
import jdiffusion.nn.ForwardHooks;
import jdiffusion.nn.UNet;
import jdiffusion.nn.VaeDecoder;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.layout.ModelFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The golden forward passes (outputs of the real diffusers) on the TornadoVM device: the output and every
 * recorded intermediate within 1e-4 relative L2, the same bar as the CPU backends. The whole pass runs on
 * the device; intermediates are read back only by the test, after the pass.
 */
class GoldenTornadoTest {

    static Stream<Arguments> cases() {
        return Stream.of("unet2d-tiny", "unet2d-ddpm-cifar-layout", "unet2dcond-sd15-layout", "unet2dcond-sd2-layout")
                .flatMap(c -> Stream.of(TornadoBackend.Gemm.DOT, TornadoBackend.Gemm.TILED, TornadoBackend.Gemm.DIRECT).map(g -> Arguments.of(c, g)));
    }

    @ParameterizedTest(name = "{0} on tornado, {1} conv/linear")
    @MethodSource("cases")
    void unetMatchesDiffusers(String name, TornadoBackend.Gemm gemm) {
        TornadoBackend backend = SharedBackend.get();
        backend.setGemm(gemm);
        try {
            forward(name, backend, gemm);
        } finally {
            backend.setGemm(TornadoBackend.Gemm.AUTO);
        }
    }

    private static void forward(String name, TornadoBackend backend, TornadoBackend.Gemm gemm) {
        UNet unet = UNet.load(ModelFolder.open(Golden.path(name)));
        try (SafeTensorsFile io = SafeTensorsFile.open(Golden.path(name, "io.safetensors"))) {
            Tensor sample = Golden.tensor(io, "sample");
            float[] t = io.floats("timestep");
            Tensor ctx = io.contains("encoder_hidden_states") ? Golden.tensor(io, "encoder_hidden_states") : null;
            Map<String, Tensor> seen = new LinkedHashMap<>();
            ForwardHooks probe = new ForwardHooks() {
                @Override
                public void intermediate(String n, Tensor v) {
                    seen.put(n, v);
                }
            };
            long t0 = System.nanoTime();
            Tensor out = unet.forward(new Ctx(backend, probe), sample, t, ctx);
            assertTrue(out.device() != null && !out.onHost(), "the output should come back as a device tensor");
            float[] host = out.data();
            double ms = (System.nanoTime() - t0) / 1e6;
            StringBuilder report = new StringBuilder();
            double worst = 0;
            int checked = 0;
            for (String key : io.entries().keySet()) {
                if (!key.startsWith("inter.")) continue;
                String n = key.substring("inter.".length());
                Tensor got = seen.get(n);
                assertNotNull(got, "no intermediate '" + n + "' recorded");
                double e = Golden.relL2(got, Golden.tensor(io, key));
                report.append(String.format("  %-16s %.2e%n", n, e));
                worst = Math.max(worst, e);
                checked++;
            }
            double eo = Golden.relL2(host, io.floats("out"));
            report.append(String.format("  %-16s %.2e%n", "out", eo));
            System.out.printf("%s on tornado/%s (%d intermediates, first pass incl. uploads %.0f ms):%n%s", name, gemm, checked, ms, report);
            assertTrue(checked > 0, "golden file has no intermediates");
            assertTrue(eo <= 1e-4 && worst <= 1e-4, name + " on tornado exceeds 1e-4:\n" + report);
        }
    }

    @Test
    void vaeDecoderMatchesDiffusers() {
        VaeDecoder vae = VaeDecoder.load(ModelFolder.open(Golden.path("vae-sd-layout")));
        try (SafeTensorsFile io = SafeTensorsFile.open(Golden.path("vae-sd-layout", "io.safetensors"))) {
            Tensor out = vae.decode(new Ctx(SharedBackend.get()), Golden.tensor(io, "latents"));
            double e = Golden.relL2(out, Golden.tensor(io, "out"));
            System.out.printf("vae-sd-layout on tornado: out %.2e%n", e);
            assertTrue(e <= 1e-4, "relative L2 " + e);
        }
    }
}
