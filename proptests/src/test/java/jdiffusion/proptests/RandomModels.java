package jdiffusion.proptests;

import jdiffusion.nn.ParamSource;
import jdiffusion.nn.UNet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * Small random diffusers models for properties: a random UNet2DModel or UNet2DConditionModel layout
 * (widths, depth, attention placement, head sizes) written as a real config.json and built with seeded
 * random weights through the same loader path as a downloaded model.
 */
final class RandomModels {
    private RandomModels() {
    }

    record Model(UNet unet, String config) {
    }

    static Model unconditional(long seed) {
        Random r = new Random(seed);
        int c0 = 8 * (1 + r.nextInt(2)), c1 = 16, ch = r.nextBoolean() ? 3 : 1;
        boolean attnFirst = r.nextBoolean();
        String cfg = """
                {"_class_name":"UNet2DModel","sample_size":16,"in_channels":%d,"out_channels":%d,
                 "block_out_channels":[%d,%d],"layers_per_block":%d,"norm_num_groups":4,
                 "down_block_types":["%s","%s"],"up_block_types":["%s","%s"],
                 "attention_head_dim":%s,"flip_sin_to_cos":%s,"freq_shift":%d,"downsample_padding":%d}
                """.formatted(ch, ch, c0, c1, 1 + r.nextInt(2),
                attnFirst ? "AttnDownBlock2D" : "DownBlock2D", attnFirst ? "DownBlock2D" : "AttnDownBlock2D",
                attnFirst ? "UpBlock2D" : "AttnUpBlock2D", attnFirst ? "AttnUpBlock2D" : "UpBlock2D",
                r.nextBoolean() ? "null" : "4", r.nextBoolean(), r.nextInt(2), r.nextInt(2));
        return new Model(build(cfg, seed), cfg);
    }

    static Model conditional(long seed) {
        Random r = new Random(seed);
        String cfg = """
                {"_class_name":"UNet2DConditionModel","sample_size":16,"in_channels":4,"out_channels":4,
                 "block_out_channels":[8,16],"layers_per_block":1,"norm_num_groups":4,"cross_attention_dim":12,
                 "down_block_types":["CrossAttnDownBlock2D","DownBlock2D"],"up_block_types":["UpBlock2D","CrossAttnUpBlock2D"],
                 "attention_head_dim":%d,"use_linear_projection":%s}
                """.formatted(1 + r.nextInt(2), r.nextBoolean());
        return new Model(build(cfg, seed), cfg);
    }

    private static UNet build(String cfg, long seed) {
        try {
            Path p = Files.createTempFile("random-unet", ".json");
            Files.writeString(p, cfg);
            try {
                return UNet.fromConfig(p, ParamSource.random(seed));
            } finally {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
