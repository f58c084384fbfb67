"""Plain-PyTorch re-implementation of the parts of Hugging Face diffusers (~0.31) that the
jdiffusion engine supports: `UNet2DModel` and `UNet2DConditionModel` (Stable Diffusion 1.x/2.x
layouts), built from a diffusers `config.json` dict.

Module/parameter names (hence state_dict keys) and numerics follow diffusers exactly, so a
diffusers `diffusion_pytorch_model.safetensors` loads with `strict=True` and the outputs match
diffusers to float32 rounding (see check_golden.py). Only the inference-relevant options are
implemented; unsupported config values raise NotImplementedError instead of being silently ignored.

Source files mirrored (diffusers 0.31):
  models/embeddings.py            get_timestep_embedding, Timesteps, TimestepEmbedding
  models/resnet.py                ResnetBlock2D
  models/downsampling.py          Downsample2D
  models/upsampling.py            Upsample2D
  models/attention_processor.py   Attention + AttnProcessor (the torch<2.0 path: baddbmm/softmax/bmm)
  models/attention.py             BasicTransformerBlock, FeedForward, GEGLU (activations.py)
  models/transformers/transformer_2d.py   Transformer2DModel (continuous input)
  models/unets/unet_2d_blocks.py  DownBlock2D, AttnDownBlock2D, CrossAttnDownBlock2D, UpBlock2D,
                                  AttnUpBlock2D, CrossAttnUpBlock2D, UNetMidBlock2D,
                                  UNetMidBlock2DCrossAttn
  models/unets/unet_2d.py, unet_2d_condition.py
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


def _act(name):
    if name in ("silu", "swish"):
        return nn.SiLU()
    raise NotImplementedError(f"act_fn {name!r} (only silu is supported)")


# --------------------------------------------------------------------------------------------
# Timestep embedding
# --------------------------------------------------------------------------------------------
def get_timestep_embedding(timesteps, embedding_dim, flip_sin_to_cos=False, downscale_freq_shift=1.0,
                           scale=1.0, max_period=10000):
    """Sinusoidal embedding, identical to diffusers.models.embeddings.get_timestep_embedding."""
    assert timesteps.dim() == 1, "Timesteps should be a 1d-array"
    half_dim = embedding_dim // 2
    exponent = -math.log(max_period) * torch.arange(0, half_dim, dtype=torch.float32, device=timesteps.device)
    exponent = exponent / (half_dim - downscale_freq_shift)
    emb = torch.exp(exponent)
    emb = timesteps[:, None].float() * emb[None, :]
    emb = scale * emb
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half_dim:], emb[:, :half_dim]], dim=-1)
    if embedding_dim % 2 == 1:
        emb = F.pad(emb, (0, 1, 0, 0))
    return emb


class Timesteps(nn.Module):
    def __init__(self, num_channels, flip_sin_to_cos, downscale_freq_shift, scale=1):
        super().__init__()
        self.num_channels = num_channels
        self.flip_sin_to_cos = flip_sin_to_cos
        self.downscale_freq_shift = downscale_freq_shift
        self.scale = scale

    def forward(self, timesteps):
        return get_timestep_embedding(timesteps, self.num_channels, flip_sin_to_cos=self.flip_sin_to_cos,
                                      downscale_freq_shift=self.downscale_freq_shift, scale=self.scale)


class TimestepEmbedding(nn.Module):
    """linear_1 -> act -> linear_2 (no cond_proj, no post_act)."""

    def __init__(self, in_channels, time_embed_dim, act_fn="silu", out_dim=None):
        super().__init__()
        self.linear_1 = nn.Linear(in_channels, time_embed_dim)
        self.act = _act(act_fn)
        self.linear_2 = nn.Linear(time_embed_dim, out_dim if out_dim is not None else time_embed_dim)

    def forward(self, sample):
        return self.linear_2(self.act(self.linear_1(sample)))


# --------------------------------------------------------------------------------------------
# ResNet block, down/up sampling
# --------------------------------------------------------------------------------------------
class ResnetBlock2D(nn.Module):
    """GroupNorm-SiLU-conv, + time embedding, GroupNorm-SiLU-(dropout)-conv, + shortcut."""

    def __init__(self, in_channels, out_channels, temb_channels, groups, eps, act_fn="silu", dropout=0.0,
                 time_embedding_norm="default", output_scale_factor=1.0):
        super().__init__()
        if time_embedding_norm not in ("default", "scale_shift"):
            raise NotImplementedError(f"resnet_time_scale_shift {time_embedding_norm!r}")
        self.time_embedding_norm = time_embedding_norm
        self.output_scale_factor = output_scale_factor
        self.norm1 = nn.GroupNorm(num_groups=groups, num_channels=in_channels, eps=eps, affine=True)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)
        if temb_channels is not None:
            proj_out = out_channels * 2 if time_embedding_norm == "scale_shift" else out_channels
            self.time_emb_proj = nn.Linear(temb_channels, proj_out)
        else:
            self.time_emb_proj = None
        self.norm2 = nn.GroupNorm(num_groups=groups, num_channels=out_channels, eps=eps, affine=True)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1)
        self.nonlinearity = _act(act_fn)
        self.conv_shortcut = (nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, padding=0)
                              if in_channels != out_channels else None)

    def forward(self, input_tensor, temb):
        hidden_states = self.nonlinearity(self.norm1(input_tensor))
        hidden_states = self.conv1(hidden_states)
        if self.time_emb_proj is not None:
            temb = self.time_emb_proj(self.nonlinearity(temb))[:, :, None, None]
        if self.time_embedding_norm == "default":
            if temb is not None:
                hidden_states = hidden_states + temb
            hidden_states = self.norm2(hidden_states)
        else:  # scale_shift
            scale, shift = torch.chunk(temb, 2, dim=1)
            hidden_states = self.norm2(hidden_states)
            hidden_states = hidden_states * (1 + scale) + shift
        hidden_states = self.nonlinearity(hidden_states)
        hidden_states = self.dropout(hidden_states)
        hidden_states = self.conv2(hidden_states)
        if self.conv_shortcut is not None:
            input_tensor = self.conv_shortcut(input_tensor)
        return (input_tensor + hidden_states) / self.output_scale_factor


class Downsample2D(nn.Module):
    """3x3 conv with stride 2. padding 0 means diffusers' asymmetric pad (0,1,0,1) first."""

    def __init__(self, channels, out_channels, padding=1):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, out_channels, kernel_size=3, stride=2, padding=padding)

    def forward(self, hidden_states):
        if self.padding == 0:
            hidden_states = F.pad(hidden_states, (0, 1, 0, 1), mode="constant", value=0)
        return self.conv(hidden_states)


