#!/usr/bin/python3
"""Train, export and sample the small Fashion-MNIST models shipped in weights/models/.

Models
  fmnist-classifier  conv/GroupNorm/SiLU classifier; its penultimate layer ("features") is the
                     embedding for Fréchet distances. Trained first (minutes).
  fashion-ddpm-32    unconditional diffusers UNet2DModel, DDPM epsilon objective.
  fashion-cond-32    class-conditional diffusers UNet2DConditionModel (SD-style cross-attention) +
                     a learned [11, 4, 64] class-embedding table (index 10 = null class, for CFG).
  fashion-ddpm-32-mr fashion-ddpm-32 fine-tuned with multi-resolution training: each step draws one size
                     from `sizes` (16/24/32) and area-downsamples the 32x32 batch to it, so that PostDiff's
                     mixed-resolution sampling (low-resolution first steps) runs on a model that has seen
                     those sizes. Starts from the exported fashion-ddpm-32 weights (`init_from`).

Subcommands (see README.md):
  train  --model NAME [NAME ...]   train (resumes from /work/ckpt/<model>/ckpt.pt), exports when done
  export --model NAME              write the latest checkpoint (EMA weights) to weights/models/<model>
  sample --model NAME              DDIM-50 sample grid PNG (+ CFG for the conditional model) to /work/ckpt
  bench  --model NAME              measure seconds per training iteration
  plot   --model NAME              loss-curve PNG from the CSV log

Data: Debian package `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist/*.gz). 28x28 images are
padded to 32x32; pixel p in [0, 1] -> 2p - 1, padding value -1.

Determinism/resume: every random draw of training step s comes from a generator seeded with (seed, s)
and the data order of epoch e from a generator seeded with (seed, e), so a resumed run continues exactly
as an uninterrupted one would. Checkpoints (model, EMA, optimizer, step, accumulated train time) are
written atomically every ~10 minutes and on SIGTERM/SIGINT.
"""
import argparse
import copy
import csv
import datetime
import gzip
import json
import math
import os
import signal
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from diffusers_mini import UNet2DConditionModel, UNet2DModel  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402
from sampling import alphas_cumprod_linear, cfg_eps_fn, ddim_sample  # noqa: E402

REPO_MODELS = os.environ.get("JDIFFUSION_MODELS", os.path.normpath(os.path.join(HERE, "..", "models")))
CKPT_ROOT = os.environ.get("JDIFFUSION_CKPT", "/work/ckpt")
DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
NULL_CLASS = 10
DIFFUSERS_VERSION = "0.31.0"

# ---------------------------------------------------------------------------------------------
# Model specifications
# ---------------------------------------------------------------------------------------------
# Scheduler used for training (the DDPM forward process) and written to scheduler/scheduler_config.json.
SCHEDULER_CONFIG = {
    "num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear",
    "trained_betas": None, "clip_sample": True, "clip_sample_range": 1.0, "set_alpha_to_one": True,
    "steps_offset": 0, "prediction_type": "epsilon", "timestep_spacing": "leading", "thresholding": False,
    "dynamic_thresholding_ratio": 0.995, "sample_max_value": 1.0, "rescale_betas_zero_snr": False,
}

UNET_DDPM = {
    "_class_name": "UNet2DModel", "_diffusers_version": DIFFUSERS_VERSION,
    "sample_size": 32, "in_channels": 1, "out_channels": 1, "center_input_sample": False,
    "time_embedding_type": "positional", "flip_sin_to_cos": True, "freq_shift": 0,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
    "block_out_channels": [32, 64, 64], "layers_per_block": 1,
    "attention_head_dim": 32,  # per-head width in UNet2DModel -> 2 heads at 64 channels
    "norm_num_groups": 8, "norm_eps": 1e-5, "act_fn": "silu", "dropout": 0.0,
    "downsample_padding": 1, "downsample_type": "conv", "upsample_type": "conv", "mid_block_scale_factor": 1,
    "add_attention": True, "attn_norm_num_groups": None, "resnet_time_scale_shift": "default",
    "class_embed_type": None, "num_class_embeds": None, "num_train_timesteps": None,
}

UNET_COND = {
    "_class_name": "UNet2DConditionModel", "_diffusers_version": DIFFUSERS_VERSION,
    "sample_size": 32, "in_channels": 1, "out_channels": 1, "center_input_sample": False,
    "flip_sin_to_cos": True, "freq_shift": 0,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "block_out_channels": [32, 64, 64], "layers_per_block": 1,
    "attention_head_dim": 4,  # NUMBER of heads in UNet2DConditionModel -> 4 heads of width 16
    "cross_attention_dim": 64, "use_linear_projection": False, "transformer_layers_per_block": 1,
    "norm_num_groups": 8, "norm_eps": 1e-5, "act_fn": "silu", "dropout": 0.0, "downsample_padding": 1,
    "mid_block_scale_factor": 1, "only_cross_attention": False, "upcast_attention": False,
    "resnet_time_scale_shift": "default", "conv_in_kernel": 3, "conv_out_kernel": 3,
    "time_embedding_type": "positional", "num_attention_heads": None,
}

