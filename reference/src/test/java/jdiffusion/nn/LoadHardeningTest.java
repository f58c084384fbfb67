package jdiffusion.nn;

import jdiffusion.metrics.FashionClassifier;
import jdiffusion.sample.ClassEmbeddings;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.SafeTensorsWriter;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.layout.ModelFolder;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loading is safe against hostile files, on the bundled models: non-finite weights are named at load;
 * zero sizes are config errors, not {@code / by zero}; a config far larger than its weights and the MAC
 * count of a huge sample fit a 192 MiB heap (a child JVM), where before they ended in OutOfMemoryError.
 */
class LoadHardeningTest {
    @TempDir
    Path tmp;

    static Path bundled(String rel) {
        Path p = Path.of(System.getProperty("jdiffusion.root", "..")).resolve("weights/models").resolve(rel).toAbsolutePath().normalize();
        Assumptions.assumeTrue(Files.isDirectory(p), "bundled model " + p + " not present");
        return p;
    }

    /** A copy of a bundled folder, its config.json edited and one value of {@code poisonKey} (if not null) set to NaN. */
    private Path copy(String rel, String weightsFile, UnaryOperator<String> config, String poisonKey) throws IOException {
        Path src = bundled(rel), dst = Files.createDirectories(tmp.resolve(rel.replace('/', '-')));
        Files.writeString(dst.resolve("config.json"), config.apply(Files.readString(src.resolve("config.json"))));
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensorsFile f = SafeTensorsFile.open(src.resolve(weightsFile))) {
            for (var e : f.entries().values()) {
                float[] v = f.floats(e.name());
                if (e.name().equals(poisonKey)) v[v.length / 2] = Float.NaN;
                w.put(e.name(), e.intShape(), v);
            }
        }
        w.write(dst.resolve(weightsFile));
        return dst;
    }

    @Test
    void nonFiniteWeightIsNamedAtLoad() throws IOException {
        Path dir = copy("fashion-ddpm-32/unet", "diffusion_pytorch_model.safetensors", c -> c, "conv_in.weight");
        WeightsException e = assertThrows(WeightsException.class, () -> UNet.load(ModelFolder.open(dir)));
        assertTrue(e.getMessage().contains("1 tensors hold non-finite values")
                && e.getMessage().contains("conv_in.weight: 1 of 288 values (the first at index 144 is NaN)"), e.getMessage());
    }

    @Test
    void nonFiniteClassEmbeddingIsNamedAtLoad() throws IOException {
        Path dir = copy("fashion-cond-32/class_embeddings", "class_embeddings.safetensors", c -> c, "embeddings");
        WeightsException e = assertThrows(WeightsException.class, () -> ClassEmbeddings.load(dir));
        assertTrue(e.getMessage().contains("class_embeddings.safetensors: key 'embeddings': 1 of 2816 values are not finite"), e.getMessage());
    }

    @Test
    void duplicateClassNamesAreRefused() throws IOException {
        Path dir = copy("fashion-cond-32/class_embeddings", "class_embeddings.safetensors", c -> c.replace("\"Trouser\"", "\"coat\""), null);
        WeightsException e = assertThrows(WeightsException.class, () -> ClassEmbeddings.load(dir));
        assertTrue(e.getMessage().contains("'class_names'") && e.getMessage().contains("'Coat' appears twice"), e.getMessage());
    }

    @Test
    void zeroHeadDimIsAConfigErrorNotDivisionByZero() throws IOException {
        Path dir = copy("fashion-ddpm-32/unet", "diffusion_pytorch_model.safetensors",
                c -> c.replace("\"attention_head_dim\": 32", "\"attention_head_dim\": 0"), null);
        WeightsException e = assertThrows(WeightsException.class, () -> UNet.load(ModelFolder.open(dir)));  // was ArithmeticException: / by zero
        assertTrue(e.getMessage().contains("'attention_head_dim': expected an integer in 1..2147483647, found 0"), e.getMessage());
    }

    @Test
    void classifierConfigIsValidatedToo() throws IOException {
        Path dir = copy("fmnist-classifier", "model.safetensors", c -> c.replaceFirst("\"num_groups\": 8", "\"num_groups\": 0"), null);
        WeightsException e = assertThrows(WeightsException.class, () -> FashionClassifier.load(dir));   // was accepted, / by zero when run
        assertTrue(e.getMessage().contains("key 'layers[1].num_groups': expected an integer in 1..2147483647, found 0"), e.getMessage());
    }

    /** Runs {@link LoadProbe} in a JVM with a 192 MiB heap; returns its output (stdout + stderr). */
    private static String probe(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx192m", "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), LoadProbe.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "probe did not finish");
        assertEquals(0, p.exitValue(), "probe failed (OutOfMemoryError?):\n" + out);
        return out;
    }

    @Test
    void configFarLargerThanItsWeightsIsANamedErrorInASmallHeap() throws Exception {
        // the placeholders of this config (e.g. 4096 × 4096 × 3 × 3 conv weights, 600 MB) used to be allocated before the shape check
        Path dir = copy("fashion-ddpm-32/unet", "diffusion_pytorch_model.safetensors", c -> c.replaceAll(
                "\"block_out_channels\": \\[[^]]*]", "\"block_out_channels\": [4096, 8192, 8192]"), null);
        String out = probe("load", dir.toString());
        assertTrue(out.contains("error: ") && out.contains("the weights do not fit UNet2DModel as configured")
                && out.contains("mis-shaped keys:") && out.contains("conv_in.weight: file has [32, 1, 3, 3], model expects [4096, 1, 3, 3]"), out);
    }

    @Test
    void macCountOfAHugeSampleAllocatesNoActivations() throws Exception {
        // 1024 × 1024: each activation of the bundled UNet is 32 × 1024² floats = 128 MiB; the dry run holds none
        String small = probe("macs", bundled("fashion-ddpm-32/unet").toString(), "32");
        String huge = probe("macs", bundled("fashion-ddpm-32/unet").toString(), "1024");
        long m32 = Long.parseLong(small.replaceAll("(?s).*macs=(\\d+).*", "$1"));
        long m1024 = Long.parseLong(huge.replaceAll("(?s).*macs=(\\d+).*", "$1"));
        assertTrue(m1024 > 1024L * m32, "convolutions scale with the pixels, attention faster: " + m32 + " vs " + m1024);
    }
}