class Upsample2D(nn.Module):
    """Nearest-neighbour 2x (or to `output_size`) followed by a 3x3 conv."""

    def __init__(self, channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, out_channels, kernel_size=3, padding=1)

    def forward(self, hidden_states, output_size=None):
        if output_size is None:
            hidden_states = F.interpolate(hidden_states, scale_factor=2.0, mode="nearest")
        else:
            hidden_states = F.interpolate(hidden_states, size=output_size, mode="nearest")
        return self.conv(hidden_states)


# --------------------------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------------------------
class Attention(nn.Module):
    """diffusers.models.attention_processor.Attention with the default AttnProcessor.

    Used two ways:
      * UNet2DModel's spatial self-attention (`group_norm` set, 4-D input, `residual_connection`,
        biased projections);
      * BasicTransformerBlock's attn1/attn2 (3-D input, no group norm, projections without bias
        except to_out.0, `cross_attention_dim` for the K/V input width of attn2).
    """

    def __init__(self, query_dim, cross_attention_dim=None, heads=8, dim_head=64, bias=False, out_bias=True,
                 norm_num_groups=None, eps=1e-5, residual_connection=False, rescale_output_factor=1.0,
                 dropout=0.0):
        super().__init__()
        self.inner_dim = dim_head * heads
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.residual_connection = residual_connection
        self.rescale_output_factor = rescale_output_factor
        kv_dim = cross_attention_dim if cross_attention_dim is not None else query_dim
        self.group_norm = (nn.GroupNorm(num_channels=query_dim, num_groups=norm_num_groups, eps=eps, affine=True)
                           if norm_num_groups is not None else None)
        self.to_q = nn.Linear(query_dim, self.inner_dim, bias=bias)
        self.to_k = nn.Linear(kv_dim, self.inner_dim, bias=bias)
        self.to_v = nn.Linear(kv_dim, self.inner_dim, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(self.inner_dim, query_dim, bias=out_bias), nn.Dropout(dropout)])

    def head_to_batch_dim(self, t):
        b, s, d = t.shape
        h = self.heads
        return t.reshape(b, s, h, d // h).permute(0, 2, 1, 3).reshape(b * h, s, d // h)

    def batch_to_head_dim(self, t):
        bh, s, d = t.shape
        h = self.heads
        return t.reshape(bh // h, h, s, d).permute(0, 2, 1, 3).reshape(bh // h, s, d * h)

    def forward(self, hidden_states, encoder_hidden_states=None):
        residual = hidden_states
        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            batch, channel, height, width = hidden_states.shape
            hidden_states = hidden_states.view(batch, channel, height * width).transpose(1, 2)
        if self.group_norm is not None:
            hidden_states = self.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)

        query = self.to_q(hidden_states)
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        key = self.to_k(context)
        value = self.to_v(context)

        query = self.head_to_batch_dim(query)
        key = self.head_to_batch_dim(key)
        value = self.head_to_batch_dim(value)

        # softmax(Q K^T * scale) V, computed in float32 like diffusers' AttnProcessor
        scores = torch.baddbmm(
            torch.empty(query.shape[0], query.shape[1], key.shape[1], dtype=query.dtype, device=query.device),
            query, key.transpose(-1, -2), beta=0, alpha=self.scale)
        probs = scores.float().softmax(dim=-1).to(query.dtype)
        hidden_states = torch.bmm(probs, value)
        hidden_states = self.batch_to_head_dim(hidden_states)

        hidden_states = self.to_out[0](hidden_states)
        hidden_states = self.to_out[1](hidden_states)
        if input_ndim == 4:
            hidden_states = hidden_states.transpose(-1, -2).reshape(batch, channel, height, width)
        if self.residual_connection:
            hidden_states = hidden_states + residual
        return hidden_states / self.rescale_output_factor


class GEGLU(nn.Module):
    def __init__(self, dim_in, dim_out, bias=True):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2, bias=bias)

    def forward(self, hidden_states):
        hidden_states, gate = self.proj(hidden_states).chunk(2, dim=-1)
        return hidden_states * F.gelu(gate)  # exact (erf) GELU


class FeedForward(nn.Module):
    """net = [GEGLU(dim, 4*dim), Dropout, Linear(4*dim, dim)] -> keys ff.net.0.proj, ff.net.2"""

    def __init__(self, dim, mult=4, dropout=0.0):
        super().__init__()
        inner_dim = int(dim * mult)
        self.net = nn.ModuleList([GEGLU(dim, inner_dim), nn.Dropout(dropout), nn.Linear(inner_dim, dim)])

    def forward(self, hidden_states):
        for module in self.net:
            hidden_states = module(hidden_states)
        return hidden_states