MODELS = {
    # Diffusion models stop at `iters` OR after `max_hours` of (wall-clock) training, whichever comes first.
    # On this shared 2-core machine the time cap is what binds; the reached step is in training_info.json
    # and `train --iters N` reproduces a run exactly.
    "fashion-ddpm-32": dict(kind="uncond", unet=UNET_DDPM, batch=64, lr=1e-3, warmup=500, weight_decay=0.0,
                            ema_decay=0.999, iters=30000, max_hours=2.5, seed=1),
    "fashion-cond-32": dict(kind="cond", unet=UNET_COND, tokens=4, p_uncond=0.1, batch=64, lr=1e-3, warmup=500,
                            weight_decay=0.0, ema_decay=0.999, iters=30000, max_hours=2.5, seed=2),
    # Multi-resolution fine-tune (`sizes`: one size per step, uniformly; `init_from`: the exported model whose
    # EMA weights start both the trained and the EMA copy; fresh AdamW state, shorter warmup, lower lr).
    "fashion-ddpm-32-mr": dict(kind="uncond", unet=UNET_DDPM, batch=64, lr=5e-4, warmup=100, weight_decay=0.0,
                               ema_decay=0.999, iters=30000, max_hours=3.0, seed=4, sizes=[16, 24, 32],
                               init_from="fashion-ddpm-32"),
    "fmnist-classifier": dict(kind="classifier", batch=128, lr=2e-3, weight_decay=5e-4, epochs=12,
                              label_smoothing=0.1, seed=3),
}

# Classifier layout: (in_channels, out_channels, stride) of each 3x3 conv (padding 1), each followed by
# GroupNorm(groups, eps) and SiLU; then global average pool, Linear(128, 128) + SiLU = features, Linear(128, 10).
CLASSIFIER_CONVS = [(1, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1)]
CLASSIFIER_GROUPS, CLASSIFIER_EPS, CLASSIFIER_FEATURES = 8, 1e-5, 128

SAVE_EVERY_S = 600   # checkpoint period (wall clock)
LOG_EVERY = 50       # iterations per CSV row


