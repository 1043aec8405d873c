"""Temporal ``(k, 1)`` convolutions as a real-DFT bilinear algorithm: a quarter to a fifth of the multiplications.

The backbones' temporal convolutions (``nn.Conv2d`` with a ``(k, 1)`` kernel, ``k = 9`` in ST-GCN and the
2s-AGCN family) cost ``k`` products ``(N·V, C) @ (C, O)`` per output frame. Their outputs are a linear
correlation along T, which the discrete Fourier transform turns into per-frequency products:

- the output frames are cut into ``tiles`` even tiles of ``m <=`` :data:`TILE` frames; each tile reads a window
  of ``L = (m - 1)·stride + (k - 1)·dilation + 1`` input frames (zeros beyond the ends, as the padding says), so
  no index leaves the window and the window's circular correlation is the linear one;
- the window's real DFT has ``⌊L/2⌋ + 1`` frequencies; a complex product ``(a + ib)(c + id)`` costs three
  real products with Gauss's trick (``c(a + b)``, ``a(d - c)``, ``b(c + d)``), a real frequency (0 and, for
  even ``L``, ``L/2``) one. So a tile costs ``P = 3⌊(L - 1)/2⌋ + 1 + [L even]`` (about ``1.5·L``) products
  instead of ``m·k``: for ``k = 9``, ``m = 24``, ``L = 32`` that is 47 instead of 216 (:func:`products_per_frame`:
  1.96 instead of 9; 3.4-3.6 at stride 2);
- the three transforms are small real matrices built once per shape (in float64, then cast): ``Bt``
  ``(P, L)`` takes a window to the ``P`` product inputs (the rows ``Re + Im``, ``Re``, ``Im`` of each frequency),
  ``G`` ``(P, k)`` the kernel taps to the product weights (``Re W``, ``Im W - Re W``, ``Re W + Im W``), and ``At``
  ``(m, P)`` the ``P`` products back to the tile's output frames (the inverse DFT, with the Gauss
  recombination folded in).

So ``y = At · ((G·w) ⊙ (Bt · x))``, where ``⊙`` is ``P`` GEMMs ``(tiles·N·V, C) @ (C, O)`` (the tiles share the
product weights, so they are stacked as rows): the bilinear form of Winograd's minimal filtering, with the
DFT's evaluation points, whose transforms stay well conditioned at any length. The result differs from
``F.conv2d``'s by float32 rounding: 2.2e-7 to 4.1e-7 of the largest output against float64, where oneDNN's
direct convolution gives 3.8e-7 to 1.6e-6 (``benchmarks/spectral.py``; ``tests/test_spectral.py`` checks every
padding / dilation / stride / tile against ``F.conv2d`` in float64 to 1e-12, with gradients). Its own
autograd Function runs the backward the same way: the transposed transforms, ``P`` products for the input
gradient and ``P`` for the weight gradient. The transforms go through oneDNN's matmul (:mod:`skelzoo.blocks.gemm`)
where available, the products through it too when they are wide (:data:`BMM_MAX_K`), else through the BLAS's
batched matmul (``torch.bmm``).

The transforms are GEMMs with short inner dimensions (``L`` and ``P``): they move more memory per FLOP than
the products, so the algorithm pays where the channel products dominate, i.e. for wide layers. Which one
runs (:func:`temporal_conv`): for inference with :mod:`skelzoo.blocks.gemm`'s autotuning on, whichever of the
two was faster when this argument signature was first seen in the process (then the same inputs give the
same bits within a process); otherwise, and always when a gradient is recorded (training stays reproducible),
the rule :func:`pays` on the channel widths, the stride and the kernel span, from measurements on the
project's CPU. CPU float32/float64 only, never under autocast, tracing or ``torch.compile`` (there the direct
convolution runs). Off: ``SKELZOO_SPECTRAL=0`` or :func:`set_spectral`.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from ..runtime import env_flag
from . import gemm

__all__ = ["Plan", "plan", "frames_out", "temporal_conv", "spectral_conv", "direct_conv", "pays", "products_per_frame",
           "spectral_enabled", "set_spectral", "MIN_CHANNELS", "MIN_SPAN", "TILE"]

Tensor = torch.Tensor
_ENABLED = env_flag("SKELZOO_SPECTRAL")
#: the most output frames per tile: larger tiles need fewer products per frame (``P/m``), smaller ones fewer
#: transform FLOPs (``P·L/m``); on the backbones' shapes (1 thread, the first version of this code) 16-32 were within
#: 7 % of each other and 8 up to 20 % slower
TILE = 24
#: :func:`pays`: the narrower of the two widths must reach this times the stride. Measured on the AMD EPYC machine
#: (2026-12-04, ``python benchmarks/spectral.py``, the backbones' (9, 1) shapes): the forward pays from 128
#: channels (64: 0.61-1.14x; 128 at stride 2: 0.86-0.96x; 128 at stride 1: 1.27-1.58x), and so does forward +
#: backward with 2 threads (64: 0.57-1.21x); with 1 thread forward + backward pays from 64 (1.32-1.59x; 128 at
#: stride 2: 1.19-1.23x; 16-32 channels: 0.56-0.98x). So "train" (a gradient recorded, 1 thread) is 64,
#: everything else "eval"
MIN_CHANNELS = {"train": 64, "eval": 128}
#: :func:`pays`: kernel spans ``(k - 1)·dilation + 1`` below this keep the direct convolution (a (3, 1) kernel
#: saves at most half its products)
MIN_SPAN = 7
#: :func:`_products`: inner dimensions up to this take the BLAS's batched matmul, wider ones oneDNN's matmul
BMM_MAX_K = 128


class Plan(NamedTuple):
    """The transforms of one temporal convolution shape (see the module docstring)."""

    frames_in: int   #: T
    frames_out: int  #: T_out (:func:`frames_out`)
    kernel: int      #: k
    dilation: int
    stride: int
    tile: int        #: m, output frames per tile
    tiles: int       #: ⌈T_out / m⌉
    window: int      #: L, input frames per tile
    pad_front: int   #: zero frames before the input
    pad_back: int    #: zero frames after it (negative: trailing input frames no output reads)
    bt: Tensor       #: (P, L) float64
    g: Tensor        #: (P, k) float64
    at: Tensor       #: (m, P) float64


@functools.lru_cache(maxsize=256)
def _transforms(window: int, k: int, dilation: int, tile: int, stride: int) -> tuple[Tensor, Tensor, Tensor]:
    """``Bt`` ``(P, L)``, ``G`` ``(P, k)``, ``At`` ``(m, P)`` of ``y[τ] = Σ_j w[j]·x[τ·stride + j·dilation]``,
    ``τ < m``, over a window of ``L`` frames (no index leaves the window, so the circular correlation of
    length ``L`` is the linear one)."""
    L = window
    s = torch.arange(L, dtype=torch.float64)                    # window frame
    shift = -torch.arange(k, dtype=torch.float64) * dilation    # tap j sits at -j·dil (correlation as convolution)
    tau = torch.arange(tile, dtype=torch.float64) * stride      # output frame τ reads from τ·stride
    rows_x, rows_w, cols_y = [], [], []
    for f in range(L // 2 + 1):
        ax, aw, ay = (2 * math.pi * f / L) * s, (2 * math.pi * f / L) * shift, (2 * math.pi * f / L) * tau
        xr, xi = torch.cos(ax), -torch.sin(ax)                  # X_f = Σ_s x[s] e^{-2πi f s / L}
        wr, wi = torch.cos(aw), -torch.sin(aw)
        if f == 0 or 2 * f == L:                                # real frequency: one product
            rows_x.append(xr)
            rows_w.append(wr)
            cols_y.append(torch.cos(ay) / L)
            continue
        c = 2.0 / L                                             # f and L - f together
        # Y = X·W; Re Y = k1 - k3, Im Y = k1 + k2 with k1 = (Xr + Xi)·Wr, k2 = Xr·(Wi - Wr), k3 = Xi·(Wr + Wi);
        # y[τ] = c·(Re Y cos - Im Y sin) = c·(k1 (cos - sin) - k2 sin - k3 cos)
        rows_x += [xr + xi, xr, xi]
        rows_w += [wr, wi - wr, wr + wi]
        cy, sy = torch.cos(ay), torch.sin(ay)
        cols_y += [c * (cy - sy), -c * sy, -c * cy]
    return torch.stack(rows_x), torch.stack(rows_w), torch.stack(cols_y, 1)


@functools.lru_cache(maxsize=256)
def plan(frames: int, kernel: int, padding: int = 0, dilation: int = 1, stride: int = 1,
         tile: int = TILE) -> Plan:
    """The :class:`Plan` of a ``(kernel, 1)`` convolution along ``frames`` input frames."""
    if min(frames, kernel, dilation, stride, tile) < 1 or padding < 0:
        raise ValueError(f"bad temporal convolution: frames={frames}, kernel={kernel}, padding={padding}, "
                         f"dilation={dilation}, stride={stride}, tile={tile}")
    t_out = frames_out(frames, kernel, padding, dilation, stride)
    if t_out < 1:
        raise ValueError(f"a ({kernel}, 1) convolution (padding {padding}, dilation {dilation}) of {frames} "
                         "frames has no output frame")
    tiles = -(-t_out // tile)
    tile = -(-t_out // tiles)                             # even tiles: 24 frames as 2 × 12, not 16 + 8
    window = (tile - 1) * stride + (kernel - 1) * dilation + 1
    rows = (tiles - 1) * tile * stride + window                # padded frames the tiles read
    bt, g, at = _transforms(window, kernel, dilation, tile, stride)
    return Plan(frames, t_out, kernel, dilation, stride, tile, tiles, window, padding, rows - padding - frames,
                bt, g, at)


def frames_out(frames: int, kernel: int, padding: int = 0, dilation: int = 1, stride: int = 1) -> int:
    """Output frames of a ``(kernel, 1)`` convolution: ``⌊(T + 2·pad - (k - 1)·dil - 1) / stride⌋ + 1``."""
    return (frames + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@functools.lru_cache(maxsize=256)
def _cast_transforms(window: int, k: int, dilation: int, tile: int, stride: int, dtype: torch.dtype,
                     device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    return tuple(m.to(device, dtype) for m in _transforms(window, k, dilation, tile, stride))  # type: ignore[return-value]


def _cast(p: Plan, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """``p``'s transforms in ``dtype`` on ``device`` (cached by the shape's integers, not by the plan's tensors)."""
    return _cast_transforms(p.window, p.kernel, p.dilation, p.tile, p.stride, dtype, device)