class BasicTransformerBlock(nn.Module):
    """LayerNorm + self-attention, LayerNorm + cross-attention, LayerNorm + GEGLU feed-forward,
    each with a residual add (norm_type "layer_norm", pre-norm)."""

    def __init__(self, dim, num_attention_heads, attention_head_dim, cross_attention_dim=None, dropout=0.0,
                 only_cross_attention=False):
        super().__init__()
        self.only_cross_attention = only_cross_attention
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=True, eps=1e-5)
        self.attn1 = Attention(dim, heads=num_attention_heads, dim_head=attention_head_dim, dropout=dropout,
                               bias=False, cross_attention_dim=cross_attention_dim if only_cross_attention else None)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=True, eps=1e-5)
        self.attn2 = Attention(dim, cross_attention_dim=cross_attention_dim, heads=num_attention_heads,
                               dim_head=attention_head_dim, dropout=dropout, bias=False)
        self.norm3 = nn.LayerNorm(dim, elementwise_affine=True, eps=1e-5)
        self.ff = FeedForward(dim, dropout=dropout)

    def forward(self, hidden_states, encoder_hidden_states=None):
        norm_hidden = self.norm1(hidden_states)
        hidden_states = self.attn1(norm_hidden, encoder_hidden_states if self.only_cross_attention else None) \
            + hidden_states
        norm_hidden = self.norm2(hidden_states)
        hidden_states = self.attn2(norm_hidden, encoder_hidden_states) + hidden_states
        norm_hidden = self.norm3(hidden_states)
        return self.ff(norm_hidden) + hidden_states


class Transformer2DModel(nn.Module):
    """Spatial transformer for continuous input: GroupNorm(eps 1e-6) -> proj_in (1x1 conv, or Linear
    when use_linear_projection) -> BasicTransformerBlock(s) over H*W tokens -> proj_out -> + input."""

    def __init__(self, num_attention_heads, attention_head_dim, in_channels, num_layers=1, dropout=0.0,
                 norm_num_groups=32, cross_attention_dim=None, use_linear_projection=False,
                 only_cross_attention=False):
        super().__init__()
        self.use_linear_projection = use_linear_projection
        inner_dim = num_attention_heads * attention_head_dim
        self.norm = nn.GroupNorm(num_groups=norm_num_groups, num_channels=in_channels, eps=1e-6, affine=True)
        if use_linear_projection:
            self.proj_in = nn.Linear(in_channels, inner_dim)
        else:
            self.proj_in = nn.Conv2d(in_channels, inner_dim, kernel_size=1, stride=1, padding=0)
        self.transformer_blocks = nn.ModuleList([
            BasicTransformerBlock(inner_dim, num_attention_heads, attention_head_dim, dropout=dropout,
                                  cross_attention_dim=cross_attention_dim, only_cross_attention=only_cross_attention)
            for _ in range(num_layers)])
        if use_linear_projection:
            self.proj_out = nn.Linear(inner_dim, in_channels)
        else:
            self.proj_out = nn.Conv2d(inner_dim, in_channels, kernel_size=1, stride=1, padding=0)

    def forward(self, hidden_states, encoder_hidden_states=None):
        batch, _, height, width = hidden_states.shape
        residual = hidden_states
        hidden_states = self.norm(hidden_states)
        if not self.use_linear_projection:
            hidden_states = self.proj_in(hidden_states)
            inner_dim = hidden_states.shape[1]
            hidden_states = hidden_states.permute(0, 2, 3, 1).reshape(batch, height * width, inner_dim)
        else:
            inner_dim = hidden_states.shape[1]
            hidden_states = hidden_states.permute(0, 2, 3, 1).reshape(batch, height * width, inner_dim)
            hidden_states = self.proj_in(hidden_states)
        for block in self.transformer_blocks:
            hidden_states = block(hidden_states, encoder_hidden_states)
        if not self.use_linear_projection:
            hidden_states = hidden_states.reshape(batch, height, width, -1).permute(0, 3, 1, 2).contiguous()
            hidden_states = self.proj_out(hidden_states)
        else:
            hidden_states = self.proj_out(hidden_states)
            hidden_states = hidden_states.reshape(batch, height, width, -1).permute(0, 3, 1, 2).contiguous()
        return hidden_states + residual


# --------------------------------------------------------------------------------------------
# UNet blocks. Down blocks return (hidden_states, tuple_of_skip_states); up blocks consume skips
# from the end of the tuple they are given.
# --------------------------------------------------------------------------------------------
class DownBlock2D(nn.Module):
    has_cross_attention = False

    def __init__(self, num_layers, in_channels, out_channels, temb_channels, eps, groups, act_fn, dropout,
                 add_downsample, downsample_padding, time_scale_shift="default", output_scale_factor=1.0,
                 attention_head_dim=None, attn=False):
        super().__init__()
        self.resnets = nn.ModuleList([
            ResnetBlock2D(in_channels if i == 0 else out_channels, out_channels, temb_channels, groups, eps, act_fn,
                          dropout, time_scale_shift, output_scale_factor) for i in range(num_layers)])
        if attn:  # AttnDownBlock2D: UNet2DModel-style spatial self-attention after each resnet
            self.attentions = nn.ModuleList([
                Attention(out_channels, heads=out_channels // attention_head_dim, dim_head=attention_head_dim,
                          rescale_output_factor=output_scale_factor, eps=eps, norm_num_groups=groups,
                          residual_connection=True, bias=True) for _ in range(num_layers)])
        else:
            self.attentions = None
        self.downsamplers = (nn.ModuleList([Downsample2D(out_channels, out_channels, padding=downsample_padding)])
                             if add_downsample else None)

    def forward(self, hidden_states, temb=None):
        output_states = ()
        for i, resnet in enumerate(self.resnets):
            hidden_states = resnet(hidden_states, temb)
            if self.attentions is not None:
                hidden_states = self.attentions[i](hidden_states)
            output_states += (hidden_states,)
        if self.downsamplers is not None:
            for d in self.downsamplers:
                hidden_states = d(hidden_states)
            output_states += (hidden_states,)
        return hidden_states, output_states


