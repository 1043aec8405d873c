"""U-shaped multiscale fusion neck of SnipCLR (a 1-D U-Net++, "NestedUNet" / ``msff`` in the official code).

Paper: Q. Cheng, J. Liu, C. Morgan, A. Whone, M. Mirmehdi, "Skeleton-Snippet Contrastive Learning with
Multiscale Feature Fusion for Action Localization", arXiv 2512.16504 (ICPR 2026). Official code:
github.com/cqs0925/SnipCLR (``model/agcn_Unet.py``), which follows the 1-D U-Net++ of BSN++. This is an
independent re-implementation from the description in ``docs/method.md`` §4.1 (no code copied).

Letters: N batch, C channels, T frames, V joints, M persons, D feature width.

Three backbone taps ``x00, x10, x20`` (fine → coarse) are joint-averaged to ``(N, C_i, T_i)`` and fused::

    x01 = CBR(cat[x00, up(x10 -> T0)])                 # c0 + c1 channels, rate of x00
    x11 = CBR(cat[x10, up(x20 -> T1)])                 # c1 + c2 channels, rate of x10
    x02 = CBR(cat[x00, x01, up(x11 -> T0)])            # c0 + (c0+c1) + (c1+c2) channels
    out = Conv1d_1x1(cat[x00, x01, x02] -> out_channels)

``CBR(c)`` = Conv1d(c, c, 3, padding 1, bias) -> BatchNorm1d(c) -> ReLU. ``up(a -> L)`` is nearest
resampling to exactly ``L`` steps with source index ``floor(i * L_in / L)`` (PyTorch ``mode="nearest"``
with an explicit ``size``), so odd lengths need no cropping. With the paper taps (64, 128, 256 channels)
the neck has 2,244,672 parameters (x01 111,168; x11 443,520; x02 1,230,720; final 459,264).

Differences from the official module, both documented choices:

- Persons: the official neck averages joints only and keeps the ``N·M`` rows apart (with M > 1 its frame
  logits would have ``N·M`` rows). skelzoo averages over joints **and persons** (clean reading of
  docs/method.md §4.1/§11.8); identical for M = 1, the paper setting.
- Output rate: the official first tap (``l1``) is stride 1, so the output is at the input rate T. When a
  backbone's finest tap is already downsampled (reduction > 1), the neck output is resampled to the
  requested length ``T`` with the same nearest rule (``out_len`` argument).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..blocks.channels_last import fast_paths_enabled
from ..blocks.gemm import linear

__all__ = ["CBR1d", "UFusionNeck", "nearest_index", "resample_nearest", "pool_joints_persons"]


def nearest_index(length_in: int, length_out: int, start: int = 0, stop: int | None = None,
                  device: torch.device | None = None) -> torch.Tensor:
    """Source indices ``floor(i * length_in / length_out)`` for ``i`` in ``[start, stop)`` (int64).

    The index rule of ``F.interpolate(mode="nearest", size=length_out)``; computed in integer arithmetic
    (exact for any length).
    """
    stop = length_out if stop is None else stop
    i = torch.arange(start, stop, device=device, dtype=torch.int64)
    return torch.div(i * length_in, length_out, rounding_mode="floor")


def resample_nearest(x: torch.Tensor, length: int) -> torch.Tensor:
    """``(N, C, L_in) -> (N, C, length)`` by nearest resampling (source index ``floor(i·L_in/length)``)."""
    if x.shape[-1] == length:
        return x
    return x.index_select(-1, nearest_index(x.shape[-1], length, device=x.device))


def pool_joints_persons(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, T, V, M) -> (N, C, T)``: mean over joints, then over persons."""
    return x.mean(dim=3).mean(dim=-1)


