#!/usr/bin/python3
"""Java vs PyTorch, same UNet architecture, same shapes, same machine, same moment.

For every case this script runs `./jdiffusion bench ...` (the Java engine, random weights built in
Java from the published config) and the same architecture in PyTorch, built from the same
config.json by weights/train/diffusers_mini.py (the PyTorch implementation the training script
uses), with PyTorch's default random initialisation (forward time does not depend on the values).
The two sides alternate case by case, so both see the same machine load; the table at the end gives
median milliseconds per forward pass, the Java/PyTorch ratio, and each side's peak memory.

    /usr/bin/python3 bench/side_by_side.py                      # all cases (SD 1.5 64x64 takes minutes)
    /usr/bin/python3 bench/side_by_side.py --cases cifar-b1,cifar-b8 --runs 5
    /usr/bin/python3 bench/side_by_side.py --check              # first: same weights -> same output?
    /usr/bin/python3 bench/side_by_side.py --cases gemm-2048,sd15-32-b2 --vector-bits 512,256 --rounds 3
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
ARCH_FILES = {"sd15": "sd15-unet.json", "ddpm-cifar10": "ddpm-cifar10-unet.json"}

# name -> (source, batch, latent or None, context tokens or None); source is an architecture name or a
# bundled model (a folder under --models-dir)
CASES = {
    "cifar-b1": ("ddpm-cifar10", 1, None, None),
    "cifar-b8": ("ddpm-cifar10", 8, None, None),
    "sd15-32-b2": ("sd15", 2, 32, None),
    "sd15-64-b2": ("sd15", 2, 64, None),
    "fashion-ddpm-32-b16": ("fashion-ddpm-32", 16, None, None),
    "fashion-cond-32-b16": ("fashion-cond-32", 16, None, 4),
    "gemm-2048": ("gemm", 0, None, None),   # float32 GEMM 2048³ alone
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


def run_java(case, args, bits=None):
    """./jdiffusion bench for a case; bits: a --vector-bits value (None: the preferred width)."""
    source, batch, latent, tokens = CASES[case]
    cmd = [os.path.join(REPO, "jdiffusion"), "bench", "--batch", str(batch), "--runs", str(args.runs),
           "--threads", str(args.threads), "--tokens", str(tokens or args.tokens), "--backend", args.backend]
    if source == "gemm":
        cmd += ["--gemm-only"]
    else:
        cmd += ["--arch", source] if source in ARCH_FILES else ["--model", source_path(source)]
    if latent:
        cmd += ["--latent", str(latent)]
    cmd += args.java_args.split()
    env = dict(os.environ)
    if bits:
        env["JDIFFUSION_JAVA_OPTS"] = (env.get("JDIFFUSION_JAVA_OPTS", "") + " " + width_opts(bits)).strip()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
    if out.returncode != 0:
        raise RuntimeError("Java run failed:\n" + out.stdout[-2000:] + out.stderr[-3000:])
    text = out.stdout
    if args.verbose:
        print(text)
    res = {"median_ms": float(text.strip().splitlines()[-1].split("=")[1])}
    res["runs"] = [float(x) for x in re.findall(r"^run \d+: ([\d.]+) ms", text, re.M)]
    m = re.search(r"peak_rss_mib=(\d+)", text)
    res["peak_mib"] = int(m.group(1)) if m else None
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
    p.add_argument("--check", action="store_true", help="parity check (same weights, same output) and exit")
    p.add_argument("--verbose", action="store_true", help="print the Java bench output")
    p.add_argument("--torch-case", help=argparse.SUPPRESS)
    args = p.parse_args()
    MODELS_DIR = os.path.abspath(args.models_dir)
    if args.torch_case:
        return torch_child(args)
    if args.check:
        return check(args)
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
                row = dict(case=name, java=j, torch=t, sdcpp=sd, load=f"{load0} -> {load_avg()}", round=rnd + 1)
                rows.append(row)
                print(f"{name}: java {j['median_ms']:.1f} ms, pytorch {t['median_ms']:.1f} ms, ratio {j['median_ms'] / t['median_ms']:.2f}"
                      f" (load {row['load']}, round {rnd + 1})", flush=True)
                print(f"  runs ms: java {' '.join(f'{x:.1f}' for x in j.get('runs', []))}; pytorch {' '.join(f'{x:.1f}' for x in t.get('runs', []))}",
                      flush=True)
            if case in SD_CPP_LATENT:
                print(f"{case}: stable-diffusion.cpp " + (f"{sd['step_s']:.2f} s per CFG step ({sd['size']}x{sd['size']},"
                      f" per-step times {' '.join(f'{x:.2f}' for x in sd['steps'])}; sampling {sd['sampling_s']:.2f} s;"
                      f" {sd['command']})" if sd else "not run (SD_CPP unset or the run failed)"), flush=True)
    print()
    print("| case | Java ms | PyTorch ms | Java/PyTorch | Java/PyTorch of the fastest runs | Java GMAC/s | Java peak MiB"
          " | PyTorch peak MiB | load (1/5/15 min) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        j, t = r["java"], r["torch"]
        rate = f"{j['gmacs'] / j['median_ms'] * 1e3:.1f}" if j.get("gmacs") else ""
        fastest = f"{min(j['runs']) / min(t['runs']):.2f}" if j.get("runs") and t.get("runs") else ""
        print(f"| {r['case']} | {j['median_ms']:.1f} | {t['median_ms']:.1f} | {j['median_ms'] / t['median_ms']:.2f} | {fastest} | {rate} |"
              f" {j['peak_mib']} | {t['peak_mib']} | {r['load']} |")
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
    jg = [r["java"]["gemm_gflops"] for r in rows if r["java"].get("gemm_gflops")]
    jc = [r["java"]["gemm_gflops_cpu"] for r in rows if r["java"].get("gemm_gflops_cpu")]
    tg = [r["torch"]["gemm_gflops"] for r in rows]
    tc = [r["torch"]["gemm_gflops_cpu"] for r in rows]
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