class CrossAttnDownBlock2D(nn.Module):
    has_cross_attention = True

    def __init__(self, num_layers, in_channels, out_channels, temb_channels, eps, groups, act_fn, dropout,
                 add_downsample, downsample_padding, num_attention_heads, cross_attention_dim,
                 transformer_layers_per_block=1, use_linear_projection=False, only_cross_attention=False,
                 time_scale_shift="default", output_scale_factor=1.0):
        super().__init__()
        if isinstance(transformer_layers_per_block, int):
            transformer_layers_per_block = [transformer_layers_per_block] * num_layers
        self.resnets = nn.ModuleList([
            ResnetBlock2D(in_channels if i == 0 else out_channels, out_channels, temb_channels, groups, eps, act_fn,
                          dropout, time_scale_shift, output_scale_factor) for i in range(num_layers)])
        self.attentions = nn.ModuleList([
            Transformer2DModel(num_attention_heads, out_channels // num_attention_heads, in_channels=out_channels,
                               num_layers=transformer_layers_per_block[i], cross_attention_dim=cross_attention_dim,
                               norm_num_groups=groups, use_linear_projection=use_linear_projection,
                               only_cross_attention=only_cross_attention) for i in range(num_layers)])
        self.downsamplers = (nn.ModuleList([Downsample2D(out_channels, out_channels, padding=downsample_padding)])
                             if add_downsample else None)

    def forward(self, hidden_states, temb=None, encoder_hidden_states=None):
        output_states = ()
        for resnet, attn in zip(self.resnets, self.attentions):
            hidden_states = resnet(hidden_states, temb)
            hidden_states = attn(hidden_states, encoder_hidden_states)
            output_states += (hidden_states,)
        if self.downsamplers is not None:
            for d in self.downsamplers:
                hidden_states = d(hidden_states)
            output_states += (hidden_states,)
        return hidden_states, output_states


def _up_resnets(num_layers, in_channels, prev_output_channel, out_channels, temb_channels, eps, groups, act_fn,
                dropout, time_scale_shift, output_scale_factor):
    """Resnets of an up block: input = previous hidden (prev_output_channel or out_channels) concatenated
    with a skip (in_channels for the last resnet, out_channels otherwise)."""
    resnets = []
    for i in range(num_layers):
        res_skip_channels = in_channels if (i == num_layers - 1) else out_channels
        resnet_in_channels = prev_output_channel if i == 0 else out_channels
        resnets.append(ResnetBlock2D(resnet_in_channels + res_skip_channels, out_channels, temb_channels, groups,
                                     eps, act_fn, dropout, time_scale_shift, output_scale_factor))
    return nn.ModuleList(resnets)


class UpBlock2D(nn.Module):
    has_cross_attention = False

    def __init__(self, num_layers, in_channels, prev_output_channel, out_channels, temb_channels, eps, groups,
                 act_fn, dropout, add_upsample, time_scale_shift="default", output_scale_factor=1.0,
                 attention_head_dim=None, attn=False):
        super().__init__()
        self.resnets = _up_resnets(num_layers, in_channels, prev_output_channel, out_channels, temb_channels, eps,
                                   groups, act_fn, dropout, time_scale_shift, output_scale_factor)
        if attn:  # AttnUpBlock2D
            self.attentions = nn.ModuleList([
                Attention(out_channels, heads=out_channels // attention_head_dim, dim_head=attention_head_dim,
                          rescale_output_factor=output_scale_factor, eps=eps, norm_num_groups=groups,
                          residual_connection=True, bias=True) for _ in range(num_layers)])
        else:
            self.attentions = None
        self.upsamplers = nn.ModuleList([Upsample2D(out_channels, out_channels)]) if add_upsample else None

    def forward(self, hidden_states, res_hidden_states_tuple, temb=None, upsample_size=None):
        for i, resnet in enumerate(self.resnets):
            res_hidden_states = res_hidden_states_tuple[-1]
            res_hidden_states_tuple = res_hidden_states_tuple[:-1]
            hidden_states = torch.cat([hidden_states, res_hidden_states], dim=1)
            hidden_states = resnet(hidden_states, temb)
            if self.attentions is not None:
                hidden_states = self.attentions[i](hidden_states)
        if self.upsamplers is not None:
            for u in self.upsamplers:
                hidden_states = u(hidden_states, upsample_size)
        return hidden_states


