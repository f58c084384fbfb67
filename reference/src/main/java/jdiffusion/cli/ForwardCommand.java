package jdiffusion.cli;

import jdiffusion.kernels.Backend;
import jdiffusion.nn.ClipTextModel;
import jdiffusion.nn.Ctx;
import jdiffusion.nn.UNet;
import jdiffusion.nn.VaeDecoder;
import jdiffusion.nn.WeightPrecision;
import jdiffusion.sample.MemoryBudget;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.SafeTensorsWriter;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.layout.ModelFolder;
import jdiffusion.weights.layout.PipelineFolder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** One forward pass of a model folder on tensors from a file: the auditable entry point for parity checks. */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = {"One forward pass of a model, for parity checks against other implementations.",
                "UNet input keys: sample [N,C,H,W], timestep [N] (or [1]), encoder_hidden_states [N,T,D] for conditional UNets.",
                "VAE input key: latents [N,4,h,w] (decoded as vae.decode(latents), no scaling factor applied).",
                "Output key: out.",
                "Text encoder (CLIPTextModel) input key: input_ids [N,T] (I64 or I32); output keys: last_hidden_state [N,T,D],",
                "pooled [N,D] and hidden_states.<i> for i = 0 (embeddings) .. num_hidden_layers."})
public final class ForwardCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "A model folder (config.json + safetensors) or a pipeline folder.")
    Path model;

    @Option(names = "--component", defaultValue = "unet", description = "For a pipeline folder: unet, vae or text_encoder (default unet).")
    String component;

    @Option(names = "--input", required = true, description = "safetensors file with the input tensors.")
    Path input;

    @Option(names = "--output", required = true, description = "safetensors file to write (key 'out').")
    Path output;

    @Mixin
    BackendOptions backendOptions;

    @Override
    public Integer call() {
        Checks.outputs("--output", output, null, null);
        Path dir = model;
        if (PipelineFolder.looksLikePipeline(model)) {
            if (!component.equals("unet") && !component.equals("vae") && !component.equals("text_encoder"))
                throw new IllegalArgumentException("--component must be unet, vae or text_encoder, got '" + component + "'");
            dir = PipelineFolder.open(model).component(component);
        }
        ModelFolder mf = ModelFolder.open(dir);
        WeightPrecision precision = backendOptions.weightPrecision();
        long weights = MemoryBudget.checkWeights(dir, precision);
        if (mf.className().equals("CLIPTextModel")) return forwardTextEncoder(mf);
        Backend backend = backendOptions.create();
        Tensor out;
        long t0;
        try (SafeTensorsFile in = SafeTensorsFile.open(input)) {
            if (mf.className().equals("AutoencoderKL")) {
                VaeDecoder vae = VaeDecoder.load(mf);
                Tensor z = Tensors.require(in, "latents");
                if (z.rank() != 4 || z.dim(0) < 1 || z.dim(2) < 1 || z.dim(3) < 1)
                    throw WeightsException.at(input, "latents", "shape " + z.shapeString() + " is not [N ≥ 1, channels, h ≥ 1, w ≥ 1]");
                var f = MemoryBudget.vae(vae, backend, z.dim(0), z.dim(2), z.dim(3));
                new MemoryBudget.Estimate(weights, f.winogradCache(), f.activations(), java.util.List.of()).check("forward (VAE decode of " + z.shapeString() + ")",
                        WeightPrecision.F32, "a smaller batch in --input", null);
                t0 = System.nanoTime();
                out = vae.decode(new Ctx(backend), z);
            } else {
                UNet unet = UNet.load(mf, precision);
                Tensor sample = Tensors.require(in, "sample");
                if (sample.rank() != 4 || sample.dim(0) < 1 || sample.dim(2) < 1 || sample.dim(3) < 1)
                    throw WeightsException.at(input, "sample", "shape " + sample.shapeString() + " is not [N ≥ 1, channels, H ≥ 1, W ≥ 1]");
                float[] ts = Tensors.require(in, "timestep").data();
                if (ts.length == 1 && sample.dim(0) > 1) {
                    float t = ts[0];
                    ts = new float[sample.dim(0)];
                    java.util.Arrays.fill(ts, t);
                }
                if (ts.length != sample.dim(0))
                    throw WeightsException.at(input, "timestep", ts.length + " timesteps for a batch of " + sample.dim(0) + " (give 1 or one per element)");
                Tensor ctx = Tensors.optional(in, "encoder_hidden_states");
                if (ctx != null && (ctx.rank() != 3 || ctx.dim(1) < 1))
                    throw WeightsException.at(input, "encoder_hidden_states", "shape " + ctx.shapeString() + " is not [N, T ≥ 1, dim]");
                var f = MemoryBudget.unet(unet, backend, sample.dim(0), sample.dim(2), sample.dim(3), ctx == null ? 0 : ctx.dim(1));
                new MemoryBudget.Estimate(weights, f.winogradCache(), f.activations(), java.util.List.of()).check("forward (UNet on " + sample.shapeString() + ")",
                        precision, "a smaller batch in --input", null);
                t0 = System.nanoTime();
                out = unet.forward(new Ctx(backend), sample, ts, ctx);
            }
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        SafeTensorsWriter w = new SafeTensorsWriter();
        Tensors.put(w, "out", out);
        w.meta("backend", backend.name()).write(output);
        System.out.printf("%s forward on %s: output %s in %.1f ms -> %s%n", mf.className(), backend.name(), out.shapeString(), ms, output);
        return 0;
    }

    /** The text encoder: every hidden state, last_hidden_state and pooled, as transformers returns them. */
    private int forwardTextEncoder(ModelFolder mf) {
        Path out = output;
        ClipTextModel te = ClipTextModel.load(mf, backendOptions.weightPrecision());
        int[][] ids;
        try (SafeTensorsFile in = SafeTensorsFile.open(input)) {
            ids = inputIds(in);
        }
        Backend backend = backendOptions.create();
        long t0 = System.nanoTime();
        ClipTextModel.Output o = te.forward(new Ctx(backend), ids);
        double ms = (System.nanoTime() - t0) / 1e6;
        SafeTensorsWriter w = new SafeTensorsWriter();
        Tensors.put(w, "last_hidden_state", o.lastHiddenState());
        Tensors.put(w, "pooled", o.pooled());
        for (int i = 0; i < o.hiddenStates().size(); i++) Tensors.put(w, "hidden_states." + i, o.hiddenStates().get(i));
        w.meta("backend", backend.name()).write(out);
        System.out.printf("CLIPTextModel forward on %s: last_hidden_state %s in %.1f ms -> %s%n", backend.name(),
                o.lastHiddenState().shapeString(), ms, output);
        return 0;
    }

    /** input_ids [N, T] as I64 or I32 (floats are refused: ids are not rounded). */
    static int[][] inputIds(SafeTensorsFile in) {
        if (!in.contains("input_ids"))
            throw WeightsException.at(in.file(), "input_ids", "required tensor is missing (the file has " + in.entries().keySet() + ")");
        int[] shape = in.entry("input_ids").intShape();
        if (shape.length != 2 || shape[0] < 1 || shape[1] < 1)
            throw WeightsException.at(in.file(), "input_ids", "must be [batch, tokens], found " + java.util.Arrays.toString(shape));
        long[] flat = in.longs("input_ids");
        int[][] ids = new int[shape[0]][shape[1]];
        for (int b = 0; b < shape[0]; b++)
            for (int t = 0; t < shape[1]; t++) {
                long v = flat[b * shape[1] + t];
                if (v < 0 || v > Integer.MAX_VALUE)
                    throw WeightsException.at(in.file(), "input_ids", "[" + b + "][" + t + "] = " + v + " is not a token id");
                ids[b][t] = (int) v;
            }
        return ids;
    }
}