def products_per_frame(p: Plan) -> float:
    """Channel products ``(N·V, C) @ (C, O)`` per output frame (the direct convolution: ``k``)."""
    return p.bt.shape[0] * p.tiles / p.frames_out


def _onednn(t: Tensor) -> bool:
    return t.dtype == torch.float32 and gemm.onednn_linear_enabled()


def _transform(m: Tensor, x: Tensor) -> Tensor:
    """``m @ x`` for a small transform ``m`` ``(A, B)`` (any strides) and a wide ``x`` ``(B, cols)``.

    oneDNN's matmul with ``x`` as the (transposed) weight operand where available; else ``torch.mm`` in column
    blocks that stay in cache (one ``torch.mm`` over all columns ran at 40-100 % of the blocked rate)."""
    if _onednn(x):
        return gemm._mm(m, x.t())
    out = x.new_empty(m.shape[0], x.shape[1])
    for i in range(0, x.shape[1], 16384):
        torch.mm(m, x[:, i:i + 16384], out=out[:, i:i + 16384])
    return out


def _products(a: Tensor, w: Tensor) -> Tensor:
    """``z[p] = a[p] @ w[p].T``: ``a`` ``(P, R, K)``, ``w`` ``(P, O, K)`` (any strides) -> ``(P, R, O)``.

    One oneDNN matmul per ``p`` for inner dimensions above :data:`BMM_MAX_K` (where available), else the BLAS's
    batched matmul: on the project's AMD CPU (2026-12-04, 1 and 2 threads) oneDNN's loop ran the 256-channel
    products 2-9 % faster, the BLAS the 64-channel ones 7-80 % faster and the 128-channel ones 0-10 %."""
    if _onednn(a) and a.shape[-1] > BMM_MAX_K:
        return torch.stack([gemm._mm(a[i], w[i]) for i in range(a.shape[0])])
    return torch.bmm(a, w.transpose(1, 2))


