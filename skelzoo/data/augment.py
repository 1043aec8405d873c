"""Batched, seeded skeleton augmentations for contrastive pretraining (docs/method.md §3.1).

Every function takes a batch ``x`` of shape ``(N, C, T, V, M)`` (C = 3: x, y, z), draws its random numbers
from an explicit ``torch.Generator`` (never the global RNG; the numbers are drawn on the generator's device
and moved to ``x.device``, so a CPU generator gives the same views on every device) and returns a new tensor
of the same shape. Each sample of the batch gets its own random parameters. ``lengths`` (``(N,)``, valid
frames of zero-padded sequences) keeps the padding out of the temporal operations and zero after them.

Paper parameters (SnipCLR's released pretraining, inherited from AimCLR / RVTCLR):

========================  ===========================================================================
temporal crop             padding ratio 6: reflect-pad ``p = L // 6`` frames at both ends (the first p
                          frames reversed in front, the last p reversed behind), take ``L`` consecutive
                          frames from a uniform start in ``[0, 2p]``
shear                     ``x' = R x`` with ``R = I`` + 6 off-diagonal entries ``~ U(-0.5, 0.5)``
Gaussian noise            ``N(0, 0.01²)`` per coordinate, p = 0.5
Gaussian blur (time)      kernel 15, ``σ ~ U(0.1, 2)``, p = 0.5 (see the quirk below)
axis mask                 one of x / y / z set to zero for the whole clip, p = 0.5
========================  ===========================================================================

Key views get crop + shear; the query ("strong") view gets crop + shear + noise + blur + axis mask
(:func:`augment_view`). Flip (layout mirror pairs) and rotation exist as options but are off in the paper.

Blur quirk: AimCLR's (and therefore SnipCLR's) kernel is ``exp(-k²/(2σ²))``, ``k = -7..7``, **not
normalised**, so the blur also scales the sequence by ``Σ_k exp(-k²/2σ²)`` (≈1.0 for σ = 0.1, ≈5.01 for
σ = 2). The clean default normalises the kernel (``blur_normalize=True``); set it to ``False`` to
reproduce the released pretraining.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import torch
import torch.nn.functional as F

from ..layouts import get_layout

__all__ = [
    "AugmentConfig", "temporal_crop", "shear", "scale", "gaussian_noise", "gaussian_blur", "axis_mask", "flip",
    "rotate", "augment_view", "tempo_resample", "valid_lengths", "zero_padding",
]


@dataclass
class AugmentConfig:
    """Parameters of the pretraining views (defaults: the paper's, docs/method.md §3.1 / §10)."""

    #: temporal crop: reflect-pad ``L // padding_ratio`` frames at each end (0 disables the crop)
    temporal_padding_ratio: int = 6
    #: shear amplitude ``a`` (off-diagonal entries ``~ U(-a, a)``; 0 disables)
    shear_amplitude: float = 0.5
    noise_std: float = 0.01
    noise_p: float = 0.5
    blur_kernel: int = 15
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    blur_p: float = 0.5
    #: normalise the blur kernel (clean); False reproduces AimCLR/SnipCLR's amplitude gain
    blur_normalize: bool = True
    axis_mask_p: float = 0.5
    #: horizontal flip with the layout's mirror pairs (off in the paper)
    flip_p: float = 0.0
    #: random rotation of the query view about each axis, ``U(-deg, deg)`` (off in the paper)
    rotate_p: float = 0.0
    rotate_degrees: float = 30.0
    #: apply the strong augmentations (noise, blur, axis mask, flip, rotate) to the key views too
    strong_keys: bool = False
    #: random uniform scaling of every view by a factor ``U(low, high)`` per sample (``(1, 1)``: off; draws
    #: random numbers only when on)
    scale_range: tuple[float, float] = (1.0, 1.0)
    #: how many leading channels are coordinates (``None``: all). 2-D keypoints ``(x, y, score)`` use 2: the
    #: geometric ops (shear, scale, flip sign, rotation, noise, blur, axis mask) then leave the score channel
    #: as it is, and missing points (score 0) stay exactly 0
    coord_channels: int | None = None

    def __post_init__(self) -> None:
        self.blur_sigma = tuple(float(s) for s in self.blur_sigma)  # type: ignore[assignment]
        if self.temporal_padding_ratio < 0:
            raise ValueError("temporal_padding_ratio must be >= 0")
        if self.blur_kernel < 1 or self.blur_kernel % 2 == 0:
            raise ValueError(f"blur_kernel must be a positive odd number, got {self.blur_kernel}")
        lo, hi = self.blur_sigma
        if not 0 < lo <= hi:
            raise ValueError(f"blur_sigma must satisfy 0 < low <= high, got {self.blur_sigma}")
        self.scale_range = tuple(float(s) for s in self.scale_range)  # type: ignore[assignment]
        if not 0 < self.scale_range[0] <= self.scale_range[1]:
            raise ValueError(f"scale_range must satisfy 0 < low <= high, got {self.scale_range}")
        if self.coord_channels is not None and self.coord_channels < 1:
            raise ValueError(f"coord_channels must be >= 1 or None, got {self.coord_channels}")
        for name in ("noise_p", "blur_p", "axis_mask_p", "flip_p", "rotate_p"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {p}")


# ---------------------------------------------------------------------------------------------- helpers
def _rand(n: int, generator: torch.Generator | None, device: torch.device, *shape: int) -> torch.Tensor:
    gdev = generator.device if generator is not None else torch.device("cpu")
    return torch.rand((n, *shape), generator=generator, device=gdev).to(device)


def _bernoulli(p: float, n: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Always draws ``n`` numbers (so the stream does not depend on ``p``); ``(N,)`` bool."""
    return _rand(n, generator, device) < p


def _lengths(x: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None) -> torch.Tensor:
    if lengths is None:
        return torch.full((x.shape[0],), x.shape[2], dtype=torch.long, device=x.device)
    out = torch.as_tensor(lengths, dtype=torch.long, device=x.device)
    if out.shape != (x.shape[0],):
        raise ValueError(f"lengths must have shape ({x.shape[0]},), got {tuple(out.shape)}")
    return out


def _check(x: torch.Tensor) -> None:
    if x.dim() != 5:
        raise ValueError(f"augmentations expect (N, C, T, V, M), got shape {tuple(x.shape)}")


def valid_lengths(x: torch.Tensor) -> torch.Tensor:
    """Valid frames of zero-padded sequences ``(N, C, T, V, M)``: last non-zero frame + 1, ``(N,)``."""
    _check(x)
    nonzero = x.ne(0).flatten(3).any(dim=(1, 3))  # (N, T)
    idx = torch.arange(1, x.shape[2] + 1, device=x.device)
    return (nonzero * idx).amax(dim=1).clamp(min=1)


def zero_padding(x: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None) -> torch.Tensor:
    """Zero every frame at or after each sequence's length."""
    if lengths is None:
        return x
    ln = _lengths(x, lengths)
    mask = torch.arange(x.shape[2], device=x.device)[None, :] < ln[:, None]
    return x * mask[:, None, :, None, None].to(x.dtype)


def _mix_channels(x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """``x' = R x`` on the channel axis; ``r`` is ``(N, C, C)``."""
    return torch.einsum("nij,njtvm->nitvm", r.to(x.dtype), x)


# ---------------------------------------------------------------------------------------------- ops
def temporal_crop(x: torch.Tensor, *, padding_ratio: int = 6, lengths: torch.Tensor | Sequence[int] | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Reflect-pad ``p = L // padding_ratio`` frames at both ends and take ``L`` frames from ``U{0..2p}``.

    ``L`` is each sequence's valid length; the padding after it stays zero.
    """
    _check(x)
    n, c, t, v, m = x.shape
    ln = _lengths(x, lengths)
    start_u = _rand(n, generator, x.device)
    if padding_ratio <= 0:
        return x.clone()
    p = ln // padding_ratio
    start = torch.floor(start_u * (2 * p + 1).to(start_u.dtype)).long().clamp(max=2 * p)
    j = torch.arange(t, device=x.device)[None, :]
    k = start[:, None] + j                      # index into the reflect-padded sequence
    pp, ll = p[:, None], ln[:, None]
    src = torch.where(k < pp, pp - 1 - k, torch.where(k < pp + ll, k - pp, ll - 1 - (k - pp - ll)))
    src = src.clamp(min=0).minimum(ll - 1)
    valid = j < ll
    src = torch.where(valid, src, torch.zeros_like(src))
    out = x.gather(2, src[:, None, :, None, None].expand(n, c, t, v, m))
    return out * valid[:, None, :, None, None].to(x.dtype)


def shear(x: torch.Tensor, *, amplitude: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """``x' = R x`` with ``R = I`` plus off-diagonal entries ``~ U(-amplitude, amplitude)`` per sample."""
    _check(x)
    n, c = x.shape[:2]
    u = _rand(n, generator, x.device, c, c) * 2.0 - 1.0
    eye = torch.eye(c, device=x.device)
    r = eye + amplitude * u * (1.0 - eye)
    return _mix_channels(x, r)


def scale(x: torch.Tensor, scale_range: tuple[float, float] = (0.8, 1.25), *,
          generator: torch.Generator | None = None) -> torch.Tensor:
    """Multiply each sample's coordinates by a factor ``~ U(low, high)`` (body size / camera distance)."""
    _check(x)
    lo, hi = scale_range
    f = lo + (hi - lo) * _rand(x.shape[0], generator, x.device)
    return x * f.view(-1, *([1] * (x.dim() - 1))).to(x.dtype)


def gaussian_noise(x: torch.Tensor, *, std: float = 0.01, p: float = 0.5,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Add ``N(0, std²)`` to every coordinate of a sample with probability ``p``."""
    _check(x)
    n = x.shape[0]
    apply = _bernoulli(p, n, generator, x.device)
    gdev = generator.device if generator is not None else torch.device("cpu")
    noise = torch.randn(x.shape, generator=generator, device=gdev).to(device=x.device, dtype=x.dtype)
    return x + std * noise * apply[:, None, None, None, None].to(x.dtype)


def gaussian_kernel(sigma: torch.Tensor, kernel_size: int = 15, *, normalize: bool = True) -> torch.Tensor:
    """Kernels ``exp(-k²/(2σ²))``, ``k = -r..r``, one row per ``sigma``: ``(N, kernel_size)``.

    ``normalize=False`` is AimCLR's unnormalised kernel (gain ``Σ_k exp(-k²/2σ²)``).
    """
    r = kernel_size // 2
    k = torch.arange(-r, r + 1, device=sigma.device, dtype=sigma.dtype)
    w = torch.exp(-(k[None, :] ** 2) / (2.0 * sigma[:, None] ** 2))
    return w / w.sum(dim=1, keepdim=True) if normalize else w


def gaussian_blur(x: torch.Tensor, *, kernel_size: int = 15, sigma: tuple[float, float] = (0.1, 2.0),
                  p: float = 0.5, normalize: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """Blur along time with probability ``p`` (zero padding at the ends), ``σ ~ U(sigma)`` per sample."""
    _check(x)
    n, c, t, v, m = x.shape
    apply = _bernoulli(p, n, generator, x.device)
    s = sigma[0] + (sigma[1] - sigma[0]) * _rand(n, generator, x.device)
    w = gaussian_kernel(s.float(), kernel_size, normalize=normalize).to(x.dtype)          # (N, k)
    w = torch.where(apply[:, None], w, F.one_hot(torch.tensor(kernel_size // 2, device=x.device),
                                                 kernel_size).to(x.dtype)[None].expand(n, -1))
    ch = c * v * m
    seq = x.permute(0, 1, 3, 4, 2).reshape(1, n * ch, t)
    weight = w.repeat_interleave(ch, dim=0)[:, None, :]                                   # (N·ch, 1, k)
    out = F.conv1d(seq, weight, padding=kernel_size // 2, groups=n * ch)
    return out.reshape(n, c, v, m, t).permute(0, 1, 4, 2, 3).contiguous()


def axis_mask(x: torch.Tensor, *, p: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """With probability ``p``, zero one coordinate axis (uniform among the C channels) for the whole clip."""
    _check(x)
    n, c = x.shape[:2]
    apply = _bernoulli(p, n, generator, x.device)
    axis = torch.floor(_rand(n, generator, x.device) * c).long().clamp(max=c - 1)
    keep = ~(F.one_hot(axis, c).bool() & apply[:, None])
    return x * keep[:, :, None, None, None].to(x.dtype)


def flip(x: torch.Tensor, layout: str = "ntu25", *, p: float = 0.5, axis: int = 0,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror left and right with probability ``p``: swap the layout's mirror joints, negate channel ``axis``.

    After NTU pre-normalisation the shoulders lie along +x, so ``axis=0`` (x) is the left-right axis.
    """
    _check(x)
    n = x.shape[0]
    apply = _bernoulli(p, n, generator, x.device)
    perm = torch.tensor(get_layout(layout).flip_permutation(), device=x.device)
    if len(perm) != x.shape[3]:
        raise ValueError(f"layout {layout!r} has {len(perm)} joints, the batch has V={x.shape[3]}")
    flipped = x.index_select(3, perm).clone()
    flipped[:, axis] = -flipped[:, axis]
    return torch.where(apply[:, None, None, None, None], flipped, x)


def _rotation_matrices(angles: torch.Tensor) -> torch.Tensor:
    """``(N, 3)`` angles (radians, about x, y, z) -> ``R = Rz Ry Rx`` ``(N, 3, 3)``."""
    cx, cy, cz = torch.cos(angles).unbind(1)
    sx, sy, sz = torch.sin(angles).unbind(1)
    one, zero = torch.ones_like(cx), torch.zeros_like(cx)
    rx = torch.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], 1).view(-1, 3, 3)
    ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], 1).view(-1, 3, 3)
    rz = torch.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], 1).view(-1, 3, 3)
    return rz @ ry @ rx


