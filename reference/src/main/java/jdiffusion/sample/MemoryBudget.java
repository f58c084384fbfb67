package jdiffusion.sample;

import jdiffusion.kernels.Backend;
import jdiffusion.kernels.CpuBackend;
import jdiffusion.kernels.ShapeOnlyBackend;
import jdiffusion.nn.Ctx;
import jdiffusion.nn.ForwardHooks;
import jdiffusion.nn.ModuleId;
import jdiffusion.nn.UNet;
import jdiffusion.nn.VaeDecoder;
import jdiffusion.nn.WeightPrecision;
import jdiffusion.tensor.Tensor;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.WeightStore;
import jdiffusion.weights.layout.ModelFolder;
import jdiffusion.weights.layout.PipelineFolder;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Memory is checked before it is spent: the heap a run needs, estimated from shapes alone, against the
 * heap limit ({@link Runtime#maxMemory()}, the launcher's JDIFFUSION_HEAP). A run that cannot fit is
 * refused up front ({@link Exceeded}) with the estimate and the flags that would make it fit, instead of
 * ending in an OutOfMemoryError after minutes of work.
 *
 * <p>The estimate is the sum of
 * <ul>
 * <li>the weights as they will be held (from the safetensors headers: elements × bytes of the chosen
 *     --weights-dtype), before anything is loaded;</li>
 * <li>the CPU backend's cache of Winograd-transformed 3×3 weights (16/9 of those weights, packed in GEMM panels,
 *     within its budget; {@link CpuBackend#winogradCacheEntryBytes});</li>
 * <li>the activations of one UNet evaluation (or VAE decode) at the run's batch: a shape-only pass at
 *     batch 1 (nothing is computed) through a metering backend that tracks the skip connections the
 *     UNet holds for its up path, the input a resnet or attention keeps for its residual, each
 *     operation's inputs and output, and the scratch the CPU kernels keep between calls (Winograd
 *     transforms, packed attention keys/values); activations scale linearly with the batch;</li>
 * <li>what the run keeps while it goes (every step's latent, the conditioning of every image) and its
 *     outputs (all images, twice while they are concatenated, and e.g. the PNG grid).</li>
 * </ul>
 * It is a live-set estimate: the JVM also needs free heap to collect in (and G1 contiguous regions for
 * large arrays), so a run is refused only when even its live set exceeds the limit, and a run estimated
 * just under the limit may still run out (that ends in the same clear error, see cli/Main). Measured
 * against the smallest -Xmx with which the run completes (binary search to 4 %, 8d33a5f's engine):
 * <pre>
 *   run                                              estimate   smallest heap   ratio
 *   generate unet2d-tiny, 64 images, batch 64, 2 st   285 MiB      369 MiB       1.29
 *   generate fashion-ddpm-32, 32 images, batch 32     144 MiB      193 MiB       1.34
 *   bench ddpm-cifar10, batch 8 (one forward)         445 MiB      525 MiB       1.18
 * </pre>
 * so the suggested JDIFFUSION_HEAP adds 40 % to the estimate.
 */
public final class MemoryBudget {
    private MemoryBudget() {
    }

    /** A run that would not fit the heap, refused before it starts. */
    public static final class Exceeded extends IllegalArgumentException {
        public Exceeded(String message) {
            super(message);
        }
    }

    private static final long MIB = 1L << 20, GIB = 1L << 30;

    /** Bytes as the user reads them: "350 MiB", "9.7 GiB". */
    public static String mib(long bytes) {
        return bytes >= GIB ? String.format(Locale.ROOT, "%.1f GiB", (double) bytes / GIB) : (bytes + MIB - 1) / MIB + " MiB";
    }

    /** The heap limit this JVM runs with. */
    public static long heapLimit() {
        return Runtime.getRuntime().maxMemory();
    }

    // ---------------------------------------------------------------- weights, from the headers

    /**
     * Heap bytes the weights of a model folder (pipeline or UNet folder) take once loaded, the UNet's
     * conv/linear weights in {@code precision}: from the safetensors headers, nothing is read or
     * allocated. 0 when the folder cannot be read (loading it then reports what is wrong).
     */
    public static long weightBytes(Path dir, WeightPrecision precision) {
        try {
            if (!PipelineFolder.looksLikePipeline(dir)) return folderBytes(dir, precision, List.of());
            PipelineFolder pf = PipelineFolder.open(dir);
            long b = 0;
            if (pf.has("unet")) b += folderBytes(pf.component("unet"), precision, List.of());
            if (pf.has("vae")) b += folderBytes(pf.component("vae"), WeightPrecision.F32, List.of("encoder.", "quant_conv."));
            if (pf.has("class_embeddings"))
                try (SafeTensorsFile f = SafeTensorsFile.open(pf.component("class_embeddings").resolve("class_embeddings.safetensors"))) {
                    for (String k : f.entries().keySet()) b += 4 * f.entry(k).elementCount();
                }
            return b;
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private static long folderBytes(Path dir, WeightPrecision precision, List<String> skipped) {
        long b = 0;
        try (WeightStore store = ModelFolder.open(dir).openWeights()) {
            for (String k : store.keys()) {
                if (skipped.stream().anyMatch(k::startsWith)) continue;
                var e = store.entry(k);
                int bytes = 4;   // biases and norm scales stay float32; conv/linear weights (rank ≥ 2) take the precision's size
                if (e.shape().length >= 2) bytes = switch (precision) {
                    case F32 -> 4;
                    case F16, BF16 -> 2;
                    case FILE -> Math.min(4, e.dtype().bytes);
                };
                b += bytes * e.elementCount();
            }
        }
        return b;
    }

    /**
     * Refuses a model whose weights alone do not fit the heap, before anything is loaded; returns the
     * weights' bytes for the run's estimate.
     */
    public static long checkWeights(Path dir, WeightPrecision precision) {
        long w = weightBytes(dir, precision), limit = heapLimit();
        if (w > limit) {
            String half = precision == WeightPrecision.F16 || precision == WeightPrecision.BF16 ? ""
                    : ", or hold the UNet's weights in 16 bits with --weights-dtype f16 (about " + mib(weightBytes(dir, WeightPrecision.F16)) + ")";
            throw new Exceeded("the weights of " + dir + " take about " + mib(w) + " in memory (" + precision.name().toLowerCase(Locale.ROOT)
                    + "), more than the heap limit of " + mib(limit) + ": raise the limit with JDIFFUSION_HEAP=" + suggestedHeap(w) + half);
        }
        return w;
    }

    /** A byte count computed in floating point (sizes from options can overflow a long), capped far from overflow. */
    public static long bytes(double b) {
        return (long) Math.min(b, 1e17);
    }

    /** A JDIFFUSION_HEAP value (whole GiB) with the measured headroom (40 %) over the live estimate {@code bytes}. */
    static String suggestedHeap(long bytes) {
        return Math.max(1, (long) Math.ceil(bytes * 1.4 / GIB)) + "g";
    }

    // ---------------------------------------------------------------- a run's estimate

    /** A named part of what a run keeps: "100000 images", 1.2 GiB. */
    public record Part(String what, long bytes) {
    }

    /**
     * What a run holds at its peak.
     *
     * @param weights       the model's weights
     * @param winogradCache the CPU backend's transformed 3×3 weights
     * @param activations   one UNet evaluation (or VAE decode) at the run's batch, with kernel scratch
     * @param held          what the run keeps while it goes, and its outputs
     */
    public record Estimate(long weights, long winogradCache, long activations, List<Part> held) {
        public Estimate {
            held = List.copyOf(held);
        }

        public long heldBytes() {
            return bytes(held.stream().mapToDouble(Part::bytes).sum());
        }

        public long total() {
            return bytes((double) weights + winogradCache + activations + heldBytes());
        }

        /** This estimate with one more part held (an output, say); parts of 0 bytes are left out. */
        public Estimate plus(long bytes, String what) {
            if (bytes == 0) return this;
            List<Part> h = new ArrayList<>(held);
            h.add(new Part(what, bytes));
            return new Estimate(weights, winogradCache, activations, h);
        }

        /** "about 9.6 GiB: weights 4 MiB, activations 1.1 GiB, 100000 images 2.3 GiB, …" */
        public String describe() {
            List<String> p = new ArrayList<>();
            p.add("weights " + mib(weights));
            if (winogradCache > 0) p.add("Winograd weight cache " + mib(winogradCache));
            p.add("activations " + mib(activations));
            for (Part h : held) p.add(h.what() + " " + mib(h.bytes()));
            return "about " + mib(total()) + " (" + String.join(", ", p) + ")";
        }

        /**
         * Refuses the run when the estimate exceeds the heap limit, naming the estimate and what would fix
         * it, largest part first.
         *
         * @param what     the run, e.g. "generate of 100000 images at batch 16"
         * @param batchFix the flag that shrinks the activations (null: none)
         * @param heldFix  the flag that shrinks what is held (null: none)
         */
        public Estimate check(String what, WeightPrecision precision, String batchFix, String heldFix) {
            long limit = heapLimit();
            if (total() <= limit) return this;
            List<String> fix = new ArrayList<>();
            fix.add("raise the limit with JDIFFUSION_HEAP=" + suggestedHeap(total()));
            List<Part> parts = new ArrayList<>();
            if (batchFix != null) parts.add(new Part(batchFix, activations));
            if (heldFix != null) parts.add(new Part(heldFix, heldBytes()));
            if (precision == WeightPrecision.F32)
                parts.add(new Part("--weights-dtype f16 (halves the UNet's weights, and needs no Winograd cache)", weights + winogradCache));
            parts.sort((a, b) -> Long.compare(b.bytes(), a.bytes()));
            for (Part p : parts) if (p.bytes() > total() / 10) fix.add(p.what());
            throw new Exceeded(what + " needs " + describe() + ", more than the heap limit of " + mib(limit) + ". To fit: " + String.join(", or ", fix));
        }
    }

    /**
     * The estimate of sampling one batch of {@code latent} [K, C, h, w] for {@code steps} steps (the
     * sampler keeps every step's latent), with classifier-free guidance doubling the UNet's batch when
     * {@code guided}, and the VAE decode of the batch when {@code decode}.
     *
     * @param tokens context tokens of a conditional UNet (ignored otherwise)
     */
    public static Estimate sampling(Pipeline p, long weights, Backend backend, int[] latent, int steps, boolean guided, int tokens, boolean decode) {
        int k = latent[0];
        Forward u = unet(p.unet(), backend, guided ? 2 * k : k, latent[2], latent[3], tokens);
        long act = u.activations();
        if (decode && p.vae() != null) act = Math.max(act, vae(p.vae(), backend, k, latent[2], latent[3]).activations());
        long latents = bytes(4.0 * (steps + 1.0) * k * latent[1] * latent[2] * (double) latent[3]);
        return new Estimate(weights, u.winogradCache(), act, List.of()).plus(latents, "the " + (steps + 1) + " latents of a batch");
    }

    /** Activations of one evaluation (peak, with kernel scratch) and the Winograd cache its weights fill. */
    public record Forward(long activations, long winogradCache) {
    }

    /** One UNet evaluation of [batch, in, h, w] (with a [batch, tokens, cross_attention_dim] context when conditional). */
    public static Forward unet(UNet unet, Backend backend, int batch, int h, int w, int tokens) {
        // three full-resolution tensors are alive at the first resnet (conv_in's output kept as a skip, the
        // resnet's input, its output): when even they do not fit, say so without a metering pass at that size
        int c0 = unet.downBlocks().getFirst().resnets().getFirst().conv1().weight().dim(1);
        double floor = 3.0 * 4 * batch * c0 * h * (double) w;
        if (floor > heapLimit()) return new Forward((long) Math.min(floor, Long.MAX_VALUE / 4), 0);
        Meter m = new Meter(backend instanceof CpuBackend, batch);
        Tensor ctx = unet.conditional() ? Tensor.zeros(1, Math.max(1, tokens), unet.crossAttentionDim()) : null;
        unet.forward(new Ctx(m, m.hooks()), Tensor.zeros(1, unet.inChannels(), h, w), new float[]{500f}, ctx);
        return m.result();
    }

    /** One VAE decode of latents [batch, latent, h, w]. */
    public static Forward vae(VaeDecoder vae, Backend backend, int batch, int h, int w) {
        Meter m = new Meter(backend instanceof CpuBackend, batch);
        vae.decode(new Ctx(m, m.hooks()), Tensor.zeros(1, vae.config().latentChannels(), h, w));
        return m.result();
    }

    /**
     * A backend that computes only shapes (at batch 1) and meters the bytes alive at each operation:
     * the tensors pinned by the forward pass (skip connections, residual inputs) plus the operation's
     * inputs and output; and the CPU kernels' scratch, kept between calls, at the real batch.
     */
    private static final class Meter implements Backend {
        private final Backend shapes = new ShapeOnlyBackend();
        private final boolean cpu;
        private final int batch;
        private long pinned, peak;                     // per image (batch-1 shapes)
        private long winogradV, winogradM, winogradU, flashK, flashV, cache;   // at the real batch, bytes (U: uncached weights' scratch)
        private final Set<Tensor> cachedWeights = Collections.newSetFromMap(new IdentityHashMap<>());
        private final Deque<Long> skips = new ArrayDeque<>();
        private Tensor last;                           // the latest operation's output: the input of the next module
        private int upResnets;

        Meter(boolean cpu, int batch) {
            this.cpu = cpu;
            this.batch = batch;
        }

        Forward result() {
            long scratch = winogradV + winogradM + winogradU + flashK + flashV;
            return new Forward(peak * batch + scratch, cache);
        }

        private static long bytes(Tensor t) {
            return t == null ? 0 : 4L * t.numel();
        }

        private Tensor op(Tensor out, Tensor... in) {
            long work = bytes(out);
            for (Tensor t : in) work += bytes(t);
            peak = Math.max(peak, pinned + work);
            last = out;
            return out;
        }

        ForwardHooks hooks() {
            return new ForwardHooks() {
                @Override
                public <T> T module(ModuleId id, Supplier<T> compute) {
                    boolean layer = id.kind().equals("resnet") || id.kind().equals("attention");
                    long pin = layer ? bytes(last) : 0;   // a resnet or attention keeps its input for the residual
                    if (id.path() == ModuleId.Path.UP && id.kind().equals("resnet")) upResnets++;
                    pinned += pin;
                    T out = compute.get();
                    pinned -= pin;
                    if (id.path() == ModuleId.Path.DOWN && (id.kind().equals("resnet") || id.kind().equals("downsampler")) && out instanceof Tensor t)
                        push(bytes(t));   // an attention that follows keeps the shape: its output replaces the resnet's
                    if (id.path() == ModuleId.Path.UP && id.kind().equals("block")) {
                        for (; upResnets > 0 && !skips.isEmpty(); upResnets--) pinned -= skips.pop();   // the block has consumed its skips
                        upResnets = 0;
                    }
                    return out;
                }

                @Override
                public void intermediate(String name, Tensor value) {
                    if (name.equals("conv_in")) push(bytes(value));
                }
            };
        }

        private void push(long b) {
            skips.push(b);
            pinned += b;
        }

        @Override
        public String name() {
            return "memory-meter";
        }

        @Override
        public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int pt, int pl, int pb, int pr) {
            Tensor out = shapes.conv2d(x, w, bias, stride, pt, pl, pb, pr);
            if (cpu) {
                long tilesPerImage = (long) ((out.dim(2) + 1) / 2) * ((out.dim(3) + 1) / 2);
                int cout = w.dim(0), cin = w.dim(1);
                long tiles = CpuBackend.winogradChunkTiles(batch, cin, cout, out.dim(2), out.dim(3));   // V and M hold one chunk
                long entry = CpuBackend.winogradCacheEntryBytes(cout, cin);
                boolean cached = cachedWeights.contains(w)
                        || CpuBackend.cachesWinograd(batch * tilesPerImage, w.isHalf(), cache, entry, CpuBackend.winogradCacheBudget());
                if (CpuBackend.usesWinograd(w.dim(2), w.dim(3), stride, tilesPerImage, w.isHalf())) {
                    if (cached && cachedWeights.add(w)) cache += entry;
                    // transformed per call, a block of output channels at a time, into a reused scratch
                    if (!cached) winogradU = Math.max(winogradU, CpuBackend.winogradBlockBytes(cout, cin));
                    winogradV = Math.max(winogradV, 64L * cin * tiles);
                    winogradM = Math.max(winogradM, 64L * cout * tiles);
                }
            }
            return op(out, x);
        }

        @Override
        public Tensor linear(Tensor x, Tensor w, Tensor bias) {
            return op(shapes.linear(x, w, bias), x);
        }

        @Override
        public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
            return op(shapes.groupNorm(x, groups, gamma, beta, eps, silu), x);
        }

        @Override
        public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
            return op(shapes.layerNorm(x, gamma, beta, eps), x);
        }

        @Override
        public Tensor silu(Tensor x) {
            return op(shapes.silu(x), x);
        }

        @Override
        public Tensor geglu(Tensor x) {
            return op(shapes.geglu(x), x);
        }

        @Override
        public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
            if (cpu) {   // FlashAttention's packed K and Vᵀ, kept by the calling thread
                flashK = Math.max(flashK, bytes(k) * batch);
                flashV = Math.max(flashV, bytes(v) * batch);
            }
            return op(shapes.attention(q, k, v, heads, scale), q, k, v);
        }

        @Override
        public Tensor upsampleNearest2x(Tensor x) {
            return op(shapes.upsampleNearest2x(x), x);
        }

        @Override
        public Tensor add(Tensor a, Tensor b) {
            return op(shapes.add(a, b), a, b);
        }

        @Override
        public Tensor addChannelBias(Tensor x, Tensor v) {
            return op(shapes.addChannelBias(x, v), x);
        }

        @Override
        public Tensor concatChannels(Tensor a, Tensor b) {
            return op(shapes.concatChannels(a, b), a, b);
        }

        @Override
        public Tensor scale(Tensor x, float s) {
            return op(shapes.scale(x, s), x);
        }

        @Override
        public Tensor toTokens(Tensor x) {
            return op(shapes.toTokens(x), x);
        }

        @Override
        public Tensor fromTokens(Tensor x, int h, int w) {
            return op(shapes.fromTokens(x, h, w), x);
        }
    }
}