class _SpectralConv(torch.autograd.Function):
    """:func:`spectral_conv`'s forward and backward. The tiles are stacked as extra rows, so every one of the
    ``P`` channel products is one GEMM ``(tiles·N·V, C) @ (C, O)`` (the tiles share the product weights); the
    backward is the same transforms transposed plus ``P`` products for the input gradient (``gz[p] @ w[p]``) and
    ``P`` for the weight gradient (``gz[p].T @ xb[p]``, summed over the tiles by the GEMM itself)."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None, p: Plan,  # type: ignore[override]
                mats: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        bt, g, at = mats
        n, t, v, c = x.shape
        o, _, k, _ = weight.shape
        P, rows = bt.shape[0], p.tiles * n * v
        # (R, N·V·C): T first, with the padding's zero frames
        xt = x.transpose(0, 1)
        if p.pad_back < 0:
            xt = xt[: t + p.pad_back]
        zeros = [xt.new_zeros(f, n, v, c) for f in (p.pad_front, max(p.pad_back, 0))]
        xp = torch.cat([zeros[0], xt, zeros[1]]).view(-1, n * v * c)            # one pass over x
        if p.tiles == 1:
            windows = xp[: p.window]
        else:  # (L, tiles, N·V·C): the overlapping windows side by side
            windows = xp.unfold(0, p.window, p.tile * p.stride).permute(2, 0, 1).reshape(p.window, -1)
        wt = torch.mm(g, weight[:, :, :, 0].permute(2, 0, 1).reshape(k, o * c)).view(P, o, c)
        xb = _transform(bt, windows).view(P, rows, c)
        y = _transform(at, _products(xb, wt).view(P, rows * o))                # (m, tiles·N·V·O)
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(weight, xb)
        elif ctx.needs_input_grad[0]:
            ctx.save_for_backward(weight)
        ctx.p, ctx.mats, ctx.has_bias = p, mats, bias is not None
        ctx.shape = (n, t, v, c, o, k)
        out = _untile(y.view(p.tile, p.tiles, n, v, o), p.frames_out)
        return out if bias is None else out.add_(bias)

    @staticmethod
    @once_differentiable  # the oneDNN products have no derivative of their own: a double backward says so
    def backward(ctx, gy: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        p, (bt, g, at) = ctx.p, ctx.mats
        n, t, v, c, o, k = ctx.shape
        P, nv, rows = bt.shape[0], n * v, p.tiles * n * v
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        saved = ctx.saved_tensors
        gyt = gy.new_empty(p.tile, p.tiles, n, v, o)                           # frames as (τ, tile), as y was
        for i in range(p.tiles):
            m = min(p.tile, p.frames_out - i * p.tile)
            gyt[:m, i] = gy[:, i * p.tile: i * p.tile + m].transpose(0, 1)
            gyt[m:, i] = 0
        gz = _transform(at.t(), gyt.view(p.tile, -1)).view(P, rows, o)
        gx = gw = gb = None
        if need_x:
            w = torch.mm(g, saved[0][:, :, :, 0].permute(2, 1, 0).reshape(k, c * o)).view(P, c, o)  # (P, C, O)
            gwin = _transform(bt.t(), _products(gz, w).view(P, rows * c)).view(p.window, p.tiles, nv * c)
            gxp = gy.new_zeros(p.pad_front + t + max(p.pad_back, 0), nv * c)
            for i in range(p.tiles):                                          # overlap-add the windows
                s0 = i * p.tile * p.stride
                gxp[s0: s0 + p.window] += gwin[:, i]
            gx = gxp[p.pad_front: p.pad_front + t].view(t, n, v, c).transpose(0, 1).contiguous()
        if need_w:
            # inner dimension = the tiles' rows: the BLAS's batched product with a transposed operand (1.08-1.19x
            # the oneDNN loop at 1 thread, 1.36-1.98x at 2, on the training configs' shapes; 2026-12-04)
            gwt = torch.bmm(gz.transpose(1, 2), saved[1])                     # (P, O, C)
            gw = torch.mm(g.t(), gwt.view(P, o * c)).view(k, o, c).permute(1, 2, 0).unsqueeze(-1).contiguous()
        if need_b and ctx.has_bias:
            gb = gy.sum((0, 1, 2))
        return gx, gw, gb, None, None


def _untile(y: Tensor, frames: int) -> Tensor:
    """``y`` ``(m, tiles, N, V, O)`` (frame ``i·m + τ`` at ``[τ, i]``) -> ``(N, frames, V, O)`` contiguous, the
    last tile cropped: one pass over the output."""
    m, tiles, n, v, o = y.shape
    if tiles == 1:
        return y[:frames, 0].transpose(0, 1).contiguous()
    out = y.new_empty(n, frames, v, o)
    for i in range(tiles):
        f = min(m, frames - i * m)
        out[:, i * m: i * m + f] = y[:f, i].transpose(0, 1)
    return out


def spectral_conv(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1, padding: int = 0,
                  dilation: int = 1, tile: int = TILE) -> Tensor:
    """``F.conv2d`` with a ``(k, 1)`` kernel on channels-last ``x``, by the DFT bilinear algorithm.

    ``x``: ``(N, T, V, C)`` (any strides); ``weight``: ``(O, C, k, 1)``; ``bias``: ``(O,)`` or None; ``stride``,
    ``padding``, ``dilation`` along T. Returns ``(N, T_out, V, O)``, contiguous, equal to
    ``F.conv2d(x.permute(0, 3, 1, 2), weight, bias, (stride, 1), (padding, 0), (dilation, 1))`` permuted back,
    to float rounding. Differentiable in ``x``, ``weight`` and ``bias`` (its own backward: the same transforms
    and ``P`` products per tile)."""
    n, t, v, c = x.shape
    o, c_w, k, one = weight.shape
    if c_w != c or one != 1:
        raise ValueError(f"spectral_conv needs a (k, 1) kernel over {c} channels, got weight {tuple(weight.shape)}")
    p = plan(t, k, padding, dilation, stride, tile)
    return _SpectralConv.apply(x, weight, bias, p, _cast(p, x.dtype, x.device))


def direct_conv(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1, padding: int = 0,
                dilation: int = 1) -> Tensor:
    """The same convolution by ``F.conv2d`` on the channels-last view (oneDNN's native layout): ``(N, T_out,
    V, O)``, contiguous."""
    y = F.conv2d(x.permute(0, 3, 1, 2), weight.contiguous(memory_format=torch.channels_last), bias,
                 (stride, 1), (padding, 0), (dilation, 1))
    return y.permute(0, 2, 3, 1).contiguous()


def spectral_enabled() -> bool:
    """Whether :func:`temporal_conv` may take the spectral algorithm."""
    return _ENABLED


def set_spectral(enabled: bool) -> bool:
    """Switch the spectral algorithm on or off; returns the previous setting."""
    global _ENABLED
    old, _ENABLED = _ENABLED, bool(enabled)
    return old


def _span(kernel: int, dilation: int) -> int:
    return (kernel - 1) * dilation + 1


def pays(in_channels: int, out_channels: int, kernel: int, dilation: int = 1, stride: int = 1,
         training: bool = False) -> bool:
    """The rule used without timing: the narrower width >= ``MIN_CHANNELS[...] × stride`` (``"train"`` when a
    gradient is recorded and torch runs 1 thread, else ``"eval"``) and a kernel span >= :data:`MIN_SPAN`."""
    need = MIN_CHANNELS["train" if training and torch.get_num_threads() == 1 else "eval"] * stride
    return min(in_channels, out_channels) >= need and _span(kernel, dilation) >= MIN_SPAN


def _cpu_autocast() -> bool:
    """Whether CPU autocast is on (``torch.is_autocast_enabled(device)`` exists from torch 2.4; the package
    supports 2.1)."""
    try:
        return torch.is_autocast_enabled("cpu")
    except TypeError:
        return torch.is_autocast_cpu_enabled()


def _eligible(x: Tensor, weight: Tensor) -> bool:
    return (_ENABLED and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
            and weight.dtype == x.dtype and not _cpu_autocast() and not gemm._tracing())


def temporal_conv(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1, padding: int = 0,
                  dilation: int = 1) -> Tensor:
    """A ``(k, 1)`` convolution of channels-last ``x`` ``(N, T, V, C)`` -> ``(N, T_out, V, O)`` contiguous, by
    :func:`direct_conv` or :func:`spectral_conv` (module docstring: which one runs)."""
    o, c, k, _ = weight.shape
    if not _eligible(x, weight) or _span(k, dilation) < MIN_SPAN or min(c, o) < min(MIN_CHANNELS.values()):
        return direct_conv(x, weight, bias, stride, padding, dilation)
    n, t, v, _ = x.shape

    def direct() -> Tensor:
        return direct_conv(x, weight, bias, stride, padding, dilation)

    def spectral() -> Tensor:
        return spectral_conv(x, weight, bias, stride, padding, dilation)
    if gemm._tunable(2 * n * frames_out(t, k, padding, dilation, stride) * v * c * o * k, x, weight, bias):
        key = ("tconv", tuple(x.shape), tuple(weight.shape), bias is not None, stride, padding, dilation,
               x.dtype, torch.get_num_threads())
        return gemm._autotuned(key, (direct, spectral), ("direct", "spectral"))
    training = torch.is_grad_enabled() and any(a is not None and a.requires_grad for a in (x, weight, bias))
    return spectral() if pays(c, o, k, dilation, stride, training) else direct()
