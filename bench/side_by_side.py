#!/usr/bin/python3
"""Java vs PyTorch, same architecture, same shapes, same machine, same moment.

For every case this script runs `./jdiffusion bench ...` (the Java engine, random weights built in
Java from the published config) and the same architecture in PyTorch, built from the same
config.json by weights/train/diffusers_mini.py (the PyTorch implementation the training script
uses), with PyTorch's default random initialisation (forward time does not depend on the values).
The SD 1.5 VAE decoder (cases vae-*) is assembled below from diffusers_mini's blocks in diffusers'
AutoencoderKL layout, and SD 1.5's CLIP text encoder (cases clip-l-*) is written below in plain torch
in transformers' CLIPTextModel layout (diffusers and transformers are not installed here).
The two sides alternate case by case, so both see the same machine load; the table at the end gives
median milliseconds per forward pass, the Java/PyTorch ratio, and each side's peak memory.

    /usr/bin/python3 bench/side_by_side.py                      # all cases (SD 1.5 64x64 takes minutes)
    /usr/bin/python3 bench/side_by_side.py --cases cifar-b1,cifar-b8 --runs 5
    /usr/bin/python3 bench/side_by_side.py --check              # first: same weights -> same output?
    /usr/bin/python3 bench/side_by_side.py --cases gemm-2048,sd15-32-b2 --vector-bits 512,256 --rounds 3
    /usr/bin/python3 bench/side_by_side.py --cases vae-256,vae-512,clip-l-b2 --runs 3
    SD_CPP=~/stable-diffusion.cpp/build/bin/sd-cli /usr/bin/python3 bench/side_by_side.py --cases sd15-32-b2,sd15-64-b2

--vector-bits runs the Java side once per vector width (-Djdiffusion.vectorBits), e.g. the AVX2 configuration
on an AVX-512 machine (avx2: the JVM itself limited to AVX2, -XX:UseAVX=2, so also to 16 vector registers); the GEMM case also times numpy's matmul (the same OpenBLAS through libblas.so.3).
With SD_CPP (the sd-cli binary of leejet/stable-diffusion.cpp, built by the user outside this tree), the SD 1.5
cases also run stable-diffusion.cpp at 256x256 (latent 32) and 512x512 (latent 64), Euler, CFG 7.5, on random
float16 SD 1.5 weights the script writes once as a diffusers pipeline folder (--sdcpp-model-dir), and report
its seconds per CFG step next to Java's batch-2 forward.

Needs Debian's python3-torch (PyTorch 1.13) and numpy. Not part of CI.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCH_DIR = os.path.join(REPO, "reference", "src", "main", "resources", "jdiffusion", "architectures")
ARCH_FILES = {"sd15": "sd15-unet.json", "ddpm-cifar10": "ddpm-cifar10-unet.json", "sd-vae": "sd-vae.json",
              "clip-l": "clip-l-text.json"}

# name -> (source, batch, latent or None, context tokens or None); source is an architecture name or a
# bundled model (a folder under --models-dir). For sd-vae "latent" is the decoded image's size; for clip-l
# "context tokens" is the prompt length (77, as the SD pipeline pads prompts).
CASES = {
    "cifar-b1": ("ddpm-cifar10", 1, None, None),
    "cifar-b8": ("ddpm-cifar10", 8, None, None),
    "sd15-32-b2": ("sd15", 2, 32, None),
    "sd15-64-b2": ("sd15", 2, 64, None),
    "fashion-ddpm-32-b16": ("fashion-ddpm-32", 16, None, None),
    "fashion-cond-32-b16": ("fashion-cond-32", 16, None, 4),
    "gemm-2048": ("gemm", 0, None, None),   # float32 GEMM 2048³ alone
    "vae-256": ("sd-vae", 1, 256, None),     # SD 1.5 VAE decode of latents [1, 4, 32, 32]
    "vae-512": ("sd-vae", 1, 512, None),     # ... [1, 4, 64, 64] -> a 512x512 image
    "clip-l-b1": ("clip-l", 1, None, 77),    # SD 1.5 text encoder, one prompt
    "clip-l-b2": ("clip-l", 2, None, 77),    # ... prompt and negative prompt (classifier-free guidance)
}
DEFAULT_CASES = "gemm-2048,cifar-b1,cifar-b8,sd15-32-b2,sd15-64-b2,fashion-ddpm-32-b16,fashion-cond-32-b16"
MODELS_DIR = os.path.join(REPO, "weights", "models")


def find_train_dir():
    """weights/train/ of this checkout (diffusers_mini.py), or $DIFFUSERS_MINI_DIR."""
    for d in (os.environ.get("DIFFUSERS_MINI_DIR"), os.path.join(REPO, "weights", "train")):
        if d and os.path.isfile(os.path.join(d, "diffusers_mini.py")):
            return d
    sys.exit("diffusers_mini.py not found: expected in weights/train/ (or set DIFFUSERS_MINI_DIR)")


def load_avg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def source_path(source):
    """An architecture name as it is, a bundled model's name as its folder."""
    return source if source in ARCH_FILES else os.path.join(MODELS_DIR, source)


def case_config(source):
    """(config dict, folder or None) of an architecture name or a bundled model."""
    if source in ARCH_FILES:
        with open(os.path.join(ARCH_DIR, ARCH_FILES[source])) as f:
            return json.load(f), None
    source = source_path(source)
    folder = os.path.join(source, "unet") if os.path.isfile(os.path.join(source, "model_index.json")) else source
    with open(os.path.join(folder, "config.json")) as f:
        return json.load(f), folder


