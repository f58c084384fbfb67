package jdiffusion.sweep;

import jdiffusion.nn.ParamSource;
import jdiffusion.nn.UNet;
import jdiffusion.weights.SafeTensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Stand-ins for the bundled Fashion-MNIST models, written as real folders the CLI loads: tiny
 * 1-channel 32×32 UNets with seeded random weights (an unconditional UNet2DModel folder and a
 * class-conditional pipeline with class_embeddings/, laid out as weights/train/train.py exports them),
 * and a small classifier in the fmnist-classifier format with test-set feature statistics. Random
 * weights make meaningless images, but every path of the sweep (FD, accuracy, per-class skips) runs.
 */
final class TinyFashionModels {
    private TinyFashionModels() {
    }

    static final String[] CLASSES = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

    static final String SCHEDULER = """
            {"_class_name":"DDIMScheduler","num_train_timesteps":1000,"beta_start":0.0001,"beta_end":0.02,
             "beta_schedule":"linear","clip_sample":true,"set_alpha_to_one":true,"steps_offset":0,
             "prediction_type":"epsilon","timestep_spacing":"leading"}
            """;

    /** An unconditional 1×32×32 UNet2DModel folder (config.json + weights + scheduler_config.json). */
    static Path unconditional(Path dir) {
        String cfg = """
                {"_class_name":"UNet2DModel","sample_size":32,"in_channels":1,"out_channels":1,
                 "block_out_channels":[8,16],"layers_per_block":1,"norm_num_groups":4,
                 "down_block_types":["DownBlock2D","AttnDownBlock2D"],"up_block_types":["AttnUpBlock2D","UpBlock2D"],
                 "attention_head_dim":8}
                """;
        writeUNet(dir, cfg, 11);
        write(dir.resolve("scheduler_config.json"), SCHEDULER);
        return dir;
    }

    /** A class-conditional pipeline: model_index.json, unet/, scheduler/, class_embeddings/ (10 classes + null, 2 tokens of 8). */
    static Path classConditional(Path dir) {
        String cfg = """
                {"_class_name":"UNet2DConditionModel","sample_size":32,"in_channels":1,"out_channels":1,
                 "block_out_channels":[8,16],"layers_per_block":1,"norm_num_groups":4,"cross_attention_dim":8,
                 "down_block_types":["DownBlock2D","CrossAttnDownBlock2D"],"up_block_types":["CrossAttnUpBlock2D","UpBlock2D"],
                 "attention_head_dim":2}
                """;
        writeUNet(dir.resolve("unet"), cfg, 12);
        write(dir.resolve("model_index.json"), """
                {"_class_name":"ClassConditionalPipeline","unet":["diffusers","UNet2DConditionModel"],
                 "scheduler":["diffusers","DDIMScheduler"],"class_embeddings":["jdiffusion","ClassEmbeddings"]}
                """);
        write(dir.resolve("scheduler").resolve("scheduler_config.json"), SCHEDULER);
        StringBuilder names = new StringBuilder();
        for (String c : CLASSES) names.append(names.isEmpty() ? "" : ",").append('"').append(c).append('"');
        write(dir.resolve("class_embeddings").resolve("config.json"),
                "{\"class_names\":[" + names + "],\"null_index\":10,\"tokens\":2,\"cross_attention_dim\":8,\"usage\":\"test\"}");
        new SafeTensorsWriter().put("embeddings", new int[]{11, 2, 8}, gaussian(11 * 2 * 8, 1.0, 13))
                .write(dir.resolve("class_embeddings").resolve("class_embeddings.safetensors"));
        return dir;
    }

    /** A classifier in the fmnist-classifier format: conv/group-norm/SiLU, pool, 6 features, 10 logits. */
    static Path classifier(Path dir) {
        StringBuilder names = new StringBuilder();
        for (String c : CLASSES) names.append(names.isEmpty() ? "" : ",").append('"').append(c).append('"');
        write(dir.resolve("config.json"), """
                {"_class_name":"FashionClassifier","class_names":[%s],"test_accuracy":0.5,"weights_file":"model.safetensors",
                 "layers":[
                  {"type":"conv2d","weights":"c0","in_channels":1,"out_channels":4,"kernel_size":3,"stride":2,"padding":1},
                  {"type":"group_norm","weights":"n0","num_groups":2,"num_channels":4,"eps":1e-5},
                  {"type":"silu"},
                  {"type":"global_avg_pool"},
                  {"type":"linear","weights":"fc1","in_features":4,"out_features":6},
                  {"type":"silu","output":"features"},
                  {"type":"linear","weights":"fc2","in_features":6,"out_features":10,"output":"logits"}]}
                """.formatted(names));
        new SafeTensorsWriter()
                .put("c0.weight", new int[]{4, 1, 3, 3}, gaussian(36, 0.3, 21)).put("c0.bias", new int[]{4}, gaussian(4, 0.1, 22))
                .put("n0.weight", new int[]{4}, ones(4)).put("n0.bias", new int[]{4}, new float[4])
                .put("fc1.weight", new int[]{6, 4}, gaussian(24, 0.5, 23)).put("fc1.bias", new int[]{6}, new float[6])
                .put("fc2.weight", new int[]{10, 6}, gaussian(60, 0.5, 24)).put("fc2.bias", new int[]{10}, new float[10])
                .write(dir.resolve("model.safetensors"));
        float[] sigma = new float[36];
        for (int i = 0; i < 6; i++) sigma[i * 6 + i] = 0.05f;
        new SafeTensorsWriter().put("mu", new int[]{6}, new float[6]).put("sigma", new int[]{6, 6}, sigma)
                .write(dir.resolve("test_feature_stats.safetensors"));
        return dir;
    }

    /** Builds the UNet from the config with seeded random parameters and saves exactly the parameters it took. */
    private static void writeUNet(Path dir, String cfg, long seed) {
        write(dir.resolve("config.json"), cfg);
        ParamSource random = ParamSource.random(seed);
        SafeTensorsWriter w = new SafeTensorsWriter();
        UNet.fromConfig(dir.resolve("config.json"), new ParamSource() {
            @Override
            public float[] take(String key, int... shape) {
                float[] v = random.take(key, shape);
                w.put(key, shape, v);
                return v;
            }

            @Override
            public boolean has(String key) {
                return random.has(key);
            }
        });
        w.write(dir.resolve("diffusion_pytorch_model.safetensors"));
    }

    private static float[] gaussian(int n, double std, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (std * Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble()));
        return v;
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    private static void write(Path f, String s) {
        try {
            Files.createDirectories(f.toAbsolutePath().getParent());
            Files.writeString(f, s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
