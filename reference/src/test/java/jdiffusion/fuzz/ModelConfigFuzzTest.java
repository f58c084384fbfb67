package jdiffusion.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import jdiffusion.nn.UNet;
import jdiffusion.nn.VaeDecoder;
import jdiffusion.weights.config.AutoencoderKLConfig;
import jdiffusion.weights.config.UNet2DConditionConfig;
import jdiffusion.weights.config.UNet2DConfig;
import jdiffusion.weights.layout.ModelFolder;

import java.nio.file.Path;

/**
 * The model config readers, each followed by the model build it configures, against a weights file
 * that holds no tensor: every config either is refused by name or builds a model whose parameters are
 * all reported missing. So a config that passes validation must also be constructible (no division by
 * zero, no negative or configured-size allocation before the weights are checked).
 */
class ModelConfigFuzzTest {
    /** A safetensors file with an empty header: 8-byte length 2, then "{}". */
    private static final byte[] EMPTY = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};

    private static Path folder(String name, byte[] config) {
        Path dir = Fuzz.dir(name);
        Fuzz.write(dir, "config.json", config);
        Fuzz.write(dir, "diffusion_pytorch_model.safetensors", EMPTY);
        return dir;
    }

    @FuzzTest(maxDuration = "10m")
    void unet2d(byte[] data) throws Exception {
        Path dir = folder("unet2d", data);
        Fuzz.holds(() -> {
            UNet2DConfig.parse(dir.resolve("config.json"));
            UNet.load(ModelFolder.open(dir));
        });
    }

    @FuzzTest(maxDuration = "10m")
    void unet2dCondition(byte[] data) throws Exception {
        Path dir = folder("unet2dcond", data);
        Fuzz.holds(() -> {
            UNet2DConditionConfig.parse(dir.resolve("config.json"));
            UNet.load(ModelFolder.open(dir));
        });
    }

    @FuzzTest(maxDuration = "10m")
    void autoencoderKL(byte[] data) throws Exception {
        Path dir = folder("vae", data);
        Fuzz.holds(() -> {
            AutoencoderKLConfig.parse(dir.resolve("config.json"));
            VaeDecoder.load(ModelFolder.open(dir));
        });
    }

}