# ---------------------------------------------------------------------------------------------
# PyTorch side (runs in a child process, so that its peak memory is its own)
# ---------------------------------------------------------------------------------------------
def torch_child(args):
    import torch
    sys.path.insert(0, find_train_dir())
    import diffusers_mini as dm
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    source, batch, latent, tokens = CASES[args.torch_case]
    if source == "gemm":
        return torch_gemm(args)
    if source in ("sd-vae", "clip-l"):
        return torch_component(args, dm)
    config, folder = case_config(source)
    model = (dm.load_pretrained(folder) if folder else dm.model_from_config(config)).eval()
    size = latent or config.get("sample_size") or 32
    sample = torch.randn(batch, config.get("in_channels", 3), size, size)
    t = torch.full((batch,), 500.0)
    cond = config["_class_name"] == "UNet2DConditionModel"
    ctx = torch.randn(batch, tokens or args.tokens, config.get("cross_attention_dim", 768)) if cond else None
    times = []
    with torch.no_grad():
        for i in range(args.warmup + args.runs):
            t0 = time.perf_counter()
            model(sample, t, ctx) if cond else model(sample, t)
            dt = (time.perf_counter() - t0) * 1e3
            if i >= args.warmup:
                times.append(dt)
        a = torch.randn(2048, 2048)
        b = torch.randn(2048, 2048)
        g, gc = [], []
        for i in range(7):
            c0, t0 = cpu_seconds(), time.perf_counter()
            a @ b
            dt, dc = time.perf_counter() - t0, cpu_seconds() - c0
            if i >= 2:
                g.append(2 * 2048 ** 3 / dt / 1e9)
                gc.append(2 * 2048 ** 3 / max(dc, 1e-9) / 1e9)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"median_ms": statistics.median(times), "runs": times, "peak_mib": peak,
                      "gemm_gflops": statistics.median(g), "gemm_gflops_cpu": statistics.median(gc),
                      "threads": torch.get_num_threads(), "blas": blas_library(),
                      "torch_version": torch.__version__}))


def torch_component(args, dm):
    """The VAE decoder or the text encoder: median ms of one decode / one encoding, and peak memory."""
    import torch
    source, batch, size, tokens = CASES[args.torch_case]
    config, _ = case_config(source)
    if source == "sd-vae":
        model = VaeDecoderTorch(config, dm).eval()
        f = 2 ** (len(config["block_out_channels"]) - 1)
        x = torch.randn(batch, config["latent_channels"], size // f, size // f)
    else:
        model = ClipTextTorch(config).eval()
        x = clip_ids(batch, tokens)
    times, cpu = [], []
    with torch.no_grad():
        for i in range(args.warmup + args.runs):
            c0, t0 = cpu_seconds(), time.perf_counter()
            model(x)
            dt, dc = (time.perf_counter() - t0) * 1e3, (cpu_seconds() - c0) * 1e3
            if i >= args.warmup:
                times.append(dt)
                cpu.append(dc)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"median_ms": statistics.median(times), "runs": times, "median_cpu_ms": statistics.median(cpu), "peak_mib": peak,
                      "threads": torch.get_num_threads(), "blas": blas_library(), "torch_version": torch.__version__}))


def clip_ids(batch, tokens):
    """BOS, 12 random tokens, EOS up to `tokens` (a padded prompt, as bench --arch clip-l builds it)."""
    import torch
    ids = torch.full((batch, tokens), 49407, dtype=torch.int64)
    ids[:, 0] = 49406
    ids[:, 1:13] = torch.randint(0, 49406, (batch, 12))
    return ids