class CrossAttnUpBlock2D(nn.Module):
    has_cross_attention = True

    def __init__(self, num_layers, in_channels, prev_output_channel, out_channels, temb_channels, eps, groups,
                 act_fn, dropout, add_upsample, num_attention_heads, cross_attention_dim,
                 transformer_layers_per_block=1, use_linear_projection=False, only_cross_attention=False,
                 time_scale_shift="default", output_scale_factor=1.0):
        super().__init__()
        if isinstance(transformer_layers_per_block, int):
            transformer_layers_per_block = [transformer_layers_per_block] * num_layers
        self.resnets = _up_resnets(num_layers, in_channels, prev_output_channel, out_channels, temb_channels, eps,
                                   groups, act_fn, dropout, time_scale_shift, output_scale_factor)
        self.attentions = nn.ModuleList([
            Transformer2DModel(num_attention_heads, out_channels // num_attention_heads, in_channels=out_channels,
                               num_layers=transformer_layers_per_block[i], cross_attention_dim=cross_attention_dim,
                               norm_num_groups=groups, use_linear_projection=use_linear_projection,
                               only_cross_attention=only_cross_attention) for i in range(num_layers)])
        self.upsamplers = nn.ModuleList([Upsample2D(out_channels, out_channels)]) if add_upsample else None

    def forward(self, hidden_states, res_hidden_states_tuple, temb=None, encoder_hidden_states=None,
                upsample_size=None):
        for resnet, attn in zip(self.resnets, self.attentions):
            res_hidden_states = res_hidden_states_tuple[-1]
            res_hidden_states_tuple = res_hidden_states_tuple[:-1]
            hidden_states = torch.cat([hidden_states, res_hidden_states], dim=1)
            hidden_states = resnet(hidden_states, temb)
            hidden_states = attn(hidden_states, encoder_hidden_states)
        if self.upsamplers is not None:
            for u in self.upsamplers:
                hidden_states = u(hidden_states, upsample_size)
        return hidden_states


