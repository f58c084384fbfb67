"""DDPM noise schedule and a DDIM sampler equivalent to diffusers' DDIMScheduler (eta = 0), used to
make sample grids from checkpoints (train.py sample). check_golden.py verifies it against the golden
scheduler trajectories.
"""
import numpy as np
import torch


def alphas_cumprod_linear(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02):
    """diffusers beta_schedule="linear": betas = linspace(start, end, T) in float32."""
    betas = torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float32)
    return torch.cumprod(1.0 - betas, dim=0)


def ddim_timesteps(num_inference_steps, num_train_timesteps=1000, steps_offset=0):
    """timestep_spacing="leading": [0, r, 2r, ...] reversed (+ steps_offset), r = T // steps."""
    ratio = num_train_timesteps // num_inference_steps
    ts = (np.arange(0, num_inference_steps) * ratio).round()[::-1].copy().astype(np.int64)
    return torch.from_numpy(ts + steps_offset), ratio


@torch.no_grad()
def ddim_sample(eps_fn, x, alphas_cumprod, num_inference_steps=50, clip_sample=True, set_alpha_to_one=True,
                steps_offset=0, callback=None):
    """Deterministic DDIM (eta=0). eps_fn(x, t_tensor) -> predicted noise. `x` is x_T (init_noise_sigma = 1).

    Same arithmetic as DDIMScheduler.step: x0 = (x - sqrt(1-a_t) eps) / sqrt(a_t), optionally clipped to
    [-1, 1]; x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev) eps (eps is NOT recomputed after clipping)."""
    T = alphas_cumprod.shape[0]
    timesteps, ratio = ddim_timesteps(num_inference_steps, T, steps_offset)
    final_alpha = torch.tensor(1.0) if set_alpha_to_one else alphas_cumprod[0]
    for i, t in enumerate(timesteps):
        prev_t = int(t) - ratio
        a_t = alphas_cumprod[int(t)]
        a_prev = alphas_cumprod[prev_t] if prev_t >= 0 else final_alpha
        eps = eps_fn(x, t)
        x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
        if clip_sample:
            x0 = x0.clamp(-1.0, 1.0)
        x = a_prev ** 0.5 * x0 + (1 - a_prev) ** 0.5 * eps
        if callback is not None:
            callback(i, t, x)
    return x


def cfg_eps_fn(unet, cond_states, uncond_states, guidance):
    """Classifier-free guidance as in diffusers' SD pipeline: batch [uncond, cond] in ONE UNet call,
    eps = eps_u + g * (eps_c - eps_u)."""
    def fn(x, t):
        ehs = torch.cat([uncond_states, cond_states])
        out = unet(torch.cat([x, x]), t, ehs)
        eps_u, eps_c = out.chunk(2)
        return eps_u + guidance * (eps_c - eps_u)
    return fn