def rotate(x: torch.Tensor, *, degrees: float = 30.0, p: float = 1.0,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """With probability ``p``, rotate about x, y and z by angles ``~ U(-degrees, degrees)`` (C must be 3)."""
    _check(x)
    n, c = x.shape[:2]
    if c != 3:
        raise ValueError(f"rotate needs 3-D coordinates (C=3), got C={c}")
    apply = _bernoulli(p, n, generator, x.device)
    ang = (_rand(n, generator, x.device, 3) * 2.0 - 1.0) * math.radians(degrees)
    r = _rotation_matrices(ang.float())
    r = torch.where(apply[:, None, None], r, torch.eye(3, device=x.device).expand(n, 3, 3))
    return _mix_channels(x, r)


# ---------------------------------------------------------------------------------------------- views
def augment_view(x: torch.Tensor, cfg: AugmentConfig, *, strong: bool, layout: str = "ntu25",
                 lengths: torch.Tensor | Sequence[int] | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """One contrastive view: crop + shear (+ noise, blur, axis mask, flip, rotation when ``strong``).

    Noise, blur and axis mask always draw their random numbers (so the stream does not depend on their
    probabilities); flip and rotation draw only when enabled (``flip_p`` / ``rotate_p`` > 0).

    With ``cfg.coord_channels = k < C`` (2-D keypoints ``x, y, score``: ``k = 2``) the crop and the joint
    permutation of a flip act on every channel, the geometric ops on the first ``k`` only, and points whose
    last channel (the score) is 0 keep coordinates 0.
    """
    y = temporal_crop(x, padding_ratio=cfg.temporal_padding_ratio, lengths=lengths, generator=generator)
    k = cfg.coord_channels
    if k is not None and k < y.shape[1]:
        if strong and cfg.flip_p > 0:  # the permutation moves the scores with their joints
            y = flip(y, layout, p=cfg.flip_p, generator=generator)
            cfg = replace(cfg, flip_p=0.0)
        coords, rest = y[:, :k], y[:, k:]
        coords = _augment_coords(coords, cfg, strong=strong, generator=generator)
        coords = coords * (rest[:, -1:] != 0).to(coords.dtype)
        return zero_padding(torch.cat([coords, rest], dim=1), lengths)
    return zero_padding(_augment_coords(y, cfg, strong=strong, layout=layout, generator=generator), lengths)


def _augment_coords(y: torch.Tensor, cfg: AugmentConfig, *, strong: bool, layout: str = "ntu25",
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """The geometric part of :func:`augment_view` on coordinate channels ``(N, k, T, V, M)``."""
    if cfg.shear_amplitude > 0:
        y = shear(y, amplitude=cfg.shear_amplitude, generator=generator)
    if cfg.scale_range != (1.0, 1.0):
        y = scale(y, cfg.scale_range, generator=generator)
    if strong:
        if cfg.flip_p > 0:
            y = flip(y, layout, p=cfg.flip_p, generator=generator)
        if cfg.rotate_p > 0:
            y = rotate(y, degrees=cfg.rotate_degrees, p=cfg.rotate_p, generator=generator)
        y = gaussian_noise(y, std=cfg.noise_std, p=cfg.noise_p, generator=generator)
        y = gaussian_blur(y, kernel_size=cfg.blur_kernel, sigma=cfg.blur_sigma, p=cfg.blur_p,
                          normalize=cfg.blur_normalize, generator=generator)
        y = axis_mask(y, p=cfg.axis_mask_p, generator=generator)
    return y


def tempo_resample(x: torch.Tensor, tempo: torch.Tensor | int, frames: int) -> torch.Tensor:
    """RVTCLR relative tempo: frames ``0, s, 2s, ..., (frames-1)·s`` of each sample, ``s`` = its tempo.

    ``tempo`` is an int or ``(N,)`` integers >= 1; indices past the end read zeros (padding).
    """
    _check(x)
    n, c, t, v, m = x.shape
    s = torch.as_tensor(tempo, device=x.device, dtype=torch.long).expand(n)
    idx = torch.arange(frames, device=x.device)[None, :] * s[:, None]
    valid = idx < t
    idx = idx.clamp(max=t - 1)
    out = x.gather(2, idx[:, None, :, None, None].expand(n, c, frames, v, m))
    return out * valid[:, None, :, None, None].to(x.dtype)