class UNetMidBlock2D(nn.Module):
    """resnet, then (attention, resnet) x num_layers. Attention is UNet2DModel-style (optional)."""

    def __init__(self, in_channels, temb_channels, eps, groups, act_fn, dropout, attention_head_dim,
                 add_attention=True, attn_groups=None, num_layers=1, time_scale_shift="default",
                 output_scale_factor=1.0):
        super().__init__()
        if groups is None:
            groups = min(in_channels // 4, 32)
        if attn_groups is None:
            attn_groups = groups if time_scale_shift == "default" else None
        if attention_head_dim is None:
            attention_head_dim = in_channels
        self.add_attention = add_attention
        resnets = [ResnetBlock2D(in_channels, in_channels, temb_channels, groups, eps, act_fn, dropout,
                                 time_scale_shift, output_scale_factor)]
        attentions = []
        for _ in range(num_layers):
            if add_attention:
                attentions.append(Attention(in_channels, heads=in_channels // attention_head_dim,
                                            dim_head=attention_head_dim, rescale_output_factor=output_scale_factor,
                                            eps=eps, norm_num_groups=attn_groups, residual_connection=True,
                                            bias=True))
            else:
                attentions.append(None)
            resnets.append(ResnetBlock2D(in_channels, in_channels, temb_channels, groups, eps, act_fn, dropout,
                                         time_scale_shift, output_scale_factor))
        self.attentions = nn.ModuleList(attentions) if add_attention else [None] * num_layers
        self.resnets = nn.ModuleList(resnets)

    def forward(self, hidden_states, temb=None):
        hidden_states = self.resnets[0](hidden_states, temb)
        for attn, resnet in zip(self.attentions, self.resnets[1:]):
            if attn is not None:
                hidden_states = attn(hidden_states)
            hidden_states = resnet(hidden_states, temb)
        return hidden_states


class UNetMidBlock2DCrossAttn(nn.Module):
    def __init__(self, in_channels, temb_channels, eps, groups, act_fn, dropout, num_attention_heads,
                 cross_attention_dim, transformer_layers_per_block=1, num_layers=1, use_linear_projection=False,
                 time_scale_shift="default", output_scale_factor=1.0):
        super().__init__()
        if groups is None:
            groups = min(in_channels // 4, 32)
        if isinstance(transformer_layers_per_block, int):
            transformer_layers_per_block = [transformer_layers_per_block] * num_layers
        resnets = [ResnetBlock2D(in_channels, in_channels, temb_channels, groups, eps, act_fn, dropout,
                                 time_scale_shift, output_scale_factor)]
        attentions = []
        for i in range(num_layers):
            attentions.append(Transformer2DModel(num_attention_heads, in_channels // num_attention_heads,
                                                 in_channels=in_channels,
                                                 num_layers=transformer_layers_per_block[i],
                                                 cross_attention_dim=cross_attention_dim, norm_num_groups=groups,
                                                 use_linear_projection=use_linear_projection))
            resnets.append(ResnetBlock2D(in_channels, in_channels, temb_channels, groups, eps, act_fn, dropout,
                                         time_scale_shift, output_scale_factor))
        self.attentions = nn.ModuleList(attentions)
        self.resnets = nn.ModuleList(resnets)

    def forward(self, hidden_states, temb=None, encoder_hidden_states=None):
        hidden_states = self.resnets[0](hidden_states, temb)
        for attn, resnet in zip(self.attentions, self.resnets[1:]):
            hidden_states = attn(hidden_states, encoder_hidden_states)
            hidden_states = resnet(hidden_states, temb)
        return hidden_states


# --------------------------------------------------------------------------------------------
# Full models
# --------------------------------------------------------------------------------------------
def _require(cfg, key, allowed):
    v = cfg.get(key, allowed[0])
    if v not in allowed:
        raise NotImplementedError(f"{key}={v!r} is not supported (supported: {allowed})")


def _broadcast_timesteps(timestep, sample):
    """diffusers: scalar/0-d timestep -> [batch]; float tensors are kept as float."""
    if not torch.is_tensor(timestep):
        dtype = torch.float32 if isinstance(timestep, float) else torch.int64
        timestep = torch.tensor([timestep], dtype=dtype, device=sample.device)
    elif timestep.dim() == 0:
        timestep = timestep[None].to(sample.device)
    return timestep.expand(sample.shape[0])


class _Base(nn.Module):
    """Shared config handling: `self.config` is the full diffusers config dict."""

    @classmethod
    def from_config(cls, config):
        return cls(config)

    @classmethod
    def from_pretrained(cls, folder):
        """Load `folder/config.json` + `folder/diffusion_pytorch_model.safetensors` (strict)."""
        from safetensors_io import load_file
        with open(os.path.join(folder, "config.json")) as f:
            config = json.load(f)
        model = cls(config)
        model.load_state_dict(load_file(os.path.join(folder, "diffusion_pytorch_model.safetensors")), strict=True)
        return model.eval()

    def save_pretrained(self, folder):
        from safetensors_io import save_file
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(self.config, f, indent=2, sort_keys=True)
            f.write("\n")
        save_file({k: v.float() for k, v in self.state_dict().items()},
                  os.path.join(folder, "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})

    def forward_with_intermediates(self, *args, **kwargs):
        """Run forward and also return {module_name: output} for the top-level submodules
        (`conv_in`, `time_embedding`, `down_blocks.i`, `mid_block`, `up_blocks.i`, `conv_out`;
        first tuple element where a module returns a tuple), like the golden `inter.*` tensors."""
        inter, hooks = {}, []
        names = ["conv_in", "time_embedding", "mid_block", "conv_out"] + \
                [f"down_blocks.{i}" for i in range(len(self.down_blocks))] + \
                [f"up_blocks.{i}" for i in range(len(self.up_blocks))]
        for name in names:
            module = self.get_submodule(name)

            def hook(_m, _inp, out, name=name):
                inter[name] = (out[0] if isinstance(out, tuple) else out).detach().clone()
            hooks.append(module.register_forward_hook(hook))
        try:
            out = self(*args, **kwargs)
        finally:
            for h in hooks:
                h.remove()
        return out, inter


UNET2D_DEFAULTS = dict(
    sample_size=None, in_channels=3, out_channels=3, center_input_sample=False, time_embedding_type="positional",
    freq_shift=0, flip_sin_to_cos=True, down_block_types=("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D",
                                                           "AttnDownBlock2D"),
    up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
    block_out_channels=(224, 448, 672, 896), layers_per_block=2, mid_block_scale_factor=1, downsample_padding=1,
    downsample_type="conv", upsample_type="conv", dropout=0.0, act_fn="silu", attention_head_dim=8,
    norm_num_groups=32, attn_norm_num_groups=None, norm_eps=1e-5, resnet_time_scale_shift="default",
    add_attention=True, class_embed_type=None, num_class_embeds=None, num_train_timesteps=None)


class UNet2DModel(_Base):
    """diffusers.UNet2DModel (positional time embedding; conv down/up sampling).
    Note: here `attention_head_dim` is the per-head width; null = one head over all channels."""

    def __init__(self, config):
        super().__init__()
        cfg = dict(UNET2D_DEFAULTS)
        cfg.update({k: v for k, v in config.items()})
        cfg.setdefault("_class_name", "UNet2DModel")
        self.config = cfg
        _require(cfg, "time_embedding_type", ["positional"])
        _require(cfg, "downsample_type", ["conv"])
        _require(cfg, "upsample_type", ["conv"])
        _require(cfg, "class_embed_type", [None])
        _require(cfg, "num_class_embeds", [None])
        boc = list(cfg["block_out_channels"])
        if len(cfg["down_block_types"]) != len(cfg["up_block_types"]):
            raise ValueError("down_block_types and up_block_types must have the same length")
        time_embed_dim = boc[0] * 4
        eps, groups, act, dropout = cfg["norm_eps"], cfg["norm_num_groups"], cfg["act_fn"], cfg["dropout"]
        head_dim = cfg["attention_head_dim"]
        tss = cfg["resnet_time_scale_shift"]

        self.conv_in = nn.Conv2d(cfg["in_channels"], boc[0], kernel_size=3, padding=(1, 1))
        self.time_proj = Timesteps(boc[0], cfg["flip_sin_to_cos"], cfg["freq_shift"])
        self.time_embedding = TimestepEmbedding(boc[0], time_embed_dim, act)

        self.down_blocks = nn.ModuleList()
        output_channel = boc[0]
        for i, btype in enumerate(cfg["down_block_types"]):
            if btype not in ("DownBlock2D", "AttnDownBlock2D"):
                raise NotImplementedError(f"down block {btype}")
            input_channel, output_channel = output_channel, boc[i]
            is_final = i == len(boc) - 1
            self.down_blocks.append(DownBlock2D(
                cfg["layers_per_block"], input_channel, output_channel, time_embed_dim, eps, groups, act, dropout,
                add_downsample=not is_final, downsample_padding=cfg["downsample_padding"], time_scale_shift=tss,
                attention_head_dim=head_dim if head_dim is not None else output_channel,
                attn=btype == "AttnDownBlock2D"))

        self.mid_block = UNetMidBlock2D(
            boc[-1], time_embed_dim, eps, groups, act, dropout,
            attention_head_dim=head_dim if head_dim is not None else boc[-1], add_attention=cfg["add_attention"],
            attn_groups=cfg["attn_norm_num_groups"], time_scale_shift=tss,
            output_scale_factor=cfg["mid_block_scale_factor"])

        self.up_blocks = nn.ModuleList()
        rev = list(reversed(boc))
        output_channel = rev[0]
        for i, btype in enumerate(cfg["up_block_types"]):
            if btype not in ("UpBlock2D", "AttnUpBlock2D"):
                raise NotImplementedError(f"up block {btype}")
            prev_output_channel, output_channel = output_channel, rev[i]
            input_channel = rev[min(i + 1, len(boc) - 1)]
            is_final = i == len(boc) - 1
            self.up_blocks.append(UpBlock2D(
                cfg["layers_per_block"] + 1, input_channel, prev_output_channel, output_channel, time_embed_dim, eps,
                groups, act, dropout, add_upsample=not is_final, time_scale_shift=tss,
                attention_head_dim=head_dim if head_dim is not None else output_channel,
                attn=btype == "AttnUpBlock2D"))

        num_groups_out = groups if groups is not None else min(boc[0] // 4, 32)
        self.conv_norm_out = nn.GroupNorm(num_channels=boc[0], num_groups=num_groups_out, eps=eps)
        self.conv_act = _act(act)
        self.conv_out = nn.Conv2d(boc[0], cfg["out_channels"], kernel_size=3, padding=1)

    def forward(self, sample, timestep):
        if self.config["center_input_sample"]:
            sample = 2 * sample - 1.0
        timesteps = _broadcast_timesteps(timestep, sample)
        t_emb = self.time_proj(timesteps).to(dtype=sample.dtype)
        emb = self.time_embedding(t_emb)

        sample = self.conv_in(sample)
        down_block_res_samples = (sample,)
        for block in self.down_blocks:
            sample, res_samples = block(sample, emb)
            down_block_res_samples += res_samples

        sample = self.mid_block(sample, emb)

        for block in self.up_blocks:
            res_samples = down_block_res_samples[-len(block.resnets):]
            down_block_res_samples = down_block_res_samples[:-len(block.resnets)]
            sample = block(sample, res_samples, emb)

        sample = self.conv_act(self.conv_norm_out(sample))
        return self.conv_out(sample)


UNET2DCOND_DEFAULTS = dict(
    sample_size=None, in_channels=4, out_channels=4, center_input_sample=False, flip_sin_to_cos=True, freq_shift=0,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    mid_block_type="UNetMidBlock2DCrossAttn",
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    only_cross_attention=False, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
    downsample_padding=1, mid_block_scale_factor=1, dropout=0.0, act_fn="silu", norm_num_groups=32, norm_eps=1e-5,
    cross_attention_dim=1280, transformer_layers_per_block=1, reverse_transformer_layers_per_block=None,
    encoder_hid_dim=None, encoder_hid_dim_type=None, attention_head_dim=8, num_attention_heads=None,
    dual_cross_attention=False, use_linear_projection=False, class_embed_type=None, addition_embed_type=None,
    addition_time_embed_dim=None, num_class_embeds=None, upcast_attention=False, resnet_time_scale_shift="default",
    resnet_skip_time_act=False, resnet_out_scale_factor=1.0, time_embedding_type="positional",
    time_embedding_dim=None, time_embedding_act_fn=None, timestep_post_act=None, time_cond_proj_dim=None,
    conv_in_kernel=3, conv_out_kernel=3, projection_class_embeddings_input_dim=None, attention_type="default",
    class_embeddings_concat=False, mid_block_only_cross_attention=None, cross_attention_norm=None,
    addition_embed_type_num_heads=64)


class UNet2DConditionModel(_Base):
    """diffusers.UNet2DConditionModel for the Stable Diffusion 1.x / 2.x layouts.
    Note: in this class `attention_head_dim` is the NUMBER of heads (int or one per level)."""

    def __init__(self, config):
        super().__init__()
        cfg = dict(UNET2DCOND_DEFAULTS)
        cfg.update({k: v for k, v in config.items()})
        cfg.setdefault("_class_name", "UNet2DConditionModel")
        self.config = cfg
        for key, allowed in [("time_embedding_type", ["positional"]), ("class_embed_type", [None]),
                             ("addition_embed_type", [None]), ("num_class_embeds", [None]),
                             ("encoder_hid_dim_type", [None]), ("encoder_hid_dim", [None]),
                             ("time_cond_proj_dim", [None]), ("timestep_post_act", [None]),
                             ("time_embedding_act_fn", [None]), ("dual_cross_attention", [False]),
                             ("attention_type", ["default"]), ("resnet_skip_time_act", [False]),
                             ("cross_attention_norm", [None]), ("class_embeddings_concat", [False]),
                             ("mid_block_type", ["UNetMidBlock2DCrossAttn"]), ("upcast_attention", [False, True]),
                             ("reverse_transformer_layers_per_block", [None])]:
            _require(cfg, key, allowed)
        if cfg["only_cross_attention"] not in (False, [False] * len(cfg["down_block_types"])):
            raise NotImplementedError("only_cross_attention")

        boc = list(cfg["block_out_channels"])
        n = len(cfg["down_block_types"])
        # diffusers' historical naming: attention_head_dim is used as num_attention_heads
        num_heads = cfg["num_attention_heads"] or cfg["attention_head_dim"]
        per_level = lambda v: list(v) if isinstance(v, (list, tuple)) else [v] * n  # noqa: E731
        num_heads = per_level(num_heads)
        cross_dim = per_level(cfg["cross_attention_dim"])
        layers = per_level(cfg["layers_per_block"])
        tlayers = per_level(cfg["transformer_layers_per_block"])
        eps, groups, act, dropout = cfg["norm_eps"], cfg["norm_num_groups"], cfg["act_fn"], cfg["dropout"]
        tss = cfg["resnet_time_scale_shift"]
        linproj = cfg["use_linear_projection"]

        k_in, k_out = cfg["conv_in_kernel"], cfg["conv_out_kernel"]
        self.conv_in = nn.Conv2d(cfg["in_channels"], boc[0], kernel_size=k_in, padding=(k_in - 1) // 2)
        time_embed_dim = cfg["time_embedding_dim"] or boc[0] * 4
        self.time_proj = Timesteps(boc[0], cfg["flip_sin_to_cos"], cfg["freq_shift"])
        self.time_embedding = TimestepEmbedding(boc[0], time_embed_dim, act)

        self.down_blocks = nn.ModuleList()
        output_channel = boc[0]
        for i, btype in enumerate(cfg["down_block_types"]):
            input_channel, output_channel = output_channel, boc[i]
            is_final = i == len(boc) - 1
            if btype == "DownBlock2D":
                block = DownBlock2D(layers[i], input_channel, output_channel, time_embed_dim, eps, groups, act, dropout,
                                    add_downsample=not is_final, downsample_padding=cfg["downsample_padding"],
                                    time_scale_shift=tss)
            elif btype == "CrossAttnDownBlock2D":
                block = CrossAttnDownBlock2D(layers[i], input_channel, output_channel, time_embed_dim, eps, groups,
                                             act, dropout, add_downsample=not is_final,
                                             downsample_padding=cfg["downsample_padding"],
                                             num_attention_heads=num_heads[i], cross_attention_dim=cross_dim[i],
                                             transformer_layers_per_block=tlayers[i],
                                             use_linear_projection=linproj, time_scale_shift=tss)
            else:
                raise NotImplementedError(f"down block {btype}")
            self.down_blocks.append(block)

        self.mid_block = UNetMidBlock2DCrossAttn(
            boc[-1], time_embed_dim, eps, groups, act, dropout, num_attention_heads=num_heads[-1],
            cross_attention_dim=cross_dim[-1], transformer_layers_per_block=tlayers[-1],
            use_linear_projection=linproj, time_scale_shift=tss, output_scale_factor=cfg["mid_block_scale_factor"])

        self.num_upsamplers = 0
        self.up_blocks = nn.ModuleList()
        rev = list(reversed(boc))
        rev_heads, rev_layers = list(reversed(num_heads)), list(reversed(layers))
        rev_cross, rev_tlayers = list(reversed(cross_dim)), list(reversed(tlayers))
        output_channel = rev[0]
        for i, btype in enumerate(cfg["up_block_types"]):
            is_final = i == len(boc) - 1
            prev_output_channel, output_channel = output_channel, rev[i]
            input_channel = rev[min(i + 1, len(boc) - 1)]
            if not is_final:
                self.num_upsamplers += 1
            if btype == "UpBlock2D":
                block = UpBlock2D(rev_layers[i] + 1, input_channel, prev_output_channel, output_channel,
                                  time_embed_dim, eps, groups, act, dropout, add_upsample=not is_final,
                                  time_scale_shift=tss)
            elif btype == "CrossAttnUpBlock2D":
                block = CrossAttnUpBlock2D(rev_layers[i] + 1, input_channel, prev_output_channel, output_channel,
                                           time_embed_dim, eps, groups, act, dropout, add_upsample=not is_final,
                                           num_attention_heads=rev_heads[i], cross_attention_dim=rev_cross[i],
                                           transformer_layers_per_block=rev_tlayers[i],
                                           use_linear_projection=linproj, time_scale_shift=tss)
            else:
                raise NotImplementedError(f"up block {btype}")
            self.up_blocks.append(block)

        self.conv_norm_out = nn.GroupNorm(num_channels=boc[0], num_groups=groups, eps=eps)
        self.conv_act = _act(act)
        self.conv_out = nn.Conv2d(boc[0], cfg["out_channels"], kernel_size=k_out, padding=(k_out - 1) // 2)

    def forward(self, sample, timestep, encoder_hidden_states):
        # If the spatial size is not a multiple of 2**num_upsamplers, upsample to the skip's size.
        factor = 2 ** self.num_upsamplers
        forward_upsample_size = any(s % factor != 0 for s in sample.shape[-2:])
        upsample_size = None

        if self.config["center_input_sample"]:
            sample = 2 * sample - 1.0
        timesteps = _broadcast_timesteps(timestep, sample)
        t_emb = self.time_proj(timesteps).to(dtype=sample.dtype)
        emb = self.time_embedding(t_emb)

        sample = self.conv_in(sample)
        down_block_res_samples = (sample,)
        for block in self.down_blocks:
            if block.has_cross_attention:
                sample, res_samples = block(sample, emb, encoder_hidden_states)
            else:
                sample, res_samples = block(sample, emb)
            down_block_res_samples += res_samples

        sample = self.mid_block(sample, emb, encoder_hidden_states)

        for i, block in enumerate(self.up_blocks):
            is_final = i == len(self.up_blocks) - 1
            res_samples = down_block_res_samples[-len(block.resnets):]
            down_block_res_samples = down_block_res_samples[:-len(block.resnets)]
            if not is_final and forward_upsample_size:
                upsample_size = down_block_res_samples[-1].shape[2:]
            if block.has_cross_attention:
                sample = block(sample, res_samples, emb, encoder_hidden_states, upsample_size=upsample_size)
            else:
                sample = block(sample, res_samples, emb, upsample_size=upsample_size)

        sample = self.conv_act(self.conv_norm_out(sample))
        return self.conv_out(sample)


MODEL_CLASSES = {"UNet2DModel": UNet2DModel, "UNet2DConditionModel": UNet2DConditionModel}


def model_from_config(config):
    """Build the right class from a config dict's `_class_name`."""
    return MODEL_CLASSES[config["_class_name"]](config)


def load_pretrained(folder):
    """Load any supported diffusers model folder (class chosen from config.json)."""
    with open(os.path.join(folder, "config.json")) as f:
        cls = MODEL_CLASSES[json.load(f)["_class_name"]]
    return cls.from_pretrained(folder)
