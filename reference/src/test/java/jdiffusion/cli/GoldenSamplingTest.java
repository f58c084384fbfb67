package jdiffusion.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.Golden;
import jdiffusion.weights.SafeTensorsFile;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The golden sampling runs of real diffusers, passed through the {@code sample} command exactly as a
 * user would run it: the scheduler config goes in as a scheduler_config.json file, x_T as a
 * safetensors file, conditioning as a cond file, acceleration as --accel options.
 * Cases: pipeline/ (full-step and AdaptiveDiffusion, unconditional and guided), adaptive/ (the official
 * rule, 50 steps, three schedulers) and deepcache/ (the authors' helper, both models).
 */
class GoldenSamplingTest {
    @TempDir
    Path tmp;

    static Stream<String> pipelineCases() throws IOException {
        return jsonCases("pipeline");
    }

    static Stream<String> deepcacheCases() throws IOException {
        return jsonCases("deepcache");
    }

    static Stream<String> adaptiveCases() throws IOException {
        try (Stream<Path> s = Files.list(Golden.path("adaptive"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".safetensors"))
                    .map(n -> n.replace(".safetensors", "")).sorted().toList().stream();
        }
    }

    static Stream<String> jsonCases(String dir) throws IOException {
        try (Stream<Path> s = Files.list(Golden.path(dir))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json"))
                    .map(n -> n.replace(".json", "")).sorted().toList().stream();
        }
    }

    /** A diffusers scheduler_config.json with the case's class name and settings, as a user would have it. */
    private Path schedulerConfig(String cls, JsonNode cfg) throws IOException {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("_class_name", cls);
        o.setAll((ObjectNode) cfg);
        Path p = tmp.resolve("scheduler_config.json");
        Files.writeString(p, o.toString());
        return p;
    }

    static String cliName(String cls) {
        return switch (cls) {
            case "DDIMScheduler" -> "ddim";
            case "EulerDiscreteScheduler" -> "euler";
            case "DPMSolverMultistepScheduler" -> "dpmpp2m";
            case "DDPMScheduler" -> "ddpm";
            default -> throw new IllegalArgumentException(cls);
        };
    }

    private int run(List<String> args) {
        return Main.commandLine().execute(args.toArray(String[]::new));
    }

    private record Outcome(double outError, SafeTensorsFile result, SafeTensorsFile golden) implements AutoCloseable {
        @Override
        public void close() {
            result.close();
            golden.close();
        }
    }

    private Outcome sampleAndCompare(Path goldenFile, String model, JsonNode spec, List<String> extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("sample", "--model", Golden.path(model).toString(),
                "--scheduler", cliName(spec.get("scheduler").asText()),
                "--scheduler-config", schedulerConfig(spec.get("scheduler").asText(), spec.get("scheduler_config")).toString(),
                "--steps", spec.get("steps").asText(), "--noise", goldenFile.toString(),
                "--output", tmp.resolve("out.safetensors").toString(), "--trace", tmp.resolve("trace.json").toString()));
        if (spec.hasNonNull("guidance")) {
            // conditioning file with cond/uncond [tokens, dim], as the issue specifies
            Path cond = tmp.resolve("cond.safetensors");
            try (SafeTensorsFile g = SafeTensorsFile.open(goldenFile)) {
                var w = new jdiffusion.weights.SafeTensorsWriter();
                w.put("cond", g.entry("cond").intShape(), g.floats("cond"));
                w.put("uncond", g.entry("uncond").intShape(), g.floats("uncond"));
                w.write(cond);
            }
            args.addAll(List.of("--cond", cond.toString(), "--guidance", spec.get("guidance").asText()));
        }
        args.addAll(extra);
        assertEquals(0, run(args), "sample command failed");
        SafeTensorsFile result = SafeTensorsFile.open(tmp.resolve("out.safetensors"));
        SafeTensorsFile golden = SafeTensorsFile.open(goldenFile);
        double e = Golden.relL2(result.floats("out"), golden.floats("out"));
        return new Outcome(e, result, golden);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pipelineCases")
    void pipeline(String name) throws IOException {
        JsonNode spec = new ObjectMapper().readTree(Golden.path("pipeline", name + ".json").toFile());
        List<String> extra = new ArrayList<>();
        if (spec.hasNonNull("adaptive"))
            extra.addAll(List.of("--accel", "adaptive", "--delta", spec.get("adaptive").get("delta").asText(),
                    "--max-skip", spec.get("adaptive").get("max_skip").asText()));
        try (Outcome o = sampleAndCompare(Golden.path("pipeline", name + ".safetensors"), spec.get("model").asText(), spec, extra)) {
            System.out.printf("pipeline %s: out %.2e, unet_calls %s%n", name, o.outError(), o.result().floats("unet_calls")[0]);
            assertTrue(o.outError() <= 1e-4, "out relative L2 " + o.outError());
            assertEquals(o.golden().floats("unet_calls")[0], o.result().floats("unet_calls")[0], "unet_calls");
            if (spec.hasNonNull("adaptive")) assertArrayEquals(o.golden().floats("mask"), o.result().floats("mask"), "mask");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("deepcacheCases")
    void deepcache(String name) throws IOException {
        JsonNode spec = new ObjectMapper().readTree(Golden.path("deepcache", name + ".json").toFile());
        JsonNode dc = spec.get("deepcache");
        List<String> extra = List.of("--accel", "deepcache", "--interval", dc.get("interval").asText(), "--branch", dc.get("branch_id").asText());
        try (Outcome o = sampleAndCompare(Golden.path("deepcache", name + ".safetensors"), spec.get("model").asText(), spec, extra)) {
            System.out.printf("deepcache %s: out %.2e%n", name, o.outError());
            assertTrue(o.outError() <= 1e-4, "out relative L2 " + o.outError());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("adaptiveCases")
    void adaptive(String name) throws IOException {
        // adaptive/<scheduler>-delta<δ>-cmax<C>: unet2d-tiny, 50 steps, ddpm betas, clip_sample false, leading
        String[] parts = name.split("-");
        String delta = parts[1].substring("delta".length()), cmax = parts[2].substring("cmax".length());
        String cls = switch (parts[0]) {
            case "ddim" -> "DDIMScheduler";
            case "euler" -> "EulerDiscreteScheduler";
            default -> "DPMSolverMultistepScheduler";
        };
        ObjectNode spec = new ObjectMapper().createObjectNode();
        spec.put("scheduler", cls);
        spec.put("steps", 50);
        ObjectNode cfg = spec.putObject("scheduler_config");
        cfg.put("num_train_timesteps", 1000).put("beta_start", 0.0001).put("beta_end", 0.02).put("beta_schedule", "linear")
                .put("timestep_spacing", "leading");
        if (!cls.equals("EulerDiscreteScheduler") && !cls.equals("DPMSolverMultistepScheduler")) cfg.put("clip_sample", false);
        List<String> extra = List.of("--accel", "adaptive", "--delta", delta, "--max-skip", cmax);
        try (Outcome o = sampleAndCompare(Golden.path("adaptive", name + ".safetensors"), "unet2d-tiny", spec, extra)) {
            float[] want = o.golden().floats("mask"), got = o.result().floats("mask");
            float[] critWant = o.golden().floats("criterion"), critGot = o.result().floats("criterion");
            double critErr = Golden.relL2(critGot, critWant);
            System.out.printf("adaptive %s: out %.2e, unet_calls %s (golden %s), criterion rel %.2e%n", name, o.outError(),
                    o.result().floats("unet_calls")[0], o.golden().floats("unet_calls")[0], critErr);
            assertArrayEquals(want, got, "mask");
            assertEquals(o.golden().floats("unet_calls")[0], o.result().floats("unet_calls")[0], "unet_calls");
            assertTrue(o.outError() <= 1e-4, "out relative L2 " + o.outError());
            assertTrue(critErr <= 1e-4, "criterion relative L2 " + critErr);
        }
    }
}