# ---------------------------------------------------------------------------------------------
# PyTorch models of the components (state_dict keys as diffusers / transformers name them)
# ---------------------------------------------------------------------------------------------
def _torch_modules():
    import torch
    import torch.nn as nn

    class VaeDecoderTorch(nn.Module):
        """diffusers AutoencoderKL's decode path: post_quant_conv, decoder (Decoder: conv_in, UNetMidBlock2D with one
        single-head attention, UpDecoderBlock2D x levels, conv_norm_out, SiLU, conv_out); eps 1e-6 everywhere."""

        def __init__(self, config, dm):
            super().__init__()
            ch, groups, lpb = config["block_out_channels"], config.get("norm_num_groups", 32), config["layers_per_block"]
            latent, eps = config["latent_channels"], 1e-6
            self.post_quant_conv = nn.Conv2d(latent, latent, 1)
            d = nn.Module()
            d.conv_in = nn.Conv2d(latent, ch[-1], 3, padding=1)
            d.mid_block = dm.UNetMidBlock2D(ch[-1], None, eps, groups, "silu", 0.0, attention_head_dim=ch[-1])
            d.up_blocks = nn.ModuleList()
            rev, out = list(reversed(ch)), ch[-1]
            for k, c in enumerate(rev):
                prev, out = out, c
                blk = nn.Module()
                blk.resnets = nn.ModuleList(dm.ResnetBlock2D(prev if i == 0 else out, out, None, groups, eps)
                                            for i in range(lpb + 1))
                blk.upsamplers = nn.ModuleList([dm.Upsample2D(out, out)] if k < len(ch) - 1 else [])
                d.up_blocks.append(blk)
            d.conv_norm_out = nn.GroupNorm(groups, ch[0], eps=eps)
            d.conv_act = nn.SiLU()
            d.conv_out = nn.Conv2d(ch[0], config["out_channels"], 3, padding=1)
            self.decoder = d

        def forward(self, z):
            d = self.decoder
            x = d.conv_in(self.post_quant_conv(z))
            x = d.mid_block(x)
            for blk in d.up_blocks:
                for r in blk.resnets:
                    x = r(x, None)
                for u in blk.upsamplers:
                    x = u(x)
            return d.conv_out(d.conv_act(d.conv_norm_out(x)))

    class ClipLayer(nn.Module):
        def __init__(self, h, inter, heads, eps):
            super().__init__()
            self.heads = heads
            self.self_attn = nn.Module()
            for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
                setattr(self.self_attn, n, nn.Linear(h, h))
            self.layer_norm1 = nn.LayerNorm(h, eps=eps)
            self.mlp = nn.Module()
            self.mlp.fc1, self.mlp.fc2 = nn.Linear(h, inter), nn.Linear(inter, h)
            self.layer_norm2 = nn.LayerNorm(h, eps=eps)

        def forward(self, x, mask):
            # transformers' CLIPAttention (eager): q scaled, bmm, + causal mask, softmax, bmm, out_proj
            b, t, h = x.shape
            a, hd = self.self_attn, h // self.heads
            y = self.layer_norm1(x)
            split = lambda v: v.view(b, t, self.heads, hd).transpose(1, 2).reshape(b * self.heads, t, hd)
            q, k, v = split(a.q_proj(y) * hd ** -0.5), split(a.k_proj(y)), split(a.v_proj(y))
            w = torch.softmax(torch.bmm(q, k.transpose(1, 2)) + mask, dim=-1)
            o = torch.bmm(w, v).view(b, self.heads, t, hd).transpose(1, 2).reshape(b, t, h)
            x = x + a.out_proj(o)
            y = self.mlp.fc1(self.layer_norm2(x))
            y = y * torch.sigmoid(1.702 * y)                     # quick_gelu
            return x + self.mlp.fc2(y)

    class ClipTextTorch(nn.Module):
        """transformers CLIPTextModel's last_hidden_state: embeddings, pre-LN causal encoder layers, final_layer_norm."""

        def __init__(self, config):
            super().__init__()
            if config.get("hidden_act") != "quick_gelu":
                raise NotImplementedError("hidden_act " + str(config.get("hidden_act")))
            h, eps = config["hidden_size"], config["layer_norm_eps"]
            tm = nn.Module()
            tm.embeddings = nn.Module()
            tm.embeddings.token_embedding = nn.Embedding(config["vocab_size"], h)
            tm.embeddings.position_embedding = nn.Embedding(config["max_position_embeddings"], h)
            tm.encoder = nn.Module()
            tm.encoder.layers = nn.ModuleList(ClipLayer(h, config["intermediate_size"], config["num_attention_heads"], eps)
                                              for _ in range(config["num_hidden_layers"]))
            tm.final_layer_norm = nn.LayerNorm(h, eps=eps)
            self.text_model = tm

        def forward(self, ids):
            tm, t = self.text_model, ids.shape[1]
            x = tm.embeddings.token_embedding(ids) + tm.embeddings.position_embedding(torch.arange(t))[None]
            mask = torch.full((t, t), torch.finfo(x.dtype).min).triu(1)
            for layer in tm.encoder.layers:
                x = layer(x, mask)
            return tm.final_layer_norm(x)

    return VaeDecoderTorch, ClipTextTorch


def VaeDecoderTorch(config, dm):
    return _torch_modules()[0](config, dm)


def ClipTextTorch(config):
    return _torch_modules()[1](config)


def torch_gemm(args):
    """float32 2048³ through torch (OpenBLAS on Debian), then numpy (the same BLAS through libblas.so.3), alternating."""
    import numpy as np
    import torch
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    na, nb = a.numpy().copy(), b.numpy().copy()
    times, g, gc, ng = [], [], [], []
    for i in range(args.warmup + args.runs):
        c0, t0 = cpu_seconds(), time.perf_counter()
        a @ b
        dt, dc = time.perf_counter() - t0, cpu_seconds() - c0
        t1 = time.perf_counter()
        na @ nb
        ndt = time.perf_counter() - t1
        if i >= args.warmup:
            times.append(dt * 1e3)
            g.append(2 * 2048 ** 3 / dt / 1e9)
            gc.append(2 * 2048 ** 3 / max(dc, 1e-9) / 1e9)
            ng.append(2 * 2048 ** 3 / ndt / 1e9)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"median_ms": statistics.median(times), "runs": times, "peak_mib": peak, "gemm_gflops": statistics.median(g),
                      "gemm_gflops_cpu": statistics.median(gc), "numpy_gemm_gflops": statistics.median(ng),
                      "threads": torch.get_num_threads(), "blas": blas_library(), "torch_version": torch.__version__}))


def blas_library():
    """The BLAS shared library this process has loaded (Debian picks it through update-alternatives)."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]}
    return ", ".join(sorted(libs)) or "none"


def reference_blas(lib):
    """Netlib's reference BLAS (Debian's libblas3 alone): unoptimised, ~6 GFLOP/s here; no fair opponent."""
    return "/blas/libblas" in lib and "openblas" not in lib and "blis" not in lib and "mkl" not in lib


def cpu_seconds():
    """User + system CPU time of this process (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# glibc hands large freed blocks back to the kernel (mmap threshold, heap trimming), so every PyTorch
# operator's multi-MB output and oneDNN's layout reorders fault fresh pages in again. On this machine
# kind (a VM) a page fault costs ~6 us: a 128-channel 3x3 conv at 8x32x32 takes 29 ms by default and
# 6.3 ms when glibc keeps its memory. Java's heap keeps its pages, so the default would flatter Java.
TORCH_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "4000000000", "MALLOC_TRIM_THRESHOLD_": "40000000000",
                    "MALLOC_TOP_PAD_": "1000000000"}


