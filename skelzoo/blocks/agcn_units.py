"""Pieces shared by the 2s-AGCN family (AGCN in :mod:`skelzoo.backbones.agcn`, AAGCN in
:mod:`skelzoo.backbones.aagcn`): the embedded (data-dependent) graph, row = source aggregation, the
``down`` shortcut of the graph unit and the ``gcn -> tcn (+ residual) -> ReLU`` block.

Own implementation following the operation order of lshiwjx/2s-AGCN (CC BY-NC 4.0) so converted
checkpoints give the same numbers.

Letters: N batch (persons folded in), C channels, T frames, V joints, C_e embedding channels.
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from .common import TemporalConvBN

__all__ = ["embedded_affinity", "aggregate", "make_down", "AGCNBlock", "ResidualKind"]

ResidualKind = Literal["none", "identity", "conv"]


def embedded_affinity(conv_a: nn.Module, conv_b: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``θ(x)ᵀ φ(x) / (C_e·T)``: ``(N, C, T, V) -> (N, V, V)`` (row = source joint, column = target).

    ``θ = conv_a``, ``φ = conv_b`` are 1×1 convs to ``C_e`` channels; features are flattened over
    ``(C_e, T)``. The caller applies softmax over rows (AGCN) or ``tanh`` (AAGCN).
    """
    n, _, t, v = x.shape
    a1 = conv_a(x)
    ce = a1.shape[1]
    a1 = a1.permute(0, 3, 1, 2).contiguous().view(n, v, ce * t)
    a2 = conv_b(x).view(n, ce * t, v)
    return torch.matmul(a1, a2) / a1.size(-1)


def aggregate(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Row = source graph aggregation ``y[..., w] = Σ_v x[..., v] · a[v, w]``.

    ``x``: ``(N, C, T, V)``; ``a``: ``(V, V)`` or ``(N, V, V)``. Returns ``(N, C, T, V)``.
    """
    n, c, t, v = x.shape
    return torch.matmul(x.reshape(n, c * t, v), a).view(n, c, t, v)


def make_down(in_channels: int, out_channels: int) -> nn.Module | None:
    """The graph unit's shortcut: ``Conv 1×1 + BN`` when widths differ, else ``None`` (identity)."""
    if in_channels == out_channels:
        return None
    down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
    nn.init.kaiming_normal_(down[0].weight, mode="fan_out")
    nn.init.zeros_(down[0].bias)
    nn.init.ones_(down[1].weight)
    nn.init.zeros_(down[1].bias)
    return down


class AGCNBlock(nn.Module):
    """``ReLU(tcn(gcn(x)) + residual(x))`` on ``(N, C_in, T, V) -> (N, C_out, ⌈T/s⌉, V)``.

    ``gcn``: a graph unit ``(N, C_in, T, V) -> (N, C_out, T, V)``; ``tcn``: (9, 1) conv + BN with stride
    ``s``; residual: ``"none"`` (first block), ``"identity"`` or ``"conv"`` (1×1 conv stride ``s`` + BN),
    chosen automatically from the widths and stride unless ``residual=False``.
    """

    def __init__(self, gcn: nn.Module, in_channels: int, out_channels: int, stride: int = 1,
                 residual: bool = True, kernel_size: int = 9) -> None:
        super().__init__()
        self.gcn = gcn
        self.tcn = TemporalConvBN(out_channels, out_channels, kernel_size, stride)
        self.residual: nn.Module | None
        if not residual:
            self.residual_kind: ResidualKind = "none"
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual_kind = "identity"
            self.residual = None
        else:
            self.residual_kind = "conv"
            self.residual = TemporalConvBN(in_channels, out_channels, kernel_size=1, stride=stride)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        if self.residual_kind == "identity":
            y = y + x
        elif self.residual is not None:
            y = y + self.residual(x)
        return torch.relu(y)
