package jdiffusion.sample;

import jdiffusion.nn.UNet;
import jdiffusion.nn.VaeDecoder;
import jdiffusion.nn.WeightPrecision;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.layout.ModelFolder;
import jdiffusion.weights.layout.PipelineFolder;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Everything a sampling run loads from a folder the user points at: a diffusers pipeline folder
 * ({@code model_index.json} with {@code unet/}, optional {@code vae/}, {@code scheduler/},
 * {@code class_embeddings/}) or a single UNet folder (then a {@code scheduler_config.json} beside
 * {@code config.json} is used if present).
 *
 * @param schedulerConfig the folder's scheduler config, or null when it has none
 */
public record Pipeline(Path dir, String name, UNet unet, VaeDecoder vae, Path schedulerConfig, ClassEmbeddings classes) {

    public static Pipeline load(Path dir) {
        return load(dir, WeightPrecision.F32);
    }

    /** As {@link #load(Path)}, the UNet's conv/linear weights kept in {@code precision}. */
    public static Pipeline load(Path dir, WeightPrecision precision) {
        String name = dir.toAbsolutePath().normalize().getFileName().toString();
        if (PipelineFolder.looksLikePipeline(dir)) {
            PipelineFolder pf = PipelineFolder.open(dir);
            if (!pf.has("unet")) throw WeightsException.at(dir, "unet", "the pipeline has no unet/ folder");
            UNet unet = UNet.load(ModelFolder.open(pf.component("unet")), precision);
            VaeDecoder vae = pf.has("vae") ? VaeDecoder.load(ModelFolder.open(pf.component("vae"))) : null;
            Path sched = pf.has("scheduler") ? pf.schedulerConfig() : null;
            ClassEmbeddings ce = pf.has("class_embeddings") ? ClassEmbeddings.load(pf.component("class_embeddings")) : null;
            if (pf.has("text_encoder") && ce == null)
                System.err.println("note: " + dir + " has a text_encoder; jdiffusion takes prompt embeddings as tensors (--cond FILE)");
            return new Pipeline(dir, name, unet, vae, sched, ce);
        }
        ModelFolder mf = ModelFolder.open(dir);
        if (mf.className().equals("AutoencoderKL"))
            throw WeightsException.at(dir, null, "this is a VAE folder; sampling needs a UNet (or a pipeline folder with unet/ and vae/)");
        UNet unet = UNet.load(mf, precision);
        Path sched = dir.resolve("scheduler_config.json");
        return new Pipeline(dir, name, unet, null, Files.isRegularFile(sched) ? sched : null, null);
    }

    /** Channels × size of the latent the UNet denoises, for a batch of k. */
    public int[] latentShape(int k) {
        return new int[]{k, unet.inChannels(), unet.sampleSize(), unet.sampleSize()};
    }
}