def run_torch(case, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-case", case, "--runs", str(args.runs),
           "--warmup", str(args.warmup), "--threads", str(args.threads), "--tokens", str(args.tokens),
           "--models-dir", MODELS_DIR]
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    if args.torch_malloc == "keep":
        env.update(TORCH_MALLOC_ENV)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError("PyTorch run failed:\n" + out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Java side
# ---------------------------------------------------------------------------------------------
# --vector-bits values: a width forces the species (-Djdiffusion.vectorBits); "avx2" limits the JVM to AVX2
# (-XX:UseAVX=2: 256-bit vectors and 16 vector registers, what a CPU without AVX-512 gives it)
def width_opts(bits):
    return "-XX:UseAVX=2" if bits == "avx2" else f"-Djdiffusion.vectorBits={bits}"


def parse_variant(spec):
    """'NAME;ENV=VALUE;...;--bench-option value' -> (name, environment overrides, extra bench arguments)."""
    name, *parts = spec.split(";")
    env, extra = {}, []
    for part in parts:
        if not part.startswith("--") and "=" in part:
            k, v = part.split("=", 1)
            env[k.strip()] = v
        else:
            extra += part.split()
    return name, env, extra


def run_java(case, args, bits=None, repo=None, env=None, extra=()):
    """./jdiffusion bench for a case, of this checkout (or of `repo`, e.g. a checkout of main for a before/after
    comparison); bits: a --vector-bits value (None: the preferred width); env: environment overrides (e.g.
    JDIFFUSION_JAVA_OPTS); extra: more bench arguments."""
    repo = repo or REPO
    source, batch, latent, tokens = CASES[case]
    cmd = [os.path.join(repo, "jdiffusion"), "bench", "--batch", str(batch), "--runs", str(args.runs),
           "--threads", str(args.threads), "--tokens", str(tokens or args.tokens), "--backend", args.backend]
    if source == "gemm":
        cmd += ["--gemm-only"]
    else:
        cmd += ["--arch", source] if source in ARCH_FILES else ["--model", source_path(source)]
    if latent:
        cmd += ["--size" if source == "sd-vae" else "--latent", str(latent)]
    cmd += args.java_args.split() + list(extra)
    env = {**os.environ, **(env or {})}
    if bits:
        env["JDIFFUSION_JAVA_OPTS"] = (env.get("JDIFFUSION_JAVA_OPTS", "") + " " + width_opts(bits)).strip()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=repo, env=env)
    if out.returncode != 0:
        raise RuntimeError("Java run failed:\n" + out.stdout[-2000:] + out.stderr[-3000:])
    text = out.stdout
    if args.verbose:
        print(text)
    res = {"median_ms": float(text.strip().splitlines()[-1].split("=")[1])}
    res["runs"] = [float(x) for x in re.findall(r"^run \d+: ([\d.]+) ms", text, re.M)]
    m = re.search(r"median_cpu_ms=([\d.]+)", text)
    res["median_cpu_ms"] = float(m.group(1)) if m else None
    m = re.search(r"peak_rss_mib=(\d+)", text)
    res["peak_mib"] = int(m.group(1)) if m else None
    # the heap: its pools' peak (garbage included), live after a full collection at the end, live after loading
    # (the weights), the Winograd weight cache, and the peak of the activation arena (absent in older builds)
    for key in ("peak_heap_mib", "live_heap_mib", "model_heap_mib", "winograd_cache_mib"):
        m = re.search(key + r"=(\d+)", text)
        res[key] = int(m.group(1)) if m else None
    m = re.search(r"arena: .*peak in use (\d+) MiB", text)
    res["arena_peak_mib"] = int(m.group(1)) if m else None
    m = re.search(r"gemm_\d+=([\d.]+) GFLOP/s .*?, ([\d.]+) GFLOP per CPU-second", text)
    res["gemm_gflops"] = float(m.group(1)) if m else None
    res["gemm_gflops_cpu"] = float(m.group(2)) if m else None
    m = re.search(r"macs_per_forward=([\d.]+) G", text)
    res["gmacs"] = float(m.group(1)) if m else None
    m = re.search(r"^vector_bits=(\d+)", text, re.M)
    res["vector_bits"] = int(m.group(1)) if m else None
    return res


# ---------------------------------------------------------------------------------------------
# stable-diffusion.cpp side (optional: SD_CPP=/path/to/sd-cli, built by the user from leejet/stable-diffusion.cpp)
# ---------------------------------------------------------------------------------------------
# case -> latent size; sd.cpp generates an image 8x as wide (256 and 512) with CFG, i.e. the UNet on the
# conditional and the unconditional input per step: what Java's batch-2 forward computes
SD_CPP_LATENT = {"sd15-32-b2": 32, "sd15-64-b2": 64}


def vae_shapes():
    """Every tensor of SD 1.5's AutoencoderKL (diffusers names; sd.cpp converts them) with its shape."""
    shapes = {}

    def norm(p, c):
        shapes[p + ".weight"], shapes[p + ".bias"] = [c], [c]

    def conv(p, cout, cin, k):
        shapes[p + ".weight"], shapes[p + ".bias"] = [cout, cin, k, k], [cout]

    def resnet(p, cin, cout):
        norm(p + ".norm1", cin)
        conv(p + ".conv1", cout, cin, 3)
        norm(p + ".norm2", cout)
        conv(p + ".conv2", cout, cout, 3)
        if cin != cout:
            conv(p + ".conv_shortcut", cout, cin, 1)

    def mid(p):
        resnet(p + ".resnets.0", 512, 512)
        norm(p + ".attentions.0.group_norm", 512)
        for n in ("to_q", "to_k", "to_v", "to_out.0"):
            shapes[f"{p}.attentions.0.{n}.weight"], shapes[f"{p}.attentions.0.{n}.bias"] = [512, 512], [512]
        resnet(p + ".resnets.1", 512, 512)

    chans = [128, 256, 512, 512]
    conv("encoder.conv_in", 128, 3, 3)
    prev = 128
    for i, c in enumerate(chans):
        for j in range(2):
            resnet(f"encoder.down_blocks.{i}.resnets.{j}", prev if j == 0 else c, c)
        prev = c
        if i < 3:
            conv(f"encoder.down_blocks.{i}.downsamplers.0.conv", c, c, 3)
    mid("encoder.mid_block")
    norm("encoder.conv_norm_out", 512)
    conv("encoder.conv_out", 8, 512, 3)
    conv("quant_conv", 8, 8, 1)
    conv("post_quant_conv", 4, 4, 1)
    conv("decoder.conv_in", 512, 4, 3)
    mid("decoder.mid_block")
    prev = 512
    for i, c in enumerate(reversed(chans)):
        for j in range(3):
            resnet(f"decoder.up_blocks.{i}.resnets.{j}", prev if j == 0 else c, c)
        prev = c
        if i < 3:
            conv(f"decoder.up_blocks.{i}.upsamplers.0.conv", c, c, 3)
    norm("decoder.conv_norm_out", 128)
    conv("decoder.conv_out", 3, 128, 3)
    return shapes


