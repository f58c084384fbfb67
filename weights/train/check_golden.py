#!/usr/bin/python3
"""Check diffusers_mini against real diffusers outputs (/work/shared/golden, diffusers 0.31).

For each UNet case: build the model from config.json, load diffusion_pytorch_model.safetensors with
strict=True, run it on io.safetensors' inputs and compare `out` and every `inter.*` intermediate by
relative L2 error ||a - b|| / ||b||. Exits non-zero if any error exceeds the tolerance (1e-4).
Also checks sampling.py's DDIM sampler against the golden DDIMScheduler trajectories (1e-5).

    /usr/bin/python3 check_golden.py [--golden /work/shared/golden] [--tol 1e-4]
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffusers_mini import load_pretrained  # noqa: E402
from safetensors_io import load_file  # noqa: E402
from sampling import alphas_cumprod_linear, ddim_sample  # noqa: E402

CASES = ["unet2d-tiny", "unet2d-ddpm-cifar-layout", "unet2dcond-sd15-layout", "unet2dcond-sd2-layout"]


def rel_l2(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


def check_case(folder):
    model = load_pretrained(folder)  # strict state_dict loading
    io = load_file(os.path.join(folder, "io.safetensors"))
    args = [io["sample"], io["timestep"]]
    if "encoder_hidden_states" in io:
        args.append(io["encoder_hidden_states"])
    with torch.no_grad():
        out, inter = model.forward_with_intermediates(*args)
    errors = {"out": rel_l2(out, io["out"])}
    for key, ref in io.items():
        if key.startswith("inter."):
            errors[key] = rel_l2(inter[key[len("inter."):]], ref)
    return errors


def check_ddim(golden, steps):
    """The DDIM sampler of sampling.py (used by `train.py sample`) against diffusers' DDIMScheduler
    with the ddpm config (linear betas, clip_sample, set_alpha_to_one, leading spacing), driven by
    the golden synthetic model eps = 0.5 * tanh(x) + 0.001 * t."""
    ref = load_file(os.path.join(golden, "schedulers", f"ddim-ddpm-leading-{steps}.safetensors"))
    traj = {}
    ddim_sample(lambda x, t: 0.5 * torch.tanh(x) + 0.001 * t.float(), ref["x_T"].clone(), alphas_cumprod_linear(),
                num_inference_steps=steps, callback=lambda i, t, x: traj.__setitem__(i, x.clone()))
    return max(rel_l2(traj[i], ref[f"x.{i}"]) for i in range(steps))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--golden", default="/work/shared/golden")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    ok = True
    for case in CASES:
        errors = check_case(os.path.join(args.golden, case))
        worst = max(errors.values())
        status = "OK " if worst <= args.tol else "FAIL"
        ok &= worst <= args.tol
        print(f"[{status}] {case:28s} out={errors['out']:.2e}  max(all {len(errors)} tensors)={worst:.2e}")
        for key in sorted(errors):
            if key != "out":
                print(f"         {key:28s} {errors[key]:.2e}")
    for steps in (10, 50):
        err = check_ddim(args.golden, steps)
        ok &= err <= 1e-5
        print(f"[{'OK ' if err <= 1e-5 else 'FAIL'}] DDIM sampler, ddpm config, {steps} steps: max rel err {err:.2e}")
    print("ALL OK" if ok else "SOME CASES FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
