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
    /usr/bin/python3 bench/side_by_side.py --cases vae-256,vae-512,clip-l-b2 --runs 3

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
    import torch
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    times, g, gc = [], [], []
    for i in range(args.warmup + args.runs):
        c0, t0 = cpu_seconds(), time.perf_counter()
        a @ b
        dt, dc = time.perf_counter() - t0, cpu_seconds() - c0
        if i >= args.warmup:
            times.append(dt * 1e3)
            g.append(2 * 2048 ** 3 / dt / 1e9)
            gc.append(2 * 2048 ** 3 / max(dc, 1e-9) / 1e9)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"median_ms": statistics.median(times), "runs": times, "peak_mib": peak, "gemm_gflops": statistics.median(g),
                      "gemm_gflops_cpu": statistics.median(gc), "threads": torch.get_num_threads(), "blas": blas_library(),
                      "torch_version": torch.__version__}))


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
    env = dict(os.environ)
    if args.torch_malloc == "keep":
        env.update(TORCH_MALLOC_ENV)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError("PyTorch run failed:\n" + out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Java side
# ---------------------------------------------------------------------------------------------
def run_java(case, args):
    source, batch, latent, tokens = CASES[case]
    cmd = [os.path.join(REPO, "jdiffusion"), "bench", "--batch", str(batch), "--runs", str(args.runs),
           "--threads", str(args.threads), "--tokens", str(tokens or args.tokens), "--backend", args.backend]
    if source == "gemm":
        cmd += ["--gemm-only"]
    else:
        cmd += ["--arch", source] if source in ARCH_FILES else ["--model", source_path(source)]
    if latent:
        cmd += ["--size" if source == "sd-vae" else "--latent", str(latent)]
    cmd += args.java_args.split()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
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
    m = re.search(r"gemm_\d+=([\d.]+) GFLOP/s .*?, ([\d.]+) GFLOP per CPU-second", text)
    res["gemm_gflops"] = float(m.group(1)) if m else None
    res["gemm_gflops_cpu"] = float(m.group(2)) if m else None
    m = re.search(r"macs_per_forward=([\d.]+) G", text)
    res["gmacs"] = float(m.group(1)) if m else None
    return res


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
    p.add_argument("--check", action="store_true", help="parity check (same weights, same output) and exit")
    p.add_argument("--check-components", action="store_true", help="parity check of the VAE decoder and text encoder only")
    p.add_argument("--verbose", action="store_true", help="print the Java bench output")
    p.add_argument("--torch-case", help=argparse.SUPPRESS)
    args = p.parse_args()
    MODELS_DIR = os.path.abspath(args.models_dir)
    if args.torch_case:
        return torch_child(args)
    if args.check:
        check_components(args)
        return check(args)
    if args.check_components:
        return check_components(args)
    rows = []
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
        j = run_java(case, args)
        row = dict(case=case, java=j, torch=t, load=f"{load0} -> {load_avg()}")
        rows.append(row)
        print(f"{case}: java {j['median_ms']:.1f} ms, pytorch {t['median_ms']:.1f} ms, ratio {j['median_ms'] / t['median_ms']:.2f}"
              f" (load {row['load']})", flush=True)
        if j.get("median_cpu_ms") and t.get("median_cpu_ms"):
            print(f"  CPU ms per run (all threads; OpenMP/OpenBLAS spin-waiting counts): java {j['median_cpu_ms']:.1f},"
                  f" pytorch {t['median_cpu_ms']:.1f}, ratio {j['median_cpu_ms'] / t['median_cpu_ms']:.2f}", flush=True)
        print(f"  runs ms: java {' '.join(f'{x:.1f}' for x in j.get('runs', []))}; pytorch {' '.join(f'{x:.1f}' for x in t.get('runs', []))}",
              flush=True)
    print()
    print("| case | Java ms | PyTorch ms | Java/PyTorch | Java/PyTorch of the fastest runs | Java GMAC/s | Java peak MiB"
          " | PyTorch peak MiB | CPU ms Java / PyTorch | load (1/5/15 min) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        j, t = r["java"], r["torch"]
        rate = f"{j['gmacs'] / j['median_ms'] * 1e3:.1f}" if j.get("gmacs") else ""
        fastest = f"{min(j['runs']) / min(t['runs']):.2f}" if j.get("runs") and t.get("runs") else ""
        cpu = f"{j['median_cpu_ms']:.0f} / {t['median_cpu_ms']:.0f}" if j.get("median_cpu_ms") and t.get("median_cpu_ms") else ""
        print(f"| {r['case']} | {j['median_ms']:.1f} | {t['median_ms']:.1f} | {j['median_ms'] / t['median_ms']:.2f} | {fastest} | {rate} |"
              f" {j['peak_mib']} | {t['peak_mib']} | {cpu} | {r['load']} |")
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