def log(msg):
    print(f"[{datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    _zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    assert dtype_code == 0x08, "expected unsigned byte idx data"
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fmnist(split):
    """-> (uint8 images [N, 28, 28], int64 labels [N]); split 'train' (60k) or 'test' (10k)."""
    prefix = "train" if split == "train" else "t10k"
    images = _read_idx(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    labels = _read_idx(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def to_model_space(u8, offsets=None):
    """uint8 [N, 28, 28] -> float [N, 1, 32, 32] in [-1, 1], padded with -1 (black).
    offsets (optional, [N, 2] ints in 0..4): where to place the 28x28 image (data augmentation);
    default is centered (2 pixels each side)."""
    x = u8.float().div(255.0).mul(2.0).sub(1.0).unsqueeze(1)
    if offsets is None:
        return F.pad(x, (2, 2, 2, 2), value=-1.0)
    out = torch.full((x.shape[0], 1, 32, 32), -1.0)
    for i, (dy, dx) in enumerate(offsets.tolist()):
        out[i, :, dy:dy + 28, dx:dx + 28] = x[i]
    return out


def step_generator(seed, step):
    """All random draws of one training step come from this generator (exact resume)."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


class EpochOrder:
    """Per-epoch random permutation seeded by (seed, epoch); batch b of epoch e = perm_e[b*B:(b+1)*B]."""

    def __init__(self, n, batch, seed):
        self.n, self.batch, self.seed = n, batch, seed
        self.per_epoch = n // batch  # drop the incomplete last batch
        self._epoch, self._perm = None, None

    def indices(self, step):
        epoch, b = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 7919 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.n, generator=g)
        return self._perm[b * self.batch:(b + 1) * self.batch]


# ---------------------------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------------------------
class DiffusionNet(nn.Module):
    """What gets trained: the diffusers UNet, plus (conditional model) the class-embedding table whose
    rows are the UNet's encoder_hidden_states ("prompt" = class)."""

    def __init__(self, spec):
        super().__init__()
        self.cond = spec["kind"] == "cond"
        if self.cond:
            self.unet = UNet2DConditionModel(spec["unet"])
            dim = spec["unet"]["cross_attention_dim"]
            g = torch.Generator().manual_seed(spec["seed"] + 100)
            self.class_embeddings = nn.Parameter(torch.randn(NULL_CLASS + 1, spec["tokens"], dim, generator=g))
        else:
            self.unet = UNet2DModel(spec["unet"])

    def forward(self, x, t, labels=None):
        if self.cond:
            return self.unet(x, t, self.class_embeddings[labels])
        return self.unet(x, t)


class ConvNormAct(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1)
        self.norm = nn.GroupNorm(CLASSIFIER_GROUPS, cout, eps=CLASSIFIER_EPS)

    def forward(self, x):
        return F.silu(self.norm(self.conv(x)))


class FashionClassifier(nn.Module):
    """Only ops the Java engine has: 3x3 conv (pad 1, stride 1/2), GroupNorm, SiLU, mean pool, Linear."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([ConvNormAct(i, o, s) for i, o, s in CLASSIFIER_CONVS])
        c = CLASSIFIER_CONVS[-1][1]
        self.fc1 = nn.Linear(c, CLASSIFIER_FEATURES)
        self.fc2 = nn.Linear(CLASSIFIER_FEATURES, len(CLASS_NAMES))

    def forward(self, x, return_features=False):
        for block in self.blocks:
            x = block(x)
        features = F.silu(self.fc1(x.mean(dim=(2, 3))))
        logits = self.fc2(features)
        return (logits, features) if return_features else logits


def count_params(module):
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------------------------
# Checkpoints, logging, plots
# ---------------------------------------------------------------------------------------------
def ckpt_dir(name):
    d = os.path.join(CKPT_ROOT, name)
    os.makedirs(d, exist_ok=True)
    return d


def save_ckpt(name, state):
    path = os.path.join(ckpt_dir(name), "ckpt.pt")
    tmp = path + ".tmp"
    torch.save(state, tmp)
    if os.path.exists(path):
        os.replace(path, path.replace(".pt", ".prev.pt"))  # keep one older checkpoint
    os.replace(tmp, path)


def load_ckpt(name):
    path = os.path.join(ckpt_dir(name), "ckpt.pt")
    return torch.load(path, map_location="cpu") if os.path.exists(path) else None


class CsvLog:
    def __init__(self, name, fields):
        self.path = os.path.join(ckpt_dir(name), "loss.csv")
        self.fields = fields
        if not os.path.exists(self.path):
            with open(self.path, "w", newline="") as f:
                csv.writer(f).writerow(fields)

    def row(self, **values):
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow([values[k] for k in self.fields])


def plot_loss(name):
    """loss.csv -> loss.png (raw per-N mean and a smoothed curve) in the checkpoint folder."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = os.path.join(ckpt_dir(name), "loss.csv")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    x_key = "step" if "step" in rows[0] else "epoch"
    xs = [float(r[x_key]) for r in rows]
    ys = [float(r["loss"]) for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, ys, lw=0.8, alpha=0.5, label=f"mean loss per row ({x_key})")
    if len(ys) >= 10:
        k = max(5, len(ys) // 30)
        sm = np.convolve(ys, np.ones(k) / k, mode="valid")
        ax.plot(xs[k - 1:], sm, lw=1.5, label=f"moving average ({k})")
    for key in [k for k in rows[0] if k.startswith("loss_")]:  # multi-resolution: loss per training size
        pts = [(x, float(r[key])) for x, r in zip(xs, rows) if r.get(key)]
        if len(pts) >= 10:
            k = max(5, len(pts) // 30)
            sm = np.convolve([p[1] for p in pts], np.ones(k) / k, mode="valid")
            ax.plot([p[0] for p in pts][k - 1:], sm, lw=1.0, ls="--", label=f"{key[5:]}×{key[5:]} (moving avg {k})")
    if "test_acc" in rows[0]:
        ax2 = ax.twinx()
        ax2.plot(xs, [float(r["test_acc"]) for r in rows], color="C3", label="test accuracy")
        ax2.set_ylabel("test accuracy")
    ax.set_xlabel(x_key)
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(name)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    out = os.path.join(ckpt_dir(name), "loss.png")
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


class StopFlag:
    """SIGTERM/SIGINT -> finish the current iteration, checkpoint, export, exit."""

    def __init__(self):
        self.stop = False
        signal.signal(signal.SIGTERM, self._handler)
        signal.signal(signal.SIGINT, self._handler)

    def _handler(self, signum, _frame):
        log(f"received signal {signum}: will checkpoint and stop after this iteration")
        self.stop = True


# ---------------------------------------------------------------------------------------------
# Diffusion training
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def ema_update(ema, model, decay):
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.mul_(decay).add_(pm.detach(), alpha=1.0 - decay)
    for be, bm in zip(ema.buffers(), model.buffers()):
        be.copy_(bm)


def train_size(spec, g):
    """Multi-resolution training: this step's image size, drawn uniformly from spec["sizes"] (first draw of
    the step's generator). None for single-resolution models (no draw, so their runs are unchanged)."""
    sizes = spec.get("sizes")
    if not sizes:
        return None
    return sizes[int(torch.randint(len(sizes), (1,), generator=g))]


def downsample(x0, size):
    """[N, C, H, W] -> [N, C, size, size] by area averaging (exact 2x2 means at 16 from 32; overlapping box
    weights at 24). Box-filtered low-resolution images are what bilinear upsampling, the step at which
    jdiffusion's mixed-resolution sampler returns to full size, maps back to a smooth full-size image."""
    return x0 if x0.shape[-1] == size else F.interpolate(x0, size=(size, size), mode="area")


def diffusion_loss(net, spec, x0, labels, g, alphas_cumprod):
    """One DDPM training objective sample: random t, noise; MSE between predicted and true epsilon.
    Multi-resolution models (spec["sizes"]) first downsample the whole batch to one drawn size."""
    size = train_size(spec, g)
    if size is not None:
        x0 = downsample(x0, size)
    b = x0.shape[0]
    flip = torch.rand(b, generator=g) < 0.5  # random horizontal flip
    x0 = torch.where(flip[:, None, None, None], x0.flip(-1), x0)
    t = torch.randint(0, alphas_cumprod.shape[0], (b,), generator=g)
    noise = torch.randn(x0.shape, generator=g)
    a = alphas_cumprod[t][:, None, None, None]
    xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
    if spec["kind"] == "cond":
        drop = torch.rand(b, generator=g) < spec["p_uncond"]  # label dropout for classifier-free guidance
        labels = torch.where(drop, torch.full_like(labels, NULL_CLASS), labels)
        pred = net(xt, t, labels)
    else:
        pred = net(xt, t)
    return F.mse_loss(pred, noise), size


def lr_at(spec, step):
    return spec["lr"] * min(1.0, (step + 1) / spec["warmup"])  # linear warmup, then constant


def build_diffusion_state(spec):
    torch.manual_seed(spec["seed"])  # parameter init
    net = DiffusionNet(spec)
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.AdamW(net.parameters(), lr=spec["lr"], weight_decay=spec["weight_decay"],
                            betas=(0.9, 0.999))
    return net, ema, opt


def init_weights(net, ema, source):
    """Fine-tuning start: the exported (EMA) UNet of weights/models/<source> into both copies."""
    path = os.path.join(REPO_MODELS, source, "unet", "diffusion_pytorch_model.safetensors")
    if not os.path.exists(path):
        raise SystemExit(f"init_from: {path} not found (export {source} first)")
    state = load_file(path)
    net.unet.load_state_dict(state, strict=True)
    ema.unet.load_state_dict(state, strict=True)


def train_diffusion(name, args, stop):
    spec = dict(MODELS[name])
    if args.iters:
        spec["iters"] = args.iters
    if args.max_hours:
        spec["max_hours"] = args.max_hours
    ck_spec = (load_ckpt(name) or {}).get("spec", {})
    if getattr(args, "sizes", None):
        spec["sizes"] = [int(v) for v in args.sizes.split(",")]
        mult = 2 ** (len(spec["unet"]["block_out_channels"]) - 1)
        bad = [v for v in spec["sizes"] if v <= 0 or v % mult or v > spec["unet"]["sample_size"]]
        if bad:
            raise SystemExit(f"--sizes {args.sizes}: {bad} not allowed; sizes must be multiples of {mult} "
                             f"(2^(levels-1)) up to sample_size {spec['unet']['sample_size']}")
    elif ck_spec.get("sizes"):
        spec["sizes"] = ck_spec["sizes"]  # a resumed run keeps the sizes it was started with
    net, ema, opt = build_diffusion_state(spec)
    step, train_seconds = 0, 0.0
    ck = load_ckpt(name)
    if ck is not None:
        net.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, train_seconds = ck["step"], ck["train_seconds"]
        log(f"{name}: resumed at step {step} ({train_seconds / 3600:.2f} h trained)")
    else:
        if spec.get("init_from"):
            init_weights(net, ema, spec["init_from"])
        log(f"{name}: new run, {count_params(net.unet)} UNet parameters"
            + (f" + {net.class_embeddings.numel()} class-embedding values" if net.cond else "")
            + (f", initialised from {spec['init_from']}" if spec.get("init_from") else "")
            + (f", sizes {spec['sizes']}" if spec.get("sizes") else ""))
    if step >= spec["iters"] or train_seconds >= spec["max_hours"] * 3600:
        log(f"{name}: already finished (step {step}); exporting")
        export_model(name)
        return True

    images, labels = load_fmnist("train")
    x_all = to_model_space(images)
    order = EpochOrder(len(images), spec["batch"], spec["seed"])
    ac = alphas_cumprod_linear(SCHEDULER_CONFIG["num_train_timesteps"], SCHEDULER_CONFIG["beta_start"],
                               SCHEDULER_CONFIG["beta_end"])
    sizes = spec.get("sizes") or []
    csvlog = CsvLog(name, ["step", "loss", "lr", "s_per_iter", "train_hours", "time"]
                    + [f"loss_{v}" for v in sizes])  # multi-resolution: mean loss per size in the window

    def checkpoint():
        save_ckpt(name, {"model": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                         "step": step, "train_seconds": train_seconds, "spec": spec,
                         "torch_rng": torch.get_rng_state()})
        plot_loss(name)
        log(f"{name}: checkpoint at step {step}")

    net.train()
    last_save = time.time()
    window_loss, window_n, window_t0 = 0.0, 0, time.time()
    per_size = {v: [0.0, 0] for v in sizes}
    while step < spec["iters"] and train_seconds < spec["max_hours"] * 3600 and not stop.stop:
        t0 = time.time()
        g = step_generator(spec["seed"], step)
        idx = order.indices(step)
        loss, size = diffusion_loss(net, spec, x_all[idx], labels[idx], g, ac)
        for group in opt.param_groups:
            group["lr"] = lr_at(spec, step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        # EMA with the usual warmup: decay = min(max_decay, (1 + step) / (10 + step))
        ema_update(ema, net, min(spec["ema_decay"], (1 + step) / (10 + step)))
        train_seconds += time.time() - t0

        window_loss += loss.item()
        window_n += 1
        if size is not None:
            per_size[size][0] += loss.item()
            per_size[size][1] += 1
        if step % LOG_EVERY == 0:
            spi = (time.time() - window_t0) / window_n
            csvlog.row(step=step, loss=f"{window_loss / window_n:.6f}", lr=f"{lr_at(spec, step - 1):.3g}",
                       s_per_iter=f"{spi:.3f}", train_hours=f"{train_seconds / 3600:.3f}",
                       time=datetime.datetime.now().isoformat(timespec="seconds"),
                       **{f"loss_{v}": (f"{a / n:.6f}" if n else "") for v, (a, n) in per_size.items()})
            per_size = {v: [0.0, 0] for v in sizes}
            # whichever comes first: the iteration target or the training-time cap
            eta_h = max(0.0, min((spec["iters"] - step) * spi, spec["max_hours"] * 3600 - train_seconds)) / 3600
            log(f"{name}: step {step}/{spec['iters']} loss {window_loss / window_n:.4f} "
                f"{spi:.2f} s/it, ~{eta_h:.2f} h left")
            window_loss, window_n, window_t0 = 0.0, 0, time.time()
        if time.time() - last_save > SAVE_EVERY_S:
            checkpoint()
            last_save = time.time()

    checkpoint()
    export_model(name)
    if stop.stop:
        return False
    try:
        out = sample_grid(name, os.path.join(ckpt_dir(name), f"samples_step{step}.png"))
        log(f"{name}: sample grid {out}")
    except Exception as e:  # a failed preview must not fail the training chain
        log(f"{name}: sample grid failed: {e}")
    log(f"{name}: finished at step {step}")
    return True


# ---------------------------------------------------------------------------------------------
# Classifier training
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def evaluate_classifier(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / len(x)


def train_classifier(name, args, stop):
    spec = dict(MODELS[name])
    if args.epochs:
        spec["epochs"] = args.epochs
    torch.manual_seed(spec["seed"])
    model = FashionClassifier()
    images, labels = load_fmnist("train")
    test_images, test_labels = load_fmnist("test")
    x_test = to_model_space(test_images)
    order = EpochOrder(len(images), spec["batch"], spec["seed"])
    total = spec["epochs"] * order.per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=spec["lr"], weight_decay=spec["weight_decay"])
    # one-cycle style: linear warmup for 1/2 epoch then cosine decay to 0
    warm = order.per_epoch // 2
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / (total - warm))))
    step, acc = 0, None
    ck = load_ckpt(name)
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        step, acc = ck["step"], ck.get("test_acc")
        log(f"{name}: resumed at step {step}/{total}")
    else:
        log(f"{name}: new run, {count_params(model)} parameters, {total} steps")
    csvlog = CsvLog(name, ["epoch", "step", "loss", "test_acc", "time"])
    run_loss, run_n = 0.0, 0
    while step < total and not stop.stop:
        g = step_generator(spec["seed"], step)
        idx = order.indices(step)
        offsets = torch.randint(0, 5, (len(idx), 2), generator=g)  # random +-2 px shift
        x = to_model_space(images[idx], offsets)
        flip = torch.rand(len(idx), generator=g) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        loss = F.cross_entropy(model(x), labels[idx], label_smoothing=spec["label_smoothing"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        run_loss += loss.item()
        run_n += 1
        if step % order.per_epoch == 0 or step == total:
            acc = evaluate_classifier(model, x_test, test_labels)
            epoch = step / order.per_epoch
            csvlog.row(epoch=f"{epoch:.2f}", step=step, loss=f"{run_loss / run_n:.5f}", test_acc=f"{acc:.4f}",
                       time=datetime.datetime.now().isoformat(timespec="seconds"))
            log(f"{name}: epoch {epoch:.2f} loss {run_loss / run_n:.4f} test acc {acc:.4f}")
            run_loss, run_n = 0.0, 0
            save_ckpt(name, {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                             "step": step, "test_acc": acc, "spec": spec})
            plot_loss(name)
    if stop.stop:
        save_ckpt(name, {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                         "step": step, "test_acc": acc, "spec": spec})
        return False
    export_model(name)
    return True


# ---------------------------------------------------------------------------------------------
# Export to weights/models/<name>
# ---------------------------------------------------------------------------------------------
def _write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def load_ema_net(name):
    """DiffusionNet with the EMA weights of the latest checkpoint (eval mode)."""
    ck = load_ckpt(name)
    if ck is None:
        raise SystemExit(f"no checkpoint for {name} in {ckpt_dir(name)}")
    net = DiffusionNet(ck["spec"])
    net.load_state_dict(ck["ema"])
    return net.eval(), ck


def parity_inputs(net):
    """Fixed small input for Java-vs-PyTorch forward parity (batch 2, timesteps 10 and 981)."""
    g = torch.Generator().manual_seed(20240601)
    sample = torch.randn(2, 1, 32, 32, generator=g)
    timestep = torch.tensor([10.0, 981.0], dtype=torch.float32)
    inputs = {"sample": sample, "timestep": timestep}
    if net.cond:
        classes = torch.tensor([3, NULL_CLASS])  # "Dress" and the null (unconditional) class
        inputs["encoder_hidden_states"] = net.class_embeddings.detach()[classes].clone()
        inputs["class_index"] = classes.float()
    return inputs


def _init_step(source):
    """Training step of the exported model a fine-tune started from (from its training_info.json)."""
    if not source:
        return None
    path = os.path.join(REPO_MODELS, source, "training_info.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f).get("step")


def export_diffusion(name):
    net, ck = load_ema_net(name)
    spec = ck["spec"]
    root = os.path.join(REPO_MODELS, name)
    net.unet.save_pretrained(os.path.join(root, "unet"))
    if net.cond:
        sched = dict(SCHEDULER_CONFIG, _class_name="DDIMScheduler", _diffusers_version=DIFFUSERS_VERSION)
        _write_json(os.path.join(root, "model_index.json"), {
            "_class_name": "ClassConditionalPipeline", "_diffusers_version": DIFFUSERS_VERSION,
            "unet": ["diffusers", "UNet2DConditionModel"], "scheduler": ["diffusers", "DDIMScheduler"],
            "class_embeddings": ["jdiffusion", "ClassEmbeddings"]})
        os.makedirs(os.path.join(root, "class_embeddings"), exist_ok=True)
        save_file({"embeddings": net.class_embeddings.detach().float()},
                  os.path.join(root, "class_embeddings", "class_embeddings.safetensors"), metadata={"format": "pt"})
        _write_json(os.path.join(root, "class_embeddings", "config.json"), {
            "class_names": CLASS_NAMES, "null_index": NULL_CLASS, "tokens": spec["tokens"],
            "cross_attention_dim": spec["unet"]["cross_attention_dim"],
            "usage": "encoder_hidden_states for class c = embeddings[c] ([tokens, dim]); "
                     "unconditional = embeddings[null_index]"})
    else:
        # DDIM (as diffusers' DDIMPipeline): 50 deterministic steps give good samples; ancestral DDPM needs ~1000.
        # The betas are the training ones, so `--scheduler ddpm --steps 1000` samples as in Ho et al.
        sched = dict(SCHEDULER_CONFIG, _class_name="DDIMScheduler", _diffusers_version=DIFFUSERS_VERSION)
        _write_json(os.path.join(root, "model_index.json"), {
            "_class_name": "DDIMPipeline", "_diffusers_version": DIFFUSERS_VERSION,
            "unet": ["diffusers", "UNet2DModel"], "scheduler": ["diffusers", "DDIMScheduler"]})
    _write_json(os.path.join(root, "scheduler", "scheduler_config.json"), sched)

    inputs = parity_inputs(net)
    args = [inputs["sample"], inputs["timestep"]] + \
           ([inputs["encoder_hidden_states"]] if net.cond else [])
    with torch.no_grad():
        out, inter = net.unet.forward_with_intermediates(*args)
    tensors = dict(inputs, out=out)
    tensors.update({f"inter.{k}": v for k, v in inter.items()})
    for size in [v for v in (spec.get("sizes") or []) if v != spec["unet"]["sample_size"]]:
        low = torch.randn(2, 1, size, size, generator=torch.Generator().manual_seed(20240601 + size))
        with torch.no_grad():
            tensors[f"sample_{size}"] = low
            tensors[f"out_{size}"] = net.unet(*([low, inputs["timestep"]] + args[2:]))
    save_file({k: v.float() for k, v in tensors.items()}, os.path.join(root, "parity.safetensors"),
              metadata={"description": "PyTorch (diffusers-equivalent) forward of unet/ on sample/timestep"
                                       + ("/encoder_hidden_states" if net.cond else "") + "; compare out "
                                       "(and inter.* = top-level submodule outputs) by relative L2 <= 1e-4",
                        "step": ck["step"]})
    _write_json(os.path.join(root, "training_info.json"), {
        "model": name, "weights": "EMA", "step": ck["step"], "images_seen": ck["step"] * spec["batch"],
        "train_hours": round(ck["train_seconds"] / 3600, 3), "batch": spec["batch"], "lr": spec["lr"],
        "lr_warmup_steps": spec["warmup"], "ema_decay": spec["ema_decay"], "optimizer": "AdamW",
        "objective": "epsilon MSE, DDPM linear betas 1e-4..0.02, 1000 steps",
        "label_dropout": spec.get("p_uncond"), "unet_parameters": count_params(net.unet),
        "data": "Fashion-MNIST train (Debian dataset-fashion-mnist), 28x28 padded to 32x32 with -1, "
                "pixels 2p-1, random horizontal flip"
                + (f"; multi-resolution: each step one size from {spec['sizes']} (uniform), batch "
                   "area-downsampled from 32x32" if spec.get("sizes") else ""),
        "sizes": spec.get("sizes"), "init_from": spec.get("init_from"),
        "init_step": _init_step(spec.get("init_from")),
        "exported": datetime.datetime.now().isoformat(timespec="seconds"),
        "script": "weights/train/train.py"})
    log(f"{name}: exported step {ck['step']} (EMA) to {root}")


def export_classifier(name):
    ck = load_ckpt(name)
    if ck is None:
        raise SystemExit(f"no checkpoint for {name}")
    model = FashionClassifier()
    model.load_state_dict(ck["model"])
    model.eval()
    test_images, test_labels = load_fmnist("test")
    x_test = to_model_space(test_images)
    acc = evaluate_classifier(model, x_test, test_labels)
    model.eval()
    root = os.path.join(REPO_MODELS, name)
    os.makedirs(root, exist_ok=True)
    layers = []
    for i, (cin, cout, stride) in enumerate(CLASSIFIER_CONVS):
        layers += [
            {"type": "conv2d", "weights": f"blocks.{i}.conv", "in_channels": cin, "out_channels": cout,
             "kernel_size": 3, "stride": stride, "padding": 1},
            {"type": "group_norm", "weights": f"blocks.{i}.norm", "num_groups": CLASSIFIER_GROUPS,
             "num_channels": cout, "eps": CLASSIFIER_EPS},
            {"type": "silu"}]
    c = CLASSIFIER_CONVS[-1][1]
    layers += [{"type": "global_avg_pool", "comment": "mean over H and W -> [N, C]"},
               {"type": "linear", "weights": "fc1", "in_features": c, "out_features": CLASSIFIER_FEATURES},
               {"type": "silu", "output": "features"},
               {"type": "linear", "weights": "fc2", "in_features": CLASSIFIER_FEATURES,
                "out_features": len(CLASS_NAMES), "output": "logits"}]
    _write_json(os.path.join(root, "config.json"), {
        "_class_name": "FashionClassifier", "in_channels": 1, "sample_size": 32, "num_classes": len(CLASS_NAMES),
        "class_names": CLASS_NAMES, "feature_dim": CLASSIFIER_FEATURES, "feature_layer": "features",
        "input": "NCHW float32, Fashion-MNIST 28x28 padded to 32x32 with -1, pixel p in [0,1] -> 2p-1 "
                 "(same space as the diffusion models' samples)",
        "layers": layers, "test_accuracy": round(acc, 4), "test_set": "Fashion-MNIST t10k (10000 images)",
        "weights_file": "model.safetensors", "parameters": count_params(model),
        "training": {"epochs": ck["spec"]["epochs"], "batch": ck["spec"]["batch"], "optimizer": "AdamW",
                     "lr": ck["spec"]["lr"], "schedule": "warmup 1/2 epoch + cosine",
                     "weight_decay": ck["spec"]["weight_decay"], "label_smoothing": ck["spec"]["label_smoothing"],
                     "augmentation": "random +-2 px shift, horizontal flip", "script": "weights/train/train.py"}})
    save_file({k: v.float() for k, v in model.state_dict().items()}, os.path.join(root, "model.safetensors"),
              metadata={"format": "pt"})
    # parity: 4 test images -> logits and features
    with torch.no_grad():
        x = x_test[:4]
        logits, feats = model(x, return_features=True)
        all_feats = torch.cat([model(x_test[i:i + 1000], return_features=True)[1] for i in range(0, 10000, 1000)])
    save_file({"sample": x, "logits": logits, "features": feats, "labels": test_labels[:4].float()},
              os.path.join(root, "parity.safetensors"),
              metadata={"description": "first 4 Fashion-MNIST test images; compare logits/features by "
                                       "relative L2 <= 1e-4"})
    # reference statistics of the test-set features, for Frechet distances of generated samples
    mu = all_feats.double().mean(0)
    sigma = torch.cov(all_feats.double().T)
    save_file({"mu": mu.float(), "sigma": sigma.float()}, os.path.join(root, "test_feature_stats.safetensors"),
              metadata={"description": "mean and covariance (unbiased, N-1) of the features of the 10000 "
                                       "Fashion-MNIST test images (float64 accumulation, stored F32)"})
    log(f"{name}: exported, test accuracy {acc:.4f}, to {root}")
    return acc


def export_model(name):
    if MODELS[name]["kind"] == "classifier":
        return export_classifier(name)
    return export_diffusion(name)


# ---------------------------------------------------------------------------------------------
# Sampling (DDIM, CFG), sample grids, Frechet distance with the classifier
# ---------------------------------------------------------------------------------------------
def save_grid(x, path, nrow, scale=2):
    """x: [N, 1, 32, 32] in [-1, 1] -> PNG grid (2 px gaps), upscaled by `scale`."""
    from PIL import Image
    x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)[:, 0]
    n, h, w = x.shape
    ncol = nrow
    nrows = math.ceil(n / ncol)
    canvas = np.full((nrows * (h + 2) + 2, ncol * (w + 2) + 2), 64, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, ncol)
        canvas[2 + r * (h + 2):2 + r * (h + 2) + h, 2 + c * (w + 2):2 + c * (w + 2) + w] = x[i].numpy()
    img = Image.fromarray(canvas, mode="L")
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path)
    return path


@torch.no_grad()
def generate(net, n, steps=50, guidance=3.0, labels=None, seed=0, batch=100, size=32):
    """DDIM samples from a DiffusionNet (EMA). Conditional: labels [n] with CFG `guidance`. `size`: sample
    size (a multi-resolution model also samples at its smaller training sizes)."""
    ac = alphas_cumprod_linear()
    g = torch.Generator().manual_seed(seed)
    outs = []
    for i in range(0, n, batch):
        m = min(batch, n - i)
        x = torch.randn(m, 1, size, size, generator=g)
        if net.cond:
            emb = net.class_embeddings
            cond = emb[labels[i:i + m]]
            uncond = emb[NULL_CLASS].expand(m, -1, -1)
            eps_fn = cfg_eps_fn(net.unet, cond, uncond, guidance)
        else:
            eps_fn = net.unet
        outs.append(ddim_sample(eps_fn, x, ac, num_inference_steps=steps, clip_sample=True, set_alpha_to_one=True))
    return torch.cat(outs)


def sample_grid(name, out_path=None, steps=50, guidance=3.0, seed=0, size=32):
    net, ck = load_ema_net(name)
    if net.cond:
        per_class = 6
        labels = torch.arange(10).repeat_interleave(per_class)  # one row per class
        x = generate(net, len(labels), steps, guidance, labels, seed)
        nrow = per_class
    else:
        x = generate(net, 48, steps, seed=seed, size=size)
        nrow = 8
    out_path = out_path or os.path.join(ckpt_dir(name), f"samples_step{ck['step']}"
                                        + ("" if size == 32 else f"_{size}") + ".png")
    return save_grid(x, out_path, nrow)


def load_exported_classifier():
    path = os.path.join(REPO_MODELS, "fmnist-classifier", "model.safetensors")
    model = FashionClassifier()
    model.load_state_dict(load_file(path), strict=True)
    return model.eval()


def frechet_distance(mu1, s1, mu2, s2):
    """||mu1-mu2||^2 + tr(s1) + tr(s2) - 2 tr((s1^1/2 s2 s1^1/2)^1/2), via symmetric eigendecompositions."""
    mu1, s1, mu2, s2 = (t.double() for t in (mu1, s1, mu2, s2))
    w, v = torch.linalg.eigh(s1)
    sqrt_s1 = (v * w.clamp(min=0).sqrt()) @ v.T
    m = sqrt_s1 @ s2 @ sqrt_s1
    tr_covmean = torch.linalg.eigvalsh((m + m.T) / 2).clamp(min=0).sqrt().sum()
    return ((mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * tr_covmean).item()


@torch.no_grad()
def fd_of_samples(x):
    clf = load_exported_classifier()
    feats = torch.cat([clf(x[i:i + 500], return_features=True)[1] for i in range(0, len(x), 500)]).double()
    stats = load_file(os.path.join(REPO_MODELS, "fmnist-classifier", "test_feature_stats.safetensors"))
    return frechet_distance(feats.mean(0), torch.cov(feats.T), stats["mu"], stats["sigma"]), clf


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------
def cmd_train(args):
    stop = StopFlag()
    for name in args.model:
        fn = train_classifier if MODELS[name]["kind"] == "classifier" else train_diffusion
        if not fn(name, args, stop):
            log("stopped by signal; rerun the same command to resume")
            sys.exit(143)
    log("all requested models done")


def cmd_export(args):
    for name in args.model:
        export_model(name)


def cmd_sample(args):
    for name in args.model:
        t0 = time.time()
        out = sample_grid(name, args.out, args.steps, args.guidance, args.seed, args.size)
        print(f"{name}: {out} ({time.time() - t0:.1f} s)")
        if args.fd:
            net, ck = load_ema_net(name)
            labels = torch.arange(args.fd) % 10 if net.cond else None
            x = generate(net, args.fd, args.steps, args.guidance, labels, seed=args.seed + 1)
            fd, clf = fd_of_samples(x)
            msg = f"{name} step {ck['step']}: Frechet distance (classifier features, {args.fd} samples vs test set) " \
                  f"= {fd:.3f}"
            if net.cond:
                acc = (clf(x).argmax(1) == labels).float().mean().item()
                msg += f"; classifier agrees with the requested class on {acc:.3f}"
            print(msg)


def cmd_bench(args):
    for name in args.model:
        spec = MODELS[name]
        if spec["kind"] == "classifier":
            model, b = FashionClassifier(), spec["batch"]
            opt = torch.optim.AdamW(model.parameters())
            x, y = torch.randn(b, 1, 32, 32), torch.randint(0, 10, (b,))

            def it():
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
        else:
            net, _ema, opt = build_diffusion_state(spec)
            ac = alphas_cumprod_linear()
            x0, y = torch.randn(spec["batch"], 1, 32, 32), torch.randint(0, 10, (spec["batch"],))

            def it(step=[0]):
                loss, _size = diffusion_loss(net, spec, x0, y, step_generator(0, step[0]), ac)
                opt.zero_grad()
                loss.backward()
                opt.step()
                step[0] += 1
        for _ in range(3):
            it()
        t0, c0 = time.time(), time.process_time()
        for _ in range(args.n):
            it()
        spi = (time.time() - t0) / args.n
        cpu = (time.process_time() - c0) / args.n
        # On a shared machine wall time depends on the others' load; CPU seconds / threads approximates
        # the wall time on an idle machine.
        print(f"{name}: {spi:.3f} s/iteration wall, {cpu:.3f} CPU-s/iteration "
              f"(~{cpu / torch.get_num_threads():.3f} s/it if idle; batch {spec['batch']}, "
              f"{torch.get_num_threads()} threads)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("train", help="train (resumable); exports at the end")
    p.add_argument("--model", nargs="+", required=True, choices=list(MODELS))
    p.add_argument("--iters", type=int, default=None, help="override the iteration target (diffusion models)")
    p.add_argument("--max-hours", type=float, default=None, help="override the train-time cap (diffusion models)")
    p.add_argument("--epochs", type=int, default=None, help="override epochs (classifier)")
    p.add_argument("--sizes", default=None, metavar="S,S,...",
                   help="multi-resolution training: image sizes, one drawn per step (multiples of 2^(levels-1), "
                        "at most sample_size; default: the model's spec, e.g. 16,24,32 for fashion-ddpm-32-mr)")
    p = sub.add_parser("export", help="export the latest checkpoint into weights/models/<model>")
    p.add_argument("--model", nargs="+", required=True, choices=list(MODELS))
    p = sub.add_parser("sample", help="DDIM sample grid PNG from the latest checkpoint (EMA)")
    p.add_argument("--model", nargs="+", required=True, choices=[m for m in MODELS if "classifier" not in m])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--guidance", type=float, default=3.0, help="CFG scale (conditional model)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=32, help="sample size (unconditional; e.g. 16 or 24 for a "
                                                        "multi-resolution model)")
    p.add_argument("--out", default=None, help="PNG path (default /work/ckpt/<model>/samples_step<N>.png)")
    p.add_argument("--fd", type=int, default=0, metavar="N",
                   help="also report the Frechet distance of N samples (classifier features) to the test set")
    p = sub.add_parser("bench", help="measure seconds per training iteration")
    p.add_argument("--model", nargs="+", required=True, choices=list(MODELS))
    p.add_argument("--n", type=int, default=10)
    p = sub.add_parser("plot", help="loss-curve PNG from the CSV log")
    p.add_argument("--model", nargs="+", required=True, choices=list(MODELS))
    args = ap.parse_args()

    # 2 threads on an idle machine; on a busy one a single thread per run wastes nothing at OpenMP barriers
    # (two runs side by side, TRAIN_THREADS=1 each, then use both cores)
    torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", "2")))
    if args.cmd == "train":
        cmd_train(args)
    elif args.cmd == "export":
        cmd_export(args)
    elif args.cmd == "sample":
        cmd_sample(args)
    elif args.cmd == "bench":
        cmd_bench(args)
    elif args.cmd == "plot":
        for name in args.model:
            print(plot_loss(name))


if __name__ == "__main__":
    main()