class CBR1d(nn.Module):
    """``Conv1d(c_in, c_out, 3, padding 1, bias) -> BatchNorm1d -> ReLU`` on ``(N, C, T)``.

    Submodule names ``conv.0`` (conv) and ``conv.1`` (BN) as in the official ``msff.conv*_*.conv.{0,1}``.
    """

    def __init__(self, in_channels: int, out_channels: int | None = None) -> None:
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        self.conv = nn.Sequential(nn.Conv1d(in_channels, out_channels, 3, padding=1),
                                  nn.BatchNorm1d(out_channels), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UFusionNeck(nn.Module):
    """SnipCLR U-shaped multiscale fusion over three joint-averaged taps -> ``(N, out_channels, T)``.

    Args:
        in_channels: channels ``(c0, c1, c2)`` of the taps, fine -> coarse (paper: 64, 128, 256).
        out_channels: output width D (paper: 512).
        reductions: temporal reductions of the taps (informational; paper: 1, 4, 8).
    """

    def __init__(self, in_channels: Sequence[int] = (64, 128, 256), out_channels: int = 512,
                 reductions: Sequence[int] = (1, 4, 8)) -> None:
        super().__init__()
        if len(in_channels) != 3:
            raise ValueError(f"UFusionNeck takes exactly three taps, got channels {tuple(in_channels)}")
        c0, c1, c2 = (int(c) for c in in_channels)
        self.in_channels = (c0, c1, c2)
        self.reductions = tuple(int(r) for r in reductions)
        self.out_channels = out_channels
        self.num_features = out_channels
        ch01, ch11 = c0 + c1, c1 + c2
        ch02 = c0 + ch01 + ch11
        self.conv0_1 = CBR1d(ch01)
        self.conv1_1 = CBR1d(ch11)
        self.conv0_2 = CBR1d(ch02)
        self.final = nn.Conv1d(c0 + ch01 + ch02, out_channels, 1)

    def _final(self, z: torch.Tensor) -> torch.Tensor:
        """The output 1×1 convolution ``(N, C, T) -> (N, out_channels, T)``; on the fast path one GEMM over the
        channels (:func:`~skelzoo.blocks.gemm.linear`; PyTorch runs a 1×1 ``Conv1d`` on a slow non-oneDNN
        kernel), returned as a transposed view (``(N, T, C)`` memory, what the frame head reads)."""
        if not fast_paths_enabled():
            return self.final(z)
        return linear(z.transpose(1, 2), self.final.weight.squeeze(-1), self.final.bias).transpose(1, 2)

    # ------------------------------------------------------------------------------------------ forward
    def forward(self, taps: Sequence[torch.Tensor], out_len: int | None = None) -> torch.Tensor:
        """Fuse the taps.

        Args:
            taps: ``[x00, x10, x20]``, each ``(N, C_i, T_i)`` (already pooled, see
                :func:`pool_joints_persons`) or ``(N, C_i, T_i, V, M)`` (pooled here).
            out_len: output length T; default ``T_0`` (the first tap's length).

        Returns:
            ``(N, out_channels, T)``.
        """
        x00, x10, x20 = (pool_joints_persons(t) if t.dim() == 5 else t for t in taps)
        t0, t1 = x00.shape[-1], x10.shape[-1]
        x01 = self.conv0_1(torch.cat([x00, resample_nearest(x10, t0)], 1))
        x11 = self.conv1_1(torch.cat([x10, resample_nearest(x20, t1)], 1))
        x02 = self.conv0_2(torch.cat([x00, x01, resample_nearest(x11, t0)], 1))
        out = self._final(torch.cat([x00, x01, x02], 1))
        if out_len is not None and out_len != t0:
            out = resample_nearest(out, out_len)
        return out

    def forward_window(self, taps: Sequence[torch.Tensor], start: int, stop: int, out_len: int,
                       halo: int | None = None) -> torch.Tensor:
        """Output frames ``[start, stop)`` of ``forward(taps, out_len)`` computed on a window only.

        ``taps`` are the whole-sequence pooled taps ``(N, C_i, T_i)``; only a window around the requested
        frames (``halo`` extra steps at each rate, default enough for the three k=3 convolutions) is
        processed, with the resampling indices of the whole sequence, so the result equals the
        corresponding slice of :meth:`forward` (bounded memory for long sequences).

        Returns:
            ``(N, out_channels, stop - start)``.
        """
        if not 0 <= start < stop <= out_len:
            raise ValueError(f"window [{start}, {stop}) is not inside [0, {out_len})")
        x00, x10, x20 = taps
        t0, t1, t2 = x00.shape[-1], x10.shape[-1], x20.shape[-1]
        dev = x00.device
        h = 4 if halo is None else int(halo)
        # frames [start, stop) at the output rate -> steps of x00 needed
        out_idx = nearest_index(t0, out_len, start, stop, device=dev)
        a0 = max(0, int(out_idx[0]) - h)
        b0 = min(t0, int(out_idx[-1]) + 1 + h)
        # x10 steps needed by x01 (direct) and by up(x11) (x11 needs one more step each side)
        i10 = nearest_index(t1, t0, a0, b0, device=dev)
        a1 = max(0, int(i10[0]) - h)
        b1 = min(t1, int(i10[-1]) + 1 + h)
        x00w = x00[..., a0:b0]
        x01 = self.conv0_1(torch.cat([x00w, x10.index_select(-1, i10)], 1))
        i20 = nearest_index(t2, t1, a1, b1, device=dev)
        x11 = self.conv1_1(torch.cat([x10[..., a1:b1], x20.index_select(-1, i20)], 1))
        x02 = self.conv0_2(torch.cat([x00w, x01, x11.index_select(-1, i10 - a1)], 1))
        out = self._final(torch.cat([x00w, x01, x02], 1))
        return out.index_select(-1, out_idx - a0)

    @property
    def receptive_field(self) -> int:
        """Temporal receptive field in input frames (bound): three k=3 convs plus resampling slack."""
        r0, r1 = self.reductions[0], self.reductions[1]
        return 1 + 2 * (2 * r0) + 2 * r1 + 2 * max(self.reductions)

