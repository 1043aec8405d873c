"""Frame-level heads of localization models (SnipCLR ``fc_loc`` and the baseline "simple" upsampling head).

Letters: N batch, T frames, T' reduced frames, D feature width, K = num_classes + 1 (background LAST).

- :class:`FrameHead`: ``Linear(D -> K)`` applied to every time step (the official ``fc_loc``); PyTorch's
  default ``nn.Linear`` init (the official code does not re-initialise it).
- :func:`interpolate_frames`: linear interpolation along time with ``align_corners=True`` (the LINE /
  SnipCLR baseline head resamples its ``T' = ⌈T/8⌉`` logits back to ``T`` this way). Because the end
  points are aligned, step ``i`` of the output samples position ``i·(T'-1)/(T-1)`` of the input: the
  mapping depends on the whole length ``T`` (not a fixed factor), so chunked inference resamples the
  stitched coarse sequence once (see :mod:`skelzoo.localization.chunked`).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..blocks.gemm import linear

__all__ = ["FrameHead", "interpolate_frames"]


class FrameHead(nn.Linear):
    """Per-frame classifier ``Linear(D -> num_classes + 1)``; the background class is the LAST column.

    ``forward`` takes ``(N, D, T)`` (channel-first, as necks produce it) and returns logits ``(N, T, K)``;
    ``nn.Linear.forward`` semantics on ``(..., D)`` are available as :meth:`linear`.
    """

    def __init__(self, in_features: int, num_classes: int) -> None:
        if num_classes < 1:
            raise ValueError(f"a localization head needs num_classes >= 1 action classes, got {num_classes}")
        super().__init__(in_features, num_classes + 1)
        self.num_classes = num_classes

    def linear(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., D) -> (..., K)``."""
        return linear(x, self.weight, self.bias)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """``(N, D, T) -> (N, T, K)``."""
        return self.linear(feat.transpose(1, 2))


def interpolate_frames(x: torch.Tensor, length: int) -> torch.Tensor:
    """``(N, T', K) -> (N, length, K)``: linear interpolation along time, ``align_corners=True``."""
    if x.shape[1] == length:
        return x
    y = F.interpolate(x.transpose(1, 2), size=length, mode="linear", align_corners=True)
    return y.transpose(1, 2)
