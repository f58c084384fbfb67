package jdiffusion.nn;

import jdiffusion.Golden;
import jdiffusion.kernels.Backend;
import jdiffusion.kernels.Backends;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.layout.ModelFolder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The golden UNet cases: output and every recorded intermediate within 1e-4 relative L2, on every backend. */
class GoldenUNetTest {

    static Stream<Arguments> cases() {
        return Stream.of("unet2d-tiny", "unet2d-ddpm-cifar-layout", "unet2dcond-sd15-layout", "unet2dcond-sd2-layout")
                .flatMap(c -> Stream.of("scalar", "cpu").map(b -> Arguments.of(c, b)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void matchesDiffusers(String name, String backendName) {
        UNet unet = UNet.load(ModelFolder.open(Golden.path(name)));
        Backend backend = Backends.create(backendName, 2);
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
            Tensor out = unet.forward(new Ctx(backend, probe), sample, t, ctx);
            StringBuilder report = new StringBuilder();
            double worst = 0;
            int checked = 0;
            for (String key : io.entries().keySet()) {
                if (!key.startsWith("inter.")) continue;
                String n = key.substring("inter.".length());
                Tensor got = seen.get(n);
                assertTrue(got != null, "no intermediate '" + n + "' recorded");
                double e = Golden.relL2(got, Golden.tensor(io, key));
                report.append(String.format("  %-16s %.2e%n", n, e));
                worst = Math.max(worst, e);
                checked++;
            }
            double eo = Golden.relL2(out, Golden.tensor(io, "out"));
            report.append(String.format("  %-16s %.2e%n", "out", eo));
            System.out.printf("%s on %s (%d intermediates):%n%s", name, backendName, checked, report);
            assertTrue(checked > 0, "golden file has no intermediates");
            assertTrue(eo <= 1e-4 && worst <= 1e-4, name + " on " + backendName + " exceeds 1e-4:\n" + report);
        }
    }
}
