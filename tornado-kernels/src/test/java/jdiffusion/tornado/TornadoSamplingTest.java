package jdiffusion.tornado;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.Golden;
import jdiffusion.cli.Main;
import jdiffusion.kernels.Backend;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.nn.UNet;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.Denoiser;
import jdiffusion.tensor.NoiseSource;
import jdiffusion.sample.Progress;
import jdiffusion.sample.Sampler;
import jdiffusion.sample.StepPolicy;
import jdiffusion.schedule.Scheduler;
import jdiffusion.schedule.Schedulers;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.config.SchedulerConfig;
import jdiffusion.weights.layout.ModelFolder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Full DDIM sampling on the TornadoVM device, compared step by step with the CPU backend and, at the end,
 * with the golden diffusers pipeline runs (unconditional unet2d-tiny; guided unet2dcond-sd15-layout with
 * classifier-free guidance 7.5, batch [uncond, cond]). Also the CLI path: {@code sample --backend tornado}.
 */
class TornadoSamplingTest {
    @TempDir
    Path tmp;

    private Scheduler ddim(JsonNode spec) throws IOException {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("_class_name", "DDIMScheduler");
        o.setAll((ObjectNode) spec.get("scheduler_config"));
        Path p = tmp.resolve("scheduler_config.json");
        Files.writeString(p, o.toString());
        return Schedulers.create(SchedulerConfig.parse(p, SchedulerConfig.Kind.DDIM), 0);
    }

    private Sampler.Result sample(Backend backend, UNet unet, JsonNode spec, Tensor xT, Conditioning cond) throws IOException {
        Sampler s = new Sampler(spec.get("model").asText(), new Denoiser(unet), ddim(spec), backend);
        return s.run(xT, spec.get("steps").asInt(), cond, StepPolicy.NONE, new NoiseSource(0).fork("scheduler-noise"), Progress.NONE);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unet2d-tiny-ddim-20", "unet2dcond-sd15-layout-ddim-20"})
    void ddimMatchesCpuBackendAndDiffusers(String name) throws IOException {
        JsonNode spec = new ObjectMapper().readTree(Golden.path("pipeline", name + ".json").toFile());
        UNet unet = UNet.load(ModelFolder.open(Golden.path(spec.get("model").asText())));
        try (SafeTensorsFile g = SafeTensorsFile.open(Golden.path("pipeline", name + ".safetensors"));
             CpuBackend cpu = new CpuBackend(2)) {
            Tensor xT = Golden.tensor(g, "x_T");
            Conditioning cond = spec.hasNonNull("guidance")
                    ? Conditioning.repeat(Golden.tensor(g, "cond"), Golden.tensor(g, "uncond"), spec.get("guidance").asDouble(), xT.dim(0))
                    : null;
            long t0 = System.nanoTime();
            Sampler.Result dev = sample(SharedBackend.get(), unet, spec, xT, cond);
            long t1 = System.nanoTime();
            Sampler.Result ref = sample(cpu, unet, spec, xT, cond);
            long t2 = System.nanoTime();
            double worstStep = 0;
            for (int i = 1; i < ref.latents().size(); i++)
                worstStep = Math.max(worstStep, Golden.relL2(dev.latents().get(i), ref.latents().get(i)));
            double vsCpu = Golden.relL2(dev.out(), ref.out());
            double vsDiffusers = Golden.relL2(dev.out().data(), g.floats("out"));
            System.out.printf("%s: tornado vs cpu out %.2e (worst step %.2e), vs diffusers %.2e; tornado %.1f s, cpu %.1f s%n",
                    name, vsCpu, worstStep, vsDiffusers, (t1 - t0) / 1e9, (t2 - t1) / 1e9);
            assertEquals(ref.latents().size(), dev.latents().size());
            assertTrue(worstStep <= 1e-4, "a step's latent differs from the CPU backend by " + worstStep);
            assertTrue(vsCpu <= 1e-4, "final latent vs CPU backend " + vsCpu);
            assertTrue(vsDiffusers <= 1e-4, "final latent vs diffusers " + vsDiffusers);
        }
    }

    /**
     * The user's path: the sample command with --backend tornado (a fresh backend from Backends.create), on the
     * golden diffusers runs: plain DDIM, DeepCache (cached module outputs stay device tensors across steps) and
     * AdaptiveDiffusion (skipped steps reuse the previous raw output).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"pipeline/unet2d-tiny-ddim-20", "deepcache/unet2d-tiny-ddim-20-interval2-branch3",
            "pipeline/unet2d-tiny-ddim-20-adaptive0.05"})
    void sampleCommandWithTornadoBackend(String golden) throws IOException {
        String[] parts = golden.split("/");
        JsonNode spec = new ObjectMapper().readTree(Golden.path(parts[0], parts[1] + ".json").toFile());
        ObjectNode cfg = new ObjectMapper().createObjectNode();
        cfg.put("_class_name", "DDIMScheduler");
        cfg.setAll((ObjectNode) spec.get("scheduler_config"));
        Path sched = tmp.resolve("ddim.json");
        Files.writeString(sched, cfg.toString());
        Path out = tmp.resolve("out.safetensors");
        Path goldenFile = Golden.path(parts[0], parts[1] + ".safetensors");
        List<String> args = new java.util.ArrayList<>(List.of("sample", "--model", Golden.path(spec.get("model").asText()).toString(),
                "--scheduler", "ddim", "--scheduler-config", sched.toString(), "--steps", spec.get("steps").asText(),
                "--noise", goldenFile.toString(), "--output", out.toString(), "--backend", "tornado"));
        if (spec.hasNonNull("deepcache"))
            args.addAll(List.of("--accel", "deepcache", "--interval", spec.get("deepcache").get("interval").asText(),
                    "--branch", spec.get("deepcache").get("branch_id").asText()));
        if (spec.hasNonNull("adaptive"))
            args.addAll(List.of("--accel", "adaptive", "--delta", spec.get("adaptive").get("delta").asText(),
                    "--max-skip", spec.get("adaptive").get("max_skip").asText()));
        String old = System.getProperty("jdiffusion.tornado.memory");
        System.setProperty("jdiffusion.tornado.memory", "64m");   // another device in this JVM: keep it small
        int rc;
        try {
            rc = Main.commandLine().execute(args.toArray(String[]::new));
        } finally {
            if (old == null) System.clearProperty("jdiffusion.tornado.memory");
            else System.setProperty("jdiffusion.tornado.memory", old);
        }
        assertEquals(0, rc, "sample --backend tornado failed");
        try (SafeTensorsFile r = SafeTensorsFile.open(out); SafeTensorsFile g = SafeTensorsFile.open(goldenFile)) {
            double e = Golden.relL2(r.floats("out"), g.floats("out"));
            System.out.printf("sample --backend tornado %s: out vs diffusers %.2e, unet_calls %s (diffusers %s)%n", golden, e,
                    r.floats("unet_calls")[0], g.contains("unet_calls") ? g.floats("unet_calls")[0] : "-");
            assertTrue(e <= 1e-4, "relative L2 " + e);
            if (g.contains("unet_calls")) assertEquals(g.floats("unet_calls")[0], r.floats("unet_calls")[0], "unet_calls");
        }
    }
}