def clip_shapes(cfg):
    """Every tensor of the CLIP text encoder of config cfg (transformers names) with its shape."""
    h, f = cfg["hidden_size"], cfg["intermediate_size"]
    shapes = {"text_model.embeddings.token_embedding.weight": [cfg["vocab_size"], h],
              "text_model.embeddings.position_embedding.weight": [cfg["max_position_embeddings"], h],
              "text_model.final_layer_norm.weight": [h], "text_model.final_layer_norm.bias": [h]}
    for layer in range(cfg["num_hidden_layers"]):
        p = f"text_model.encoder.layers.{layer}."
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            shapes[p + f"self_attn.{n}.weight"], shapes[p + f"self_attn.{n}.bias"] = [h, h], [h]
        for n in ("layer_norm1", "layer_norm2"):
            shapes[p + n + ".weight"], shapes[p + n + ".bias"] = [h], [h]
        shapes[p + "mlp.fc1.weight"], shapes[p + "mlp.fc1.bias"] = [f, h], [f]
        shapes[p + "mlp.fc2.weight"], shapes[p + "mlp.fc2.bias"] = [h, f], [h]
    return shapes


def random_tensors(shapes, seed):
    """Random float16 tensors: norms' weights 1, biases 0, other weights N(0, 0.02²) (time does not depend on the values)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in shapes.items():
        if len(shape) == 1:
            t = torch.ones(shape) if name.endswith(".weight") else torch.zeros(shape)
        else:
            t = torch.randn(shape, generator=g) * 0.02
        out[name] = t.half()
    return out


def write_sdcpp_model(folder):
    """SD 1.5 with random weights as a diffusers pipeline folder (unet/, vae/, text_encoder/), which sd.cpp loads;
    float16, like the checkpoints it is usually given. Written once (into a temporary folder, then renamed)."""
    if os.path.isfile(os.path.join(folder, "model_index.json")):
        return folder
    import shutil
    import torch
    sys.path.insert(0, find_train_dir())
    import diffusers_mini as dm
    from safetensors_io import save_file
    tmp = folder + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for sub in ("unet", "vae", "text_encoder"):
        os.makedirs(os.path.join(tmp, sub))
    torch.manual_seed(0)
    unet = dm.model_from_config(case_config("sd15")[0]).half()   # in place: the float32 copy goes (peak ~3.5 GB)
    save_file(unet.state_dict(), os.path.join(tmp, "unet", "diffusion_pytorch_model.safetensors"))
    del unet
    save_file(random_tensors(vae_shapes(), 1), os.path.join(tmp, "vae", "diffusion_pytorch_model.safetensors"))
    with open(os.path.join(ARCH_DIR, "clip-l-text.json")) as f:
        clip = json.load(f)
    save_file(random_tensors(clip_shapes(clip), 2), os.path.join(tmp, "text_encoder", "model.safetensors"))
    with open(os.path.join(tmp, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline", "_comment": "random weights, for timing only (bench/side_by_side.py)"}, f)
    os.replace(tmp, folder)
    return folder


def run_sdcpp(case, args):
    """Seconds per CFG step of stable-diffusion.cpp (Euler, CFG 7.5, --threads) at the case's size: the median of
    its per-step times (its progress line) after the first; the process is stopped once sampling is done (the VAE
    decode is not timed)."""
    size = 8 * SD_CPP_LATENT[case]
    model = write_sdcpp_model(args.sdcpp_model_dir)
    cmd = [os.environ["SD_CPP"], "-m", model, "-p", "a photograph of an astronaut riding a horse", "--cfg-scale", "7.5",
           "--sampling-method", "euler", "--steps", str(args.sdcpp_steps), "-W", str(size), "-H", str(size), "-t", str(args.threads),
           "-s", "42", "-o", os.path.join(tempfile.gettempdir(), "sdcpp-side-by-side.png")]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    text, done = [], None
    for line in proc.stdout:
        text.append(line)
        m = re.search(r"sampling completed, taking ([\d.]+)s", line)
        if m:
            done = float(m.group(1))
            proc.terminate()
            break
    proc.wait()
    out = "".join(text)
    if args.verbose:
        print(out)
    if done is None:
        raise RuntimeError("stable-diffusion.cpp did not finish sampling:\n" + out[-3000:])
    steps = []
    for m in re.finditer(r"(\d+)/(\d+) - ([\d.]+)(s/it|it/s)", out):
        v = float(m.group(3))
        if v > 0:   # a step without a previous time stamp shows 0.00
            steps.append(v if m.group(4) == "s/it" else 1 / v)
    # its first step includes loading the UNet's weights (it loads them lazily: ~17 s here), so it is left out
    step_s = statistics.median(steps[1:]) if len(steps) > 1 else done / args.sdcpp_steps
    return {"step_s": step_s, "steps": steps, "sampling_s": done, "size": size, "wall_s": time.perf_counter() - t0,
            "command": " ".join(cmd)}


# ---------------------------------------------------------------------------------------------
# Parity: the same weights give the same output on both sides
# ---------------------------------------------------------------------------------------------
def check(args):
    import torch
    sys.path.insert(0, find_train_dir())
    import diffusers_mini as dm
    from safetensors_io import save_file, load_file
    torch.manual_seed(0)
    for arch, latent, batch in (("ddpm-cifar10", 32, 2), ("sd15", 16, 1)):
        config, _ = case_config(arch)
        model = dm.model_from_config(config).eval()
        with tempfile.TemporaryDirectory() as d:
            model.save_pretrained(os.path.join(d, "m"))
            sample = torch.randn(batch, config["in_channels"], latent, latent)
            t = torch.tensor([10.0, 900.0][:batch])
            inputs = {"sample": sample, "timestep": t}
            cond = config["_class_name"] == "UNet2DConditionModel"
            if cond:
                inputs["encoder_hidden_states"] = torch.randn(batch, 77, config["cross_attention_dim"])
            save_file(inputs, os.path.join(d, "in.safetensors"))
            with torch.no_grad():
                want = model(sample, t, inputs["encoder_hidden_states"]) if cond else model(sample, t)
            for backend in ("cpu", "scalar") if arch == "ddpm-cifar10" else ("cpu",):
                cmd = [os.path.join(REPO, "jdiffusion"), "forward", "--model", os.path.join(d, "m"), "--input",
                       os.path.join(d, "in.safetensors"), "--output", os.path.join(d, "out.safetensors"), "--backend", backend]
                subprocess.run(cmd, check=True, capture_output=True, cwd=REPO)
                got = load_file(os.path.join(d, "out.safetensors"))["out"]
                rel = ((got - want).norm() / want.norm()).item()
                print(f"parity {arch} latent {latent} batch {batch} backend {backend}: relative L2 {rel:.2e}"
                      f" ({'OK' if rel < 1e-4 else 'MISMATCH'})")


def check_components(args):
    """The VAE decoder and the text encoder at their published sizes on small inputs: the PyTorch modules above and
    `./jdiffusion forward` on the same weights (written as safetensors) must agree."""
    import torch
    sys.path.insert(0, find_train_dir())
    import diffusers_mini as dm
    from safetensors_io import save_file, load_file
    torch.manual_seed(0)
    for source in ("sd-vae", "clip-l"):
        config, _ = case_config(source)
        if source == "sd-vae":
            model, name, key = VaeDecoderTorch(config, dm).eval(), "diffusion_pytorch_model.safetensors", "latents"
            x = torch.randn(1, config["latent_channels"], 8, 8)
        else:
            model, name, key = ClipTextTorch(config).eval(), "model.safetensors", "input_ids"
            x = clip_ids(2, 20)
        with tempfile.TemporaryDirectory() as d:
            folder = os.path.join(d, "m")
            os.makedirs(folder)
            with open(os.path.join(folder, "config.json"), "w") as f:
                json.dump(config, f)
            save_file({k: v.float().contiguous() for k, v in model.state_dict().items()}, os.path.join(folder, name))
            save_file({key: x}, os.path.join(d, "in.safetensors"))
            with torch.no_grad():
                want = model(x)
            cmd = [os.path.join(REPO, "jdiffusion"), "forward", "--model", folder, "--input", os.path.join(d, "in.safetensors"),
                   "--output", os.path.join(d, "out.safetensors"), "--backend", args.backend]
            subprocess.run(cmd, check=True, capture_output=True, cwd=REPO)
            got = load_file(os.path.join(d, "out.safetensors"))["out" if source == "sd-vae" else "last_hidden_state"]
            rel = ((got - want).norm() / want.norm()).item()
            print(f"parity {source} input {list(x.shape)} backend {args.backend}: relative L2 {rel:.2e}"
                  f" ({'OK' if rel < 1e-4 else 'MISMATCH'})", flush=True)


def main():
    global MODELS_DIR
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default=DEFAULT_CASES, help=f"comma-separated, from {', '.join(CASES)}")
    p.add_argument("--runs", type=int, default=5, help="timed runs per side and case (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="PyTorch warm-up runs (Java warms up by time: see bench --help)")
    p.add_argument("--models-dir", default=MODELS_DIR, help="where the bundled models are (default weights/models)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tokens", type=int, default=77, help="context tokens of conditional UNets")
    p.add_argument("--backend", default="cpu", help="Java backend")
    p.add_argument("--torch-malloc", choices=["keep", "default"], default="keep",
                   help="keep: glibc keeps freed memory (MALLOC_*_ environment), so PyTorch does not page-fault its"
                        " buffers in again on every operator (default); default: glibc's own settings")
    p.add_argument("--java-args", default="", help="extra arguments for ./jdiffusion bench")
    p.add_argument("--vector-bits", default="", help="comma-separated vector widths to run the Java side at, e.g. 512,256,avx2"
                   " (avx2: the JVM limited to AVX2 with -XX:UseAVX=2)"
                   " (-Djdiffusion.vectorBits; default: the preferred width only)")
    p.add_argument("--sdcpp-steps", type=int, default=4, help="sampling steps of each stable-diffusion.cpp run (with $SD_CPP)")
    p.add_argument("--sdcpp-model-dir", default=os.path.join(tempfile.gettempdir(), "jdiffusion-sd15-random-f16"),
                   help="where the random SD 1.5 pipeline folder for stable-diffusion.cpp is written (once, ~2 GB)")
    p.add_argument("--rounds", type=int, default=1, help="repeat all cases this many times (alternating A/B rounds)")
    p.add_argument("--baseline", help="another checkout (e.g. of main) whose ./jdiffusion bench also runs after this one's,"
                                      " for a before/after comparison in the same run")
    p.add_argument("--variant", action="append", default=[],
                   help="another run of this checkout's Java per case, after the default one: 'NAME;ENV=VALUE;...;--bench-option"
                        " value', e.g. 'arena-off;JDIFFUSION_JAVA_OPTS=-Djdiffusion.arena=false' (repeatable)")
    p.add_argument("--check", action="store_true", help="parity check (same weights, same output) and exit")
    p.add_argument("--check-components", action="store_true", help="parity check of the VAE decoder and text encoder only")
    p.add_argument("--verbose", action="store_true", help="print the Java bench output")
    p.add_argument("--torch-case", help=argparse.SUPPRESS)
    args = p.parse_args()
    MODELS_DIR = os.path.abspath(args.models_dir)
    if args.baseline:
        args.baseline = os.path.abspath(args.baseline)
        if not os.access(os.path.join(args.baseline, "jdiffusion"), os.X_OK):
            sys.exit(f"--baseline {args.baseline}: no ./jdiffusion launcher there")
    if args.torch_case:
        return torch_child(args)
    if args.check:
        check_components(args)
        return check(args)
    if args.check_components:
        return check_components(args)
    widths = [b.strip() for b in args.vector_bits.split(",")] if args.vector_bits else [None]
    for b in widths:
        if b not in (None, "128", "256", "512", "avx2"):
            sys.exit(f"--vector-bits: {b} is not 128, 256, 512 or avx2")
    rows = []
    for rnd in range(args.rounds):
        for case in args.cases.split(","):
            source = CASES[case][0]
            if source not in ARCH_FILES and source != "gemm" and not os.path.isdir(source_path(source)):
                print(f"{case}: skipped ({source_path(source)} does not exist)")
                continue
            load0 = load_avg()
            t = run_torch(case, args)
            if reference_blas(t.get("blas", "")):
                sys.exit(f"PyTorch runs on netlib's reference BLAS ({t['blas']}), which is not a fair opponent:\n"
                         "  apt-get install libopenblas0-pthread   (update-alternatives then selects OpenBLAS)")
            if t.get("numpy_gemm_gflops"):
                print(f"{case}: numpy (same BLAS) {t['numpy_gemm_gflops']:.1f} GFLOP/s, torch {t['gemm_gflops']:.1f} GFLOP/s", flush=True)
            sd = None
            if SD_CPP_LATENT.get(case) and os.environ.get("SD_CPP"):
                try:
                    sd = run_sdcpp(case, args)
                except (RuntimeError, OSError) as e:   # the opponent failing does not cost the Java and PyTorch rows
                    print(f"{case}: stable-diffusion.cpp failed: {e}", flush=True)
            for bits in widths:
                j = run_java(case, args, bits)
                name = f"{case}@{bits}" if bits else case
                # the baseline checkout and the variants run once per case and round, at the preferred width
                first = bits == widths[0]
                base = run_java(case, args, repo=args.baseline) if args.baseline and first else None
                variants = {}
                for spec in (args.variant if first else []):
                    vname, env, extra = parse_variant(spec)
                    try:
                        variants[vname] = run_java(case, args, env=env, extra=extra)
                    except RuntimeError as e:   # a variant that fails (e.g. out of memory) is reported, the other runs go on
                        print(f"  variant {vname} failed: {str(e)[-600:]}", flush=True)
                        variants[vname] = None
                row = dict(case=name, java=j, torch=t, sdcpp=sd, baseline=base, variants=variants,
                           load=f"{load0} -> {load_avg()}", round=rnd + 1)
                rows.append(row)
                print(f"{name}: java {j['median_ms']:.1f} ms, pytorch {t['median_ms']:.1f} ms, ratio {j['median_ms'] / t['median_ms']:.2f}"
                      f" (load {row['load']}, round {rnd + 1})", flush=True)
                if j.get("median_cpu_ms") and t.get("median_cpu_ms"):
                    print(f"  CPU ms per run (all threads; OpenMP/OpenBLAS spin-waiting counts): java {j['median_cpu_ms']:.1f},"
                          f" pytorch {t['median_cpu_ms']:.1f}, ratio {j['median_cpu_ms'] / t['median_cpu_ms']:.2f}", flush=True)
                print(f"  runs ms: java {' '.join(f'{x:.1f}' for x in j.get('runs', []))}; pytorch {' '.join(f'{x:.1f}' for x in t.get('runs', []))}",
                      flush=True)
                print(f"  memory MiB: java peak RSS {j.get('peak_mib')}, heap peak {j.get('peak_heap_mib')} / live {j.get('live_heap_mib')}"
                      f" (weights {j.get('model_heap_mib')}, Winograd cache {j.get('winograd_cache_mib')}, arena peak {j.get('arena_peak_mib')});"
                      f" pytorch peak RSS {t.get('peak_mib')}", flush=True)
                for vname, v in variants.items():
                    if v is None:
                        continue
                    print(f"  variant {vname}: java {v['median_ms']:.1f} ms, runs {' '.join(f'{x:.1f}' for x in v.get('runs', []))};"
                          f" peak RSS {v['peak_mib']} MiB, heap peak {v['peak_heap_mib']} / live {v['live_heap_mib']} MiB"
                          f" (Winograd cache {v['winograd_cache_mib']}, arena peak {v['arena_peak_mib']})", flush=True)
                if base:
                    print(f"  baseline ({args.baseline}): java {base['median_ms']:.1f} ms, runs {' '.join(f'{x:.1f}' for x in base.get('runs', []))};"
                          f" peak RSS {base['peak_mib']} MiB, heap peak {base['peak_heap_mib']} MiB", flush=True)
            if case in SD_CPP_LATENT:
                print(f"{case}: stable-diffusion.cpp " + (f"{sd['step_s']:.2f} s per CFG step ({sd['size']}x{sd['size']},"
                      f" per-step times {' '.join(f'{x:.2f}' for x in sd['steps'])}; sampling {sd['sampling_s']:.2f} s;"
                      f" {sd['command']})" if sd else "not run (SD_CPP unset or the run failed)"), flush=True)
    print()
    print("| case | Java ms | PyTorch ms | Java/PyTorch | Java/PyTorch of the fastest runs | Java GMAC/s | Java peak RSS MiB"
          " | PyTorch peak RSS MiB | Java/PyTorch peak RSS | Java heap peak / live MiB | CPU ms Java / PyTorch | load (1/5/15 min) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        j, t = r["java"], r["torch"]
        rate = f"{j['gmacs'] / j['median_ms'] * 1e3:.1f}" if j.get("gmacs") else ""
        fastest = f"{min(j['runs']) / min(t['runs']):.2f}" if j.get("runs") and t.get("runs") else ""
        rss = f"{j['peak_mib'] / t['peak_mib']:.2f}" if j.get("peak_mib") and t.get("peak_mib") else ""
        heap = f"{j['peak_heap_mib']} / {j['live_heap_mib']}" if j.get("live_heap_mib") is not None else ""
        cpu = f"{j['median_cpu_ms']:.0f} / {t['median_cpu_ms']:.0f}" if j.get("median_cpu_ms") and t.get("median_cpu_ms") else ""
        print(f"| {r['case']} | {j['median_ms']:.1f} | {t['median_ms']:.1f} | {j['median_ms'] / t['median_ms']:.2f} | {fastest} | {rate} |"
              f" {j['peak_mib']} | {t['peak_mib']} | {rss} | {heap} | {cpu} | {r['load']} |")
    sds = [r for r in rows if r.get("sdcpp")]
    if sds:
        print("\n| case | Java s per CFG step (batch 2) | stable-diffusion.cpp s per CFG step | Java/sd.cpp | load |")
        print("|---|---:|---:|---:|---|")
        for r in sds:
            js = r["java"]["median_ms"] / 1e3
            print(f"| {r['case']} | {js:.3f} | {r['sdcpp']['step_s']:.3f} | {js / r['sdcpp']['step_s']:.2f} | {r['load']} |")
    for bits in widths:
        sel = [r for r in rows if r["case"].startswith("gemm") and (bits is None or r["case"].endswith(f"@{bits}"))]
        if sel:
            jg = statistics.median(r["java"]["gemm_gflops"] for r in sel)
            og = statistics.median(r["torch"]["numpy_gemm_gflops"] for r in sel if r["torch"].get("numpy_gemm_gflops"))
            print(f"GEMM 2048^3 at {bits or 'the preferred width'} ({sel[0]['java'].get('vector_bits')} bits): Java {jg:.1f} GFLOP/s, numpy/OpenBLAS {og:.1f} GFLOP/s"
                  f" (medians over {len(sel)} rounds), Java/OpenBLAS {jg / og:.2f}")
    if args.baseline and rows:
        print(f"\nBaseline Java ({args.baseline}), same runs:\n")
        print("| case | Java ms | Java/PyTorch | Java/PyTorch of the fastest runs | Java peak RSS MiB | Java/PyTorch peak RSS"
              " | Java heap peak MiB |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in [r for r in rows if r.get("baseline")]:
            b, t = r["baseline"], r["torch"]
            fastest = f"{min(b['runs']) / min(t['runs']):.2f}" if b.get("runs") and t.get("runs") else ""
            rss = f"{b['peak_mib'] / t['peak_mib']:.2f}" if b.get("peak_mib") and t.get("peak_mib") else ""
            print(f"| {r['case']} | {b['median_ms']:.1f} | {b['median_ms'] / t['median_ms']:.2f} | {fastest} | {b['peak_mib']} | {rss}"
                  f" | {b['peak_heap_mib']} |")
    for spec in args.variant:
        name = parse_variant(spec)[0]
        print(f"\nVariant {name} ({spec}), same runs:\n")
        print("| case | Java ms | Java/PyTorch | Java/PyTorch of the fastest runs | Java peak RSS MiB | Java/PyTorch peak RSS"
              " | Java heap peak / live MiB |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in [r for r in rows if name in r.get("variants", {})]:
            v, t = r["variants"][name], r["torch"]
            if v is None:
                print(f"| {r['case']} | failed | | | | | |")
                continue
            fastest = f"{min(v['runs']) / min(t['runs']):.2f}" if v.get("runs") and t.get("runs") else ""
            rss = f"{v['peak_mib'] / t['peak_mib']:.2f}" if v.get("peak_mib") and t.get("peak_mib") else ""
            print(f"| {r['case']} | {v['median_ms']:.1f} | {v['median_ms'] / t['median_ms']:.2f} | {fastest} | {v['peak_mib']} | {rss}"
                  f" | {v['peak_heap_mib']} / {v['live_heap_mib']} |")
    jg = [r["java"]["gemm_gflops"] for r in rows if r["java"].get("gemm_gflops")]
    jc = [r["java"]["gemm_gflops_cpu"] for r in rows if r["java"].get("gemm_gflops_cpu")]
    tg = [r["torch"]["gemm_gflops"] for r in rows if r["torch"].get("gemm_gflops")]
    tc = [r["torch"]["gemm_gflops_cpu"] for r in rows if r["torch"].get("gemm_gflops_cpu")]
    if jg and tg:
        print(f"\nGEMM 2048^3 float32, {args.threads} threads (medians over the cases):"
              f" Java {statistics.median(jg):.1f} GFLOP/s ({statistics.median(jc):.1f} per CPU-second),"
              f" PyTorch {statistics.median(tg):.1f} GFLOP/s ({statistics.median(tc):.1f} per CPU-second);"
              f" Java/PyTorch {statistics.median(jg) / statistics.median(tg):.2f} per second,"
              f" {statistics.median(jc) / statistics.median(tc):.2f} per CPU-second."
              f" Reference ceiling (idle machine, PyTorch): 134 GFLOP/s.")
    if rows:
        print(f"PyTorch {rows[0]['torch'].get('torch_version', '')} BLAS: {rows[0]['torch'].get('blas')}")


if __name__ == "__main__":
    main()
